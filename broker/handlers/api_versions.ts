/**
 * ApiVersions (key 18): the versions this broker serves, exactly the dispatcher's table, and the features
 * (KIP-584): those this broker supports and those the cluster finalized (FeatureLevelRecords of the metadata
 * image), with the metadata offset they stand at as their epoch, as Kafka 4 answers. An unsupported
 * ApiVersions version is answered by the dispatcher with UNSUPPORTED_VERSION at v0, as Kafka does.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { ApiVersionsResponse } from "../../protocol/generated/messages/api_versions_response.ts";
import type { BrokerContext, Handler } from "../broker_context.ts";
import { finalizedFeatures, SUPPORTED_FEATURES } from "../metadata/features.ts";
import { SUPPORTED_APIS } from "../supported_apis.ts";

/**
 * The ApiVersions body, with `errorCode` (NONE, or UNSUPPORTED_VERSION for a version we do not serve). Without
 * `ctx` (the UNSUPPORTED_VERSION answer) it carries no features.
 */
export function apiVersionsBody(errorCode: number, ctx?: BrokerContext): ApiVersionsResponse {
  const finalized = ctx ? finalizedFeatures(ctx.metadata) : [];
  const epoch = ctx?.metadataOffset?.() ?? -1;
  return {
    errorCode,
    apiKeys: SUPPORTED_APIS.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })),
    throttleTimeMs: 0,
    supportedFeatures: ctx ? SUPPORTED_FEATURES.map((f) => ({ ...f })) : [],
    // The epoch is valid only with finalized features; Kafka's is the offset of the image it answers from.
    finalizedFeaturesEpoch: finalized.length > 0 ? BigInt(Math.max(epoch, 0)) : -1n,
    finalizedFeatures: finalized,
    zkMigrationReady: false,
  };
}

/** Answers ApiVersions. */
export const handleApiVersions: Handler<typeof ApiKey.ApiVersions> = (ctx) => apiVersionsBody(ErrorCode.NONE, ctx);
