/**
 * The dispatcher: turns a request frame into a handler call and the handler's answer into a response frame.
 * Versions outside `SUPPORTED_APIS` never reach a handler: ApiVersions gets UNSUPPORTED_VERSION at v0 (the rule
 * that lets clients discover versions), any other API closes the connection with a logged reason, as Kafka does
 * with a request it cannot parse.
 *
 * @module
 */
import {
  apiDescriptor,
  ApiKey,
  type DecodedRequest,
  decodeRequest,
  decodeRequestHeader,
  decodeRequestInSlices,
  encodeResponse,
  encodeResponseInSlices,
  ErrorCode,
  ProtocolError,
  type RequestByKey,
  type RequestHeader,
} from "../protocol/messages.ts";
import type { BrokerContext, Handler } from "./broker_context.ts";
import type { ConnectionInfo, RequestHandler } from "./connection.ts";
import { apiVersionsBody, handleApiVersions } from "./handlers/api_versions.ts";
import { handleConsumerGroupDescribe } from "./handlers/consumer_group_describe.ts";
import { handleConsumerGroupHeartbeat } from "./handlers/consumer_group_heartbeat.ts";
import { handleAlterPartitionReassignments } from "./handlers/alter_partition_reassignments.ts";
import { handleCreatePartitions } from "./handlers/create_partitions.ts";
import { handleListPartitionReassignments } from "./handlers/list_partition_reassignments.ts";
import { handleCreateTopics } from "./handlers/create_topics.ts";
import { handleDeleteGroups } from "./handlers/delete_groups.ts";
import { handleDeleteRecords } from "./handlers/delete_records.ts";
import { handleDeleteTopics } from "./handlers/delete_topics.ts";
import { handleDescribeCluster } from "./handlers/describe_cluster.ts";
import { handleElectLeaders } from "./handlers/elect_leaders.ts";
import { handleDescribeConfigs } from "./handlers/describe_configs.ts";
import { handleAlterConfigs } from "./handlers/alter_configs.ts";
import { handleIncrementalAlterConfigs } from "./handlers/incremental_alter_configs.ts";
import { handleDescribeGroups } from "./handlers/describe_groups.ts";
import { handleDescribeLogDirs } from "./handlers/describe_log_dirs.ts";
import { handleDescribeQuorum } from "./handlers/describe_quorum.ts";
import { handleUnregisterBroker } from "./handlers/unregister_broker.ts";
import { handleFetch } from "./handlers/fetch.ts";
import { handleFindCoordinator } from "./handlers/find_coordinator.ts";
import { handleHeartbeat } from "./handlers/heartbeat.ts";
import { handleInitProducerId } from "./handlers/init_producer_id.ts";
import { handleJoinGroup } from "./handlers/join_group.ts";
import { handleLeaveGroup } from "./handlers/leave_group.ts";
import { handleListGroups } from "./handlers/list_groups.ts";
import { handleListOffsets } from "./handlers/list_offsets.ts";
import { handleMetadata } from "./handlers/metadata.ts";
import { handleOffsetCommit } from "./handlers/offset_commit.ts";
import { handleOffsetDelete } from "./handlers/offset_delete.ts";
import { handleOffsetFetch } from "./handlers/offset_fetch.ts";
import { handleOffsetForLeaderEpoch } from "./handlers/offset_for_leader_epoch.ts";
import { handleProduce } from "./handlers/produce.ts";
import { handleSyncGroup } from "./handlers/sync_group.ts";
import { isSupported } from "./supported_apis.ts";
import { sliceRequest, WorkSlicer } from "./work_slices.ts";
import { responseLimit } from "./response_limit.ts";

type AnyHandler = Handler<keyof RequestByKey>;

/** Every handler by API key; `SUPPORTED_APIS` must list exactly these keys. */
const HANDLERS = new Map<number, AnyHandler>([
  [ApiKey.Produce, handleProduce as AnyHandler],
  [ApiKey.Fetch, handleFetch as AnyHandler],
  [ApiKey.ListOffsets, handleListOffsets as AnyHandler],
  [ApiKey.Metadata, handleMetadata as AnyHandler],
  [ApiKey.OffsetCommit, handleOffsetCommit as AnyHandler],
  [ApiKey.OffsetFetch, handleOffsetFetch as AnyHandler],
  [ApiKey.FindCoordinator, handleFindCoordinator as AnyHandler],
  [ApiKey.JoinGroup, handleJoinGroup as AnyHandler],
  [ApiKey.Heartbeat, handleHeartbeat as AnyHandler],
  [ApiKey.LeaveGroup, handleLeaveGroup as AnyHandler],
  [ApiKey.SyncGroup, handleSyncGroup as AnyHandler],
  [ApiKey.DescribeGroups, handleDescribeGroups as AnyHandler],
  [ApiKey.ListGroups, handleListGroups as AnyHandler],
  [ApiKey.ApiVersions, handleApiVersions as AnyHandler],
  [ApiKey.CreateTopics, handleCreateTopics as AnyHandler],
  [ApiKey.DeleteTopics, handleDeleteTopics as AnyHandler],
  [ApiKey.DeleteRecords, handleDeleteRecords as AnyHandler],
  [ApiKey.OffsetForLeaderEpoch, handleOffsetForLeaderEpoch as AnyHandler],
  [ApiKey.DeleteGroups, handleDeleteGroups as AnyHandler],
  [ApiKey.OffsetDelete, handleOffsetDelete as AnyHandler],
  [ApiKey.InitProducerId, handleInitProducerId as AnyHandler],
  [ApiKey.DescribeConfigs, handleDescribeConfigs as AnyHandler],
  [ApiKey.AlterConfigs, handleAlterConfigs as AnyHandler],
  [ApiKey.IncrementalAlterConfigs, handleIncrementalAlterConfigs as AnyHandler],
  [ApiKey.CreatePartitions, handleCreatePartitions as AnyHandler],
  [ApiKey.AlterPartitionReassignments, handleAlterPartitionReassignments as AnyHandler],
  [ApiKey.ListPartitionReassignments, handleListPartitionReassignments as AnyHandler],
  [ApiKey.DescribeLogDirs, handleDescribeLogDirs as AnyHandler],
  [ApiKey.DescribeQuorum, handleDescribeQuorum as AnyHandler],
  [ApiKey.UnregisterBroker, handleUnregisterBroker as AnyHandler],
  [ApiKey.DescribeCluster, handleDescribeCluster as AnyHandler],
  [ApiKey.ElectLeaders, handleElectLeaders as AnyHandler],
  [ApiKey.ConsumerGroupHeartbeat, handleConsumerGroupHeartbeat as AnyHandler],
  [ApiKey.ConsumerGroupDescribe, handleConsumerGroupDescribe as AnyHandler],
]);

/**
 * Requests from this size on are decoded and handled in time slices (see work_slices.ts): a 1 MiB request can
 * hold ~100,000 array elements, tens of milliseconds of work. Smaller ones keep the synchronous path.
 */
export const SLICED_REQUEST_BYTES = 256 * 1024;

/**
 * The broker's `RequestHandler`.
 *
 * A request of `SLICED_REQUEST_BYTES` or more is decoded, handled and encoded in slices, so it never stalls
 * other clients for more than a slice. Meanwhile the requests that follow it on the same connection wait for its
 * ordered part (see `handle`): pausing must not let them overtake it. Malformed requests close the connection,
 * as in Kafka, and are reported to the server's rate-limited malformed-request log.
 *
 * @example
 * ```ts ignore
 * const server = KafkaServer.listen({ ...options, handler: new RequestDispatcher(ctx) });
 * ```
 */
export class RequestDispatcher implements RequestHandler {
  /**
   * Per connection: resolves when the last request queued behind a large one may let the next request start
   * (see `handle`). Absent when the connection has no large request in progress.
   */
  readonly #turns = new WeakMap<ConnectionInfo, Promise<void>>();

  constructor(private readonly ctx: BrokerContext) {}

  /**
   * Handles a frame. Small requests of a connection with no large request in progress take the synchronous path.
   * Otherwise requests take turns: each starts once the one before has done its ordered part: a small request's
   * handler call, a large request's decoding and handler (or, for a Produce, its appends: see
   * `WorkSlicer.endOrdered`). A producer's pipelined batches are thus appended in order, and the connection
   * goes back to the synchronous path once its queue drains.
   */
  handle(frame: Uint8Array, conn: ConnectionInfo): Promise<Uint8Array | null> | Uint8Array | null {
    const before = this.#turns.get(conn);
    const large = frame.length >= SLICED_REQUEST_BYTES;
    if (before === undefined && !large) return this.#handleNow(frame, conn);
    let endTurn!: () => void;
    const turn = new Promise<void>((resolve) => endTurn = resolve);
    this.#turns.set(conn, turn);
    void turn.then(() => {
      if (this.#turns.get(conn) === turn) this.#turns.delete(conn);
    });
    const start = (): Promise<Uint8Array | null> | Uint8Array | null => {
      if (large) return this.#handleInSlices(frame, conn, endTurn);
      try {
        return this.#handleNow(frame, conn);
      } finally {
        endTurn();
      }
    };
    return before === undefined ? start() : before.then(start);
  }

  /** Decodes the header and checks the API version; null (after closing the connection) when it cannot go on. */
  #header(frame: Uint8Array, conn: ConnectionInfo): RequestHeader | Uint8Array | null {
    let header;
    try {
      header = decodeRequestHeader(frame).header;
    } catch (e) {
      conn.close(`malformed request header: ${(e as Error).message}`, "header");
      return null;
    }
    const { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId } = header;
    if (!isSupported(apiKey, apiVersion)) {
      if (apiKey === ApiKey.ApiVersions) {
        return encodeResponse(ApiKey.ApiVersions, 0, correlationId, apiVersionsBody(ErrorCode.UNSUPPORTED_VERSION));
      }
      const name = apiDescriptor(apiKey)?.name ?? `unknown API key ${apiKey}`;
      conn.close(
        `unsupported request: ${name} v${apiVersion} (see ApiVersions for what is served)`,
        "unsupported_version",
      );
      return null;
    }
    return header;
  }

  #malformed(e: unknown, header: RequestHeader, conn: ConnectionInfo): null {
    if (!(e instanceof ProtocolError)) throw e;
    const name = apiDescriptor(header.requestApiKey)?.name;
    conn.close(`malformed ${name} v${header.requestApiVersion} request: ${e.message}`, "body");
    return null;
  }

  #handleNow(frame: Uint8Array, conn: ConnectionInfo): Promise<Uint8Array | null> | Uint8Array | null {
    const header = this.#header(frame, conn);
    if (header === null || header instanceof Uint8Array) return header;
    let request;
    try {
      request = decodeRequest(frame);
    } catch (e) {
      return this.#malformed(e, header, conn);
    }
    return this.#answer(request, conn);
  }

  async #handleInSlices(frame: Uint8Array, conn: ConnectionInfo, endTurn: () => void): Promise<Uint8Array | null> {
    const slicer = new WorkSlicer();
    slicer.onOrderedEnd(endTurn);
    try {
      if (conn.isClosed) return null;
      const header = this.#header(frame, conn);
      if (header === null || header instanceof Uint8Array) return header;
      let request;
      try {
        request = await slicer.run(decodeRequestInSlices(frame));
      } catch (e) {
        return this.#malformed(e, header, conn);
      }
      if (conn.isClosed) return null;
      sliceRequest(request, slicer);
      return await this.#answer(request, conn, slicer);
    } finally {
      slicer.endOrdered();
    }
  }

  /** Runs the handler and encodes its answer (in slices when `slicer` is given). */
  #answer(
    request: DecodedRequest,
    conn: ConnectionInfo,
    slicer?: WorkSlicer,
  ): Promise<Uint8Array | null> | Uint8Array | null {
    const { apiKey, apiVersion } = request;
    const correlationId = request.header.correlationId;
    const handler = HANDLERS.get(apiKey)!;
    const maxBytes = responseLimit(apiKey, this.ctx.config);
    const refuse = (e: unknown): null => {
      if (e instanceof ProtocolError && e.kind !== "too_large") {
        // The broker built an answer its own codec cannot carry: a bug, reported with the API it is in.
        const name = apiDescriptor(apiKey)?.name;
        throw new Error(`${name} v${apiVersion}: ${e.message}`, { cause: e });
      }
      if (!(e instanceof ProtocolError)) throw e;
      const name = apiDescriptor(apiKey)?.name;
      conn.close(`${name} v${apiVersion} response refused: ${e.message}`, "response_too_large");
      return null;
    };
    const encode = (body: unknown): Promise<Uint8Array | null> | Uint8Array | null => {
      if (body === null) return null;
      try {
        if (slicer !== undefined && !conn.isClosed) {
          return slicer.run(encodeResponseInSlices(apiKey, apiVersion, correlationId, body, { maxBytes }))
            .catch(refuse);
        }
        return encodeResponse(apiKey as keyof RequestByKey, apiVersion, correlationId, body as never, { maxBytes });
      } catch (e) {
        return refuse(e);
      }
    };
    let answer;
    try {
      answer = handler(this.ctx, request as never, conn);
    } catch (e) {
      return refuse(e);
    }
    return answer instanceof Promise ? answer.then(encode, refuse) : encode(answer);
  }
}
