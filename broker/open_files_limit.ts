/**
 * The process's descriptor limit (RLIMIT_NOFILE, `ulimit -n`) and what partition storage may take of it.
 * Deno has no getrlimit; on Linux `/proc/self/limits` says it. The decisions are pure functions of the numbers.
 *
 * @module
 */

/** RLIMIT_NOFILE: soft (enforced) and hard (ceiling) limits; `Infinity` for "unlimited". */
export interface OpenFilesLimit {
  /** The limit enforced now (`ulimit -n`). */
  soft: number;
  /** The ceiling the soft limit may be raised to without privileges (`ulimit -Hn`). */
  hard: number;
}

/** Descriptors kept aside for everything but log files: connections, the metadata log, checkpoints, Deno itself. */
export const RESERVED_DESCRIPTORS = 1024;

/** The fewest log files the pool may keep open, whatever the limit says. */
const MIN_LOG_FILES = 32;

/**
 * The "Max open files" line of a `/proc/<pid>/limits` text, or null when absent.
 *
 * @example
 * ```ts
 * import { parseOpenFilesLimit } from "./open_files_limit.ts";
 * parseOpenFilesLimit("Max open files            1024                 4096                 files\n");
 * // { soft: 1024, hard: 4096 }
 * ```
 */
export function parseOpenFilesLimit(limitsText: string): OpenFilesLimit | null {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!match) return null;
  const value = (v: string) => v === "unlimited" ? Infinity : Number(v);
  const soft = value(match[1]);
  const hard = value(match[2]);
  return Number.isNaN(soft) || Number.isNaN(hard) ? null : { soft, hard };
}

/** This process's limit, from `/proc/self/limits`; null where that file does not exist (not Linux). */
export function readOpenFilesLimit(): OpenFilesLimit | null {
  try {
    return parseOpenFilesLimit(Deno.readTextFileSync("/proc/self/limits"));
  } catch {
    return null;
  }
}

/**
 * How many log files may hold a descriptor at once: half the soft limit (the other half is for connections
 * and the rest), at least 32; `configured` (`log.open.files.max`) wins when above 0.
 *
 * @example
 * ```ts
 * import { logFileBudget } from "./open_files_limit.ts";
 * logFileBudget({ soft: 1024, hard: 4096 }, 0); // 512
 * ```
 */
export function logFileBudget(limit: OpenFilesLimit | null, configured: number): number {
  if (configured > 0) return configured;
  if (!limit || !Number.isFinite(limit.soft)) return 16_384;
  return Math.max(MIN_LOG_FILES, Math.floor(limit.soft / 2));
}

/**
 * The `ulimit -n` at which every partition's active segment stays open (no reopening on use): one descriptor
 * per partition for the pool's half, and as many again plus a reserve for connections and the rest.
 *
 * @example
 * ```ts
 * import { recommendedOpenFilesLimit } from "./open_files_limit.ts";
 * recommendedOpenFilesLimit(20_000); // 41024
 * ```
 */
export function recommendedOpenFilesLimit(partitions: number): number {
  return 2 * partitions + RESERVED_DESCRIPTORS;
}
