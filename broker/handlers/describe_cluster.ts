/**
 * DescribeCluster (key 60): the cluster id, the controller and the brokers (this one). A broker listener
 * answers only for brokers: asking it for controllers (endpoint type 2) is MISMATCHED_ENDPOINT_TYPE, as in
 * Kafka, where controllers answer on their own listener.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { advertisedEndpoint, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS_ALL } from "./metadata.ts";

const BROKERS = 1;

/** Answers DescribeCluster. */
export const handleDescribeCluster: Handler<typeof ApiKey.DescribeCluster> = (ctx, request, conn) => {
  const { body } = request;
  const clusterAuthorizedOperations = body.includeClusterAuthorizedOperations
    ? CLUSTER_OPERATIONS_ALL
    : AUTHORIZED_OPERATIONS_OMITTED;
  if (body.endpointType !== BROKERS) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
      errorMessage: "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type " +
        (body.endpointType === 2 ? "CONTROLLER" : "UNKNOWN"),
      endpointType: BROKERS,
      clusterId: ctx.clusterId,
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations,
    };
  }
  const endpoint = advertisedEndpoint(ctx, conn.listenerName);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    endpointType: BROKERS,
    clusterId: ctx.clusterId,
    controllerId: ctx.cluster?.controllerId() ?? ctx.nodeId,
    brokers: ctx.cluster?.liveBrokers(conn.listenerName).map((b) => ({
      brokerId: b.nodeId,
      host: b.host,
      port: b.port,
      rack: b.rack,
    })) ??
      [{ brokerId: ctx.nodeId, host: endpoint.host, port: endpoint.port, rack: null }],
    clusterAuthorizedOperations,
  };
};
