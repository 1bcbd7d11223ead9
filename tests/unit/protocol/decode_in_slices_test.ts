/**
 * The generator codecs that let the broker decode a large request and encode a large response in slices give
 * exactly what the plain codecs give: for random messages of every API and version, for captured real-client
 * frames, and for malformed input (the same ProtocolError). A big array pauses every SLICE_ELEMENTS elements.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { APIS } from "../../../protocol/generated/api_keys.ts";
import {
  ApiKey,
  type DecodedRequest,
  decodeRequest,
  decodeRequestInSlices,
  encodeResponse,
  encodeResponseInSlices,
} from "../../../protocol/messages.ts";
import { sampleMessage } from "../../../protocol/gen/sample_values.ts";
import { Reader, SLICE_ELEMENTS } from "../../../protocol/wire/reader.ts";
import { Writer } from "../../../protocol/wire/writer.ts";

function runAll<T>(steps: Generator<void, T>): { value: T; pauses: number } {
  let pauses = 0;
  for (;;) {
    const s = steps.next();
    if (s.done) return { value: s.value, pauses };
    pauses++;
  }
}

function outcome<T>(f: () => T): { ok: T } | { error: string } {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

Deno.test("every request body decodes the same in slices as at once, at every version", () => {
  for (const api of APIS) {
    const schema = api.requestSchema;
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const value = sampleMessage(schema, version, seed);
          const w = new Writer(16);
          api.encodeRequest(w, value, version);
          const bytes = w.finish().slice();
          const whole = api.decodeRequest(new Reader(bytes), version);
          const sliced = runAll(api.decodeRequestInSlices(new Reader(bytes), version)).value;
          deepStrictEqual(sliced, whole, `${api.name} v${version}`);
          // Damaged bytes fail the same way in both.
          const cut = bytes.subarray(0, bytes.length >> 1);
          deepStrictEqual(
            outcome(() => runAll(api.decodeRequestInSlices(new Reader(cut), version)).value),
            outcome(() => api.decodeRequest(new Reader(cut), version)),
          );
        }),
        { numRuns: 4 },
      );
    }
  }
});

Deno.test("captured real-client request frames decode the same in slices", () => {
  const root = new URL("../../fixtures/", import.meta.url);
  let count = 0;
  for (const dir of Deno.readDirSync(root)) {
    if (!dir.isDirectory) continue;
    for (const f of Deno.readDirSync(new URL(`${dir.name}/`, root))) {
      if (!f.name.endsWith(".bin")) continue;
      const frame = Deno.readFileSync(new URL(`${dir.name}/${f.name}`, root));
      const whole = outcome(() => decodeRequest(frame));
      if ("error" in whole) continue; // not a request capture
      deepStrictEqual(runAll(decodeRequestInSlices(frame)).value, whole.ok, `${dir.name}/${f.name}`);
      count++;
    }
  }
  strictEqual(count > 10, true, `decoded ${count} captures`);
});

Deno.test("a Metadata request of many topics pauses once per SLICE_ELEMENTS topics", () => {
  const count = SLICE_ELEMENTS * 5 + 3;
  const w = new Writer(16 + count * 4);
  w.int16(ApiKey.Metadata);
  w.int16(4);
  w.int32(9);
  w.int16(-1);
  w.int32(count);
  for (let i = 0; i < count; i++) w.string("t" + (i % 100), false);
  w.bool(false);
  const { value, pauses } = runAll(decodeRequestInSlices(w.finish()));
  strictEqual(pauses, 5);
  const req = value as DecodedRequest;
  strictEqual(req.apiKey === ApiKey.Metadata ? req.body.topics?.length : -1, count);
});

Deno.test("every response body encodes to the same bytes in slices as at once, at every version", () => {
  for (const api of APIS) {
    const schema = api.responseSchema;
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const value = sampleMessage(schema, version, seed);
          const whole = encodeResponse(api.apiKey as never, version, 7, value as never);
          const sliced = runAll(encodeResponseInSlices(api.apiKey, version, 7, value)).value;
          deepStrictEqual(sliced, whole, `${api.name} v${version}`);
        }),
        { numRuns: 4 },
      );
    }
  }
});

Deno.test("a Metadata response of many topics pauses once per SLICE_ELEMENTS topics and fails the same over maxBytes", () => {
  const count = SLICE_ELEMENTS * 3 + 1;
  const body = {
    throttleTimeMs: 0,
    brokers: [],
    clusterId: "c",
    controllerId: 1,
    topics: Array.from({ length: count }, (_, i) => ({
      errorCode: 3,
      name: `t${i}`,
      topicId: "00000000-0000-0000-0000-000000000000",
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: -2147483648,
    })),
    clusterAuthorizedOperations: -2147483648,
  };
  const { value, pauses } = runAll(encodeResponseInSlices(ApiKey.Metadata, 4, 1, body));
  strictEqual(pauses, 3);
  deepStrictEqual(value, encodeResponse(ApiKey.Metadata, 4, 1, body));
  deepStrictEqual(
    outcome(() => runAll(encodeResponseInSlices(ApiKey.Metadata, 4, 1, body, { maxBytes: 4096 })).value),
    outcome(() => encodeResponse(ApiKey.Metadata, 4, 1, body, { maxBytes: 4096 })),
  );
});
