/**
 * `skipLeaderEntryWhenCommitted`: a new leader whose whole log is known committed appends no LeaderChange entry
 * (a new partition's first record is at offset 0, as in Kafka), still replicates a proposal at once without
 * waiting for a heartbeat, and refuses membership changes until an entry of its own term is committed.
 */
import assert from "node:assert/strict";
import { MultiRaft } from "../../../raft/multi_raft.ts";
import { seededRandom } from "../../../raft/prng.ts";
import { MemoryStorage } from "../../../raft/storage.ts";
import { MemoryTransport } from "../../../raft/transport.ts";
import { EntryType, type NodeId } from "../../../raft/types.ts";

const IDS: NodeId[] = [1, 2, 3];
const GROUP = "orders-0";

function cluster(skip: boolean) {
  const net = new MemoryTransport();
  const nodes = new Map<NodeId, { mr: MultiRaft; storage: MemoryStorage }>();
  for (const id of IDS) {
    const storage = new MemoryStorage({ voters: IDS, learners: [] });
    const mr = new MultiRaft({
      id,
      transport: net.endpoint(id),
      host: {
        persist: (_g, rd) => {
          if (rd.snapshot) storage.applySnapshot(rd.snapshot);
          storage.append(rd.entries);
          if (rd.hardState) storage.setHardState(rd.hardState);
        },
        apply: () => {},
      },
    });
    mr.addGroup(GROUP, { storage, random: seededRandom(id), skipLeaderEntryWhenCommitted: skip });
    net.register(id, (b) => mr.receive(b));
    nodes.set(id, { mr, storage });
  }
  const settle = () => {
    for (let i = 0; i < 100; i++) {
      let work = net.deliver();
      for (const { mr } of nodes.values()) work += mr.handleReady();
      if (work === 0) return;
    }
  };
  return { nodes, settle, node: (id: NodeId) => nodes.get(id)!.mr.group(GROUP)! };
}

Deno.test("a first leader with an empty log appends no LeaderChange entry; the first proposal commits at index 0 without a tick", () => {
  const c = cluster(true);
  c.node(1).campaign();
  c.settle();
  assert.equal(c.node(1).raft.role, "leader");
  assert.equal(c.node(1).raft.log.lastIndex(), -1);
  const proposed = c.node(1).propose(3, new Uint8Array([1, 2, 3]));
  assert.ok(proposed.ok && proposed.index === 0);
  c.nodes.get(1)!.mr.touch(GROUP);
  c.settle();
  assert.equal(c.node(1).raft.log.committed, 2);
  for (const id of IDS) {
    const entries = c.nodes.get(id)!.storage.entries(0, 3, 1 << 20);
    assert.deepEqual(entries.map((e) => [e.index, e.type]), [[0, EntryType.Normal]]);
  }
});

Deno.test("without an entry of its term committed, a leader that skipped its LeaderChange refuses membership changes", () => {
  const c = cluster(true);
  c.node(1).campaign();
  c.settle();
  const refused = c.node(1).proposeConfChange({ type: "add_learner", node: 4 });
  assert.deepEqual(refused.ok ? "accepted" : refused.error, "conf_change_pending");
  c.node(1).propose(1, new Uint8Array([9]));
  c.nodes.get(1)!.mr.touch(GROUP);
  c.settle();
  const accepted = c.node(1).proposeConfChange({ type: "add_learner", node: 4 });
  assert.ok(accepted.ok);
});

Deno.test("by default (the metadata quorum) a new leader still appends its LeaderChange entry", () => {
  const c = cluster(false);
  c.node(1).campaign();
  c.settle();
  const entries = c.nodes.get(1)!.storage.entries(0, 1, 1 << 20);
  assert.deepEqual(entries.map((e) => e.type), [EntryType.LeaderChange]);
});
