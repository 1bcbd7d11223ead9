import assert from "node:assert/strict";
import { controlBatchOf, PartitionLogStorage } from "../../../broker/replication/partition_raft.ts";
import { PartitionLog } from "../../../log/partition_log.ts";
import { buildRecordBatch } from "../../../protocol/record_batch.ts";
import { EntryType } from "../../../raft/types.ts";

Deno.test("Raft control entries are stored as control batches and read back as entries of their type", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-partition-raft-" });
  try {
    const log = await PartitionLog.open(`${dir}/t-0`);
    const leaderChange = { index: 0, count: 1, term: 4, type: EntryType.LeaderChange, data: new Uint8Array(0) };
    const bytes = controlBatchOf(leaderChange);
    assert.deepEqual(controlBatchOf(leaderChange), bytes, "built from the entry alone: the same bytes everywhere");
    log.append(bytes, { leaderEpoch: 4 });
    const records = buildRecordBatch([{ timestamp: 1, key: null, value: new Uint8Array([1, 2]) }]);
    log.append(records, { leaderEpoch: 4 });
    const voters = { index: 2, count: 1, term: 4, type: EntryType.ConfChange, data: new Uint8Array([9, 9]) };
    log.append(controlBatchOf(voters), { leaderEpoch: 4 });
    await log.flush();

    const storage = new PartitionLogStorage(log, { term: 4, vote: 1, commit: 2 }, { voters: [1, 2], learners: [] });
    const entries = storage.entries(0, 3, 1 << 20);
    assert.deepEqual(entries.map((e) => [e.index, e.count, e.term, e.type]), [
      [0, 1, 4, EntryType.LeaderChange],
      [1, 1, 4, EntryType.Normal],
      [2, 1, 4, EntryType.ConfChange],
    ]);
    assert.deepEqual(entries[0].data, new Uint8Array(0));
    assert.deepEqual(entries[1].data, records);
    assert.deepEqual(entries[2].data, voters.data);
    assert.equal(storage.term(1), 4);
    assert.deepEqual(storage.snapshotMeta(), { index: -1, term: 0, config: { voters: [1, 2], learners: [] } });
    await log.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
