/**
 * The partitions this broker hosts: opens their logs at startup (recovering after a crash), rebuilds each
 * partition's idempotent-producer state, creates and deletes partitions as the metadata says, and applies
 * retention in the background.
 *
 * @module
 */
import { readCheckpoint, writeCheckpointSync } from "../log/checkpoint_file.ts";
import { DenoFileSystem, type FileSystem } from "../log/file_system.ts";
import { PartitionLog } from "../log/partition_log.ts";
import { iterateBatches } from "../protocol/record_batch.ts";
import type { BrokerConfig } from "./config.ts";
import type { Logger } from "./logger.ts";
import type { TopicImage } from "./metadata_image.ts";
import { PartitionReplica } from "./partition_replica.ts";
import { lastSequenceOf, ProducerStateTable } from "./producer_state.ts";
import { topicSettings } from "./topic_settings.ts";

/** The file, in a partition directory, holding the producer state as of an offset. */
const PRODUCER_SNAPSHOT_FILE = "producer-state.json";
/** How much of the log is read per step when rebuilding producer state. */
const REBUILD_READ_BYTES = 4 * 1024 * 1024;

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Reads the producer snapshot of a partition; returns the table and the offset it is valid up to. A missing,
 * torn or unreadable snapshot gives an empty table valid from offset 0 (the whole log is replayed).
 */
function loadProducerSnapshot(fs: FileSystem, dir: string): { table: ProducerStateTable; offset: number } {
  try {
    const json = JSON.parse(readCheckpoint(fs, `${dir}/${PRODUCER_SNAPSHOT_FILE}`) ?? "");
    const offset = Number(json.offset);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Error("bad snapshot offset");
    return { table: ProducerStateTable.fromJSON(json.producers), offset };
  } catch {
    return { table: new ProducerStateTable(), offset: 0 };
  }
}

/**
 * Replays batch headers from `from` to the log end into `table` (after a crash, or when no snapshot exists).
 * Only headers are read; the records stay opaque.
 */
function rebuildProducerState(log: PartitionLog, table: ProducerStateTable, from: number): void {
  let offset = Math.max(from, log.logStartOffset);
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, REBUILD_READ_BYTES, { upTo: log.logEndOffset });
    if (records.length === 0) break;
    for (const { header } of iterateBatches(records)) {
      const base = Number(header.baseOffset);
      const last = base + header.lastOffsetDelta;
      if (header.producerId >= 0n && header.baseSequence >= 0) {
        table.record(
          {
            producerId: header.producerId,
            producerEpoch: header.producerEpoch,
            firstSequence: header.baseSequence,
            lastSequence: lastSequenceOf(header.baseSequence, header.lastOffsetDelta),
          },
          base,
          last,
          Number(header.maxTimestamp),
        );
      }
      offset = last + 1;
    }
  }
}

/**
 * Every partition replica of this broker.
 *
 * @example
 * ```ts ignore
 * const replicas = new ReplicaManager(config, logger);
 * await replicas.ensureTopic(topicImage);
 * replicas.get("orders", 0)?.append(batch, settings, Date.now());
 * ```
 */
export class ReplicaManager {
  readonly #replicas = new Map<string, PartitionReplica>();
  readonly #logDir: string;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #running = new Set<string>();
  readonly #fs: FileSystem;

  /** `options.fs` is the file system of the partition logs and snapshots (tests pass an in-memory one). */
  constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    options: { fs?: FileSystem } = {},
  ) {
    this.#logDir = config.logDirs[0];
    this.#fs = options.fs ?? new DenoFileSystem();
  }

  /** The replica of a partition this broker hosts, if any. */
  get(topic: string, partition: number): PartitionReplica | undefined {
    return this.#replicas.get(key(topic, partition));
  }

  /** Every replica. */
  all(): IterableIterator<PartitionReplica> {
    return this.#replicas.values();
  }

  /** The directory of a partition, named as Kafka names it. */
  partitionDir(topic: string, partition: number): string {
    return `${this.#logDir}/${topic}-${partition}`;
  }

  /** Opens (or creates) every partition of `topic` led by this broker that is not open yet. */
  async ensureTopic(topic: TopicImage): Promise<void> {
    const settings = topicSettings(this.config, Object.fromEntries(topic.configs));
    for (const p of topic.partitions) {
      if (!p || p.leader !== this.config.nodeId || this.#replicas.has(key(topic.name, p.partition))) continue;
      const dir = this.partitionDir(topic.name, p.partition);
      const log = await PartitionLog.open(dir, {
        config: settings.log,
        fs: this.#fs,
        onEvent: ({ level, event, ...fields }) => {
          const logLevel = level === "error" || level === "warn" || level === "debug" ? level : "info";
          this.logger.log(logLevel, String(event), { topic: topic.name, partition: p.partition, ...fields });
        },
      });
      const snapshot = loadProducerSnapshot(this.#fs, dir);
      if (snapshot.offset > log.logEndOffset) {
        // The log lost its tail since the snapshot (recovery cut it): the snapshot cannot be trusted past the end.
        snapshot.table.truncateFrom(log.logEndOffset);
        snapshot.offset = log.logEndOffset;
        // Nor may the file survive: once new batches take the cut offsets, a later crash would replay from the
        // snapshot's offset on top of its batches that are gone, and skip the new ones before that offset.
        this.#fs.remove(`${dir}/${PRODUCER_SNAPSHOT_FILE}`);
        await this.#fs.syncDir(dir);
      }
      rebuildProducerState(log, snapshot.table, snapshot.offset);
      const replica = await PartitionReplica.open(
        topic.name,
        p.partition,
        log,
        dir,
        this.config.nodeId,
        snapshot.table,
        p.leaderEpoch,
      );
      replica.compacted = settings.produce.compacted ?? false;
      this.#replicas.set(key(topic.name, p.partition), replica);
    }
  }

  /** Closes and deletes the partitions of a deleted topic. */
  async removeTopic(name: string): Promise<void> {
    for (const [k, replica] of this.#replicas) {
      if (replica.topic !== name) continue;
      this.#replicas.delete(k);
      await replica.log.close();
      await Deno.remove(this.partitionDir(replica.topic, replica.partition), { recursive: true }).catch(() => {});
    }
  }

  /**
   * Runs retention on every partition now and then (`log.retention.check.interval.ms`) and the log cleaner on
   * compacted ones (`log.cleaner.backoff.ms`), each pass one partition at a time in the background.
   */
  startBackgroundWork(retentionIntervalMs: number, cleanerIntervalMs: number, cleanerEnabled: boolean): void {
    this.#timers.push(
      setInterval(() => this.#everyReplica("retention", (r) => r.log.applyRetention()), retentionIntervalMs),
    );
    if (cleanerEnabled) {
      this.#timers.push(
        setInterval(
          () => this.#everyReplica("compaction", (r) => r.log.compact({ upTo: r.highWatermark }), (r) => r.compacted),
          cleanerIntervalMs,
        ),
      );
    }
  }

  /** Runs `work` on each replica in turn (skipping a pass still running), logging what it did. */
  async #everyReplica(
    name: string,
    work: (replica: PartitionReplica) => Promise<unknown>,
    wanted: (replica: PartitionReplica) => boolean = () => true,
  ): Promise<void> {
    if (this.#running.has(name)) return;
    this.#running.add(name);
    try {
      for (const replica of [...this.#replicas.values()]) {
        if (!wanted(replica) || replica.log.isOffline) continue;
        try {
          // The log reports what retention and the cleaner did through its own events.
          await work(replica);
        } catch (e) {
          this.logger.error(`${name} failed`, { topic: replica.topic, partition: replica.partition, error: String(e) });
        }
      }
    } finally {
      this.#running.delete(name);
    }
  }

  /** Writes producer snapshots and closes every log (flushing it and writing its clean marker). */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    for (const replica of this.#replicas.values()) {
      try {
        const path = `${this.partitionDir(replica.topic, replica.partition)}/${PRODUCER_SNAPSHOT_FILE}`;
        const producers = replica.producers.toJSON() as unknown[];
        // No idempotent producer and no earlier snapshot: nothing to remember (a partition without producers
        // creates no file at every stop).
        if (producers.length > 0 || this.#fs.stat(path) !== null) {
          // Replaced atomically, not fsynced: a lost or older snapshot only means replaying more of the log.
          writeCheckpointSync(this.#fs, path, JSON.stringify({ offset: replica.log.logEndOffset, producers }));
        }
        await replica.log.close();
      } catch (e) {
        this.logger.error("closing partition failed", {
          topic: replica.topic,
          partition: replica.partition,
          error: String(e),
        });
      }
    }
    this.#replicas.clear();
  }
}
