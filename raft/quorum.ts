/**
 * Majority quorum math, kept apart from everything else so it can be read (and tested) in one sitting.
 *
 * @module
 */
import type { NodeId } from "./types.ts";

/** Outcome of counting votes. */
export type VoteResult = "won" | "lost" | "pending";

/**
 * The largest index acknowledged by a majority of `voters`, given each voter's acknowledged index
 * (missing voters count as -1). For no voters it is +Infinity, so an empty config never limits commit.
 *
 * @example
 * ```ts
 * import { committedIndex } from "./quorum.ts";
 * committedIndex([1, 2, 3], (id) => ({ 1: 9, 2: 4, 3: 7 } as Record<number, number>)[id]); // 7
 * ```
 */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => number | undefined): number {
  if (voters.length === 0) return Infinity;
  const xs = voters.map((id) => acked(id) ?? -1).sort((a, b) => b - a);
  // With n voters, the (floor(n/2))-th largest value (0-based) is held by a majority.
  return xs[Math.floor(xs.length / 2)];
}

/**
 * Whether `votes` (granted or refused, per voter) decide an election among `voters`.
 *
 * @example
 * ```ts
 * import { voteResult } from "./quorum.ts";
 * voteResult([1, 2, 3], new Map([[1, true], [2, true]])); // "won"
 * ```
 */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return "won";
  let granted = 0;
  let refused = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) refused++;
  }
  const q = Math.floor(voters.length / 2) + 1;
  if (granted >= q) return "won";
  if (voters.length - refused < q) return "lost";
  return "pending";
}

/** Whether the nodes for which `active` holds form a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (active(id)) n++;
  return n >= Math.floor(voters.length / 2) + 1;
}
