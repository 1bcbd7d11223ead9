/**
 * Brings a failed log directory back without a restart. A partition log that fails a write or an fsync goes
 * offline (appends answer KAFKA_STORAGE_ERROR, durable data stays readable); the monitor then probes the log
 * directory now and then — a small file written, fsynced and removed — and once a probe succeeds (space was
 * freed, the device came back) it asks the broker to reopen what is offline. Reopening runs log recovery,
 * which cuts any batch a failed write left half on disk before new appends are accepted.
 *
 * Apache Kafka takes a failed log directory offline until the broker restarts; Samsa, usually a single broker,
 * has no other replica to fail over to, so it heals in place.
 *
 * `ProbeSchedule` is the pure part (when to probe next); `LogDirMonitor` is the shell (timer, probe, logging).
 *
 * @module
 */
import type { FileSystem } from "../log/file_system.ts";
import type { Logger } from "./logger.ts";

/** The file a probe writes in the log directory (and removes). */
export const PROBE_FILE = ".samsa-probe";
/** Bytes a probe writes: one page, as a small append would. */
const PROBE_BYTES = 4096;

/** Backoff of the probes of an offline log directory. */
export interface ProbeBackoff {
  /** Delay before the first probe after a failure, in ms. */
  initialMs: number;
  /** The delay doubles after each failed probe, up to this, in ms. */
  maxMs: number;
}

/**
 * When to probe an offline log directory: the first probe `initialMs` after it went offline, then doubling
 * delays up to `maxMs` while probes fail. Pure: time comes in as arguments.
 *
 * @example
 * ```ts
 * import { ProbeSchedule } from "./log_dir_monitor.ts";
 * const schedule = new ProbeSchedule({ initialMs: 1000, maxMs: 4000 });
 * schedule.wentOffline(0); // 1000: probe at t=1000
 * schedule.probeFailed(1000); // 3000: probe again 2 s later
 * schedule.probeFailed(3000); // 7000 (4 s: the maximum)
 * schedule.cameOnline(); // online again
 * ```
 */
export class ProbeSchedule {
  #delayMs = 0;
  #nextProbeAtMs: number | null = null;

  constructor(readonly backoff: ProbeBackoff) {}

  /** True while the directory is offline (a probe is due at `nextProbeAtMs`). */
  get offline(): boolean {
    return this.#nextProbeAtMs !== null;
  }

  /** When the next probe is due, or null when the directory is online. */
  get nextProbeAtMs(): number | null {
    return this.#nextProbeAtMs;
  }

  /** A write failed at `nowMs`. Returns when to probe. A failure while already offline changes nothing. */
  wentOffline(nowMs: number): number {
    if (this.#nextProbeAtMs === null) {
      this.#delayMs = this.backoff.initialMs;
      this.#nextProbeAtMs = nowMs + this.#delayMs;
    }
    return this.#nextProbeAtMs;
  }

  /** A probe (or the reopening after it) failed at `nowMs`. Returns when to probe again. */
  probeFailed(nowMs: number): number {
    this.#delayMs = Math.min(Math.max(this.#delayMs * 2, this.backoff.initialMs), this.backoff.maxMs);
    this.#nextProbeAtMs = nowMs + this.#delayMs;
    return this.#nextProbeAtMs;
  }

  /** Everything offline was reopened. */
  cameOnline(): void {
    this.#nextProbeAtMs = null;
    this.#delayMs = 0;
  }
}

/**
 * Writes, fsyncs and removes a small file in `dir`. Throws what the file system throws (ENOSPC, EIO, EACCES).
 *
 * @example
 * ```ts ignore
 * await probeLogDir(new DenoFileSystem(), "/var/lib/samsa"); // throws while the disk is full
 * ```
 */
export async function probeLogDir(fs: FileSystem, dir: string): Promise<void> {
  const path = `${dir}/${PROBE_FILE}`;
  const file = fs.open(path, { create: true });
  try {
    file.truncate(0);
    file.append(new Uint8Array(PROBE_BYTES));
    await file.syncData();
  } finally {
    file.close();
    try {
      fs.remove(path);
    } catch {
      // A probe file left behind is overwritten by the next probe; its removal failing changes nothing.
    }
  }
}

/** What the monitor needs from the broker. */
export interface LogDirMonitorOptions {
  /** The log directory. */
  dir: string;
  fs: FileSystem;
  logger: Logger;
  backoff: ProbeBackoff;
  /** Reopens every offline log (and opens partitions that failed to open); throws if that fails. */
  reopen: () => Promise<{ reopened: string[] }>;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/**
 * Watches one log directory: `reportFailure` when a write fails; probes with backoff until a probe succeeds,
 * then reopens what is offline. Logs each transition once (offline at `error`, online at `info`).
 *
 * @example
 * ```ts ignore
 * const monitor = new LogDirMonitor({ dir, fs, logger, backoff: { initialMs: 1000, maxMs: 30000 }, reopen, now: Date.now });
 * monitor.reportFailure("orders-0", "append: No space left on device");
 * ```
 */
export class LogDirMonitor {
  readonly #schedule: ProbeSchedule;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #probing = false;
  #inFlight: Promise<void> | undefined;
  #closed = false;
  #failedProbes = 0;
  /** A failure reported while a probe was reopening logs: that reopening cannot count as recovery. */
  #failedWhileProbing = false;

  constructor(private readonly options: LogDirMonitorOptions) {
    this.#schedule = new ProbeSchedule(options.backoff);
  }

  /** True while the directory is offline (between a failure and a successful reopen). */
  get offline(): boolean {
    return this.#schedule.offline;
  }

  /** A log in the directory failed (`what` names it, `error` says how): the directory goes offline. */
  reportFailure(what: string, error: string): void {
    if (this.#closed) return;
    if (this.#probing) this.#failedWhileProbing = true;
    if (this.#schedule.offline) return;
    const at = this.#schedule.wentOffline(this.options.now());
    this.#failedProbes = 0;
    this.options.logger.error("log dir offline", {
      dir: this.options.dir,
      failed: what,
      error,
      probe_in_ms: at - this.options.now(),
    });
    this.#arm(at);
  }

  /** Stops probing; resolves once a probe (and the reopening it started) in progress has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  #arm(atMs: number): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#probe();
    }, Math.max(0, atMs - this.options.now()));
  }

  async #probe(): Promise<void> {
    this.#timer = undefined;
    if (this.#probing || this.#closed) return;
    this.#probing = true;
    const { dir, fs, logger } = this.options;
    this.#failedWhileProbing = false;
    try {
      await probeLogDir(fs, dir);
      if (this.#closed) return; // the broker is stopping: its next start recovers the logs
      const { reopened } = await this.options.reopen();
      if (this.#failedWhileProbing) throw new Error("a log failed again while the directory was being reopened");
      this.#schedule.cameOnline();
      logger.info("log dir online", {
        dir,
        reopened: reopened.length,
        partitions: reopened.join(","),
        probes: this.#failedProbes + 1,
      });
    } catch (e) {
      this.#failedProbes++;
      const at = this.#schedule.probeFailed(this.options.now());
      logger.warn("log dir still offline", {
        dir,
        error: e instanceof Error ? e.message : String(e),
        failed_probes: this.#failedProbes,
        next_probe_in_ms: at - this.options.now(),
      });
      this.#arm(at);
    } finally {
      this.#probing = false;
    }
  }
}
