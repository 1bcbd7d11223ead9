/**
 * ApiVersions (key 18): the versions this broker serves, exactly the dispatcher's table. An unsupported
 * ApiVersions version is answered by the dispatcher with UNSUPPORTED_VERSION at v0, as Kafka does.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { ApiVersionsResponse } from "../../protocol/generated/messages/api_versions_response.ts";
import type { Handler } from "../broker_context.ts";
import { SUPPORTED_APIS } from "../supported_apis.ts";

/** The ApiVersions body, with `errorCode` (NONE, or UNSUPPORTED_VERSION for a version we do not serve). */
export function apiVersionsBody(errorCode: number): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: SUPPORTED_APIS.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

/** Answers ApiVersions. */
export const handleApiVersions: Handler<typeof ApiKey.ApiVersions> = () => apiVersionsBody(ErrorCode.NONE);
