/**
 * KIP-392 with the Java client: a KafkaConsumer with `client.rack` reads a whole partition of replication factor 3
 * from the follower in its rack.
 */
import { runDriver } from "../client_driver.ts";
import { assertFollowerServed, withRackCluster } from "../follower_fetch_cluster.ts";

const RUN = new URL("./run.sh", import.meta.url).pathname;

Deno.test("Java kafka-clients: a consumer with client.rack reads everything from the follower in its rack (KIP-392)", async () => {
  await withRackCluster(async (cluster) => {
    const env = { COMPAT_RF: "3", COMPAT_RECORDS: "500" };
    assertFollowerServed(cluster, await runDriver("bash", [RUN, cluster.bootstrap(1), "follower-fetch"], 300_000, env));
  });
});
