/**
 * DescribeCluster (key 60): the cluster id, the controller and the brokers (this one).
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { advertisedEndpoint } from "./metadata.ts";

/** Answers DescribeCluster. Endpoint type 2 (controllers) is answered with this node too: it is both. */
export const handleDescribeCluster: Handler<typeof ApiKey.DescribeCluster> = (ctx, _request, conn) => {
  const endpoint = advertisedEndpoint(ctx, conn.listenerName);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    endpointType: _request.body.endpointType,
    clusterId: ctx.clusterId,
    controllerId: ctx.nodeId,
    brokers: [{ brokerId: ctx.nodeId, host: endpoint.host, port: endpoint.port, rack: null }],
    clusterAuthorizedOperations: -2147483648,
  };
};
