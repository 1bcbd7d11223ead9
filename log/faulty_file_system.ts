/**
 * A `FileSystem` wrapper for tests: counts every call (by operation and by path) and injects faults —
 * EIO or ENOSPC on the Nth call of an operation, short writes, or ENOSPC once a file would exceed a size.
 *
 * @module
 */
import type { FileInfo, FileSystem, LogFile } from "./file_system.ts";

/** The operations that can be counted and failed. */
export type FileOp = "open" | "append" | "read" | "sync" | "truncate" | "rename" | "remove" | "syncDir";

/** The error an injected fault throws; `code` mimics the errno name. */
export class InjectedFault extends Error {
  /** "EIO" or "ENOSPC". */
  readonly code: "EIO" | "ENOSPC";
  /** Creates the fault for `op` on `path`. */
  constructor(code: "EIO" | "ENOSPC", op: FileOp, path: string) {
    super(`injected ${code} on ${op} ${path}`);
    this.name = "InjectedFault";
    this.code = code;
  }
}

/** One planned fault. */
export interface FaultRule {
  /** The operation to fail. */
  op: FileOp;
  /** Fail the Nth matching call from now (1 = the next one). Default 1. */
  nth?: number;
  /** Only calls on paths containing this string count. */
  pathIncludes?: string;
  /** The error to throw. Default "EIO". */
  code?: "EIO" | "ENOSPC";
  /** For `append`: write this many bytes of the buffer before failing (a short write). Default 0. */
  shortBytes?: number;
  /** Keep failing every later matching call too (a dead disk). Default false. */
  sticky?: boolean;
}

interface ArmedRule extends FaultRule {
  remaining: number;
  fired: boolean;
}

/**
 * Wraps a real `FileSystem`, counting calls and failing the ones the test plans.
 *
 * @example
 * ```ts
 * import { DenoFileSystem } from "./file_system.ts";
 * import { FaultyFileSystem } from "./faulty_file_system.ts";
 * const fs = new FaultyFileSystem(new DenoFileSystem());
 * fs.failOn({ op: "sync", code: "EIO" }); // the next fdatasync fails
 * fs.count("sync"); // 0
 * ```
 */
export class FaultyFileSystem implements FileSystem {
  /** Calls per operation. */
  readonly calls = new Map<FileOp, number>();
  /** `read` calls per path. */
  readonly readsByPath = new Map<string, number>();
  /** When set, an `append` that would grow a file past this many bytes writes what fits, then throws ENOSPC. */
  maxFileBytes: number = Infinity;
  /** When set, awaited before each `syncData` reaches the disk (to make fsyncs slow or gate them). */
  beforeSync: ((path: string) => Promise<void>) | null = null;
  /** When set, called once each `syncData` has reached the disk. */
  afterSync: ((path: string) => void) | null = null;
  private rules: ArmedRule[] = [];

  /** Wraps `inner`. */
  constructor(readonly inner: FileSystem) {}

  /** Plans a fault. */
  failOn(rule: FaultRule): void {
    this.rules.push({ ...rule, remaining: rule.nth ?? 1, fired: false });
  }

  /** Removes all planned faults and the size limit (counters stay). */
  heal(): void {
    this.rules = [];
    this.maxFileBytes = Infinity;
  }

  /** Calls of `op` so far. */
  count(op: FileOp): number {
    return this.calls.get(op) ?? 0;
  }

  /** `read` calls on paths ending with `suffix` (".log", ".index", ...). */
  readsOf(suffix: string): number {
    let total = 0;
    for (const [path, n] of this.readsByPath) if (path.endsWith(suffix)) total += n;
    return total;
  }

  /** Zeroes every counter. */
  resetCounts(): void {
    this.calls.clear();
    this.readsByPath.clear();
  }

  /** Counts the call and returns the rule that fires for it, if any. */
  private check(op: FileOp, path: string): ArmedRule | null {
    this.calls.set(op, this.count(op) + 1);
    for (const rule of this.rules) {
      if (rule.op !== op || (rule.pathIncludes !== undefined && !path.includes(rule.pathIncludes))) continue;
      if (rule.fired) {
        if (rule.sticky) return rule;
        continue;
      }
      rule.remaining--;
      if (rule.remaining === 0) {
        rule.fired = true;
        return rule;
      }
    }
    return null;
  }

  /** Throws the fault of `op` on `path` if one is planned. */
  guard(op: FileOp, path: string): void {
    const rule = this.check(op, path);
    if (rule) throw new InjectedFault(rule.code ?? "EIO", op, path);
  }

  open(path: string, options?: { create?: boolean }): LogFile {
    this.guard("open", path);
    return new FaultyLogFile(this, this.inner.open(path, options));
  }

  stat(path: string): FileInfo | null {
    return this.inner.stat(path);
  }

  rename(from: string, to: string): void {
    this.guard("rename", from);
    this.inner.rename(from, to);
  }

  remove(path: string): void {
    this.guard("remove", path);
    this.inner.remove(path);
  }

  readDir(path: string): string[] {
    return this.inner.readDir(path);
  }

  mkdir(path: string): void {
    this.inner.mkdir(path);
  }

  async syncDir(path: string): Promise<void> {
    this.guard("syncDir", path);
    await this.inner.syncDir(path);
  }

  /** @internal Used by the wrapped files. */
  appendRule(path: string): ArmedRule | null {
    return this.check("append", path);
  }

  /** @internal Used by the wrapped files. */
  countRead(path: string): void {
    this.readsByPath.set(path, (this.readsByPath.get(path) ?? 0) + 1);
    this.guard("read", path);
  }
}

class FaultyLogFile implements LogFile {
  constructor(private readonly fs: FaultyFileSystem, private readonly inner: LogFile) {}

  get path(): string {
    return this.inner.path;
  }

  append(bytes: Uint8Array): void {
    const rule = this.fs.appendRule(this.path);
    if (rule) {
      const short = Math.min(rule.shortBytes ?? 0, bytes.length);
      if (short > 0) this.inner.append(bytes.subarray(0, short));
      throw new InjectedFault(rule.code ?? "EIO", "append", this.path);
    }
    if (this.fs.maxFileBytes !== Infinity) {
      const room = this.fs.maxFileBytes - this.inner.size();
      if (bytes.length > room) {
        if (room > 0) this.inner.append(bytes.subarray(0, room));
        throw new InjectedFault("ENOSPC", "append", this.path);
      }
    }
    this.inner.append(bytes);
  }

  readAt(buffer: Uint8Array, position: number): number {
    this.fs.countRead(this.path);
    return this.inner.readAt(buffer, position);
  }

  async syncData(): Promise<void> {
    this.fs.guard("sync", this.path);
    if (this.fs.beforeSync) await this.fs.beforeSync(this.path);
    await this.inner.syncData();
    this.fs.afterSync?.(this.path);
  }

  truncate(size: number): void {
    this.fs.guard("truncate", this.path);
    this.inner.truncate(size);
  }

  size(): number {
    return this.inner.size();
  }

  close(): void {
    this.inner.close();
  }
}
