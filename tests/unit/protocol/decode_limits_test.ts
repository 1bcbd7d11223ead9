/**
 * Kafka's decoding limits (protocol/wire/limits.ts): an array of more than 1,000,000 elements or a struct with
 * more than 10,000 tagged fields is refused with a typed ProtocolError before any element is read, at the
 * primitive and through the generated request decoders.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { ApiKey, decodeRequest, encodeRequest, encodeResponse, ProtocolError } from "../../../protocol/messages.ts";
import { MAX_ARRAY_LENGTH, MAX_REQUEST_ELEMENTS, MAX_TAGGED_FIELD_COUNT } from "../../../protocol/wire/limits.ts";
import { Reader } from "../../../protocol/wire/reader.ts";
import { Writer } from "../../../protocol/wire/writer.ts";

function tooMany(e: unknown): boolean {
  return e instanceof ProtocolError && e.kind === "too_many_elements";
}

/** A Metadata v4 frame (non-flexible) asking for `count` one-byte topic names. */
function metadataV4Frame(count: number): Uint8Array {
  const w = new Writer(16 + count * 3);
  w.int16(ApiKey.Metadata);
  w.int16(4);
  w.int32(1); // correlation id
  w.int16(-1); // client id: null
  w.int32(count);
  for (let i = 0; i < count; i++) {
    w.int16(1);
    w.int8(0x61 + (i % 26));
  }
  w.bool(false); // allow_auto_topic_creation
  return w.finish();
}

Deno.test("an array of exactly MAX_ARRAY_LENGTH elements decodes", () => {
  const bytes = new Uint8Array(4 + MAX_ARRAY_LENGTH);
  new DataView(bytes.buffer).setInt32(0, MAX_ARRAY_LENGTH);
  const a = new Reader(bytes).array(false, (r) => r.int8());
  strictEqual(a.length, MAX_ARRAY_LENGTH);
});

Deno.test("an array one element over MAX_ARRAY_LENGTH is refused before any element is read", () => {
  const bytes = new Uint8Array(4 + MAX_ARRAY_LENGTH + 1);
  new DataView(bytes.buffer).setInt32(0, MAX_ARRAY_LENGTH + 1);
  let read = 0;
  throws(() => new Reader(bytes).array(false, (r) => (read++, r.int8())), tooMany);
  strictEqual(read, 0);
  throws(() => new Reader(bytes).nullableArray(false, (r) => r.int8()), tooMany);
});

Deno.test("a compact array over MAX_ARRAY_LENGTH is refused", () => {
  const w = new Writer();
  w.uvarint(MAX_ARRAY_LENGTH + 2); // compact: count + 1
  const bytes = new Uint8Array(w.finish().length + MAX_ARRAY_LENGTH + 1);
  bytes.set(w.finish());
  throws(() => new Reader(bytes).array(true, (r) => r.int8()), tooMany);
});

Deno.test("a tagged-field section over MAX_TAGGED_FIELD_COUNT is refused; at the limit it decodes", () => {
  const section = (count: number) => {
    const w = new Writer();
    w.uvarint(count);
    for (let i = 0; i < count; i++) {
      w.uvarint(i); // tag
      w.uvarint(0); // size
    }
    return w.finish();
  };
  const fields = new Reader(section(MAX_TAGGED_FIELD_COUNT)).taggedFields(null);
  strictEqual(fields?.length, MAX_TAGGED_FIELD_COUNT);
  throws(() => new Reader(section(MAX_TAGGED_FIELD_COUNT + 1)).taggedFields(null), tooMany);
});

Deno.test("a Metadata request naming more than 1,000,000 topics fails to decode with too_many_elements", () => {
  throws(() => decodeRequest(metadataV4Frame(MAX_ARRAY_LENGTH + 1)), (e) => {
    ok(tooMany(e));
    ok((e as Error).message.includes("1000000"), (e as Error).message);
    return true;
  });
  const ok1 = decodeRequest(metadataV4Frame(3));
  deepStrictEqual(ok1.apiKey === ApiKey.Metadata && ok1.body.topics?.map((t) => t.name), ["a", "b", "c"]);
});

Deno.test("a flexible request with too many tagged fields in its body fails to decode with too_many_elements", () => {
  const frame = encodeRequest(
    { requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId: 1, clientId: "t" },
    {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
      unknownTaggedFields: Array.from({ length: MAX_TAGGED_FIELD_COUNT + 1 }, (_, i) => ({
        tag: 1000 + i,
        data: new Uint8Array(0),
      })),
    },
  );
  throws(() => decodeRequest(frame), tooMany);
});

Deno.test("a request whose arrays hold more than MAX_REQUEST_ELEMENTS elements in all is refused", () => {
  // Produce v3: two topics of 600,000 partition entries each (records null): each array is under Kafka's
  // limit, the request is not.
  const perTopic = 600_000;
  const w = new Writer(64 + 2 * perTopic * 8);
  w.int16(ApiKey.Produce);
  w.int16(3);
  w.int32(1);
  w.int16(-1); // client id
  w.int16(-1); // transactional id
  w.int16(1); // acks
  w.int32(1000); // timeout
  w.int32(2);
  for (const name of ["a", "b"]) {
    w.string(name, false);
    w.int32(perTopic);
    for (let i = 0; i < perTopic; i++) {
      w.int32(i);
      w.int32(-1);
    }
  }
  throws(() => decodeRequest(w.finish()), tooMany);
  strictEqual(MAX_REQUEST_ELEMENTS, 1_000_000);
});

Deno.test("a response over its maxBytes is refused with too_large before it is built whole", () => {
  const topics = Array.from({ length: 10_000 }, (_, i) => ({
    errorCode: 3,
    name: `topic-${i}`,
    topicId: "00000000-0000-0000-0000-000000000000",
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: -2147483648,
  }));
  const body = {
    throttleTimeMs: 0,
    brokers: [],
    clusterId: "c",
    controllerId: 1,
    topics,
    clusterAuthorizedOperations: -2147483648,
  };
  const whole = encodeResponse(ApiKey.Metadata, 4, 1, body);
  ok(whole.length > 64 * 1024);
  throws(
    () => encodeResponse(ApiKey.Metadata, 4, 1, body, { maxBytes: 64 * 1024 }),
    (e) => e instanceof ProtocolError && e.kind === "too_large",
  );
  strictEqual(encodeResponse(ApiKey.Metadata, 4, 1, body, { maxBytes: whole.length + 4 }).length, whole.length);
});
