/**
 * Request and response headers: which version each API version uses, their byte layout, and tagged fields.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  decodeRequestHeader as decodeRequestHeaderBody,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  isFlexible,
  requestHeaderVersion,
  responseHeaderVersion,
} from "../../../protocol/generated/headers.ts";
import { APIS } from "../../../protocol/generated/api_keys.ts";
import {
  ApiKey,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  ProtocolError,
} from "../../../protocol/messages.ts";
import { Reader } from "../../../protocol/wire/reader.ts";
import { Writer } from "../../../protocol/wire/writer.ts";

Deno.test("flexible API versions use request header v2 and response header v1, older ones v1 and v0", () => {
  strictEqual(requestHeaderVersion(ApiKey.Produce, 8), 1);
  strictEqual(requestHeaderVersion(ApiKey.Produce, 9), 2);
  strictEqual(responseHeaderVersion(ApiKey.Produce, 8), 0);
  strictEqual(responseHeaderVersion(ApiKey.Produce, 9), 1);
  strictEqual(requestHeaderVersion(ApiKey.Metadata, 9), 2);
  strictEqual(responseHeaderVersion(ApiKey.Fetch, 12), 1);
  for (const api of APIS) {
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      const flexible = api.flexibleFrom !== null && v >= api.flexibleFrom;
      strictEqual(isFlexible(api.apiKey, v), flexible);
      if (api.apiKey !== ApiKey.ControlledShutdown || v !== 0) {
        strictEqual(requestHeaderVersion(api.apiKey, v), flexible ? 2 : 1);
      }
    }
  }
});

Deno.test("ApiVersions responses always use response header v0, even in flexible versions", () => {
  strictEqual(isFlexible(ApiKey.ApiVersions, 3), true);
  strictEqual(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  for (let v = 0; v <= 4; v++) strictEqual(responseHeaderVersion(ApiKey.ApiVersions, v), 0);
  const frame = encodeResponse(ApiKey.ApiVersions, 3, 0x01020304, {
    errorCode: 0,
    apiKeys: [],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  // correlation id, then the body straight away: no tagged-field byte after the correlation id.
  deepStrictEqual([...frame], [1, 2, 3, 4, 0, 0, 1, 0, 0, 0, 0, 0]);
});

Deno.test("ControlledShutdown v0 uses request header v0, which has no client id", () => {
  strictEqual(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
  strictEqual(requestHeaderVersion(ApiKey.ControlledShutdown, 1), 1);
  const w = new Writer();
  encodeRequestHeader(w, { requestApiKey: 7, requestApiVersion: 0, correlationId: 9, clientId: null }, 0);
  deepStrictEqual([...w.finish()], [0, 7, 0, 0, 0, 0, 0, 9]);
});

Deno.test("request header v1 has a nullable int16-length client id; v2 keeps it non-compact and adds tags", () => {
  const header = { requestApiKey: 3, requestApiVersion: 12, correlationId: 1, clientId: "ab" };
  const v1 = new Writer();
  encodeRequestHeader(v1, header, 1);
  deepStrictEqual([...v1.finish()], [0, 3, 0, 12, 0, 0, 0, 1, 0, 2, 0x61, 0x62]);
  const v2 = new Writer();
  encodeRequestHeader(v2, header, 2);
  deepStrictEqual([...v2.finish()], [0, 3, 0, 12, 0, 0, 0, 1, 0, 2, 0x61, 0x62, 0]);
  const nullId = new Writer();
  encodeRequestHeader(nullId, { ...header, clientId: null }, 1);
  deepStrictEqual([...nullId.finish()], [0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff]);
});

Deno.test("unknown tagged fields of a request header v2 are kept on decode and written back on encode", () => {
  const bytes = new Uint8Array([0, 3, 0, 12, 0, 0, 0, 1, 0, 1, 0x78, 2, 0, 1, 0xaa, 7, 2, 0xbb, 0xcc]);
  const r = new Reader(bytes);
  const header = decodeRequestHeaderBody(r, 2);
  r.end();
  strictEqual(header.clientId, "x");
  deepStrictEqual(header.unknownTaggedFields?.map((f) => [f.tag, [...f.data]]), [[0, [0xaa]], [7, [0xbb, 0xcc]]]);
  const w = new Writer();
  encodeRequestHeader(w, header, 2);
  deepStrictEqual(w.finish(), bytes);
});

Deno.test("unknown tagged fields of a response header v1 survive a round trip", () => {
  const bytes = new Uint8Array([0, 0, 0, 5, 1, 3, 1, 0x42]);
  const r = new Reader(bytes);
  const header = decodeResponseHeader(r, 1);
  deepStrictEqual(header.unknownTaggedFields?.map((f) => f.tag), [3]);
  const w = new Writer();
  encodeResponseHeader(w, header, 1);
  deepStrictEqual(w.finish(), bytes);
});

Deno.test("a request frame decodes to its header and typed body", () => {
  const frame = encodeRequest({
    requestApiKey: ApiKey.Metadata,
    requestApiVersion: 12,
    correlationId: 42,
    clientId: "c",
  }, {
    topics: [{ topicId: "00000000-0000-0000-0000-000000000000", name: "orders" }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  const req = decodeRequest(frame);
  strictEqual(req.apiKey, ApiKey.Metadata);
  if (req.apiKey !== ApiKey.Metadata) return;
  strictEqual(req.header.correlationId, 42);
  strictEqual(req.header.clientId, "c");
  strictEqual(req.body.topics?.[0].name, "orders");
});

Deno.test("the request header of an unsupported version or unknown key can still be read", () => {
  // ApiVersions v99: header v2 (flexible), so a broker can answer UNSUPPORTED_VERSION with the right id.
  const frame = new Uint8Array([0, 18, 0, 99, 0, 0, 0, 7, 0, 1, 0x78, 0, 0xde, 0xad]);
  const { header, headerVersion, bodyOffset } = decodeRequestHeader(frame);
  deepStrictEqual([header.correlationId, header.clientId, headerVersion, bodyOffset], [7, "x", 2, 12]);
  throws(() => decodeRequest(frame), (e) => e instanceof ProtocolError && e.kind === "unsupported_version");
  const unknown = new Uint8Array([0x7f, 0, 0, 1, 0, 0, 0, 8, 0xff, 0xff]);
  strictEqual(decodeRequestHeader(unknown).header.correlationId, 8);
  throws(() => decodeRequest(unknown), (e) => e instanceof ProtocolError && e.kind === "unsupported_version");
});

Deno.test("trailing bytes after a request body are ignored, as Kafka's parser ignores them", () => {
  const frame = encodeRequest({ requestApiKey: 18, requestApiVersion: 0, correlationId: 1, clientId: null }, {
    clientSoftwareName: "",
    clientSoftwareVersion: "",
  });
  const padded = new Uint8Array(frame.length + 1);
  padded.set(frame);
  const request = decodeRequest(padded);
  strictEqual(request.apiKey, 18);
  strictEqual(request.header.correlationId, 1);
});

Deno.test("encodeResponse can reserve and fill the 4-byte size prefix", () => {
  const body = { throttleTimeMs: 0, errorCode: 0, producerId: 7n, producerEpoch: 1 };
  const plain = encodeResponse(ApiKey.InitProducerId, 4, 3, body);
  const framed = encodeResponse(ApiKey.InitProducerId, 4, 3, body, { sizePrefix: true });
  strictEqual(new DataView(framed.buffer, framed.byteOffset).getInt32(0), plain.length);
  deepStrictEqual(framed.subarray(4), plain);
  deepStrictEqual(decodeResponse(ApiKey.InitProducerId, 4, plain).body, body);
  // Unprefixed frames still carry their prefix just in front of them, so a connection can send the two with
  // one write and no copy.
  strictEqual(new DataView(plain.buffer, plain.byteOffset - 4).getInt32(0), plain.length);
});
