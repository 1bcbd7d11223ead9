/**
 * What a leader knows about each follower's log, and how it paces replication to it.
 *
 * - `probe`: the leader does not know where the follower's log matches; it sends one append per
 *   heartbeat interval and waits for the answer.
 * - `replicate`: the logs match up to `match`; the leader streams appends optimistically (pipelining),
 *   bounded by the {@linkcode Inflights} window.
 * - `snapshot`: the follower needs entries the leader has compacted away; a snapshot is in flight.
 *
 * @module
 */
import { Inflights } from "./inflights.ts";

/** Replication state of one follower. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/**
 * The leader's view of one peer.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const p = new Progress(11, 16, 1 << 20, false);
 * p.maybeUpdate(10); // the follower acknowledged up to 10
 * p.becomeReplicate();
 * ```
 */
export class Progress {
  /** Highest index known to match the leader's log (an entry's last index), -1 if none. */
  match: number = -1;
  /** First index of the next append (an entry's first index in the leader's log). */
  next: number;
  /** Replication state. */
  state: ProgressState = "probe";
  /** In probe state: an append was sent and the leader waits for its answer or the next heartbeat. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot in flight. */
  pendingSnapshot: number = -1;
  /** In snapshot state: leader ticks since it was sent (a lost snapshot is retried after a timeout). */
  snapshotTicks = 0;
  /** Highest commit index sent to this peer, so a leader knows when a follower has yet to learn one. */
  sentCommit: number = -1;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Appends in flight. */
  readonly inflights: Inflights;

  /** A peer in probe state whose next append starts at `next`. */
  constructor(next: number, maxInflightMsgs: number, maxInflightBytes: number, public isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  #reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = -1;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  /** Back to probing from just after the last known match (or after the snapshot just installed). */
  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.#reset("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#reset("probe");
      this.next = this.match + 1;
    }
  }

  /** The logs are known to match: stream appends. */
  becomeReplicate(): void {
    this.#reset("replicate");
    this.next = this.match + 1;
  }

  /** A snapshot ending at `index` is on its way. */
  becomeSnapshot(index: number): void {
    this.#reset("snapshot");
    this.pendingSnapshot = index;
  }

  /** Records an acknowledgement up to `index`; false if it was stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Records that an append ending at `last` with `bytes` of payload was sent. */
  sentEntries(last: number, bytes: number): void {
    if (this.state === "replicate") {
      this.next = last + 1;
      this.inflights.add(last, bytes);
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /**
   * Handles a rejection of the append whose previous index was `rejected`; `next` becomes `nextProbe`
   * (a boundary of the leader's log derived from the follower's hint). False if the rejection is stale.
   */
  maybeDecrTo(rejected: number, nextProbe: number): boolean {
    if (this.state === "replicate") {
      // Appends at or below match were accepted already: this rejection is a stale duplicate.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the answer to the latest probe counts.
    if (this.next - 1 !== rejected) return false;
    // nextProbe <= rejected and is an entry boundary of the leader's log; so is match + 1.
    this.next = Math.max(nextProbe, this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold back appends to this peer for now. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
