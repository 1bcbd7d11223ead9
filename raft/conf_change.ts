/**
 * Membership changes, one node at a time: add a voter, add a learner (or demote a voter to one), remove a
 * node. Any two majorities of configurations that differ by one voter overlap, which is what makes single
 * changes safe without joint consensus. A change takes effect on a node when its entry commits; a leader
 * proposes the next change only after the previous one committed and after an entry of its own term
 * committed (the fix for the single-server change bug found after the Raft dissertation).
 *
 * @module
 */
import type { ConfState, NodeId } from "./types.ts";

/** One membership change. */
export interface ConfChange {
  /** What happens to `node`. */
  type: "add_voter" | "add_learner" | "remove";
  /** The node added, demoted, promoted or removed. */
  node: NodeId;
}

/**
 * The configuration after `change`. Adding a voter that is a learner promotes it; adding a learner that is
 * a voter demotes it.
 *
 * @example
 * ```ts
 * import { applyConfChange } from "./conf_change.ts";
 * applyConfChange({ voters: [1, 2], learners: [3] }, { type: "add_voter", node: 3 });
 * // { voters: [1, 2, 3], learners: [] }
 * ```
 */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== change.node);
  const learners = conf.learners.filter((id) => id !== change.node);
  if (change.type === "add_voter") voters.push(change.node);
  if (change.type === "add_learner") learners.push(change.node);
  return { voters: voters.sort((a, b) => a - b), learners: learners.sort((a, b) => a - b) };
}

/**
 * What a change entry carries: the change and the whole configuration that results from it. Carrying the
 * full configuration (as KRaft's VotersRecord does) lets a node that joins with an empty log learn the
 * membership from the first change entry it receives, whatever the group's bootstrap configuration was.
 */
export interface ConfEntry {
  /** The change proposed. */
  change: ConfChange;
  /** The membership once it is applied. */
  config: ConfState;
}

/** Serializes a change entry's payload. */
export function encodeConfEntry(entry: ConfEntry): Uint8Array {
  const { change, config } = entry;
  return new TextEncoder().encode(
    JSON.stringify({ type: change.type, node: change.node, voters: config.voters, learners: config.learners }),
  );
}

/** Reads a change entry's payload back. */
export function decodeConfEntry(data: Uint8Array): ConfEntry {
  const v = JSON.parse(new TextDecoder().decode(data));
  return { change: { type: v.type, node: v.node }, config: { voters: v.voters, learners: v.learners } };
}

/** Whether two configurations have the same members in the same roles. */
export function sameConf(a: ConfState, b: ConfState): boolean {
  const key = (c: ConfState) => JSON.stringify([[...c.voters].sort(), [...c.learners].sort()]);
  return key(a) === key(b);
}
