/**
 * What a differential scenario is: a named sequence of steps (requests whose answers are recorded, possibly
 * built from earlier answers) run against one broker through a {@link Session}, which records every answer
 * in normalized form. The same scenario run against Kafka and against Samsa gives two lists to compare.
 *
 * @example
 * ```ts
 * import type { Scenario } from "./scenario.ts";
 * import { ApiKey } from "../../protocol/messages.ts";
 * export const scenario: Scenario = {
 *   name: "example",
 *   description: "ApiVersions v3 answers with error code 0",
 *   async run(s) {
 *     await s.step("api versions", ApiKey.ApiVersions, 3, { clientSoftwareName: "d", clientSoftwareVersion: "0" });
 *   },
 * };
 * ```
 *
 * @module
 */
import {
  apiDescriptor,
  ApiKey,
  errorInfo,
  type RequestByKey,
  type ResponseByKey,
  ZERO_UUID,
} from "../../protocol/messages.ts";
import { type BatchFields, type BatchRecord, buildRecordBatch } from "../../protocol/record_batch.ts";
import type { Difference } from "./compare.ts";
import { Canon, type Json, normalize, type NormalizeOptions, onlyFieldsOf } from "./normalize.ts";
import { ConnectionClosedError, RawClient } from "./raw_client.ts";

/** One recorded step: the normalized answer, or what went wrong. */
export interface StepResult {
  /** The step's name, unique within its scenario. */
  step: string;
  /** `Produce v7`, or `observation` for a derived check. */
  request: string;
  /** The normalized response body or observation; absent when `error` is set. */
  response?: Json;
  /** Why there is no response (connection closed, timeout, decode error). */
  error?: string;
}

/** A scenario: a file in `scenarios/` exports one. */
export interface Scenario {
  /** Short snake_case name, also the golden file's name. */
  name: string;
  /** One sentence: what is being compared. */
  description: string;
  /** Runs the steps against one broker. */
  run(session: Session): Promise<void>;
  /**
   * Compares one step's answers when plain field-by-field equality is not the right question (e.g. supported
   * version ranges). Returns undefined to fall back to the default comparison.
   */
  compareStep?(step: string, kafka: Json | undefined, samsa: Json | undefined): Difference[] | undefined;
}

/** A setup request (not itself compared) failed, so the scenario cannot go on meaningfully. */
export class SetupError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SetupError";
  }
}

/** Options of {@link Session.step}. */
export interface StepOptions extends NormalizeOptions {
  /** Time limit for the response; default 15 s. */
  timeoutMs?: number;
  /**
   * Send on a new connection of its own, closed afterwards: for requests that may leave a broker's connection
   * unusable (Kafka 4.3 never answers a Produce with null records, and answers nothing after it).
   */
  freshConnection?: boolean;
}

/** Kafka's earliest and latest offset sentinels for ListOffsets, and max timestamp (KIP-734). */
export const EARLIEST_TIMESTAMP = -2n;
/** See {@link EARLIEST_TIMESTAMP}. */
export const LATEST_TIMESTAMP = -1n;
/** See {@link EARLIEST_TIMESTAMP}. */
export const MAX_TIMESTAMP = -3n;

/** A fixed record timestamp, far enough in the past to be accepted by any timestamp check. */
export const T0 = 1_700_000_000_000;

const encoder = new TextEncoder();

/** Record values from strings, at timestamps T0 + i unless given. */
export function records(values: string[], timestamps?: number[]): BatchRecord[] {
  return values.map((v, i) => ({ timestamp: timestamps?.[i] ?? T0 + i, key: null, value: encoder.encode(v) }));
}

/** One record batch holding `values`. */
export function batch(values: string[], fields: BatchFields = {}, timestamps?: number[]): Uint8Array {
  return buildRecordBatch(records(values, timestamps), fields);
}

/** The run of one scenario against one broker: the connection, the names, the recorded answers. */
export class Session {
  /** The recorded steps, in order. */
  readonly results: StepResult[] = [];
  /** The identities of this run (topic names and ids, node ids, producer ids). */
  readonly canon: Canon;
  #client: RawClient;
  #reconnects = 0;
  #answered = false;
  readonly #runId: string;
  readonly #bootstrap: string;

  /**
   * Creates a session over a connected client to `bootstrap`; `runId` makes this run's topic names unique.
   */
  constructor(client: RawClient, bootstrap: string, runId: string) {
    this.#client = client;
    this.#bootstrap = bootstrap;
    this.canon = new Canon(bootstrap);
    this.#runId = runId;
  }

  /** The broker's address. */
  get bootstrap(): string {
    return this.#bootstrap;
  }

  /** The raw client, for hand-made frames. */
  get client(): RawClient {
    return this.#client;
  }

  /**
   * A topic name unique to this run for the logical name `logical` (which must only use [a-z0-9._-]); in
   * normalized answers it reads `<logical>`.
   */
  topic(logical: string): string {
    const actual = `diff-${this.#runId}-${logical}`;
    this.canon.nameTopic(actual, logical);
    return actual;
  }

  /** A topic name of exactly `length` characters (`logical` padded with x), unique to this run. */
  topicOfLength(logical: string, length: number): string {
    const prefix = `diff-${this.#runId}-${logical}`.length;
    return this.topic(logical + "x".repeat(Math.max(0, length - prefix)));
  }

  /** Sends a request and returns its answer without recording it (for setup and for reading ids). */
  async call<K extends keyof RequestByKey & keyof ResponseByKey>(
    apiKey: K,
    version: number,
    body: RequestByKey[K],
    timeoutMs?: number,
  ): Promise<ResponseByKey[K]> {
    const response = await this.#client.request(apiKey, version, body, timeoutMs);
    this.#answered = true;
    return response;
  }

  /**
   * Sends a request and records its normalized answer under `name`. Returns the decoded answer, or undefined if
   * there was none (a timeout or decode error is recorded; a closed connection ends the scenario).
   */
  async step<K extends keyof RequestByKey & keyof ResponseByKey>(
    name: string,
    apiKey: K,
    version: number,
    body: RequestByKey[K],
    options: StepOptions = {},
  ): Promise<ResponseByKey[K] | undefined> {
    if (this.results.some((r) => r.step === name)) throw new Error(`duplicate step name '${name}'`);
    const request = `${apiDescriptor(apiKey)?.name ?? apiKey} v${version}`;
    const client = options.freshConnection
      ? await RawClient.connect(this.#bootstrap, this.#client.clientId)
      : this.#client;
    try {
      const response = await client.request(apiKey, version, body, options.timeoutMs);
      const schema = apiDescriptor(apiKey)?.responseSchema;
      const present = schema ? onlyFieldsOf(response, schema.fields, version) : response;
      this.results.push({ step: name, request, response: normalize(present, this.canon, options) });
      this.#answered = true;
      return response;
    } catch (e) {
      this.results.push({ step: name, request, error: `${(e as Error).name}: ${(e as Error).message}` });
      if (e instanceof ConnectionClosedError && !options.freshConnection) await this.#reconnect(e);
      return undefined;
    } finally {
      if (options.freshConnection) await client.close();
    }
  }

  /**
   * Like {@link step}, but first retries (unrecorded, bounded: 50 tries, 100 ms apart) while the answer's
   * top-level error code is one a client retries (e.g. COORDINATOR_LOAD_IN_PROGRESS while a new broker
   * allocates its first producer id block), and records the first answer that is not.
   */
  async stepRetrying<K extends keyof RequestByKey & keyof ResponseByKey>(
    name: string,
    apiKey: K,
    version: number,
    body: RequestByKey[K],
  ): Promise<ResponseByKey[K] | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const response = await this.call(apiKey, version, body);
      const code = (response as { errorCode?: number }).errorCode ?? 0;
      if (code === 0 || !errorInfo(code)?.retriable) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.step(name, apiKey, version, body);
  }

  /**
   * After the broker closed the connection at a step (as Kafka does for an API or version it does not serve),
   * goes on with a new connection, so the steps that follow are still compared. Gives up after 10 closes, and
   * at once if no step has been answered yet (a broker that answers nothing is reported as such).
   */
  async #reconnect(cause: ConnectionClosedError): Promise<void> {
    if (this.#reconnects >= 10 || !this.#answered) throw cause;
    this.#reconnects++;
    await this.#client.close();
    this.#client = await RawClient.connect(this.#bootstrap, this.#client.clientId);
  }

  /** Closes the current connection. */
  close(): Promise<void> {
    return this.#client.close();
  }

  /** Records a value derived from earlier answers (e.g. "the fetch waited at least max_wait_ms"). */
  observe(name: string, value: Json): void {
    if (this.results.some((r) => r.step === name)) throw new Error(`duplicate step name '${name}'`);
    this.results.push({ step: name, request: "observation", response: value });
  }

  /**
   * Creates a topic (CreateTopics v7) as setup and returns its topic id; throws SetupError when the broker
   * refuses.
   */
  async createTopic(
    logical: string,
    options: { partitions?: number; configs?: Record<string, string> } = {},
  ): Promise<{ name: string; topicId: string }> {
    const name = this.topic(logical);
    const response = await this.call(ApiKey.CreateTopics, 7, {
      topics: [{
        name,
        numPartitions: options.partitions ?? 1,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(options.configs ?? {}).map(([n, value]) => ({ name: n, value })),
      }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const result = response.topics[0];
    if (result === undefined || result.errorCode !== 0) {
      const code = result?.errorCode ?? -1;
      throw new SetupError(`create topic ${logical}: ${errorInfo(code)?.name ?? code} ${result?.errorMessage ?? ""}`);
    }
    this.canon.nameTopicId(result.topicId, name);
    await this.awaitLeaders(name, options.partitions ?? 1);
    return { name, topicId: result.topicId };
  }

  /** Polls (bounded: 2 × 50 tries, 100 ms apart) until every partition of `name` has a leader that serves it. */
  async awaitLeaders(name: string, partitions: number): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const md = await this.call(ApiKey.Metadata, 12, {
        topics: [{ name, topicId: ZERO_UUID }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      const t = md.topics[0];
      if (
        t && t.errorCode === 0 && t.partitions.length === partitions &&
        t.partitions.every((p) => p.errorCode === 0 && p.leaderId >= 0)
      ) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Metadata can name a leader before that leader serves the partition (Kafka answers a Produce with
    // NOT_LEADER_OR_FOLLOWER for a few milliseconds after creation): wait until ListOffsets works too.
    for (let attempt = 0; attempt < 50; attempt++) {
      const offsets = await this.call(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{
          name,
          partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({
            partitionIndex,
            currentLeaderEpoch: -1,
            timestamp: LATEST_TIMESTAMP,
            maxNumOffsets: 1,
          })),
        }],
        timeoutMs: 5_000,
      });
      if (offsets.topics[0]?.partitions.every((p) => p.errorCode === 0)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new SetupError(`topic ${name} has no serving leaders after 10 s`);
  }

  /** Produces batches (Produce v9, acks -1) as setup and returns each batch's base offset. */
  async produce(topic: string, partition: number, batches: Uint8Array[]): Promise<bigint[]> {
    const offsets: bigint[] = [];
    for (const records of batches) {
      const response = await this.call(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      });
      const p = response.responses[0]?.partitionResponses[0];
      if (p === undefined || p.errorCode !== 0) {
        throw new SetupError(`produce to ${topic}/${partition}: ${errorInfo(p?.errorCode ?? -1)?.name}`);
      }
      offsets.push(p.baseOffset);
    }
    return offsets;
  }
}
