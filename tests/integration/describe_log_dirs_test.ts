/**
 * DescribeLogDirs (`kafka-log-dirs --describe`): the log directory with every partition the broker holds and
 * its size, filtered by the request's topics, and the directory's space (v4).
 */
import assert from "node:assert/strict";
import { RawClient } from "../diff/raw_client.ts";
import { ApiKey, ErrorCode } from "../../protocol/messages.ts";
import { kcat } from "../compat/kcat/kcat.ts";
import { startBroker } from "./broker_process.ts";

Deno.test("DescribeLogDirs lists the broker's partitions with their sizes, all or those asked for", async () => {
  const broker = await startBroker({ settings: { "num.partitions": 2 } });
  const client = await RawClient.connect(broker.bootstrap);
  try {
    for (const topic of ["alpha", "beta"]) {
      const produced = await kcat(["-b", broker.bootstrap, "-P", "-t", topic, "-p", "0"], "one\ntwo\n");
      assert.equal(produced.code, 0, produced.stderr);
    }
    const all = await client.request(ApiKey.DescribeLogDirs, 4, { topics: null });
    assert.equal(all.errorCode, ErrorCode.NONE);
    assert.equal(all.results.length, 1);
    const [dir] = all.results;
    assert.equal(dir.errorCode, ErrorCode.NONE);
    assert.equal(dir.logDir, Deno.realPathSync(broker.dataDir));
    assert.ok(dir.totalBytes > 0n && dir.usableBytes > 0n && dir.usableBytes <= dir.totalBytes);
    const sizes = new Map(
      dir.topics.flatMap((t) => t.partitions.map((p) => [`${t.name}-${p.partitionIndex}`, p.partitionSize])),
    );
    assert.ok((sizes.get("alpha-0") ?? 0n) > 0n && (sizes.get("beta-0") ?? 0n) > 0n, "written partitions have bytes");
    assert.equal(sizes.get("alpha-1"), 0n, "an empty partition is listed with size 0");

    const some = await client.request(ApiKey.DescribeLogDirs, 1, {
      topics: [{ topic: "beta", partitions: [1, 7] }, { topic: "missing", partitions: [0] }],
    });
    assert.deepEqual(
      some.results[0].topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.offsetLag])]),
      [["beta", [[1, 0n]]]],
      "only the partitions asked for that the broker holds",
    );
  } finally {
    client.close();
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
