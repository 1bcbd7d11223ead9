/**
 * A bound on the file descriptors partition storage holds: a `FileSystem` whose log files stay open only while
 * used. At most `maxOpen` of them hold a descriptor at once; opening one more closes the least recently used
 * idle one, which reopens by its path on its next use. So a broker with 20,000 partitions holds descriptors for
 * the few hundred being written and read, not one (or three) per partition.
 *
 * Closing and reopening loses nothing: appends use O_APPEND, reads are positional, and Linux's fdatasync flushes
 * the file's dirty pages whichever descriptor wrote them. A file is never closed while its fdatasync runs, and at
 * most half the pool's descriptors are held by fdatasyncs at once (the others wait for a slot).
 *
 * When the process is out of descriptors all the same (EMFILE: sockets, say, took the rest), the pool closes its
 * idle files and tries again; with none left to close it throws LogError `storage` saying so, which the broker
 * answers as KAFKA_STORAGE_ERROR (CreateTopics included).
 *
 * @module
 */
import type { FileInfo, FileSystem, LogFile } from "./file_system.ts";
import { LogError } from "./log_error.ts";

/** True when `e` is the OS saying the process (EMFILE) or the system (ENFILE) has no descriptor left. */
export function isOutOfDescriptors(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return code === "EMFILE" || code === "ENFILE" || /os error 2[34]\b|too many open files/i.test(e.message);
}

/** A log file of the pool: its descriptor comes and goes; its path and content stay. */
class PooledLogFile implements LogFile {
  /** The descriptor, when open. */
  handle: LogFile | null;
  /** fdatasyncs in flight: the descriptor must stay until they end. */
  syncing = 0;
  closed = false;

  constructor(readonly path: string, private readonly pool: OpenFilePool, handle: LogFile) {
    this.handle = handle;
  }

  private file(): LogFile {
    if (this.closed) throw new LogError("storage", `${this.path} is closed`);
    return this.pool.acquire(this);
  }

  append(bytes: Uint8Array): void {
    this.file().append(bytes);
  }

  readAt(buffer: Uint8Array, position: number): number {
    return this.file().readAt(buffer, position);
  }

  async syncData(): Promise<void> {
    const release = await this.pool.syncSlot();
    try {
      const file = this.file();
      this.syncing++;
      try {
        await file.syncData();
      } finally {
        this.syncing--;
      }
    } finally {
      release();
    }
  }

  truncate(size: number): void {
    this.file().truncate(size);
  }

  size(): number {
    return this.file().size();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.release(this);
  }
}

/**
 * Wraps a `FileSystem` so that at most `maxOpen` log files hold a descriptor.
 *
 * @example
 * ```ts
 * import { DenoFileSystem } from "./file_system.ts";
 * import { OpenFilePool } from "./open_file_pool.ts";
 * const pool = new OpenFilePool(new DenoFileSystem(), 2);
 * const dir = await Deno.makeTempDir();
 * const files = [1, 2, 3].map((i) => pool.open(`${dir}/${i}.log`, { create: true }));
 * pool.openDescriptors; // 2: the first file was closed, and reopens when used
 * files[0].append(new Uint8Array([1]));
 * for (const f of files) f.close();
 * ```
 */
export class OpenFilePool implements FileSystem {
  /** Files holding a descriptor, least recently used first (a Map keeps insertion order). */
  readonly #open = new Map<PooledLogFile, true>();
  /** Descriptors closed to make room (for metrics and tests). */
  evictions = 0;

  /**
   * A pool over `inner` (the file system that really opens files) holding at most `maxOpen` descriptors (at
   * least 1).
   */
  constructor(private readonly inner: FileSystem, readonly maxOpen: number) {
    if (!(maxOpen >= 1)) throw new LogError("invalid_argument", `maxOpen must be at least 1, not ${maxOpen}`);
  }

  /** fdatasyncs running (each holds its descriptor), at most `maxSyncs`. */
  #syncs = 0;
  /** fdatasyncs waiting for one of the `maxSyncs` slots. */
  readonly #syncWaiters: (() => void)[] = [];

  /**
   * Most fdatasyncs at once: half the pool, so that a group commit over thousands of partitions never holds
   * every descriptor and the other half can still be closed to make room.
   */
  get maxSyncs(): number {
    return Math.max(1, Math.floor(this.maxOpen / 2));
  }

  /** Waits for an fdatasync slot; returns its release. */
  async syncSlot(): Promise<() => void> {
    if (this.#syncs >= this.maxSyncs) await new Promise<void>((resolve) => this.#syncWaiters.push(resolve));
    else this.#syncs++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#syncWaiters.shift();
      if (next) next(); // the slot passes to the next waiter
      else this.#syncs--;
    };
  }

  /** Log files holding a descriptor now. */
  get openDescriptors(): number {
    return this.#open.size;
  }

  open(path: string, options?: { create?: boolean }): LogFile {
    const handle = this.#withDescriptor(() => this.inner.open(path, options), path);
    const file = new PooledLogFile(path, this, handle);
    this.#open.set(file, true);
    this.#makeRoom(0);
    return file;
  }

  /** The descriptor of `file`, reopened if it was closed; marks it most recently used. */
  acquire(file: PooledLogFile): LogFile {
    if (file.handle) {
      this.#open.delete(file);
      this.#open.set(file, true);
      return file.handle;
    }
    this.#makeRoom(1);
    file.handle = this.#withDescriptor(() => this.inner.open(file.path, { create: false }), file.path);
    this.#open.set(file, true);
    return file.handle;
  }

  /** Closes `file`'s descriptor for good (the file was closed by its owner). */
  release(file: PooledLogFile): void {
    this.#open.delete(file);
    const handle = file.handle;
    file.handle = null;
    handle?.close();
  }

  /** Closes idle descriptors until `extra` more fit under `maxOpen`; returns how many it closed. */
  #makeRoom(extra: number): number {
    let closed = 0;
    for (const file of this.#open.keys()) {
      if (this.#open.size + extra <= this.maxOpen) break;
      if (this.#closeIdle(file)) closed++;
    }
    return closed;
  }

  /** Closes the descriptor of `file` unless an fdatasync holds it; true when closed. */
  #closeIdle(file: PooledLogFile): boolean {
    if (file.syncing > 0 || !file.handle) return false;
    this.#open.delete(file);
    const handle = file.handle;
    file.handle = null;
    this.evictions++;
    try {
      handle.close();
    } catch {
      // Closing a descriptor cannot lose data written through it; the next use reopens the file.
    }
    return true;
  }

  /**
   * Runs `open`; when the process is out of descriptors, closes half the pool's idle ones and tries again, and
   * throws a clear `storage` error when none is left to close.
   */
  #withDescriptor<T>(open: () => T, path: string): T {
    for (;;) {
      try {
        return open();
      } catch (e) {
        if (!isOutOfDescriptors(e)) throw e;
        if (this.#freeDescriptors() === 0) throw this.#limitError(path, e);
      }
    }
  }

  /** Closes up to half the pool's descriptors (at least one), idle ones only; returns how many it closed. */
  #freeDescriptors(): number {
    let closed = 0;
    const want = Math.max(1, Math.ceil(this.#open.size / 2));
    for (const file of [...this.#open.keys()]) {
      if (closed >= want) break;
      if (this.#closeIdle(file)) closed++;
    }
    return closed;
  }

  #limitError(path: string, cause: unknown): LogError {
    return new LogError(
      "storage",
      `too many open files: cannot open ${path} (the process is at its descriptor limit, ulimit -n, with ` +
        `${this.#open.size} log files open; raise ulimit -n or lower the connection count)`,
      { cause },
    );
  }

  stat(path: string): FileInfo | null {
    return this.inner.stat(path);
  }

  rename(from: string, to: string): void {
    this.inner.rename(from, to);
  }

  remove(path: string): void {
    this.inner.remove(path);
  }

  readDir(path: string): string[] {
    return this.#withDescriptor(() => this.inner.readDir(path), path);
  }

  mkdir(path: string): void {
    this.inner.mkdir(path);
  }

  async syncDir(path: string): Promise<void> {
    for (;;) {
      try {
        return await this.inner.syncDir(path); // opens the directory for the fsync
      } catch (e) {
        if (!isOutOfDescriptors(e)) throw e;
        if (this.#freeDescriptors() === 0) throw this.#limitError(path, e);
      }
    }
  }
}
