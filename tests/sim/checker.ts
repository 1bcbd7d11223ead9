/**
 * Safety checkers run by the simulator after every step. Each records what it has seen across all nodes
 * and throws {@linkcode SafetyViolation} the moment an invariant of Raft breaks:
 *
 * - election safety: at most one leader per term;
 * - log matching: entries with the same index and term are identical and follow the same predecessor
 *   (checked as entries are persisted, the only way into a log);
 * - leader completeness: a new leader's log holds every entry any node has applied;
 * - state machine safety: every node applies the same entry at the same index, in order, and snapshots
 *   carry the same state as the entries they replace;
 * - the commit index of a node never goes back (in memory within a life, durably across crashes).
 *
 * @module
 */
import type { RaftLog } from "../../raft/raft_log.ts";
import { type Entry, lastIndexOf, type NodeId } from "../../raft/types.ts";

/** A broken invariant. */
export class SafetyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetyViolation";
  }
}

/** FNV-1a over bytes, continuing from `h`. */
export function fnv(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

/** Folds one entry into a state machine's running hash. */
export function foldEntry(h: number, e: Entry): number {
  const head = new Uint8Array(new Float64Array([e.index, e.count, e.term, e.type]).buffer);
  return fnv(e.data, fnv(head, h));
}

/** Cluster-wide memory of what each invariant allows. */
export class Checker {
  #leaders = new Map<number, NodeId>();
  #entries = new Map<string, { count: number; data: number; prevTerm: number }>();
  /** Applied state per entry last index: the hash after applying it, and the entry's first index and term. */
  #applied = new Map<number, { hash: number; index: number; term: number }>();
  #maxApplied = -1;
  #commit = new Map<NodeId, number>();
  #durableCommit = new Map<NodeId, number>();
  checks = 0;

  #fail(msg: string): never {
    throw new SafetyViolation(msg);
  }

  /** Election safety; returns true the first time `id` is seen leading `term`. */
  leader(id: NodeId, term: number): boolean {
    this.checks++;
    const other = this.#leaders.get(term);
    if (other === undefined) {
      this.#leaders.set(term, id);
      return true;
    }
    if (other !== id) this.#fail(`election safety: nodes ${other} and ${id} both lead term ${term}`);
    return false;
  }

  /** Log matching, for `entries` about to be persisted after a log whose term at `entries[0].index - 1` is `prevTerm`. */
  persist(id: NodeId, entries: readonly Entry[], prevTerm: number): void {
    let prev = prevTerm;
    for (const e of entries) {
      this.checks++;
      if (e.count < 1) this.#fail(`node ${id}: entry at ${e.index} has count ${e.count}`);
      const key = `${e.index}:${e.term}`;
      const seen = { count: e.count, data: fnv(e.data), prevTerm: prev };
      const known = this.#entries.get(key);
      if (!known) this.#entries.set(key, seen);
      else if (known.count !== seen.count || known.data !== seen.data || known.prevTerm !== seen.prevTerm) {
        this.#fail(
          `log matching: node ${id} persists entry ${key} (count ${seen.count}, prev term ${seen.prevTerm}) ` +
            `that differs from one seen before (count ${known.count}, prev term ${known.prevTerm})`,
        );
      }
      prev = e.term;
    }
  }

  /** State machine safety for one applied entry; `hash` is the node's state after applying it. */
  apply(id: NodeId, e: Entry, hash: number): void {
    this.checks++;
    const last = lastIndexOf(e);
    const known = this.#applied.get(last);
    if (!known) {
      this.#applied.set(last, { hash, index: e.index, term: e.term });
      this.#maxApplied = Math.max(this.#maxApplied, last);
    } else if (known.hash !== hash || known.index !== e.index || known.term !== e.term) {
      this.#fail(
        `state machine safety: node ${id} applied entry ${e.index}..${last} term ${e.term}, but another node ` +
          `applied ${known.index}..${last} term ${known.term} (or a different state) there`,
      );
    }
  }

  /** State machine safety for a snapshot restored at `index` with state `hash`. */
  restore(id: NodeId, index: number, hash: number): void {
    this.checks++;
    const known = this.#applied.get(index);
    if (index >= 0 && known && known.hash !== hash) {
      this.#fail(`state machine safety: node ${id} restored a snapshot at ${index} whose state differs`);
    }
  }

  /** Leader completeness: a new leader's log must hold every entry applied anywhere. */
  leaderCompleteness(id: NodeId, term: number, log: RaftLog): void {
    const first = log.firstIndex();
    for (const [last, a] of this.#applied) {
      if (last < first) continue;
      this.checks++;
      if (log.term(last) !== a.term || log.term(a.index) !== a.term) {
        this.#fail(
          `leader completeness: node ${id} leads term ${term} without committed entry ${a.index}..${last} ` +
            `term ${a.term} (its term there: ${log.term(last)})`,
        );
      }
    }
  }

  /** The commit index of `id` in its current life; never decreases. */
  commit(id: NodeId, commit: number): void {
    this.checks++;
    const prev = this.#commit.get(id) ?? -1;
    if (commit < prev) this.#fail(`commit went back on node ${id}: ${prev} -> ${commit}`);
    this.#commit.set(id, commit);
  }

  /** The persisted commit index of `id`; never decreases, across crashes too. */
  durableCommit(id: NodeId, commit: number): void {
    this.checks++;
    const prev = this.#durableCommit.get(id) ?? -1;
    if (commit < prev) this.#fail(`persisted commit went back on node ${id}: ${prev} -> ${commit}`);
    this.#durableCommit.set(id, commit);
  }

  /** A node restarted: its in-memory commit starts again from what was persisted. */
  restarted(id: NodeId): void {
    this.#commit.delete(id);
  }

  /** The entry applied (anywhere) whose last index is `last`, if any. */
  appliedAt(last: number): { index: number; term: number } | undefined {
    return this.#applied.get(last);
  }

  /** Highest index applied by any node. */
  get maxApplied(): number {
    return this.#maxApplied;
  }

  /** The leader of each term seen. */
  get leaders(): ReadonlyMap<number, NodeId> {
    return this.#leaders;
  }
}
