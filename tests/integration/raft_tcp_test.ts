/**
 * The Raft core over the inter-broker TCP transport: three nodes on 127.0.0.1, each hosting the same groups,
 * elect a leader per group and commit proposals through real sockets; a stopped node's peers keep going.
 */
import assert from "node:assert/strict";
import { RaftListener, TcpRaftTransport } from "../../broker/raft_transport.ts";
import { decodeMessageBatch, encodeMessageBatch } from "../../raft/message_codec.ts";
import { MultiRaft } from "../../raft/multi_raft.ts";
import { seededRandom } from "../../raft/prng.ts";
import { MemoryStorage } from "../../raft/storage.ts";
import { type Entry, EntryType, message } from "../../raft/types.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";

interface TestNode {
  id: number;
  raft: MultiRaft;
  storages: Map<string, MemoryStorage>;
  applied: Map<string, Entry[]>;
  listener: RaftListener;
  transport: TcpRaftTransport;
  timer: ReturnType<typeof setInterval> | undefined;
  stopped: boolean;
}

const GROUPS = ["orders-0", "orders-1", "payments-0"];
const VOTERS = [1, 2, 3];

function startCluster(): TestNode[] {
  const listeners = VOTERS.map(() => ({ port: 0, listener: undefined as RaftListener | undefined }));
  const nodes: TestNode[] = [];
  // Bind every listener first, so each transport knows every peer's port.
  const inbox = new Map<number, MultiRaft>();
  for (const [i, id] of VOTERS.entries()) {
    const listener = RaftListener.listen({
      hostname: "127.0.0.1",
      port: 0,
      onBatch: (batch) => inbox.get(id)?.receive(batch),
    });
    listeners[i] = { port: listener.port, listener };
  }
  const peers = new Map(VOTERS.map((id, i) => [id, { host: "127.0.0.1", port: listeners[i].port }]));
  for (const [i, id] of VOTERS.entries()) {
    const storages = new Map<string, MemoryStorage>();
    const applied = new Map<string, Entry[]>();
    const transport = new TcpRaftTransport({ nodeId: id, peers });
    const raft = new MultiRaft({
      id,
      transport,
      host: {
        persist(group, rd) {
          const s = storages.get(group)!;
          if (rd.snapshot) s.applySnapshot(rd.snapshot);
          s.append(rd.entries);
          if (rd.hardState) s.setHardState(rd.hardState);
        },
        apply(group, rd) {
          applied.get(group)!.push(...rd.committedEntries.filter((e) => e.type === EntryType.Normal));
        },
      },
    });
    for (const [g, group] of GROUPS.entries()) {
      const storage = new MemoryStorage({ voters: VOTERS, learners: [] });
      storages.set(group, storage);
      applied.set(group, []);
      raft.addGroup(group, { storage, random: seededRandom(id * 100 + g), electionTick: 10, heartbeatTick: 1 });
    }
    inbox.set(id, raft);
    const node: TestNode = {
      id,
      raft,
      storages,
      applied,
      listener: listeners[i].listener!,
      transport,
      stopped: false,
      timer: undefined,
    };
    // One timer per node drives every group: tick, then a round of I/O.
    node.timer = setInterval(() => {
      if (node.stopped) return;
      raft.tick();
      while (raft.handleReady() > 0);
    }, 10);
    nodes.push(node);
  }
  return nodes;
}

async function stopNode(node: TestNode) {
  node.stopped = true;
  clearInterval(node.timer);
  node.transport.close();
  await node.listener.close();
}

function leaderOf(nodes: TestNode[], group: string): TestNode | undefined {
  return nodes.find((n) => !n.stopped && n.raft.group(group)?.status().role === "leader");
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("three nodes elect a leader per group and commit proposals over TCP", async () => {
  const nodes = startCluster();
  try {
    for (const group of GROUPS) await until(`a leader of ${group}`, () => leaderOf(nodes, group) !== undefined);
    for (const group of GROUPS) {
      const leader = leaderOf(nodes, group)!;
      for (let i = 0; i < 5; i++) {
        const r = leader.raft.propose(group, 2, new TextEncoder().encode(`${group}-${i}`));
        assert.ok(r.ok, `proposal to ${group}`);
      }
      while (leader.raft.handleReady() > 0);
    }
    for (const group of GROUPS) {
      await until(`${group} applied everywhere`, () => nodes.every((n) => n.applied.get(group)!.length === 5));
      const payloads = nodes.map((n) => n.applied.get(group)!.map((e) => new TextDecoder().decode(e.data)));
      assert.deepEqual(payloads[0], Array.from({ length: 5 }, (_, i) => `${group}-${i}`));
      assert.deepEqual(payloads[1], payloads[0]);
      assert.deepEqual(payloads[2], payloads[0]);
    }

    // Stop one group's leader: the other two elect a new one and keep committing.
    const group = GROUPS[0];
    const old = leaderOf(nodes, group)!;
    await stopNode(old);
    await until("a new leader", () => {
      const l = leaderOf(nodes, group);
      return l !== undefined && l !== old;
    });
    const leader = leaderOf(nodes, group)!;
    assert.ok(leader.raft.propose(group, 1, new TextEncoder().encode("after")).ok);
    const survivors = nodes.filter((n) => !n.stopped);
    await until("the proposal after failover", () => survivors.every((n) => n.applied.get(group)!.length === 6));
  } finally {
    for (const n of nodes) if (!n.stopped) await stopNode(n);
  }
});

Deno.test("raft message batches round-trip through their wire form, and garbage is a ProtocolError", () => {
  const entry: Entry = { index: 2 ** 40, count: 3, term: 7, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) };
  const batch = {
    from: 1,
    to: 2,
    messages: [
      { group: "orders-0", message: message("app", 1, 2, 7, { index: 2 ** 40 - 1, logTerm: 6, entries: [entry] }) },
      {
        group: "orders-1",
        message: message("snap", 1, 2, 7, {
          snapshot: {
            meta: { index: 99, term: 5, config: { voters: [1, 2, 3], learners: [4] } },
            data: new Uint8Array(8),
          },
        }),
      },
      { group: "payments-0", message: message("app_resp", 1, 2, 7, { reject: true, rejectHint: 41, index: 50 }) },
    ],
  };
  assert.deepEqual(decodeMessageBatch(encodeMessageBatch(batch)), batch);
  const bytes = encodeMessageBatch(batch);
  for (let cut = 0; cut < bytes.length; cut += 7) {
    assert.throws(() => decodeMessageBatch(bytes.subarray(0, cut)), ProtocolError);
  }
});
