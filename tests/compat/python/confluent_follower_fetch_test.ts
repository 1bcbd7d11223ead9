/**
 * KIP-392 with confluent-kafka (librdkafka): a consumer with `client.rack` reads a whole partition of replication
 * factor 3 from the follower in its rack; DeleteRecords then answers the new log start as low watermark.
 */
import { runDriver } from "../client_driver.ts";
import { assertFollowerServed, withRackCluster } from "../follower_fetch_cluster.ts";

const DRIVER = new URL("./follower_fetch.py", import.meta.url).pathname;

Deno.test("confluent-kafka-python: a consumer with client.rack reads everything from the follower in its rack (KIP-392)", async () => {
  await withRackCluster(async (cluster) => {
    assertFollowerServed(cluster, await runDriver("python3", [DRIVER, cluster.bootstrap(1), "500"]));
  });
});
