/**
 * Structured logging: one line per event, either logfmt (`ts=… level=info msg="broker started" node=1`) or a
 * JSON object, written whole to stderr. A logger carries bound fields; `child` adds more (a connection id, a
 * partition) without repeating them at every call. The broker logs what an operator needs (start, stop,
 * errors, refused connections), never anything per record.
 *
 * Formatting is pure (`formatLogLine` takes the time as an argument); only the default sink touches stderr.
 *
 * @module
 */

/** Severity, most severe first. A logger at level `info` writes error, warn and info events. */
export type LogLevel = "error" | "warn" | "info" | "debug";

/** The line format: logfmt (the default, easy on the eye and on `grep`) or one JSON object per line. */
export type LogFormat = "logfmt" | "json";

/** Key/value pairs attached to an event. Values are rendered with `String`, errors by their message. */
export type LogFields = Readonly<Record<string, unknown>>;

/** All levels, most severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Returns the level named by `text` (case-insensitive; `warning` and `trace` are accepted as `warn` and
 * `debug`), or undefined when it names none.
 *
 * @example
 * ```ts
 * import { parseLogLevel } from "./logger.ts";
 * parseLogLevel("INFO"); // "info"
 * parseLogLevel("loud"); // undefined
 * ```
 */
export function parseLogLevel(text: string): LogLevel | undefined {
  const t = text.trim().toLowerCase();
  if (t === "warning") return "warn";
  if (t === "trace") return "debug";
  return (LOG_LEVELS as readonly string[]).includes(t) ? t as LogLevel : undefined;
}

/**
 * A structured logger. Every method writes at most one line.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const log = createLogger({ level: "info" });
 * const connLog = log.child({ connection: 7, listener: "PLAINTEXT" });
 * connLog.warn("request too large", { size: 2147483647, max: 104857600 });
 * ```
 */
export interface Logger {
  /** The least severe level this logger writes. */
  readonly level: LogLevel;
  /** True when an event at `level` would be written: guard costly field computations with it. */
  enabled(level: LogLevel): boolean;
  /** Writes an event at `level`. */
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  /** Something failed and an operator should look. */
  error(msg: string, fields?: LogFields): void;
  /** Something unusual that the broker handled (a refused request, a closed connection). */
  warn(msg: string, fields?: LogFields): void;
  /** Lifecycle: started, stopped, listening, leadership changes. */
  info(msg: string, fields?: LogFields): void;
  /** Detail for debugging: connections opened and closed, unknown configuration keys. */
  debug(msg: string, fields?: LogFields): void;
  /** A logger that writes the same way with `fields` bound to every event (later fields win). */
  child(fields: LogFields): Logger;
}

/** How `createLogger` writes. */
export interface LoggerOptions {
  /** The least severe level written; default `info`. */
  level?: LogLevel;
  /** The line format; default `logfmt`. */
  format?: LogFormat;
  /** Receives each line without its newline; default: write the line and a newline to stderr. */
  sink?: (line: string) => void;
  /** Milliseconds since the epoch; default `Date.now`. */
  clock?: () => number;
  /** Fields bound to every event. */
  fields?: LogFields;
}

/**
 * Creates a logger.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger({ level: "debug", sink: (l) => lines.push(l), clock: () => 0 });
 * log.info("broker started", { node: 1 });
 * lines[0]; // 'ts=1970-01-01T00:00:00.000Z level=info msg="broker started" node=1'
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "logfmt";
  const sink = options.sink ?? writeToStderr;
  const clock = options.clock ?? Date.now;
  return new StructuredLogger(level, format, sink, clock, options.fields ?? {});
}

/**
 * Renders one event as a line (without newline). `ts`, `level` and `msg` come first, then `fields` in order.
 *
 * @example
 * ```ts
 * import { formatLogLine } from "./logger.ts";
 * formatLogLine("json", 0, "warn", "slow", { ms: 12 });
 * // '{"ts":"1970-01-01T00:00:00.000Z","level":"warn","msg":"slow","ms":12}'
 * ```
 */
export function formatLogLine(
  format: LogFormat,
  timeMs: number,
  level: LogLevel,
  msg: string,
  fields: LogFields,
): string {
  const ts = new Date(timeMs).toISOString();
  if (format === "json") {
    const record: Record<string, unknown> = { ts, level, msg };
    for (const [k, v] of Object.entries(fields)) {
      if (k !== "ts" && k !== "level" && k !== "msg") record[k] = jsonValue(v);
    }
    return safeJson(record);
  }
  let line = `ts=${ts} level=${level} msg=${logfmtValue(msg)}`;
  for (const [k, v] of Object.entries(fields)) {
    if (k === "ts" || k === "level" || k === "msg" || v === undefined) continue;
    line += ` ${logfmtKey(k)}=${logfmtValue(textOf(v))}`;
  }
  return line;
}

class StructuredLogger implements Logger {
  readonly #severity: number;

  constructor(
    readonly level: LogLevel,
    readonly format: LogFormat,
    readonly sink: (line: string) => void,
    readonly clock: () => number,
    readonly fields: LogFields,
  ) {
    this.#severity = SEVERITY[level];
  }

  enabled(level: LogLevel): boolean {
    return SEVERITY[level] <= this.#severity;
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const all = fields === undefined ? this.fields : { ...this.fields, ...fields };
    this.sink(formatLogLine(this.format, this.clock(), level, msg, all));
  }

  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }

  child(fields: LogFields): Logger {
    return new StructuredLogger(this.level, this.format, this.sink, this.clock, { ...this.fields, ...fields });
  }
}

/** A logger that writes nothing: for tests and for components built without one. */
export const silentLogger: Logger = createLogger({ level: "error", sink: () => {} });

const encoder = new TextEncoder();

function writeToStderr(line: string): void {
  // One synchronous write per line keeps lines whole even when several loggers write at once.
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  try {
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  } catch {
    // stderr is gone (closed pipe): nowhere left to report to.
  }
}

function textOf(v: unknown): string {
  if (v instanceof Error) return v.message;
  if (typeof v === "string") return v;
  if (v === null || typeof v !== "object") return String(v);
  if (Array.isArray(v)) return v.map(textOf).join(",");
  return safeJson(v);
}

function jsonValue(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  if (typeof v === "bigint") return v.toString();
  return v;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? x.toString() : x instanceof Error ? x.message : x);
  } catch {
    return JSON.stringify(String(v));
  }
}

const BARE = /^[^\s"=\\]+$/;

function logfmtKey(k: string): string {
  return BARE.test(k) ? k : k.replace(/[\s"=\\]/g, "_");
}

function logfmtValue(s: string): string {
  if (s.length > 0 && BARE.test(s)) return s;
  return JSON.stringify(s);
}
