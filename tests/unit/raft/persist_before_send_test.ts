/**
 * A follower acknowledges appended entries only once they are durable: {@linkcode MultiRaft} persists and syncs
 * a round before it sends that round's messages, so an fsync that fails or has not finished yet never lets the
 * leader count the follower toward a majority (the entry would otherwise be committed on a single disk).
 */
import assert from "node:assert/strict";
import { MultiRaft, type MultiRaftHost } from "../../../raft/multi_raft.ts";
import { seededRandom } from "../../../raft/prng.ts";
import { MemoryStorage } from "../../../raft/storage.ts";
import { MemoryTransport } from "../../../raft/transport.ts";
import type { NodeId } from "../../../raft/types.ts";

const IDS: NodeId[] = [1, 2, 3];
const GROUP = "orders-0";

interface Node {
  mr: MultiRaft;
  storage: MemoryStorage;
}

/** Three nodes hosting one group; `sync` decides, per node, how a round's fsync goes. */
function cluster(sync: (id: NodeId) => void | Promise<void>, asynchronous: boolean) {
  const net = new MemoryTransport();
  const nodes = new Map<NodeId, Node>();
  for (const id of IDS) {
    const storage = new MemoryStorage({ voters: IDS, learners: [] });
    const write = (rd: Parameters<MultiRaftHost["persist"]>[1]) => {
      if (rd.snapshot) storage.applySnapshot(rd.snapshot);
      storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
    };
    const mr = new MultiRaft({
      id,
      transport: net.endpoint(id),
      host: asynchronous
        ? {
          persist: (_g, rd) => Promise.resolve().then(() => write(rd)),
          sync: async () => await sync(id),
          apply: () => Promise.resolve(),
        }
        : { persist: (_g, rd) => write(rd), sync: () => sync(id), apply: () => {} },
    });
    mr.addGroup(GROUP, { storage, random: seededRandom(id) });
    net.register(id, (b) => mr.receive(b));
    nodes.set(id, { mr, storage });
  }
  return { net, nodes };
}

/** Runs rounds and deliveries until nothing moves (a round that throws counts as done). */
async function settle(net: MemoryTransport, nodes: Map<NodeId, Node>, asynchronous: boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    let work = 0;
    for (const { mr } of nodes.values()) {
      try {
        work += asynchronous ? await mr.handleReadyAsync() : mr.handleReady();
      } catch {
        // An fsync failed: that node's round ends here, its messages unsent.
      }
    }
    work += net.deliver();
    if (work === 0) return;
  }
}

function leaderOf(nodes: Map<NodeId, Node>) {
  const leader = [...nodes.values()].find((n) => n.mr.group(GROUP)!.raft.role === "leader");
  assert.ok(leader, "a leader was elected");
  return leader;
}

for (const asynchronous of [false, true]) {
  const host = asynchronous ? "an asynchronous" : "a synchronous";
  Deno.test(`with ${host} host, an entry whose fsync failed on every follower is not committed`, async () => {
    let followersFail = false;
    let leaderId = 0;
    const { net, nodes } = cluster((id) => {
      if (followersFail && id !== leaderId) throw new Error("injected EIO on fdatasync");
    }, asynchronous);
    nodes.get(1)!.mr.group(GROUP)!.campaign();
    nodes.get(1)!.mr.touch(GROUP);
    await settle(net, nodes, asynchronous);
    const leader = leaderOf(nodes);
    leaderId = leader.mr.id;
    const before = leader.mr.group(GROUP)!.raft.log.committed;

    followersFail = true;
    const proposed = leader.mr.propose(GROUP, 3, new TextEncoder().encode("batch"));
    assert.ok(proposed.ok);
    await settle(net, nodes, asynchronous);
    // Both followers wrote the entry but could not make it durable: no majority holds it.
    for (const [id, n] of nodes) {
      if (id !== leaderId) assert.ok(n.storage.lastIndex() >= proposed.lastIndex, `node ${id} wrote the entry`);
    }
    assert.equal(leader.mr.group(GROUP)!.raft.log.committed, before);
  });
}

Deno.test("a follower's acknowledgement waits for its fsync to finish, then the entry commits", async () => {
  let hold: PromiseWithResolvers<void> | undefined;
  let leaderId = 0;
  const { net, nodes } = cluster((id) => id !== leaderId && hold ? hold.promise : undefined, true);
  nodes.get(1)!.mr.group(GROUP)!.campaign();
  nodes.get(1)!.mr.touch(GROUP);
  await settle(net, nodes, true);
  const leader = leaderOf(nodes);
  leaderId = leader.mr.id;
  const before = leader.mr.group(GROUP)!.raft.log.committed;

  hold = Promise.withResolvers<void>();
  const proposed = leader.mr.propose(GROUP, 2, new TextEncoder().encode("batch"));
  assert.ok(proposed.ok);
  // The leader's round sends the append; the followers' rounds then wait in their fsync.
  await leader.mr.handleReadyAsync();
  net.deliver();
  const followerRounds = [...nodes.values()].filter((n) => n !== leader).map((n) => n.mr.handleReadyAsync());
  for (let i = 0; i < 20; i++) {
    await leader.mr.handleReadyAsync();
    net.deliver();
  }
  assert.equal(leader.mr.group(GROUP)!.raft.log.committed, before, "nothing commits while the fsyncs run");

  hold.resolve();
  await Promise.all(followerRounds);
  hold = undefined;
  await settle(net, nodes, true);
  assert.equal(leader.mr.group(GROUP)!.raft.log.committed, proposed.lastIndex);
});
