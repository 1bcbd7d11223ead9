/**
 * The controller of a multi-node cluster. Every metadata change goes through the active controller (the
 * leader of the metadata quorum):
 *
 * - on the active controller, changes run one at a time: planned by the same pure planners as a single node
 *   (`broker/controller.ts`) against the image, which holds every committed change, then proposed to the
 *   quorum, and answered once committed and applied here. Two creates of one name, from any brokers, meet in
 *   this queue, so only the first can succeed.
 * - on any other node, the change is forwarded to the active controller over its CONTROLLER listener (an
 *   internal request, see docs/ARCHITECTURE.md for why not Kafka's Envelope), and answered only once this node
 *   has applied the offset the controller committed it at: a client that creates a topic and then asks the
 *   same broker for Metadata sees it.
 *
 * It also runs the broker lifecycle on the controller side, as Kafka's ClusterControlManager does: a
 * registration is committed as a RegisterBrokerRecord whose broker epoch is its offset, the broker starts
 * fenced and is unfenced by a heartbeat showing it has applied the log up to its registration; an unfenced
 * broker silent for `broker.session.timeout.ms` is fenced; a controlled shutdown fences the broker. A fenced
 * broker's single-replica partitions become leaderless, and it leads them again once unfenced
 * (`partition_leadership.ts`).
 *
 * The leadership of partitions with more replicas is their Raft groups' to decide: their leaders report it
 * (`reportLeadership`, sent by `leadership_reporter.ts`) and the controller records what is news, with the exact
 * leader epoch.
 *
 * @module
 */
import { ErrorCode, ZERO_UUID } from "../../protocol/messages.ts";
import type { Controller, QuorumDescription, TopicChangeResult, TopicCreation } from "../broker_context.ts";
import type { BrokerConfig } from "../config.ts";
import {
  type ClusterView,
  type PartitionIncrease,
  planPartitionCreations,
  planTopicCreations,
  planTopicDeletionSteps,
  PRODUCER_ID_BLOCK_SIZE,
  type TopicDeletion,
} from "../controller.ts";
import type { ConfigChangeResult, ConfigResourceChange } from "../config_changes.ts";
import { planConfigChanges } from "../config_changes.ts";
import type { Logger } from "../logger.ts";
import {
  leaderlessOnFencing,
  type LeadershipReport,
  leadersOnUnfencing,
  planLeadershipReports,
} from "./partition_leadership.ts";
import { bootstrapFeatureRecords } from "./features.ts";
import {
  type MembershipReport,
  type OngoingReassignment,
  ongoingReassignments,
  planReassignmentProgress,
  planReassignments,
  type ReassignmentRequest,
  type ReassignmentResult,
} from "./partition_reassignment.ts";
import type { BrokerEndpoint, MetadataImage, MetadataRecord } from "../metadata_image.ts";
import type { NodeHello } from "../raft_transport.ts";
import type { ClusterSettings } from "./cluster_config.ts";
import { ControllerClient, ControllerRequestError } from "./controller_client.ts";
import { type MetadataQuorum, NotControllerError } from "./metadata_quorum.ts";
import { WorkSlicer } from "../work_slices.ts";

/** How long a forwarded change may take before the client is told REQUEST_TIMED_OUT. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The error text a non-active controller answers with; the forwarding node then asks the new leader. */
const NOT_CONTROLLER = "NOT_CONTROLLER";

/** A broker's registration, as it asks for it. */
export interface BrokerRegistrationRequest {
  brokerId: number;
  incarnationId: string;
  endpoints: BrokerEndpoint[];
  rack: string | null;
}

/** A broker's heartbeat. */
export interface BrokerHeartbeatRequest {
  brokerId: number;
  brokerEpoch: string;
  /** The last metadata offset the broker has applied. */
  appliedOffset: number;
  /** The broker is stopping (controlled shutdown). */
  wantShutDown: boolean;
}

/** The controller's answer to a heartbeat. */
export interface BrokerHeartbeatAnswer {
  /** The broker must register again (the controller does not know this epoch). */
  unknownEpoch: boolean;
  fenced: boolean;
  /** The controlled shutdown is done: the broker may stop. */
  shouldShutDown: boolean;
}

/** The controller's answer to a leadership report: how many partitions it recorded a change for. */
export interface LeadershipReportAnswer {
  /** Partitions with a new leader or leader epoch recorded. */
  leaders: number;
  /** Partitions with a new ISR only recorded. */
  isrs: number;
  /** Reports that were stale or wrong, and changed nothing. */
  ignored: number;
}

/** An answer and the metadata offset the asker must apply before it answers its own client. */
interface Answer {
  value: unknown;
  offset: number;
}

function failedResult(name: string, code: number, message: string): TopicChangeResult {
  return { name, topicId: ZERO_UUID, errorCode: code, errorMessage: message, numPartitions: -1, replicationFactor: -1 };
}

/** `promise`, or a rejection once `ms` have passed (a proposal stuck without a quorum). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no commit within the request timeout`)), Math.max(ms, 1));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Metadata changes of a cluster node, active or forwarding.
 *
 * @example
 * ```ts ignore
 * const controller = new QuorumController(quorum, image, settings, config, logger);
 * await controller.createTopics([{ name: "orders", numPartitions: 3, replicationFactor: -1, assignments: [],
 *   configs: {} }], false);
 * ```
 */
export class QuorumController implements Controller {
  readonly #client: ControllerClient;
  #queue: Promise<unknown> = Promise.resolve();
  /** Producer-id hand-outs of this broker, one at a time (apart from `#queue`, which they may wait for). */
  #producerIdQueue: Promise<unknown> = Promise.resolve();
  /** Producer ids this broker got from the controller: the next to hand out and the end of its block. */
  #producerIds = { next: 0n, end: 0n };
  /** When each broker was last heard from, on the active controller (reset at each election). */
  readonly #lastContact = new Map<number, number>();
  #activeTerm = -1;
  /** The voter to ask next while no leader is known. */
  #guess = 0;
  #fencingTimer: ReturnType<typeof setInterval> | undefined;
  #quorum!: MetadataQuorum;

  constructor(
    private readonly image: MetadataImage,
    private readonly settings: ClusterSettings,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.#client = new ControllerClient({ clusterId: settings.clusterId, nodeId: settings.nodeId });
  }

  /** Connects the controller to its quorum (they refer to each other) and starts the fencing check. */
  attach(quorum: MetadataQuorum): void {
    this.#quorum = quorum;
    if (this.settings.isController) {
      this.#fencingTimer = setInterval(() => this.#fenceSilentBrokers(), this.settings.heartbeatIntervalMs);
    }
  }

  /** The cluster as the planners see it: the unfenced registered brokers. */
  cluster(): ClusterView {
    const live = this.image.brokers().filter((b) => !b.fenced && !b.inControlledShutdown);
    return {
      nodeId: this.settings.nodeId,
      brokers: live.map((b) => b.id),
      racks: new Map(live.map((b) => [b.id, b.rack])),
      defaultNumPartitions: this.config.numPartitions,
      defaultReplicationFactor: this.config.defaultReplicationFactor,
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // The Controller interface: what this node's handlers call

  async createTopics(topics: TopicCreation[], validateOnly: boolean): Promise<TopicChangeResult[]> {
    try {
      return await this.#run("createTopics", { topics, validateOnly }) as TopicChangeResult[];
    } catch (e) {
      return topics.map((t) => failedResult(t.name, ErrorCode.REQUEST_TIMED_OUT, String((e as Error).message)));
    }
  }

  async deleteTopics(topics: TopicDeletion[]): Promise<TopicChangeResult[]> {
    try {
      return await this.#run("deleteTopics", { topics }) as TopicChangeResult[];
    } catch (e) {
      return topics.map((t) => ({
        ...failedResult(t.name as string, ErrorCode.REQUEST_TIMED_OUT, String((e as Error).message)),
        topicId: t.topicId ?? ZERO_UUID,
      }));
    }
  }

  async createPartitions(topics: PartitionIncrease[], validateOnly: boolean): Promise<TopicChangeResult[]> {
    try {
      return await this.#run("createPartitions", { topics, validateOnly }) as TopicChangeResult[];
    } catch (e) {
      return topics.map((t) => failedResult(t.name, ErrorCode.REQUEST_TIMED_OUT, String((e as Error).message)));
    }
  }

  async alterConfigs(changes: ConfigResourceChange[], validateOnly: boolean): Promise<ConfigChangeResult[]> {
    try {
      return await this.#run("alterConfigs", { changes, validateOnly }) as ConfigChangeResult[];
    } catch (e) {
      return changes.map(({ resourceType, resourceName }) => ({
        resourceType,
        resourceName,
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        errorMessage: String((e as Error).message),
      }));
    }
  }

  async alterPartitionReassignments(requests: ReassignmentRequest[]): Promise<ReassignmentResult[]> {
    try {
      return await this.#run("alterPartitionReassignments", { requests }) as ReassignmentResult[];
    } catch (e) {
      return requests.map(({ topic, partition }) => ({
        topic,
        partition,
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        errorMessage: String((e as Error).message),
      }));
    }
  }

  /**
   * The reassignments in progress, as the active controller's image holds them (asked there, as Kafka forwards
   * ListPartitionReassignments to the controller). Rejects when no controller answered.
   */
  async listPartitionReassignments(
    wanted: { topic: string; partitions: number[] }[] | null,
  ): Promise<OngoingReassignment[]> {
    return await this.#run("listPartitionReassignments", { wanted }) as OngoingReassignment[];
  }

  /** Hands out producer ids from a block this broker reserved through the controller (a ProducerIdsRecord). */
  allocateProducerId(): Promise<bigint> {
    const allocate = async () => {
      if (this.#producerIds.next >= this.#producerIds.end) {
        const block = await this.#run("allocateProducerIds", { brokerId: this.settings.nodeId }) as {
          start: string;
          end: string;
        };
        this.#producerIds = { next: BigInt(block.start), end: BigInt(block.end) };
      }
      return this.#producerIds.next++;
    };
    const run = this.#producerIdQueue.then(allocate, allocate);
    this.#producerIdQueue = run.catch(() => {});
    return run;
  }

  /** Registers this broker; resolves with its broker epoch once the registration is applied here. */
  async register(request: BrokerRegistrationRequest): Promise<bigint> {
    const answer = await this.#run("registerBroker", request) as { brokerEpoch: string };
    return BigInt(answer.brokerEpoch);
  }

  /** The metadata quorum as the active controller sees it. */
  async describeQuorum(): Promise<QuorumDescription> {
    return await this.#run("describeQuorum", {}) as QuorumDescription;
  }

  /** Unregisters broker `brokerId` (UnregisterBroker): BROKER_ID_NOT_REGISTERED when it is not registered. */
  async unregisterBroker(brokerId: number): Promise<{ errorCode: number; errorMessage: string | null }> {
    try {
      return await this.#run("unregisterBroker", { brokerId }) as { errorCode: number; errorMessage: string | null };
    } catch (e) {
      return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: String((e as Error).message) };
    }
  }

  /**
   * Reports the leadership of partitions whose Raft group this broker leads; resolves once the answer's offset is
   * applied here. Rejects when no active controller answered within `timeoutMs` (the reporter tries again).
   */
  async reportLeadership(reports: LeadershipReport[], timeoutMs: number): Promise<LeadershipReportAnswer> {
    return await this.#run(
      "reportLeadership",
      { brokerId: this.settings.nodeId, reports },
      timeoutMs,
    ) as LeadershipReportAnswer;
  }

  /** Sends this broker's heartbeat. */
  async heartbeat(request: BrokerHeartbeatRequest, timeoutMs: number): Promise<BrokerHeartbeatAnswer> {
    return await this.#run("brokerHeartbeat", request, timeoutMs) as BrokerHeartbeatAnswer;
  }

  /**
   * Runs `op` on the active controller (here, or forwarded), then waits until this node has applied the
   * offset the answer stands at. Retries while no controller is active (an election) until `timeoutMs`.
   */
  async #run(op: string, args: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown = new NotControllerError(-1);
    while (Date.now() < deadline) {
      const quorum = this.#quorum;
      try {
        let answer: Answer;
        if (quorum.isActiveController()) {
          answer = await withTimeout(this.handle(op, args), deadline - Date.now(), op);
        } else {
          // An observer that has not joined yet knows no leader: it asks the voters in turn until one is it.
          const leader = quorum.leaderId;
          const voters = this.settings.voters;
          const others = voters.filter((v) => v.id !== this.settings.nodeId);
          const voter = voters.find((v) => v.id === leader && leader !== this.settings.nodeId) ??
            others[this.#guess++ % others.length];
          if (!voter) throw new NotControllerError(leader);
          answer = await this.#client.request(voter, op, args, deadline - Date.now()) as Answer;
        }
        await quorum.waitForApplied(answer.offset, Math.max(deadline - Date.now(), 1));
        return answer.value;
      } catch (e) {
        const retriable = e instanceof NotControllerError ||
          (e instanceof ControllerRequestError && e.message === NOT_CONTROLLER) ||
          !(e instanceof ControllerRequestError);
        if (!retriable) throw e;
        lastError = e;
        await sleep(100);
      }
    }
    throw new Error(`no active controller answered ${op} within ${timeoutMs} ms: ${(lastError as Error).message}`);
  }

  #serializeLocal<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(change, change);
    this.#queue = run.catch(() => {});
    return run;
  }

  // ------------------------------------------------------------------------------------------------------------
  // The active controller's side

  /**
   * Handles a controller request on the active controller, one at a time. Throws `NOT_CONTROLLER` when this
   * node is not (or stops being) the active controller: the asker retries with the new one.
   */
  handle(op: string, args: unknown, from?: NodeHello): Promise<Answer> {
    return this.#serializeLocal(async () => {
      if (!this.#quorum.isActiveController()) throw new Error(NOT_CONTROLLER);
      // A broker reports the partitions it leads, not another's.
      if (op === "reportLeadership" && from && from.nodeId !== (args as { brokerId?: unknown })?.brokerId) {
        throw new Error(`node ${from.nodeId} reported leadership as another broker`);
      }
      try {
        return await this.#decide(op, args);
      } catch (e) {
        if (e instanceof NotControllerError) throw new Error(NOT_CONTROLLER);
        throw e;
      }
    });
  }

  async #commit(records: MetadataRecord[]): Promise<number> {
    if (records.length === 0) return this.#quorum.appliedOffset;
    return await this.#quorum.propose(records);
  }

  async #decide(op: string, args: any): Promise<Answer> {
    const quorum = this.#quorum;
    switch (op) {
      case "createTopics": {
        const plan = planTopicCreations(this.image, args.topics, this.cluster(), () => crypto.randomUUID());
        if (args.validateOnly) return { value: plan.results, offset: quorum.appliedOffset };
        const offset = await this.#commit(plan.records);
        for (const r of plan.results) {
          if (r.errorCode !== ErrorCode.NONE) continue;
          this.logger.info("topic created", {
            topic: r.name,
            topicId: r.topicId,
            partitions: r.numPartitions,
            replicationFactor: r.replicationFactor,
          });
        }
        return { value: plan.results, offset };
      }
      case "deleteTopics": {
        // Planned in slices, as on a single node: a DeleteTopics naming ~a million topics must not stall the node.
        const plan = await new WorkSlicer().run(planTopicDeletionSteps(this.image, args.topics));
        const offset = await this.#commit(plan.records);
        for (const r of plan.results) {
          if (r.errorCode === ErrorCode.NONE) this.logger.info("topic deleted", { topic: r.name, topicId: r.topicId });
        }
        return { value: plan.results, offset };
      }
      case "createPartitions": {
        const plan = planPartitionCreations(this.image, args.topics, this.cluster());
        if (args.validateOnly) return { value: plan.results, offset: quorum.appliedOffset };
        return { value: plan.results, offset: await this.#commit(plan.records) };
      }
      case "alterConfigs": {
        const plan = planConfigChanges(this.image, args.changes);
        if (args.validateOnly) return { value: plan.results, offset: quorum.appliedOffset };
        const offset = await this.#commit(plan.records);
        for (const r of plan.results) {
          if (r.errorCode === ErrorCode.NONE) this.logger.info("topic configs changed", { topic: r.resourceName });
        }
        return { value: plan.results, offset };
      }
      case "allocateProducerIds": {
        const start = this.image.nextProducerId;
        const end = start + PRODUCER_ID_BLOCK_SIZE;
        const broker = this.image.broker(args.brokerId);
        const offset = await this.#commit([{
          type: "producer_ids",
          record: { brokerId: args.brokerId, brokerEpoch: broker?.epoch ?? -1n, nextProducerId: end },
        }]);
        return { value: { start: String(start), end: String(end) }, offset };
      }
      case "registerBroker": {
        const r = args as BrokerRegistrationRequest;
        // The broker epoch is the offset of the registration record, as in Kafka.
        // The first registration of a new cluster also finalizes its feature levels (none are missing later).
        const features = bootstrapFeatureRecords(this.image);
        const brokerEpoch = BigInt(quorum.nextOffset() + features.length);
        const offset = await this.#commit([...features, {
          type: "register_broker",
          record: {
            brokerId: r.brokerId,
            incarnationId: r.incarnationId,
            brokerEpoch,
            endPoints: r.endpoints,
            rack: r.rack,
            fenced: true,
            inControlledShutdown: false,
          },
        }]);
        this.#lastContact.set(r.brokerId, Date.now());
        this.logger.info("broker registered", { broker: r.brokerId, broker_epoch: String(brokerEpoch), rack: r.rack });
        // A broker that is not a voter follows the log as an observer (a Raft learner).
        const joined = await quorum.addObserver(r.brokerId);
        return { value: { brokerEpoch: String(brokerEpoch) }, offset: Math.max(offset, joined) };
      }
      case "alterPartitionReassignments": {
        // Brokers named must be registered (fenced ones too: a move may wait for a broker to come back), as Kafka.
        const registered = { ...this.cluster(), brokers: this.image.brokers().map((b) => b.id) };
        const plan = planReassignments(this.image, Array.isArray(args.requests) ? args.requests : [], registered);
        const offset = await this.#commit(plan.records);
        for (const r of plan.records) {
          if (r.type !== "partition_change") continue;
          this.logger.info("partition reassignment recorded", {
            topic: this.image.topicById(r.record.topicId)?.name ?? r.record.topicId,
            partition: r.record.partitionId,
            replicas: r.record.replicas?.join(","),
            adding: r.record.addingReplicas?.join(","),
            removing: r.record.removingReplicas?.join(","),
          });
        }
        return { value: plan.results, offset };
      }
      case "listPartitionReassignments":
        return { value: ongoingReassignments(this.image, args.wanted ?? null), offset: quorum.appliedOffset };
      case "reportLeadership":
        return await this.#recordLeadership(args.brokerId, Array.isArray(args.reports) ? args.reports : []);
      case "describeQuorum":
        return { value: quorum.describe(Date.now()), offset: quorum.appliedOffset };
      case "brokerHeartbeat":
        return await this.#heartbeat(args as BrokerHeartbeatRequest);
      case "unregisterBroker": {
        const broker = this.image.broker(args.brokerId);
        if (!broker) {
          const errorMessage = `Broker ID ${args.brokerId} is not currently registered`;
          return {
            value: { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage },
            offset: quorum.appliedOffset,
          };
        }
        // As Kafka's controller (ReplicationControlManager.unregisterBroker): the partitions it led lose their
        // leader (those with one replica; the Raft groups of the others elect another), then the registration
        // goes. Kafka does not refuse a live broker: it registers again at its next heartbeat (its epoch is
        // unknown) and, unfenced, leads its partitions again.
        const offset = await this.#commit([...leaderlessOnFencing(this.image, broker.id), {
          type: "unregister_broker",
          record: { brokerId: broker.id, brokerEpoch: broker.epoch },
        }]);
        this.logger.info("broker unregistered", { broker: broker.id, broker_epoch: String(broker.epoch) });
        return { value: { errorCode: ErrorCode.NONE, errorMessage: null }, offset };
      }
      default:
        throw new Error(`unknown controller request ${op}`);
    }
  }

  /** Commits, in one batch, what is news in the leadership reports of broker `brokerId`. */
  async #recordLeadership(brokerId: number, reports: LeadershipReport[]): Promise<Answer> {
    const plan = planLeadershipReports(this.image, brokerId, reports);
    const before = new Map<string, number>();
    for (const { report, change } of plan.outcomes) {
      if (change !== "leader") continue;
      const p = this.image.topicById(report.topicId)?.partitions[report.partition];
      before.set(`${report.topicId}:${report.partition}`, p?.leader ?? -1);
    }
    // A reassigned group's committed membership, after its leadership (the same ISR, in the same order).
    const progress = planReassignmentProgress(
      this.image,
      brokerId,
      reports.filter((r): r is MembershipReport => Array.isArray(r?.voters) && Array.isArray(r?.learners)),
    );
    const offset = await this.#commit([...plan.records, ...progress]);
    for (const r of progress) {
      if (r.type !== "partition_change") continue;
      this.logger.info("partition reassignment step recorded", {
        topic: this.image.topicById(r.record.topicId)?.name ?? r.record.topicId,
        partition: r.record.partitionId,
        replicas: r.record.replicas?.join(","),
        adding: r.record.addingReplicas?.join(","),
        removing: r.record.removingReplicas?.join(","),
      });
    }
    const value: LeadershipReportAnswer = { leaders: 0, isrs: 0, ignored: 0 };
    for (const { report, change, reason } of plan.outcomes) {
      const fields = {
        topic: this.image.topicById(report?.topicId)?.name ?? report?.topicId,
        partition: report?.partition,
        leader: report?.leader,
        leader_epoch: report?.leaderEpoch,
        isr: Array.isArray(report?.isr) ? report.isr.join(",") : undefined,
      };
      if (change === "ignored") {
        value.ignored++;
        this.logger.debug("leadership report ignored", { ...fields, reporter: brokerId, reason });
        continue;
      }
      if (change === "isr") value.isrs++;
      else value.leaders++;
      // A new leader is news for an operator; a leader re-elected in a new term or an ISR change is detail.
      const previous = before.get(`${report.topicId}:${report.partition}`);
      if (change === "leader" && previous !== report.leader) {
        this.logger.info("partition leader elected", { ...fields, previous_leader: previous });
      } else this.logger.debug("partition leadership recorded", fields);
    }
    return { value, offset };
  }

  async #heartbeat(hb: BrokerHeartbeatRequest): Promise<Answer> {
    const quorum = this.#quorum;
    const broker = this.image.broker(hb.brokerId);
    if (!broker || broker.epoch !== BigInt(hb.brokerEpoch)) {
      const value: BrokerHeartbeatAnswer = { unknownEpoch: true, fenced: true, shouldShutDown: false };
      return { value, offset: quorum.appliedOffset };
    }
    this.#lastContact.set(broker.id, Date.now());
    const change = { brokerId: broker.id, brokerEpoch: broker.epoch, fenced: 0, inControlledShutdown: 0 };
    if (hb.wantShutDown) {
      if (!broker.fenced || !broker.inControlledShutdown) {
        change.fenced = broker.fenced ? 0 : 1;
        change.inControlledShutdown = broker.inControlledShutdown ? 0 : 1;
        this.logger.info("broker in controlled shutdown: fenced", { broker: broker.id });
      }
    } else if (broker.fenced && hb.appliedOffset >= Number(broker.epoch)) {
      // Caught up with the log up to its own registration: it may lead and serve.
      change.fenced = -1;
      this.logger.info("broker unfenced", { broker: broker.id, applied_offset: hb.appliedOffset });
    }
    // Its single-replica partitions go offline with it and come back with it (their data is on this broker only);
    // the Raft groups of the others elect their leaders themselves.
    const leadership = hb.wantShutDown
      ? leaderlessOnFencing(this.image, broker.id)
      : change.fenced === -1
      ? leadersOnUnfencing(this.image, broker.id)
      : [];
    let offset = quorum.appliedOffset;
    if (change.fenced !== 0 || change.inControlledShutdown !== 0 || leadership.length > 0) {
      offset = await this.#commit([{ type: "broker_change", record: change }, ...leadership]);
    }
    const now = this.image.broker(broker.id);
    const value: BrokerHeartbeatAnswer = {
      unknownEpoch: false,
      fenced: now?.fenced ?? true,
      shouldShutDown: hb.wantShutDown,
    };
    return { value, offset };
  }

  /** On the active controller: fences unfenced brokers not heard from within the session timeout. */
  #fenceSilentBrokers(): void {
    const quorum = this.#quorum;
    if (!quorum.isActiveController()) {
      this.#activeTerm = -1;
      return;
    }
    const term = quorum.status().term;
    const now = Date.now();
    if (this.#activeTerm !== term) {
      // A new active controller gives every broker a full session before judging it.
      this.#activeTerm = term;
      for (const b of this.image.brokers()) this.#lastContact.set(b.id, now);
      return;
    }
    for (const b of this.image.brokers()) {
      if (b.fenced) continue;
      const last = this.#lastContact.get(b.id) ?? now;
      if (now - last <= this.settings.sessionTimeoutMs) continue;
      void this.#serializeLocal(async () => {
        const current = this.image.broker(b.id);
        if (!current || current.fenced || current.epoch !== b.epoch) return;
        if (!this.#quorum.isActiveController()) return;
        this.logger.warn("broker fenced: no heartbeat within broker.session.timeout.ms", {
          broker: b.id,
          silent_ms: now - last,
        });
        await this.#commit([
          {
            type: "broker_change",
            record: { brokerId: b.id, brokerEpoch: b.epoch, fenced: 1, inControlledShutdown: 0 },
          },
          ...leaderlessOnFencing(this.image, b.id),
        ]);
      }).catch((e) => this.logger.warn("fencing a broker failed", { broker: b.id, error: String(e) }));
    }
  }

  /** Stops the fencing check and closes connections to controllers. */
  close(): void {
    clearInterval(this.#fencingTimer);
    this.#client.close();
  }
}
