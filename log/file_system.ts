/**
 * The small file-system interface partition storage uses, and its real implementation on `Deno.FsFile`.
 *
 * Writes and reads are synchronous: on this platform a sync call costs what the C call costs, while every
 * async file call pays a ~25 us thread-pool round trip (see PLATFORM.md). `syncData` alone is async, so the
 * event loop keeps serving while an fdatasync runs and group commit can gather the appends made meanwhile.
 *
 * @module
 */

/** An open file of the log: appended to at its end, read at any position. */
export interface LogFile {
  /** The path the file was opened with. */
  readonly path: string;
  /** Appends all of `bytes` at the end of the file (loops over short writes; throws on failure). */
  append(bytes: Uint8Array): void;
  /** Reads into `buffer` from `position`; returns the bytes read, fewer than asked only at end of file. */
  readAt(buffer: Uint8Array, position: number): number;
  /** Flushes the file's data to stable storage (fdatasync). */
  syncData(): Promise<void>;
  /** Cuts the file to `size` bytes. */
  truncate(size: number): void;
  /** The file's current size in bytes. */
  size(): number;
  /** Closes the file; further calls fail. */
  close(): void;
}

/** What `stat` reports of a path. */
export interface FileInfo {
  /** Size in bytes. */
  size: number;
  /** Last modification time in ms since the epoch, or 0 if unknown. */
  mtimeMs: number;
}

/** The directory and file operations partition storage needs. */
export interface FileSystem {
  /** Opens `path` for reading and appending; creates it when `create` is set, else it must exist. */
  open(path: string, options?: { create?: boolean }): LogFile;
  /** Size and mtime of `path`, or `null` when it does not exist. */
  stat(path: string): FileInfo | null;
  /** Renames `from` to `to`, replacing `to` (atomic on POSIX). */
  rename(from: string, to: string): void;
  /** Removes a file; a missing file is not an error. */
  remove(path: string): void;
  /** Names (not paths) of the entries of a directory. */
  readDir(path: string): string[];
  /** Creates a directory and its parents; an existing directory is not an error. */
  mkdir(path: string): void;
  /** Makes the directory's entries (creations, renames, removals) durable. */
  syncDir(path: string): Promise<void>;
}

class DenoLogFile implements LogFile {
  constructor(readonly path: string, private readonly file: Deno.FsFile) {}

  append(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      done += this.file.writeSync(bytes.subarray(done));
    }
  }

  readAt(buffer: Uint8Array, position: number): number {
    this.file.seekSync(position, Deno.SeekMode.Start);
    let done = 0;
    while (done < buffer.length) {
      const n = this.file.readSync(buffer.subarray(done));
      if (n === null || n === 0) break;
      done += n;
    }
    return done;
  }

  syncData(): Promise<void> {
    return this.file.syncData();
  }

  truncate(size: number): void {
    this.file.truncateSync(size);
  }

  size(): number {
    return this.file.statSync().size;
  }

  close(): void {
    this.file.close();
  }
}

/**
 * The real file system: `Deno.FsFile` opened in append mode (O_APPEND), so appends land at the end whatever
 * position the last positional read left behind.
 *
 * @example
 * ```ts
 * import { DenoFileSystem } from "./file_system.ts";
 * const fs = new DenoFileSystem();
 * const dir = await Deno.makeTempDir();
 * const file = fs.open(`${dir}/x.log`, { create: true });
 * file.append(new Uint8Array([1, 2, 3]));
 * await file.syncData();
 * file.close();
 * ```
 */
export class DenoFileSystem implements FileSystem {
  open(path: string, options: { create?: boolean } = {}): LogFile {
    const file = Deno.openSync(path, { read: true, append: true, create: options.create ?? false });
    return new DenoLogFile(path, file);
  }

  stat(path: string): FileInfo | null {
    try {
      const info = Deno.statSync(path);
      return { size: info.size, mtimeMs: info.mtime?.getTime() ?? 0 };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  }

  rename(from: string, to: string): void {
    Deno.renameSync(from, to);
  }

  remove(path: string): void {
    try {
      Deno.removeSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  readDir(path: string): string[] {
    const names: string[] = [];
    for (const entry of Deno.readDirSync(path)) names.push(entry.name);
    return names;
  }

  mkdir(path: string): void {
    Deno.mkdirSync(path, { recursive: true });
  }

  async syncDir(path: string): Promise<void> {
    const dir = Deno.openSync(path, { read: true });
    try {
      await dir.syncData();
    } finally {
      dir.close();
    }
  }
}
