/**
 * The fuzzer's pure core: the seed corpus and the mutations. Deterministic: the same seed gives the same
 * sequence of frames, so a finding replays with `deno task fuzz --seed S`.
 *
 * The corpus is every request frame captured from real clients (tests/fixtures/, see capture.ts), plus one
 * well-formed request of every API and version the broker serves, encoded by our codec from random field
 * values (the captures only hold ApiVersions, Metadata and Produce).
 *
 * @module
 */
import { decodeRequest, encodeRequest } from "../../protocol/messages.ts";
import { apiDescriptor } from "../../protocol/generated/api_keys.ts";
import { Rng, sampleMessage } from "../../protocol/gen/sample_values.ts";
import { SUPPORTED_APIS } from "../../broker/supported_apis.ts";

export { Rng };

/** A seed frame (without size prefix) and where it came from. */
export interface SeedFrame {
  /** `kcat_none/02_produce_v7.bin` or `generated CreateTopics v7`. */
  readonly origin: string;
  /** The request frame. */
  readonly frame: Uint8Array;
}

/** Every captured request frame under `fixturesDir` that decodes as a request. */
export function capturedFrames(fixturesDir: URL): SeedFrame[] {
  const out: SeedFrame[] = [];
  const dirs = [...Deno.readDirSync(fixturesDir)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  for (const dir of dirs) {
    const files = [...Deno.readDirSync(new URL(`${dir}/`, fixturesDir))].map((e) => e.name).sort();
    for (const name of files) {
      if (!name.endsWith(".bin")) continue;
      const frame = Deno.readFileSync(new URL(`${dir}/${name}`, fixturesDir));
      try {
        decodeRequest(frame);
      } catch {
        continue; // not a request capture
      }
      out.push({ origin: `${dir}/${name}`, frame });
    }
  }
  return out;
}

/**
 * One well-formed request of every served API and version, from random field values. Numbers that would make
 * a valid request ask for unbounded work by design (a million partitions for a new topic) are left to the
 * mutations: they are a different finding from "the broker cannot parse this".
 */
export function generatedFrames(seed: number): SeedFrame[] {
  const out: SeedFrame[] = [];
  for (const api of SUPPORTED_APIS) {
    const descriptor = apiDescriptor(api.apiKey)!;
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      const body = sampleMessage(descriptor.requestSchema, version, seed + api.apiKey * 1000 + version);
      try {
        const frame = encodeRequest(
          { requestApiKey: api.apiKey as never, requestApiVersion: version, correlationId: 1, clientId: "fuzz" },
          body as never,
        );
        out.push({ origin: `generated ${descriptor.name} v${version}`, frame });
      } catch {
        // a sample the version cannot carry: skip it
      }
    }
  }
  return out;
}

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff];
const INTERESTING_16 = [0x0000, 0xffff, 0x7fff, 0x8000, 0x00ff, 0x0100];
const INTERESTING_32 = [0x00000000, 0xffffffff, 0x7fffffff, 0x80000000, 1_000_001, 0x00010000, 0x00ffffff, 10_001];

/**
 * A mutation of `frame`: one to four of bit flips, interesting bytes, 16- and 32-bit values (lengths, counts),
 * truncation, appended or duplicated bytes, a varint that never ends, a splice with another seed, or a
 * different (served) API key and version in the header.
 *
 * @example
 * ```ts
 * import { mutate, Rng } from "./mutator.ts";
 * const frame = new Uint8Array([0, 18, 0, 3, 0, 0, 0, 1, 0, 0]);
 * mutate(frame, new Rng(1), [frame]).length > 0; // true
 * ```
 */
export function mutate(frame: Uint8Array, rng: Rng, corpus: readonly Uint8Array[]): Uint8Array {
  let out: Uint8Array = frame.slice();
  const count = rng.int(1, 4);
  for (let m = 0; m < count; m++) {
    const at = (width: number) => rng.int(0, Math.max(0, out.length - width));
    switch (rng.int(0, 9)) {
      case 0:
        if (out.length > 0) out[at(1)] ^= 1 << rng.int(0, 7);
        break;
      case 1:
        if (out.length > 0) out[at(1)] = INTERESTING_8[rng.int(0, INTERESTING_8.length - 1)];
        break;
      case 2:
        if (out.length >= 2) {
          new DataView(out.buffer).setUint16(at(2), INTERESTING_16[rng.int(0, INTERESTING_16.length - 1)]);
        }
        break;
      case 3:
        if (out.length >= 4) {
          new DataView(out.buffer).setUint32(at(4), INTERESTING_32[rng.int(0, INTERESTING_32.length - 1)]);
        }
        break;
      case 4:
        out = out.slice(0, rng.int(Math.min(4, out.length), out.length));
        break;
      case 5: {
        const extra = new Uint8Array(rng.int(1, 64));
        for (let i = 0; i < extra.length; i++) extra[i] = rng.int(0, 255);
        out = concat(out, extra);
        break;
      }
      case 6: {
        const from = at(1);
        const chunk = out.slice(from, from + rng.int(1, 256));
        const to = at(0);
        out = concat(out.subarray(0, to), chunk, out.subarray(to));
        break;
      }
      case 7: {
        const to = at(0);
        out = concat(out.subarray(0, to), new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x8f]), out.subarray(to));
        break;
      }
      case 8: {
        const other = corpus[rng.int(0, corpus.length - 1)];
        out = concat(out.subarray(0, at(0)), other.subarray(rng.int(0, other.length)));
        break;
      }
      default: {
        if (out.length < 4) break;
        const api = SUPPORTED_APIS[rng.int(0, SUPPORTED_APIS.length - 1)];
        const view = new DataView(out.buffer);
        view.setInt16(0, api.apiKey);
        view.setInt16(2, rng.int(api.minVersion, api.maxVersion));
      }
    }
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
