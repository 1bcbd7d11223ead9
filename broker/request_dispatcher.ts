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
  decodeRequest,
  decodeRequestHeader,
  encodeResponse,
  ErrorCode,
  ProtocolError,
  type RequestByKey,
} from "../protocol/messages.ts";
import type { BrokerContext, Handler } from "./broker_context.ts";
import type { ConnectionInfo, RequestHandler } from "./connection.ts";
import { apiVersionsBody, handleApiVersions } from "./handlers/api_versions.ts";
import { handleConsumerGroupDescribe } from "./handlers/consumer_group_describe.ts";
import { handleConsumerGroupHeartbeat } from "./handlers/consumer_group_heartbeat.ts";
import { handleCreatePartitions } from "./handlers/create_partitions.ts";
import { handleCreateTopics } from "./handlers/create_topics.ts";
import { handleDeleteGroups } from "./handlers/delete_groups.ts";
import { handleDeleteRecords } from "./handlers/delete_records.ts";
import { handleDeleteTopics } from "./handlers/delete_topics.ts";
import { handleDescribeCluster } from "./handlers/describe_cluster.ts";
import { handleDescribeConfigs } from "./handlers/describe_configs.ts";
import { handleDescribeGroups } from "./handlers/describe_groups.ts";
import { handleDescribeQuorum } from "./handlers/describe_quorum.ts";
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
import { handleProduce } from "./handlers/produce.ts";
import { handleSyncGroup } from "./handlers/sync_group.ts";
import { isSupported } from "./supported_apis.ts";

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
  [ApiKey.DeleteGroups, handleDeleteGroups as AnyHandler],
  [ApiKey.OffsetDelete, handleOffsetDelete as AnyHandler],
  [ApiKey.InitProducerId, handleInitProducerId as AnyHandler],
  [ApiKey.DescribeConfigs, handleDescribeConfigs as AnyHandler],
  [ApiKey.CreatePartitions, handleCreatePartitions as AnyHandler],
  [ApiKey.DescribeQuorum, handleDescribeQuorum as AnyHandler],
  [ApiKey.DescribeCluster, handleDescribeCluster as AnyHandler],
  [ApiKey.ConsumerGroupHeartbeat, handleConsumerGroupHeartbeat as AnyHandler],
  [ApiKey.ConsumerGroupDescribe, handleConsumerGroupDescribe as AnyHandler],
]);

/**
 * The broker's `RequestHandler`.
 *
 * @example
 * ```ts ignore
 * const server = KafkaServer.listen({ ...options, handler: new RequestDispatcher(ctx) });
 * ```
 */
export class RequestDispatcher implements RequestHandler {
  constructor(private readonly ctx: BrokerContext) {}

  handle(frame: Uint8Array, conn: ConnectionInfo): Promise<Uint8Array | null> | Uint8Array | null {
    let header;
    try {
      header = decodeRequestHeader(frame).header;
    } catch (e) {
      conn.close(`malformed request header: ${(e as Error).message}`);
      return null;
    }
    const { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId } = header;
    if (!isSupported(apiKey, apiVersion)) {
      if (apiKey === ApiKey.ApiVersions) {
        return encodeResponse(ApiKey.ApiVersions, 0, correlationId, apiVersionsBody(ErrorCode.UNSUPPORTED_VERSION));
      }
      const name = apiDescriptor(apiKey)?.name ?? `unknown API key ${apiKey}`;
      conn.close(`unsupported request: ${name} v${apiVersion} (see ApiVersions for what is served)`);
      return null;
    }
    let request;
    try {
      request = decodeRequest(frame);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      conn.close(`malformed ${apiDescriptor(apiKey)?.name} v${apiVersion} request: ${e.message}`);
      return null;
    }
    const handler = HANDLERS.get(apiKey)!;
    const answer = handler(this.ctx, request, conn);
    const encode = (body: unknown) =>
      body === null ? null : encodeResponse(apiKey as keyof RequestByKey, apiVersion, correlationId, body as never);
    return answer instanceof Promise ? answer.then(encode) : encode(answer);
  }
}
