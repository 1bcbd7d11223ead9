/**
 * The facade of the wire codec: whole request and response frames (header + body, WITHOUT the 4-byte size
 * prefix, which the connection layer adds and strips) to and from typed values. Sans I/O: bytes in, bytes out.
 *
 * @example
 * ```ts
 * import { decodeResponse, encodeRequest } from "./messages.ts";
 * const frame = encodeRequest(
 *   { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: "me" },
 *   { clientSoftwareName: "samsa", clientSoftwareVersion: "0.1.0" },
 * );
 * // ... send `frame` with its size prefix, read the response frame `bytes`, then:
 * // const { header, body } = decodeResponse(18, 3, bytes);
 * ```
 *
 * @module
 */
import { ProtocolError } from "./protocol_error.ts";
import { MAX_REQUEST_ELEMENTS } from "./wire/limits.ts";
import { Reader } from "./wire/reader.ts";
import { Writer } from "./wire/writer.ts";
import {
  API_TABLE,
  type ApiDescriptor,
  apiDescriptor,
  ApiKey,
  type RequestByKey,
  type ResponseByKey,
} from "./generated/api_keys.ts";
import {
  decodeRequestHeader as decodeRequestHeaderBody,
  decodeResponseHeader as decodeResponseHeaderBody,
  encodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
  requestHeaderVersion,
  type ResponseHeader,
  responseHeaderVersion,
} from "./generated/headers.ts";

export { API_TABLE, apiDescriptor, ApiKey };
export type { ApiDescriptor, RequestByKey, RequestHeader, ResponseByKey, ResponseHeader };
export { isFlexible, requestHeaderVersion, responseHeaderVersion } from "./generated/headers.ts";
export { ErrorCode, errorInfo, ERRORS, type KafkaErrorInfo } from "./generated/errors.ts";
export { Reader } from "./wire/reader.ts";
export { type TaggedField, Writer } from "./wire/writer.ts";
export { ZERO_UUID } from "./wire/uuid.ts";
export { ProtocolError } from "./protocol_error.ts";
export { MAX_ARRAY_LENGTH, MAX_REQUEST_ELEMENTS, MAX_TAGGED_FIELD_COUNT } from "./wire/limits.ts";

/** A decoded request: discriminated by `apiKey`, so `if (req.apiKey === ApiKey.Produce) req.body.acks` types. */
export type DecodedRequest = {
  [K in keyof RequestByKey]: { apiKey: K; apiVersion: number; header: RequestHeader; body: RequestByKey[K] };
}[keyof RequestByKey];

/** A request header as read from a frame, and where the body starts. */
export interface RequestHeaderAt {
  /** The header (for an unknown API key or version, read as header v1: key, version, correlation id, client id). */
  header: RequestHeader;
  /** The header version used. */
  headerVersion: number;
  /** Offset of the body in the frame. */
  bodyOffset: number;
}

function descriptorFor(apiKey: number, apiVersion: number): ApiDescriptor {
  const api = apiDescriptor(apiKey);
  if (api === undefined) throw new ProtocolError("unsupported_version", `unknown API key ${apiKey}`);
  if (!(apiVersion >= api.minVersion && apiVersion <= api.maxVersion)) {
    throw new ProtocolError(
      "unsupported_version",
      `${api.name} has no version ${apiVersion} (valid ${api.minVersion}-${api.maxVersion})`,
    );
  }
  return api;
}

/**
 * Reads only the request header of a frame. Works for unknown API keys and unsupported versions too (as far as
 * the header can be read), so the broker can still answer with the right correlation id, e.g. an ApiVersions
 * UNSUPPORTED_VERSION response (KIP-511).
 *
 * @example
 * ```ts
 * import { decodeRequestHeader } from "./messages.ts";
 * const frame = new Uint8Array([0, 18, 0, 99, 0, 0, 0, 7, 255, 255]);
 * decodeRequestHeader(frame).header.correlationId; // 7
 * ```
 */
export function decodeRequestHeader(frame: Uint8Array): RequestHeaderAt {
  if (frame.length < 4) throw new ProtocolError("truncated", `request frame of ${frame.length} bytes has no header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const apiKey = view.getInt16(0);
  const apiVersion = view.getInt16(2);
  const headerVersion = apiDescriptor(apiKey) === undefined ? 1 : requestHeaderVersion(apiKey, apiVersion);
  const r = new Reader(frame);
  const header = decodeRequestHeaderBody(r, headerVersion);
  return { header, headerVersion, bodyOffset: r.pos };
}

/**
 * Decodes a whole request frame (no size prefix): header, then body of the header's API and version.
 * Throws ProtocolError: "unsupported_version" for an unknown key or version, other kinds for bad bytes
 * (including trailing bytes after the body).
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeRequest, ApiKey } from "./messages.ts";
 * const frame = encodeRequest({ requestApiKey: 18, requestApiVersion: 0, correlationId: 5, clientId: null }, {
 *   clientSoftwareName: "",
 *   clientSoftwareVersion: "",
 * });
 * const req = decodeRequest(frame);
 * if (req.apiKey === ApiKey.ApiVersions) req.header.correlationId; // 5
 * ```
 */
export function decodeRequest(frame: Uint8Array): DecodedRequest {
  const { header, bodyOffset } = decodeRequestHeader(frame);
  const api = descriptorFor(header.requestApiKey, header.requestApiVersion);
  const r = new Reader(frame, bodyOffset);
  r.elementBudget = MAX_REQUEST_ELEMENTS;
  const body = api.decodeRequest(r, header.requestApiVersion);
  // Bytes after the body are ignored, as Kafka's request parser does (librdkafka 2.16 sends 3 extra bytes
  // after a Metadata v12 body, for one).
  return { apiKey: header.requestApiKey, apiVersion: header.requestApiVersion, header, body } as DecodedRequest;
}

/**
 * {@link decodeRequest} as a generator: it pauses (a bare `yield`) every so many array elements, so the
 * caller can decode a large request in slices, between other work. The result and errors are the same.
 *
 * @example
 * ```ts
 * import { decodeRequestInSlices, encodeRequest } from "./messages.ts";
 * const frame = encodeRequest({ requestApiKey: 18, requestApiVersion: 0, correlationId: 5, clientId: null }, {
 *   clientSoftwareName: "",
 *   clientSoftwareVersion: "",
 * });
 * const steps = decodeRequestInSlices(frame);
 * let step = steps.next();
 * while (!step.done) step = steps.next(); // a real caller lets other work run between steps
 * step.value.header.correlationId; // 5
 * ```
 */
export function* decodeRequestInSlices(frame: Uint8Array): Generator<void, DecodedRequest> {
  const { header, bodyOffset } = decodeRequestHeader(frame);
  const api = descriptorFor(header.requestApiKey, header.requestApiVersion);
  const r = new Reader(frame, bodyOffset);
  r.elementBudget = MAX_REQUEST_ELEMENTS;
  const body = yield* api.decodeRequestInSlices(r, header.requestApiVersion);
  return { apiKey: header.requestApiKey, apiVersion: header.requestApiVersion, header, body } as DecodedRequest;
}

/**
 * Encodes a request frame: the header in the version its API version needs, then the body.
 * `header.requestApiKey` and `header.requestApiVersion` select the body codec. No size prefix unless
 * `options.sizePrefix`.
 *
 * @example
 * ```ts
 * import { encodeRequest } from "./messages.ts";
 * const frame = encodeRequest(
 *   { requestApiKey: 3, requestApiVersion: 12, correlationId: 2, clientId: "cli" },
 *   { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false,
 *     includeTopicAuthorizedOperations: false },
 * );
 * ```
 */
export function encodeRequest<K extends keyof RequestByKey>(
  header: RequestHeader & { requestApiKey: K },
  body: RequestByKey[K],
  options?: EncodeOptions,
): Uint8Array;
export function encodeRequest(header: RequestHeader, body: unknown, options: EncodeOptions = {}): Uint8Array {
  const api = descriptorFor(header.requestApiKey, header.requestApiVersion);
  const w = new Writer(options.initialCapacity ?? 256);
  if (options.sizePrefix) w.int32(0);
  encodeRequestHeader(w, header, requestHeaderVersion(header.requestApiKey, header.requestApiVersion));
  api.encodeRequest(w, body, header.requestApiVersion);
  return finishFrame(w, options);
}

function finishFrame(w: Writer, options: EncodeOptions): Uint8Array {
  const out = w.finish();
  if (options.sizePrefix) new DataView(out.buffer, out.byteOffset, 4).setInt32(0, out.length - 4);
  return out;
}

/** Options of {@link encodeRequest} and {@link encodeResponse}. */
export interface EncodeOptions {
  /**
   * Reserve and fill the 4-byte size prefix at the start of the output, so the frame can be written to the
   * socket as is without another copy. Default false.
   */
  sizePrefix?: boolean;
  /** Initial buffer size in bytes (a good guess avoids regrowing for large Fetch responses). Default 256. */
  initialCapacity?: number;
  /**
   * The largest frame to build, size prefix included: a larger one throws ProtocolError "too_large" once
   * this many bytes are written, without building the rest. Default unbounded.
   */
  maxBytes?: number;
}

/**
 * Encodes a response frame: the response header (v0 for ApiVersions and non-flexible versions, else v1), then
 * the body. Without options there is no size prefix.
 *
 * @example
 * ```ts
 * import { encodeResponse } from "./messages.ts";
 * const frame = encodeResponse(18, 0, 7, { errorCode: 35, apiKeys: [], throttleTimeMs: 0,
 *   supportedFeatures: [], finalizedFeaturesEpoch: -1n, finalizedFeatures: [], zkMigrationReady: false });
 * ```
 */
export function encodeResponse<K extends keyof ResponseByKey>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ResponseByKey[K],
  options?: EncodeOptions,
): Uint8Array;
export function encodeResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: unknown,
  options: EncodeOptions = {},
): Uint8Array {
  const api = descriptorFor(apiKey, apiVersion);
  const w = new Writer(options.initialCapacity ?? 256, options.maxBytes);
  // The prefix is filled in even when not asked for: the frame then comes back as a view that starts right
  // after it, and a connection that finds the prefix there sends a multi-MB Fetch response with one write and
  // no copy (broker/connection.ts).
  w.int32(0);
  encodeResponseHeader(w, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
  api.encodeResponse(w, body, apiVersion);
  const framed = finishFrame(w, { sizePrefix: true });
  return options.sizePrefix ? framed : framed.subarray(4);
}

/**
 * {@link encodeResponse} as a generator: it pauses (a bare `yield`) every so many array elements, so the
 * caller can encode a large response in slices, between other work. The bytes and errors are the same.
 *
 * @example
 * ```ts
 * import { encodeResponse, encodeResponseInSlices } from "./messages.ts";
 * const body = { errorCode: 35, apiKeys: [], throttleTimeMs: 0, supportedFeatures: [],
 *   finalizedFeaturesEpoch: -1n, finalizedFeatures: [], zkMigrationReady: false };
 * const steps = encodeResponseInSlices(18, 0, 7, body);
 * let step = steps.next();
 * while (!step.done) step = steps.next(); // a real caller lets other work run between steps
 * step.value.length === encodeResponse(18, 0, 7, body).length; // true
 * ```
 */
export function* encodeResponseInSlices(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: unknown,
  options: EncodeOptions = {},
): Generator<void, Uint8Array> {
  const api = descriptorFor(apiKey, apiVersion);
  const w = new Writer(options.initialCapacity ?? 256, options.maxBytes);
  w.int32(0); // the size prefix, as in encodeResponse
  encodeResponseHeader(w, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
  yield* api.encodeResponseInSlices(w, body, apiVersion);
  const framed = finishFrame(w, { sizePrefix: true });
  return options.sizePrefix ? framed : framed.subarray(4);
}

/**
 * Decodes a response frame (no size prefix) of a known API key and version (the client remembers them by
 * correlation id). Throws ProtocolError on bad bytes, trailing bytes or an unsupported version.
 *
 * @example
 * ```ts
 * import { decodeResponse, encodeResponse } from "./messages.ts";
 * const frame = encodeResponse(18, 3, 7, { errorCode: 0, apiKeys: [], throttleTimeMs: 0,
 *   supportedFeatures: [], finalizedFeaturesEpoch: -1n, finalizedFeatures: [], zkMigrationReady: false });
 * decodeResponse(18, 3, frame).header.correlationId; // 7
 * ```
 */
export function decodeResponse<K extends keyof ResponseByKey>(
  apiKey: K,
  apiVersion: number,
  frame: Uint8Array,
): { header: ResponseHeader; body: ResponseByKey[K] };
export function decodeResponse(
  apiKey: number,
  apiVersion: number,
  frame: Uint8Array,
): { header: ResponseHeader; body: unknown };
export function decodeResponse(
  apiKey: number,
  apiVersion: number,
  frame: Uint8Array,
): { header: ResponseHeader; body: unknown } {
  const api = descriptorFor(apiKey, apiVersion);
  const r = new Reader(frame);
  const header = decodeResponseHeaderBody(r, responseHeaderVersion(apiKey, apiVersion));
  const body = api.decodeResponse(r, apiVersion);
  r.end();
  return { header, body };
}
