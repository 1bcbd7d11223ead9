/**
 * How long one large request stalls other clients: starts a broker, sends one large request of each kind on
 * its own connection while a bystander client keeps doing small Metadata round trips, and prints the
 * bystander's round-trip count, p99 and slowest for each case (the figures in docs/OPERATIONS.md, "What one
 * request may ask for"). Run with `deno task bench stalls`. V8 flags for the broker go in `SAMSA_V8_FLAGS`, comma
 * separated as `--v8-flags` takes them (`SAMSA_V8_FLAGS=--trace-gc,--max-semi-space-size=64`); with `--trace-gc`
 * the bench also prints the broker's garbage-collection pauses.
 *
 * @module
 */
import { ApiKey, encodeRequest } from "../../protocol/messages.ts";
import { RawClient } from "../diff/raw_client.ts";
import { startBroker } from "../integration/broker_process.ts";
import { createTopic } from "../integration/produce_helpers.ts";

const REQUEST_MAX_BYTES = 100 * 1024 * 1024;
const SMALL_METADATA = {
  topics: [],
  allowAutoTopicCreation: false,
  includeClusterAuthorizedOperations: false,
  includeTopicAuthorizedOperations: false,
};

/** Sends one framed request on a connection of its own and waits for its answer (or the connection's end). */
async function sendAlone(port: number, frame: Uint8Array): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const writing = (async () => {
      let written = 0;
      while (written < frame.length) written += await conn.write(frame.subarray(written));
    })().catch(() => {});
    const head = new Uint8Array(4);
    let got = 0;
    while (got < 4) {
      const n = await conn.read(head.subarray(got)).catch(() => null);
      if (n === null) return;
      got += n;
    }
    let left = new DataView(head.buffer).getInt32(0);
    const chunk = new Uint8Array(1 << 20);
    while (left > 0) {
      const n = await conn.read(chunk.subarray(0, Math.min(left, chunk.length))).catch(() => null);
      if (n === null) return;
      left -= n;
    }
    await writing;
  } finally {
    conn.close();
  }
}

/** The bystander's round trips (ms) while `done` is pending. */
async function bystander(client: RawClient, done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.finally(() => finished = true);
  const times: number[] = [];
  const deadline = Date.now() + 300_000;
  while (!finished && Date.now() < deadline) {
    const start = performance.now();
    await client.request(ApiKey.Metadata, 4, SMALL_METADATA);
    times.push(performance.now() - start);
  }
  return times;
}

function frame<K extends ApiKey>(apiKey: K, apiVersion: number, body: unknown): Uint8Array {
  return encodeRequest(
    { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: 1, clientId: "stalls" } as never,
    body as never,
    { sizePrefix: true, initialCapacity: 1 << 20 },
  );
}

function deleteTopics(count: number, existing: number): Uint8Array {
  const topicNames = Array.from({ length: count }, (_, i) => i < existing ? `doomed-${i}` : `missing-${i}`);
  return frame(ApiKey.DeleteTopics, 5, { topicNames, topics: [], timeoutMs: 60_000 });
}

function offsetCommit(topics: string[], partitionsPerTopic: number): Uint8Array {
  return frame(ApiKey.OffsetCommit, 8, {
    groupId: "stalls",
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: topics.map((name) => ({
      name,
      partitions: Array.from({ length: partitionsPerTopic }, (_, p) => ({
        partitionIndex: p % 8,
        committedOffset: BigInt(p),
        commitTimestamp: -1n,
        committedLeaderEpoch: -1,
        committedMetadata: null,
      })),
    })),
  });
}

function offsetFetch(partitions: number): Uint8Array {
  const partitionIndexes = Array.from({ length: partitions }, (_, p) => p % 8);
  return frame(ApiKey.OffsetFetch, 7, {
    groupId: "stalls",
    topics: [{ name: "committed", partitionIndexes }],
    groups: [],
    requireStable: false,
  });
}

function listOffsets(partitions: number): Uint8Array {
  return frame(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 0,
    topics: [{
      name: "committed",
      partitions: Array.from({ length: partitions }, (_, p) => ({
        partitionIndex: p % 8,
        currentLeaderEpoch: -1,
        timestamp: -1n,
        maxNumOffsets: 1,
      })),
    }],
  });
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** Runs every case and prints one line each. */
export async function runStallsBench(): Promise<void> {
  const v8Flags = Deno.env.get("SAMSA_V8_FLAGS");
  const broker = await startBroker({
    settings: {
      "socket.request.max.bytes": REQUEST_MAX_BYTES,
      "queued.max.request.bytes": 2 * REQUEST_MAX_BYTES,
      "auto.create.topics.enable": false,
    },
    ...(v8Flags ? { v8Flags } : {}),
  });
  const client = await RawClient.connect(broker.bootstrap);
  try {
    await createTopic(client, "committed", 8);
    for (let i = 0; i < 100; i++) await createTopic(client, `doomed-${i}`);
    const cases: [string, () => Uint8Array][] = [
      ["DeleteTopics, 900k names (100 exist)", () => deleteTopics(900_000, 100)],
      ["OffsetCommit, 900k partitions (one topic)", () => offsetCommit(["committed"], 900_000)],
      [
        "OffsetCommit, 900k partitions (900 topics x 1000)",
        () => offsetCommit(Array.from({ length: 900 }, (_, i) => i === 0 ? "committed" : `absent-${i}`), 1000),
      ],
      ["OffsetFetch, 900k partitions (one topic)", () => offsetFetch(900_000)],
      ["ListOffsets, 900k partitions (one topic)", () => listOffsets(900_000)],
    ];
    console.log(`bystander round trips while one large request is handled${v8Flags ? ` (V8: ${v8Flags})` : ""}`);
    for (const [name, build] of cases) {
      const bytes = build();
      const start = performance.now();
      const big = sendAlone(broker.port, bytes);
      const times = (await bystander(client, big)).sort((a, b) => a - b);
      const tookMs = performance.now() - start;
      console.log(
        `${name.padEnd(52)} ${(bytes.length / 2 ** 20).toFixed(1).padStart(6)} MB  answered in ${
          tookMs.toFixed(0).padStart(5)
        } ms  bystander: ${String(times.length).padStart(5)} round trips, p99 ${
          percentile(times, 0.99).toFixed(1).padStart(6)
        } ms, slowest ${(times.at(-1) ?? 0).toFixed(1).padStart(6)} ms`,
      );
    }
  } finally {
    await client.close();
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
  if (v8Flags?.includes("trace-gc")) {
    const pauses = [
      ...broker.logs().matchAll(/(Scavenge|Mark-Compact)\b[^\n]*? MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/g),
    ].map((m) => [m[1], Number(m[2])] as const);
    const worst = (kind: string) => Math.max(0, ...pauses.filter((p) => p[0] === kind).map((p) => p[1]));
    const long = pauses.filter((p) => p[1] >= 20).length;
    console.log(
      `GC: ${pauses.length} pauses, ${long} of 20 ms or more; slowest scavenge ${worst("Scavenge")} ms, ` +
        `mark-compact ${worst("Mark-Compact")} ms`,
    );
  }
}
