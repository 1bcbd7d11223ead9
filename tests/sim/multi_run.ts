/**
 * A randomized run of {@linkcode MultiRaft}: three nodes hosting many groups (most replicated on all three,
 * some single-voter), exchanging coalesced batches over a lossy, delaying, partitionable network, with
 * crashes and restarts of whole nodes. Each group has its own {@linkcode Checker}; after the faults stop,
 * every group must elect a leader and commit a proposal.
 *
 * @module
 */
import { MultiRaft } from "../../raft/multi_raft.ts";
import { randomInt, seededRandom } from "../../raft/prng.ts";
import { MemoryStorage } from "../../raft/storage.ts";
import type { MessageBatch } from "../../raft/transport.ts";
import { lastIndexOf, type NodeId } from "../../raft/types.ts";
import { Checker, foldEntry, SafetyViolation } from "./checker.ts";
import { decodeState, encodeState, type StateMachine } from "./cluster.ts";

/** The outcome of one multi-group seed. */
export interface MultiRunResult {
  seed: number;
  ok: boolean;
  error?: string;
  groups: number;
  batches: number;
  messages: number;
}

interface HostedGroup {
  storage: MemoryStorage;
  sm: StateMachine;
}

const NODES: NodeId[] = [1, 2, 3];

/** Runs one seed of the multi-group simulation. */
export function runMultiSeed(seed: number): MultiRunResult {
  const rnd = seededRandom(seed * 40503 + 17);
  const replicated = randomInt(rnd, 3, 12);
  const single = randomInt(rnd, 0, 3);
  const groupIds = [
    ...Array.from({ length: replicated }, (_, i) => `r${i}`),
    ...Array.from({ length: single }, (_, i) => `s${i}`),
  ];
  const votersOf = (g: string): NodeId[] => (g.startsWith("s") ? [1] : NODES);
  const checkers = new Map(groupIds.map((g) => [g, new Checker()]));
  const hosted = new Map<NodeId, Map<string, HostedGroup>>();
  const nodes = new Map<NodeId, MultiRaft | undefined>();
  let queue: { batch: MessageBatch; at: number }[] = [];
  const blocked = new Set<string>();
  const loss = rnd() * 0.2;
  const maxDelay = randomInt(rnd, 0, 3);
  let now = 0;
  let batches = 0;
  let messages = 0;
  const result: MultiRunResult = { seed, ok: true, groups: groupIds.length, batches: 0, messages: 0 };

  const start = (id: NodeId) => {
    const groups = hosted.get(id)!;
    const mr: MultiRaft = new MultiRaft({
      id,
      transport: {
        send(batch) {
          batches++;
          messages += batch.messages.length;
          if (blocked.has(`${batch.from}>${batch.to}`) || rnd() < loss) return;
          queue.push({ batch, at: now + randomInt(rnd, 0, maxDelay) });
        },
      },
      host: {
        persist(g, rd) {
          const h = groups.get(g)!;
          if (rd.snapshot) h.storage.applySnapshot(rd.snapshot);
          if (rd.entries.length > 0) {
            checkers.get(g)!.persist(id, rd.entries, h.storage.term(rd.entries[0].index - 1) ?? -1);
            h.storage.append(rd.entries);
          }
          if (rd.hardState) {
            h.storage.setHardState(rd.hardState);
            checkers.get(g)!.durableCommit(id, rd.hardState.commit);
          }
        },
        apply(g, rd) {
          const h = groups.get(g)!;
          const ck = checkers.get(g)!;
          if (rd.snapshot) {
            h.sm = decodeState(rd.snapshot.data);
            ck.restore(id, rd.snapshot.meta.index, h.sm.hash);
          }
          for (const e of rd.committedEntries) {
            if (e.index !== h.sm.applied + 1) {
              throw new SafetyViolation(`${g}: node ${id} applies ${e.index} after ${h.sm.applied}`);
            }
            h.sm = { applied: lastIndexOf(e), hash: foldEntry(h.sm.hash, e) };
            ck.apply(id, e, h.sm.hash);
          }
        },
      },
    });
    for (const [g, h] of groups) {
      const snap = h.storage.snapshot();
      h.sm = decodeState(snap.data);
      checkers.get(g)!.restarted(id);
      mr.addGroup(g, {
        storage: h.storage,
        random: seededRandom(seed * 7919 + id * 104729 + g.length * 31 + g.charCodeAt(1)),
        maxInflightMsgs: 4,
      });
    }
    nodes.set(id, mr);
  };

  for (const id of NODES) {
    const groups = new Map<string, HostedGroup>();
    for (const g of groupIds) {
      if (!votersOf(g).includes(id)) continue;
      groups.set(g, {
        storage: new MemoryStorage({ voters: votersOf(g), learners: [] }),
        sm: { applied: -1, hash: 0 },
      });
    }
    hosted.set(id, groups);
    start(id);
  }

  const check = () => {
    for (const [id, mr] of nodes) {
      if (!mr) continue;
      for (const g of mr.groups()) {
        const r = mr.group(g)!.raft;
        const ck = checkers.get(g)!;
        ck.commit(id, r.log.committed);
        if (r.role === "leader" && ck.leader(id, r.term)) ck.leaderCompleteness(id, r.term, r.log);
      }
    }
  };
  const round = () => {
    now++;
    for (const mr of nodes.values()) mr?.tick();
    const due = queue.filter((q) => q.at <= now);
    queue = queue.filter((q) => q.at > now);
    for (const { batch } of due) {
      if (blocked.has(`${batch.from}>${batch.to}`)) continue;
      nodes.get(batch.to)?.receive(batch);
    }
    for (let k = 0; k < 10; k++) {
      let work = 0;
      for (const mr of nodes.values()) work += mr?.handleReady() ?? 0;
      check();
      if (work === 0) break;
    }
  };
  const leaderOf = (g: string): MultiRaft | undefined => {
    let best: MultiRaft | undefined;
    for (const mr of nodes.values()) {
      const r = mr?.group(g)?.raft;
      if (r?.role === "leader" && (!best || r.term > best.group(g)!.raft.term)) best = mr;
    }
    return best;
  };

  try {
    const down = new Map<NodeId, number>();
    let proposals = 0;
    for (let t = 0; t < 300; t++) {
      if (rnd() < 0.02) {
        blocked.clear();
        const a = NODES[randomInt(rnd, 0, 2)];
        for (const b of NODES) {
          if (b !== a && rnd() < 0.7) {
            (rnd() < 0.5 ? [[a, b]] : [[a, b], [b, a]]).forEach(([x, y]) => blocked.add(`${x}>${y}`));
          }
        }
      }
      if (rnd() < 0.03) blocked.clear();
      if (rnd() < 0.01) {
        const id = NODES[randomInt(rnd, 0, 2)];
        if (nodes.get(id)) {
          nodes.set(id, undefined);
          down.set(id, t + randomInt(rnd, 5, 40));
        }
      }
      for (const [id, until] of down) if (t >= until) (down.delete(id), start(id));
      for (const g of groupIds) {
        if (rnd() < 0.1) {
          const mr = leaderOf(g);
          mr?.propose(g, randomInt(rnd, 1, 4), new TextEncoder().encode(`s${seed}${g}p${proposals++}`));
        }
        if (rnd() < 0.005) {
          const id = NODES[randomInt(rnd, 0, 2)];
          const h = hosted.get(id)!.get(g);
          if (h && nodes.get(id) && h.sm.applied > h.storage.snapshotMeta().index) {
            h.storage.createSnapshot(h.sm.applied, encodeState(h.sm));
          }
        }
      }
      round();
    }
    // Calm: everyone up, no loss, no cuts. Every group must commit a new proposal.
    blocked.clear();
    for (const [id] of down) start(id);
    const pending = new Map<string, { last: number; term: number }>();
    const done = new Set<string>();
    for (let t = 0; t < 300 && done.size < groupIds.length; t++) {
      for (const g of groupIds) {
        if (done.has(g)) continue;
        const p = pending.get(g);
        const applied = p ? checkers.get(g)!.appliedAt(p.last) : undefined;
        if (p && applied?.term === p.term) {
          done.add(g);
          continue;
        }
        const mr = leaderOf(g);
        const r = mr?.group(g)?.raft;
        if (mr && r && (!p || r.log.term(p.last) !== p.term || applied)) {
          const res = mr.propose(g, 1, new TextEncoder().encode(`s${seed}${g}final`));
          if (res.ok) pending.set(g, { last: res.lastIndex, term: res.term });
        }
      }
      round();
    }
    if (done.size < groupIds.length) {
      const missing = groupIds.filter((g) => !done.has(g));
      throw new SafetyViolation(`liveness: groups ${missing.join(",")} committed nothing within 300 calm ticks`);
    }
  } catch (e) {
    result.ok = false;
    result.error = e instanceof SafetyViolation ? e.message : `crash: ${(e as Error).stack}`;
  }
  result.batches = batches;
  result.messages = messages;
  return result;
}
