/**
 * kcat (librdkafka) over a partition holding a gap filler (`broker/replication/compacted_gap.ts`), the control batch a follower
 * stores for offsets the leader's cleaner removed: the client skips it and continues after its last offset, so it
 * reads the records around it at their offsets.
 */
import assert from "node:assert/strict";
import { gapFillerBatch } from "../../../broker/replication/compacted_gap.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { startBroker } from "../../integration/broker_process.ts";
import { createTopicWithConfigs } from "../../integration/produce_helpers.ts";
import { consumeLines, kcat } from "./kcat.ts";

Deno.test("kcat skips a gap filler control batch and reads the records after it at their offsets", async () => {
  let broker = await startBroker();
  const dataDir = broker.dataDir;
  try {
    await createTopicWithConfigs(broker.bootstrap, "fills", { "cleanup.policy": "compact" });
    const first = await kcat(["-b", broker.bootstrap, "-P", "-t", "fills", "-K:"], "a:1\nb:2\n");
    assert.equal(first.code, 0, first.stderr);
    const port = broker.port;
    assert.equal(await broker.stop(), 0);

    // What a follower writes when the leader serves it 1000 removed offsets.
    const log = await PartitionLog.open(`${dataDir}/fills-0`);
    const term = log.latestEpoch()?.epoch ?? 0;
    log.append(gapFillerBatch({ index: log.logEndOffset, count: 1000, term }), { leaderEpoch: term });
    await log.flush();
    await log.close();

    broker = await startBroker({ dataDir, port });
    const after = await kcat(["-b", broker.bootstrap, "-P", "-t", "fills", "-K:"], "c:3\n");
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(await consumeLines(broker.bootstrap, "fills", "%o %k=%s\n"), ["0 a=1", "1 b=2", "1002 c=3"]);
    // Starting inside the filler reads on from the record after it.
    assert.deepEqual(await consumeLines(broker.bootstrap, "fills", "%o %k=%s\n", { offset: "500" }), ["1002 c=3"]);
  } finally {
    await broker.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
