/**
 * Hostile input to every generated decoder, in every version: random bytes, every truncation of a valid
 * encoding, and 0x7fffffff length prefixes planted at every offset. Each decode either succeeds or throws a
 * ProtocolError: no other exception, no hang, no huge allocation.
 */
import { fail, ok } from "node:assert/strict";
import fc from "fast-check";
import { APIS } from "../../../protocol/generated/api_keys.ts";
import * as messages from "../../../protocol/generated/messages/mod.ts";
import { METADATA_RECORDS } from "../../../protocol/generated/records/metadata/mod.ts";
import { GROUP_COORDINATOR_RECORDS } from "../../../protocol/generated/records/group_coordinator/mod.ts";
import { TRANSACTION_COORDINATOR_RECORDS } from "../../../protocol/generated/records/transaction_coordinator/mod.ts";
import { sampleMessage } from "../../../protocol/gen/sample_values.ts";
import { decodeRequest, decodeResponse } from "../../../protocol/messages.ts";
import { ProtocolError } from "../../../protocol/protocol_error.ts";
import { Reader } from "../../../protocol/wire/reader.ts";
import { Writer } from "../../../protocol/wire/writer.ts";
import type { MessageSchema } from "../../../protocol/wire/schema.ts";

type Encode = (w: Writer, v: any, version: number) => void;
type Decode = (r: Reader, version: number) => any;
interface Codec {
  schema: MessageSchema;
  encode: Encode;
  decode: Decode;
}

function allCodecs(): Codec[] {
  const out: Codec[] = [];
  for (const api of APIS) {
    out.push({ schema: api.requestSchema, encode: api.encodeRequest, decode: api.decodeRequest });
    out.push({ schema: api.responseSchema, encode: api.encodeResponse, decode: api.decodeResponse });
  }
  const all = messages as Record<string, unknown>;
  for (const [key, value] of Object.entries(all)) {
    const schema = value as MessageSchema;
    if (!key.endsWith("Schema") || schema.type === "request" || schema.type === "response") continue;
    out.push({ schema, encode: all[`encode${schema.name}`] as Encode, decode: all[`decode${schema.name}`] as Decode });
  }
  for (const table of [METADATA_RECORDS, GROUP_COORDINATOR_RECORDS, TRANSACTION_COORDINATOR_RECORDS]) {
    for (const rec of table) out.push({ schema: rec.schema, encode: rec.encode, decode: rec.decode });
  }
  return out;
}

const CODECS = allCodecs();

/** Decodes `bytes`; returns true on success, false on ProtocolError, fails the test on anything else. */
function decodeOnly(c: Codec, version: number, bytes: Uint8Array, what: string): boolean {
  try {
    const r = new Reader(bytes);
    c.decode(r, version);
    r.end();
    return true;
  } catch (e) {
    if (e instanceof ProtocolError) return false;
    fail(`${c.schema.name} v${version} (${what}): ${(e as Error)?.stack ?? e}`);
  }
}

function forEachVersion(fn: (c: Codec, version: number) => void): void {
  for (const c of CODECS) {
    for (let v = c.schema.validVersions[0]; v <= c.schema.validVersions[1]; v++) fn(c, v);
  }
}

function validEncoding(c: Codec, version: number, seed: number): Uint8Array {
  const w = new Writer();
  c.encode(w, sampleMessage(c.schema, version, seed), version);
  return w.finish().slice();
}

Deno.test("random bytes make every decoder succeed or throw ProtocolError, nothing else", () => {
  forEachVersion((c, version) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        decodeOnly(c, version, bytes, "random bytes");
      }),
      { numRuns: 40 },
    );
  });
});

Deno.test("every strict prefix of a valid encoding is rejected with ProtocolError", () => {
  forEachVersion((c, version) => {
    for (const seed of [1, 2]) {
      const bytes = validEncoding(c, version, seed);
      ok(decodeOnly(c, version, bytes, "valid"), `${c.schema.name} v${version} decodes its own encoding`);
      for (let n = 0; n < bytes.length; n++) {
        ok(!decodeOnly(c, version, bytes.subarray(0, n), `prefix ${n}`), `${c.schema.name} v${version} prefix ${n}`);
      }
    }
  });
});

Deno.test("0x7fffffff and 2^32-1 length prefixes planted at every offset fail fast without allocating", () => {
  const int32Max = [0x7f, 0xff, 0xff, 0xff];
  const int16Max = [0x7f, 0xff];
  const uvarintMax = [0xff, 0xff, 0xff, 0xff, 0x0f];
  const before = Deno.memoryUsage().rss;
  const started = performance.now();
  forEachVersion((c, version) => {
    const bytes = validEncoding(c, version, 3);
    for (const pattern of [int32Max, int16Max, uvarintMax]) {
      for (let at = 0; at < bytes.length; at++) {
        const mutated = bytes.slice();
        mutated.set(pattern.slice(0, mutated.length - at), at);
        decodeOnly(c, version, mutated, `pattern at ${at}`);
      }
    }
    // A frame that is nothing but a huge prefix.
    for (const pattern of [int32Max, int16Max, uvarintMax]) {
      decodeOnly(c, version, new Uint8Array(pattern), "prefix only");
    }
  });
  const grown = Deno.memoryUsage().rss - before;
  ok(grown < 256 * 1024 * 1024, `RSS grew ${grown} bytes`);
  ok(performance.now() - started < 30_000, "no decoder hangs");
});

Deno.test("the frame-level decoders reject garbage with ProtocolError only", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 90 }), fc.integer({ min: -1, max: 20 }), (
      bytes,
      apiKey,
      version,
    ) => {
      for (const decode of [() => decodeRequest(bytes), () => decodeResponse(apiKey, version, bytes)]) {
        try {
          decode();
        } catch (e) {
          if (!(e instanceof ProtocolError)) fail(`${(e as Error)?.stack ?? e}`);
        }
      }
    }),
    { numRuns: 3000 },
  );
});
