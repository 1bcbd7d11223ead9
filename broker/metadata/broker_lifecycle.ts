/**
 * The broker side of the lifecycle, as Kafka's BrokerLifecycleManager runs it: register with the active
 * controller (endpoints, rack, a new incarnation id), then heartbeat every `broker.heartbeat.interval.ms`
 * with the metadata offset applied so far (the controller unfences the broker once it has caught up), register
 * again if the controller no longer knows this broker's epoch, and on SIGTERM ask for a controlled shutdown.
 *
 * @module
 */
import type { Logger } from "../logger.ts";
import type { BrokerEndpoint } from "../metadata_image.ts";
import type { ClusterSettings } from "./cluster_config.ts";
import type { MetadataQuorum } from "./metadata_quorum.ts";
import type { QuorumController } from "./quorum_controller.ts";

/**
 * This broker's registration and heartbeats.
 *
 * @example
 * ```ts ignore
 * const lifecycle = new BrokerLifecycle(controller, quorum, settings, endpoints, logger);
 * await lifecycle.register(); // returns once the registration is applied here: the broker has caught up
 * lifecycle.startHeartbeats();
 * ```
 */
export class BrokerLifecycle {
  #epoch = -1n;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #fenced = true;
  #unfencedOnce!: () => void;
  /** Resolves the first time the controller unfences this broker. */
  readonly unfenced: Promise<void> = new Promise((r) => this.#unfencedOnce = r);

  constructor(
    private readonly controller: QuorumController,
    private readonly quorum: MetadataQuorum,
    private readonly settings: ClusterSettings,
    private readonly endpoints: BrokerEndpoint[],
    private readonly logger: Logger,
  ) {}

  /** The broker epoch of the current registration (-1 before it). */
  get brokerEpoch(): bigint {
    return this.#epoch;
  }

  /** Whether the controller last said this broker is fenced. */
  get fenced(): boolean {
    return this.#fenced;
  }

  /** Registers, retrying until an active controller accepts; resolves once the registration is applied here. */
  async register(): Promise<void> {
    while (!this.#stopped) {
      try {
        this.#epoch = await this.controller.register({
          brokerId: this.settings.nodeId,
          incarnationId: crypto.randomUUID(),
          endpoints: this.endpoints,
          rack: this.settings.rack,
        });
        this.logger.info("registered with the controller", { broker_epoch: String(this.#epoch) });
        return;
      } catch (e) {
        this.logger.warn("registration failed; retrying", { error: String((e as Error).message ?? e) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Sends a heartbeat now and then every `broker.heartbeat.interval.ms`. */
  startHeartbeats(): void {
    const beat = async () => {
      if (this.#stopped) return;
      try {
        const answer = await this.controller.heartbeat({
          brokerId: this.settings.nodeId,
          brokerEpoch: String(this.#epoch),
          appliedOffset: this.quorum.appliedOffset,
          wantShutDown: false,
        }, this.settings.heartbeatIntervalMs * 2);
        if (answer.unknownEpoch && !this.#stopped) {
          this.logger.warn("the controller does not know this broker's epoch; registering again");
          await this.register();
        } else {
          if (answer.fenced !== this.#fenced) this.logger.info(answer.fenced ? "broker fenced" : "broker unfenced");
          this.#fenced = answer.fenced;
          if (!answer.fenced) this.#unfencedOnce();
        }
      } catch (e) {
        this.logger.debug("heartbeat failed", { error: String((e as Error).message ?? e) });
      }
      if (!this.#stopped) this.#timer = setTimeout(beat, this.settings.heartbeatIntervalMs);
    };
    void beat();
  }

  /**
   * Controlled shutdown: asks the controller to fence this broker, waiting at most `timeoutMs` (the broker has
   * handed its replicated partitions' leaderships over before, `ClusterNode.handOverLeaderships`). Stops the
   * heartbeats either way.
   */
  async controlledShutdown(timeoutMs: number): Promise<boolean> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#epoch < 0n) return false;
    try {
      const answer = await this.controller.heartbeat({
        brokerId: this.settings.nodeId,
        brokerEpoch: String(this.#epoch),
        appliedOffset: this.quorum.appliedOffset,
        wantShutDown: true,
      }, timeoutMs);
      return answer.shouldShutDown;
    } catch (e) {
      this.logger.warn("controlled shutdown not confirmed by the controller", { error: String(e) });
      return false;
    }
  }

  /** Stops heartbeating. */
  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
