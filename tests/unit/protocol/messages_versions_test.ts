/**
 * Version semantics of the generated codecs: defaults for fields a version lacks, ignorable versus
 * non-ignorable fields, nullability per version, tagged fields, and hand-checked bytes of real messages.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  decodeFetchRequest,
  decodeFetchResponse,
  defaultFetchRequest,
  defaultFetchResponse,
  defaultFetchResponsePartitionData,
  defaultProduceRequest,
  encodeFetchRequest,
  encodeFetchResponse,
  encodeProduceRequest,
  fetchRequestSchema,
} from "../../../protocol/generated/messages/mod.ts";
import {
  decodeApiVersionsResponse,
  encodeApiVersionsResponse,
} from "../../../protocol/generated/messages/api_versions_response.ts";
import { decodeMetadataRequest, encodeMetadataRequest } from "../../../protocol/generated/messages/metadata_request.ts";
import { API_TABLE, ApiKey } from "../../../protocol/generated/api_keys.ts";
import { ErrorCode, errorInfo, ERRORS } from "../../../protocol/generated/errors.ts";
import { ProtocolError } from "../../../protocol/protocol_error.ts";
import { Reader } from "../../../protocol/wire/reader.ts";
import { Writer } from "../../../protocol/wire/writer.ts";
import { ZERO_UUID } from "../../../protocol/wire/uuid.ts";

function encode<T>(fn: (w: Writer, v: T, version: number) => void, v: T, version: number): Uint8Array {
  const w = new Writer();
  fn(w, v, version);
  return w.finish();
}

const unsupported = (e: unknown) => e instanceof ProtocolError && e.kind === "unsupported_version";

Deno.test("fields a version lacks decode to their schema defaults, including hex and negative ones", () => {
  const old = decodeFetchRequest(new Reader(encode(encodeFetchRequest, defaultFetchRequest(), 2)), 2);
  strictEqual(old.maxBytes, 0x7fffffff); // "0x7fffffff", added in v3
  strictEqual(old.isolationLevel, 0);
  strictEqual(old.sessionEpoch, -1);
  strictEqual(old.clusterId, null); // "null"
  strictEqual(old.rackId, "");
  strictEqual(old.replicaState.replicaEpoch, -1n);
  const field = fetchRequestSchema.fields.find((f) => f.name === "maxBytes");
  deepStrictEqual([field?.versions, field?.default], [[3, 17], 0x7fffffff]);
});

Deno.test("an ignorable field set in a version that lacks it is silently dropped", () => {
  const req = { ...defaultFetchRequest(), maxBytes: 1024, rackId: "rack-a" };
  const back = decodeFetchRequest(new Reader(encode(encodeFetchRequest, req, 2)), 2);
  strictEqual(back.maxBytes, 0x7fffffff);
  strictEqual(back.rackId, "");
});

Deno.test("a non-ignorable field set to a non-default value in a version that lacks it throws", () => {
  const req = { ...defaultProduceRequest(), transactionalId: "tx" }; // added in v3, not ignorable
  throws(() => encode(encodeProduceRequest, req, 2), unsupported);
  encode(encodeProduceRequest, req, 3);
  const partition = { ...defaultFetchResponsePartitionData(), preferredReadReplica: 2 }; // v11+
  const res = { ...defaultFetchResponse(), responses: [{ topic: "t", topicId: ZERO_UUID, partitions: [partition] }] };
  throws(() => encode(encodeFetchResponse, res, 10), unsupported);
});

Deno.test("null is accepted only in the versions the schema makes a field nullable", () => {
  const all = {
    topics: null,
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };
  throws(() => encode(encodeMetadataRequest, all, 0), ProtocolError); // v0: empty array meant "all topics"
  const bytes = encode(encodeMetadataRequest, all, 1);
  deepStrictEqual([...bytes], [0xff, 0xff, 0xff, 0xff]);
  strictEqual(decodeMetadataRequest(new Reader(bytes), 1).topics, null);
});

Deno.test("versions outside validVersions are rejected by encoders and decoders", () => {
  throws(() => encode(encodeProduceRequest, defaultProduceRequest(), 12), unsupported);
  throws(() => decodeFetchRequest(new Reader(new Uint8Array(64)), -1), unsupported);
});

Deno.test("tagged fields at their default are not sent; others are, in tag order", () => {
  const base = {
    errorCode: 0,
    apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 11 }],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
  // error, 1 api key (compact 2), key/min/max, its tags, throttle, body tags = 0
  deepStrictEqual([...encode(encodeApiVersionsResponse, base, 3)], [0, 0, 2, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0]);
  const withTags = { ...base, finalizedFeaturesEpoch: 5n, zkMigrationReady: true };
  const bytes = encode(encodeApiVersionsResponse, withTags, 3);
  deepStrictEqual([...bytes.subarray(14)], [2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 5, 3, 1, 1]);
  deepStrictEqual(decodeApiVersionsResponse(new Reader(bytes), 3), withTags);
  // v0 has no tags and no throttle time.
  deepStrictEqual([...encode(encodeApiVersionsResponse, withTags, 0)], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 11]);
});

Deno.test("records fields stay raw bytes, never decoded", () => {
  const records = new Uint8Array([1, 2, 3, 4, 5]);
  const partition = { ...defaultFetchResponsePartitionData(), records };
  const res = { ...defaultFetchResponse(), responses: [{ topic: "t", topicId: ZERO_UUID, partitions: [partition] }] };
  const back = decodeFetchResponse(new Reader(encode(encodeFetchResponse, res, 16)), 16);
  deepStrictEqual(back.responses[0].partitions[0].records, records);
});

Deno.test("the API table lists every API with its versions and first flexible version", () => {
  strictEqual(API_TABLE[ApiKey.Produce].name, "Produce");
  deepStrictEqual([API_TABLE[ApiKey.Produce].minVersion, API_TABLE[ApiKey.Produce].flexibleFrom], [0, 9]);
  strictEqual(API_TABLE[ApiKey.ApiVersions].flexibleFrom, 3);
  strictEqual(API_TABLE[ApiKey.Fetch].listeners.includes("broker"), true);
  strictEqual(ApiKey.InitProducerId, 22);
});

Deno.test("the error table maps names to codes and codes to retriability and messages", () => {
  strictEqual(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 3);
  strictEqual(ErrorCode.NONE, 0);
  strictEqual(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  strictEqual(errorInfo(6)?.name, "NOT_LEADER_OR_FOLLOWER");
  strictEqual(errorInfo(6)?.retriable, true);
  strictEqual(errorInfo(0)?.message, null);
  strictEqual(errorInfo(12345), undefined);
  strictEqual(new Set(ERRORS.map((e) => e.code)).size, ERRORS.length);
});
