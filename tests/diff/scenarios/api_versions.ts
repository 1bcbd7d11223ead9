/**
 * ApiVersions at v0 to v4 (kafkajs asks v2, librdkafka and Java v3+/v4), an API key nobody knows (Kafka closes
 * the connection), and an ApiVersions version nobody knows, which KIP-511 says must still get a v0 answer with
 * UNSUPPORTED_VERSION and the ApiVersions range.
 *
 * The version table is not compared for equality: the verdict is that every version Samsa advertises is one
 * Kafka serves. A narrower range of an API both serve is informational (clients pick the highest version both
 * sides list, which is what ApiVersions is for); an API only one side serves is a difference, to be justified
 * in known_differences.ts (path `apiKeys[Name]`).
 *
 * @module
 */
import { apiDescriptor, ApiKey, decodeResponse } from "../../../protocol/messages.ts";
import { compareJson, type Difference } from "../compare.ts";
import type { Json } from "../normalize.ts";
import { normalize } from "../normalize.ts";
import { ConnectionClosedError, RawClient } from "../raw_client.ts";
import type { Scenario } from "../scenario.ts";

const request = { clientSoftwareName: "samsa-diff", clientSoftwareVersion: "0.1.0" };

/**
 * An ApiVersions request frame at `version`, which the codec would refuse to encode: header v2 (as a client
 * that knows a newer, flexible ApiVersions sends it: client id, then an empty tagged-field section) and a
 * flexible body with empty software name and version.
 */
function apiVersionsFrame(version: number, correlationId: number): Uint8Array {
  const clientId = new TextEncoder().encode("samsa-diff");
  const frame = new Uint8Array(10 + clientId.length + 4);
  const view = new DataView(frame.buffer);
  view.setInt16(0, ApiKey.ApiVersions);
  view.setInt16(2, version);
  view.setInt32(4, correlationId);
  view.setInt16(8, clientId.length);
  frame.set(clientId, 10);
  frame.set([0, 1, 1, 0], 10 + clientId.length);
  return frame;
}

/** What a broker does with a request for an API key nobody knows: Kafka closes the connection. */
async function unknownApiKey(clientId: string, bootstrap: string): Promise<Json> {
  const client = await RawClient.connect(bootstrap, clientId);
  try {
    const frame = apiVersionsFrame(0, 1);
    new DataView(frame.buffer).setInt16(0, 9999);
    await client.sendRaw(1, frame, 5_000);
    return "answered";
  } catch (e) {
    return e instanceof ConnectionClosedError ? "closed the connection" : (e as Error).name;
  } finally {
    await client.close();
  }
}

interface Range {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

function compareVersionTables(kafka: Json | undefined, samsa: Json | undefined): Difference[] {
  const k = kafka as { apiKeys?: Range[] } | undefined;
  const s = samsa as { apiKeys?: Range[] } | undefined;
  const rest = (v: Json | undefined) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    const { apiKeys: _, ...others } = v;
    return others;
  };
  const out = compareJson(rest(kafka), rest(samsa));
  const kafkaKeys = new Map((k?.apiKeys ?? []).map((r) => [r.apiKey, r]));
  const samsaKeys = new Map((s?.apiKeys ?? []).map((r) => [r.apiKey, r]));
  const name = (key: number) => apiDescriptor(key)?.name ?? `api ${key}`;
  for (const [key, sr] of samsaKeys) {
    const kr = kafkaKeys.get(key);
    const path = `apiKeys[${name(key)}]`;
    if (kr === undefined) {
      out.push({
        path,
        kafka: undefined,
        samsa: [sr.minVersion, sr.maxVersion],
        informational: false,
        note: "Samsa advertises an API Kafka does not serve",
      });
      continue;
    }
    if (sr.minVersion < kr.minVersion || sr.maxVersion > kr.maxVersion) {
      out.push({
        path,
        kafka: [kr.minVersion, kr.maxVersion],
        samsa: [sr.minVersion, sr.maxVersion],
        informational: false,
        note: "Samsa advertises versions Kafka does not serve",
      });
    } else if (sr.minVersion !== kr.minVersion || sr.maxVersion !== kr.maxVersion) {
      out.push({
        path,
        kafka: [kr.minVersion, kr.maxVersion],
        samsa: [sr.minVersion, sr.maxVersion],
        informational: true,
        note: "Samsa serves a narrower range",
      });
    }
  }
  for (const [key, kr] of kafkaKeys) {
    if (samsaKeys.has(key)) continue;
    out.push({
      path: `apiKeys[${name(key)}]`,
      kafka: [kr.minVersion, kr.maxVersion],
      samsa: undefined,
      informational: false,
      note: "an API only Kafka serves",
    });
  }
  return out;
}

/** ApiVersions v0-v4 and an unknown version. */
export const scenario: Scenario = {
  name: "api_versions",
  description: "ApiVersions v0..v4 and an unknown version; Samsa's version ranges within Kafka's",
  async run(s) {
    for (const version of [0, 1, 2, 3, 4]) {
      await s.step(`api versions v${version}`, ApiKey.ApiVersions, version, request);
    }
    const correlationId = s.client.takeCorrelationId();
    const frame = await s.client.sendRaw(correlationId, apiVersionsFrame(99, correlationId));
    const { header, body } = decodeResponse(ApiKey.ApiVersions, 0, frame);
    s.observe("unknown API key 9999", await unknownApiKey(s.client.clientId, s.bootstrap));
    s.observe("api versions v99 (unknown version) answered as v0", {
      correlationIdMatches: header.correlationId === correlationId,
      body: normalize(body, s.canon),
    });
  },
  compareStep(step, kafka, samsa) {
    // KIP-511: the answer to an unknown version lists only ApiVersions' own range; compared as it is.
    if (step.startsWith("api versions v99")) return undefined;
    return compareVersionTables(kafka, samsa);
  },
};
