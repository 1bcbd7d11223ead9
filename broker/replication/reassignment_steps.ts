/**
 * The next membership change of a partition reassignment, as the leader of the partition's Raft group decides it.
 * Pure: the group's committed configuration, the target replicas and who is caught up in; one step out.
 *
 * The move goes one node at a time (single-server changes, docs/RAFT.md), in this order:
 * 1. each target replica missing from the group joins as a learner, catches up (its match index reaches the
 *    commit index), and is promoted to voter, before the next one joins: the quorum only ever grows by a replica
 *    that holds the committed log;
 * 2. learners that are not targets (a cancelled move) leave;
 * 3. each voter that is not a target leaves, the leader last: it hands leadership to a caught-up target voter
 *    first (the new leader then removes it).
 *
 * The caller proposes the step; the core refuses it while the previous change is uncommitted, and the step is
 * asked for again at the next tick from the configuration then committed.
 *
 * @module
 */
import type { ConfChange } from "../../raft/conf_change.ts";

/** What the leader knows of its group. */
export interface MembershipState {
  /** The leader (this broker). */
  self: number;
  /** Committed voters and learners. */
  voters: readonly number[];
  learners: readonly number[];
  /** The replicas the partition is to have, in the order the operator gave. */
  target: readonly number[];
  /** Whether a replica holds the committed log (its match index reached the commit index). */
  caughtUp(id: number): boolean;
}

/** One step: a membership change to propose, leadership to hand over, nothing yet, or the move is done. */
export type MembershipStep =
  | { kind: "change"; change: ConfChange }
  | { kind: "transfer"; to: number }
  | { kind: "wait"; reason: string }
  | { kind: "done" };

/**
 * The next step of moving the group to `state.target`.
 *
 * @example
 * ```ts
 * import { nextMembershipStep } from "./reassignment_steps.ts";
 * nextMembershipStep({ self: 2, voters: [1, 2, 3], learners: [], target: [2, 3, 4], caughtUp: () => true });
 * // { kind: "change", change: { type: "add_learner", node: 4 } }
 * ```
 */
export function nextMembershipStep(state: MembershipState): MembershipStep {
  const { self, voters, learners, target, caughtUp } = state;
  if (target.length === 0) return { kind: "wait", reason: "no target replicas" };
  for (const id of target) {
    if (voters.includes(id)) continue;
    if (!learners.includes(id)) return { kind: "change", change: { type: "add_learner", node: id } };
    if (!caughtUp(id)) return { kind: "wait", reason: `learner ${id} is catching up` };
    return { kind: "change", change: { type: "add_voter", node: id } };
  }
  for (const id of learners) {
    if (!target.includes(id)) return { kind: "change", change: { type: "remove", node: id } };
  }
  for (const id of voters) {
    if (id !== self && !target.includes(id)) return { kind: "change", change: { type: "remove", node: id } };
  }
  if (!target.includes(self)) {
    const successor = target.find((id) => voters.includes(id) && id !== self && caughtUp(id));
    if (successor === undefined) return { kind: "wait", reason: "no caught-up target voter to lead" };
    return { kind: "transfer", to: successor };
  }
  return { kind: "done" };
}
