/**
 * Which `__consumer_offsets` partitions this broker coordinates, and whether their groups are loaded yet: the
 * decisions of coordinator failover as a pure state machine (no log, no timer, no replica).
 *
 * A broker coordinates the groups of an offsets partition while it leads that partition, as in Kafka. Gaining
 * leadership starts a load: the new leader first waits until every entry it holds is committed (its high
 * watermark reaches the log end it had when it gained leadership, so entries of earlier terms are in), then
 * replays the partition and only then serves its groups. Losing leadership (or a new leader epoch, when another
 * leader may have written in between) unloads them. Until loaded a group is answered
 * COORDINATOR_LOAD_IN_PROGRESS; on a broker that does not lead its partition, NOT_COORDINATOR.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/messages.ts";

/** What the coordinator sees of its replica of one offsets partition. */
export interface OffsetsReplicaView {
  isLeader: boolean;
  leaderEpoch: number;
  logEndOffset: number;
  highWatermark: number;
}

/** What the shell must do for a partition after an observation, in this order. */
export interface CoordinatorSteps {
  /** Drop the loaded groups and offsets of the partition (answering their held requests NOT_COORDINATOR). */
  unload: boolean;
  /** Replay the partition up to its high watermark, then call {@link CoordinatorPartitions.loaded}. */
  replay: boolean;
  /** Observe again when the replica's high watermark advances (the load waits for earlier terms to commit). */
  awaitHighWatermark: boolean;
}

interface PartitionState {
  phase: "loading" | "active";
  leaderEpoch: number;
  /** The replica's log end when leadership was gained: the high watermark must reach it before the replay. */
  loadEndOffset: number;
  /** Tells loads apart, so a write that outlived the load it started in is not applied to a later one. */
  loadId: number;
}

const NOTHING: CoordinatorSteps = { unload: false, replay: false, awaitHighWatermark: false };

/**
 * The coordinator state of every offsets partition of this broker.
 *
 * @example
 * ```ts
 * import { CoordinatorPartitions } from "./coordinator_partitions.ts";
 * const partitions = new CoordinatorPartitions();
 * const steps = partitions.observe(7, { isLeader: true, leaderEpoch: 3, logEndOffset: 10, highWatermark: 10 });
 * steps.replay; // true: replay partition 7, then
 * partitions.loaded(7);
 * partitions.errorCode(7); // ErrorCode.NONE
 * ```
 */
export class CoordinatorPartitions {
  readonly #states = new Map<number, PartitionState>();
  #nextLoadId = 1;

  /**
   * Moves `partition` on what its replica shows now (`undefined`: this broker holds no replica of it) and
   * returns what the shell must do. Observing the same thing twice asks for nothing new.
   */
  observe(partition: number, replica: OffsetsReplicaView | undefined): CoordinatorSteps {
    const state = this.#states.get(partition);
    if (!replica || !replica.isLeader) {
      if (!state) return NOTHING;
      this.#states.delete(partition);
      return { ...NOTHING, unload: state.phase === "active" };
    }
    if (state && state.leaderEpoch === replica.leaderEpoch) {
      if (state.phase === "active") return NOTHING;
      const ready = replica.highWatermark >= state.loadEndOffset;
      return { unload: false, replay: ready, awaitHighWatermark: !ready };
    }
    // Leadership gained, or a new epoch: another leader may have written in between, so the groups are reloaded.
    this.#states.set(partition, {
      phase: "loading",
      leaderEpoch: replica.leaderEpoch,
      loadEndOffset: replica.logEndOffset,
      loadId: this.#nextLoadId++,
    });
    const ready = replica.highWatermark >= replica.logEndOffset;
    return { unload: state?.phase === "active", replay: ready, awaitHighWatermark: !ready };
  }

  /** The partition's replay is done: its groups are served from now on. */
  loaded(partition: number): void {
    const state = this.#states.get(partition);
    if (state) state.phase = "active";
  }

  /** How a request for a group of `partition` is answered: NONE (served here), or the error to give. */
  errorCode(partition: number): number {
    const state = this.#states.get(partition);
    if (!state) return ErrorCode.NOT_COORDINATOR;
    return state.phase === "active" ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /** The current load of an active partition (compare after a write), undefined when it is not served here. */
  loadIdOf(partition: number): number | undefined {
    const state = this.#states.get(partition);
    return state?.phase === "active" ? state.loadId : undefined;
  }

  /** True while some partition is loading (ListGroups then answers COORDINATOR_LOAD_IN_PROGRESS, as Kafka). */
  anyLoading(): boolean {
    for (const state of this.#states.values()) if (state.phase === "loading") return true;
    return false;
  }

  /** The partitions led here, loaded or loading. */
  partitions(): number[] {
    return [...this.#states.keys()];
  }
}
