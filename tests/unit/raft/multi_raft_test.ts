import assert from "node:assert/strict";
import { MultiRaft } from "../../../raft/multi_raft.ts";
import { seededRandom } from "../../../raft/prng.ts";
import { MemoryStorage } from "../../../raft/storage.ts";
import { MemoryTransport } from "../../../raft/transport.ts";
import { lastIndexOf, type NodeId } from "../../../raft/types.ts";

interface Harness {
  net: MemoryTransport;
  nodes: Map<NodeId, MultiRaft>;
  applied: Map<string, number>;
  syncs: Map<NodeId, number>;
}

/** Three nodes hosting `groups` groups, each group with all three as voters. */
function cluster(groups: number, ids: NodeId[] = [1, 2, 3]): Harness {
  const net = new MemoryTransport();
  const nodes = new Map<NodeId, MultiRaft>();
  const applied = new Map<string, number>();
  const syncs = new Map<NodeId, number>();
  for (const id of ids) {
    const storages = new Map<string, MemoryStorage>();
    const mr = new MultiRaft({
      id,
      transport: net.endpoint(id),
      host: {
        persist(g, rd) {
          const s = storages.get(g)!;
          if (rd.snapshot) s.applySnapshot(rd.snapshot);
          s.append(rd.entries);
          if (rd.hardState) s.setHardState(rd.hardState);
        },
        sync: () => {
          syncs.set(id, (syncs.get(id) ?? 0) + 1);
        },
        apply(g, rd) {
          for (const e of rd.committedEntries) applied.set(`${id}/${g}`, lastIndexOf(e));
        },
      },
    });
    for (let k = 0; k < groups; k++) {
      const s = new MemoryStorage({ voters: ids, learners: [] });
      storages.set(`p${k}`, s);
      mr.addGroup(`p${k}`, { storage: s, random: seededRandom(id * 1000 + k) });
    }
    net.register(id, (b) => mr.receive(b));
    nodes.set(id, mr);
  }
  return { net, nodes, applied, syncs };
}

function settle(h: Harness): void {
  for (let i = 0; i < 100; i++) {
    let work = 0;
    for (const mr of h.nodes.values()) work += mr.handleReady();
    work += h.net.deliver();
    if (work === 0) return;
  }
}

function leaders(h: Harness): Map<string, NodeId> {
  const out = new Map<string, NodeId>();
  for (const [id, mr] of h.nodes) {
    for (const g of mr.groups()) if (mr.group(g)!.raft.role === "leader") out.set(g, id);
  }
  return out;
}

Deno.test("every group of a multi-raft node elects a leader and commits a proposal", () => {
  const h = cluster(50);
  for (let t = 0; t < 40 && leaders(h).size < 50; t++) {
    for (const mr of h.nodes.values()) mr.tick();
    settle(h);
  }
  const ls = leaders(h);
  assert.equal(ls.size, 50);
  for (const [g, id] of ls) assert.equal(h.nodes.get(id)!.propose(g, 2, new Uint8Array([1])).ok, true);
  settle(h);
  for (const [g] of ls) for (const id of h.nodes.keys()) assert.equal(h.applied.get(`${id}/${g}`), 2);
});

Deno.test("messages between two nodes in one round travel as one batch, whatever the number of groups", () => {
  const h = cluster(100);
  for (let t = 0; t < 40 && leaders(h).size < 100; t++) {
    for (const mr of h.nodes.values()) mr.tick();
    settle(h);
  }
  settle(h);
  const before = h.net.batchesSent;
  const messagesBefore = h.net.messagesSent;
  // One tick: every leader heartbeats every follower.
  for (const mr of h.nodes.values()) mr.tick();
  for (const mr of h.nodes.values()) mr.handleReady();
  const batches = h.net.batchesSent - before;
  assert.ok(batches <= 6, `at most one batch per ordered pair of nodes, got ${batches}`);
  assert.ok(h.net.messagesSent - messagesBefore >= 200, "each leader sent its heartbeats");
});

Deno.test("a round persists every group first and syncs once", () => {
  const h = cluster(20, [1]);
  for (const g of h.nodes.get(1)!.groups()) h.nodes.get(1)!.group(g)!.campaign();
  for (const g of h.nodes.get(1)!.groups()) h.nodes.get(1)!.touch(g);
  const rounds = h.nodes.get(1)!.handleReady();
  assert.equal(rounds, 20);
  assert.equal(h.syncs.get(1), 1);
});

Deno.test("single-voter groups commit their proposals after persistence, with no network", () => {
  const h = cluster(3, [1]);
  const mr = h.nodes.get(1)!;
  for (const g of mr.groups()) {
    mr.group(g)!.campaign();
    mr.touch(g);
  }
  settle(h);
  for (const g of mr.groups()) assert.equal(mr.propose(g, 5, new Uint8Array([7])).ok, true);
  settle(h);
  // Offsets 0..4: a lone voter appends no entry of its own on election.
  for (const g of mr.groups()) assert.equal(h.applied.get(`1/${g}`), 4);
  assert.equal(h.net.batchesSent, 0);
});

Deno.test("an idle follower group only ticks: no ready work and no messages", () => {
  const h = cluster(10);
  for (let t = 0; t < 40 && leaders(h).size < 10; t++) {
    for (const mr of h.nodes.values()) mr.tick();
    settle(h);
  }
  // Take the leaders away: followers tick without work until their election timeout.
  for (const [, id] of leaders(h)) h.net.setDown(id, true);
  const follower = [...h.nodes.keys()].find((id) => ![...leaders(h).values()].includes(id));
  if (follower === undefined) return; // every node leads some group: nothing idle to observe
  const mr = h.nodes.get(follower)!;
  const sent = h.net.batchesSent;
  mr.tick();
  assert.equal(mr.handleReady(), 0);
  assert.equal(h.net.batchesSent, sent);
});

Deno.test("with an asynchronous host, messages stepped while a round awaits its writes are handled safely", async () => {
  const net = new MemoryTransport();
  const ids = [1, 2, 3];
  const nodes = new Map<NodeId, MultiRaft>();
  const applied = new Map<string, string[]>();
  const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  for (const id of ids) {
    const storages = new Map<string, MemoryStorage>();
    const mr = new MultiRaft({
      id,
      transport: net.endpoint(id),
      host: {
        async persist(g, rd) {
          await pause(); // the write is in flight: other work may run meanwhile
          const s = storages.get(g)!;
          if (rd.snapshot) s.applySnapshot(rd.snapshot);
          s.append(rd.entries);
          if (rd.hardState) s.setHardState(rd.hardState);
        },
        sync: pause,
        async apply(g, rd) {
          await pause();
          const key = `${id}/${g}`;
          for (const e of rd.committedEntries) {
            if (e.data.byteLength > 0) applied.set(key, [...applied.get(key) ?? [], new TextDecoder().decode(e.data)]);
          }
        },
      },
    });
    for (let k = 0; k < 5; k++) {
      const s = new MemoryStorage({ voters: ids, learners: [] });
      storages.set(`p${k}`, s);
      mr.addGroup(`p${k}`, { storage: s, random: seededRandom(id * 100 + k) });
    }
    net.register(id, (b) => mr.receive(b));
    nodes.set(id, mr);
  }
  // Two loops run at once: one delivers and ticks, the other runs the asynchronous rounds.
  let stop = false;
  const rounds = (async () => {
    while (!stop) {
      for (const mr of nodes.values()) await mr.handleReadyAsync();
      await pause();
    }
  })();
  let proposed = 0;
  for (let t = 0; t < 400 && proposed < 20; t++) {
    if (t % 3 === 0) { for (const mr of nodes.values()) mr.tick(); }
    net.deliver();
    for (const mr of nodes.values()) {
      for (const g of mr.groups()) {
        if (mr.group(g)!.raft.role === "leader" && proposed < 20 && t % 5 === 0) {
          if (mr.propose(g, 1, new TextEncoder().encode(`v${proposed}`)).ok) proposed++;
        }
      }
    }
    await pause();
  }
  for (let t = 0; t < 200; t++) {
    net.deliver();
    if (t % 3 === 0) { for (const mr of nodes.values()) mr.tick(); }
    await pause();
  }
  stop = true;
  await rounds;
  assert.equal(proposed, 20);
  // Every group applied the same values in the same order on every node.
  for (let k = 0; k < 5; k++) {
    const seqs = ids.map((id) => JSON.stringify(applied.get(`${id}/p${k}`) ?? []));
    assert.equal(new Set(seqs).size, 1, `group p${k}: ${seqs.join(" vs ")}`);
  }
  const total = ids.reduce(
    (n, id) => n + [0, 1, 2, 3, 4].reduce((m, k) => m + (applied.get(`${id}/p${k}`)?.length ?? 0), 0),
    0,
  );
  assert.equal(total, 60);
});
