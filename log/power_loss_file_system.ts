/**
 * An in-memory `FileSystem` that loses power: it remembers, per file, which bytes were made durable by
 * `syncData` and, per directory, which entries (creations, renames, removals) were made durable by `syncDir`,
 * as POSIX requires; `crash()` then cuts every file and directory back to that durable state.
 *
 * A killed process (SIGKILL) keeps the page cache, so tests that kill a broker prove only that acknowledged
 * records reached the kernel. This file system is what makes a missing fsync visible: what was not synced is
 * gone after `crash()`, or — as on a real disk, which writes back in its own order — a random, seeded part of
 * it survives: a prefix of the unsynced writes of each file, the last one possibly torn or zero-filled (the
 * size reached the disk, the data did not), and a prefix of the unsynced directory operations.
 *
 * Everything is synchronous except `syncData` and `syncDir`, which complete on a later microtask so group
 * commit behaves as on a disk. An fdatasync covers the writes issued before it was called, not those made
 * while it ran. `crash()` returns a new file system over the same disk for the next process; the old one and
 * every file opened through it fail from then on, in-flight fsyncs included, because their process is dead.
 *
 * @module
 */
import type { FileInfo, FileSystem, LogFile } from "./file_system.ts";

/** What survives of unsynced data at a crash. */
export interface CrashOptions {
  /** Seeds the choice of what survives (the same seed and history give the same disk). Default 1. */
  seed?: number;
  /**
   * Unsynced file writes: `"lost"` (only synced bytes survive), `"prefix"` (a random prefix of each file's
   * unsynced writes survives, the last kept one possibly torn, its missing part zeros or cut), or `"kept"`
   * (everything written survives, as with SIGKILL). Default `"prefix"`.
   */
  unsyncedWrites?: "lost" | "prefix" | "kept";
  /**
   * Unsynced directory operations (creations, renames, removals not followed by `syncDir`): `"undone"`,
   * `"prefix"` (a random prefix of each directory's operations survives) or `"kept"`. Default `"prefix"`.
   */
  unsyncedDirOps?: "undone" | "prefix" | "kept";
}

/** The error every call made through a file system (or file) from before a crash throws. */
export class DeadProcessError extends Error {
  /** Creates the error for a call on `path`. */
  constructor(path: string) {
    super(`${path}: the process that used this file system died in a power loss`);
    this.name = "DeadProcessError";
  }
}

/** The disk: directories and files, shared by the file systems of the processes that run one after another. */
interface Disk {
  dirs: Map<string, Directory>;
  roots: Set<string>;
  /** Bumped by every crash; only the file system of the current generation may use the disk. */
  generation: number;
}

type PendingWrite = { seq: number; kind: "append"; bytes: Uint8Array } | {
  seq: number;
  kind: "truncate";
  size: number;
};

/** A file's content: what the process sees, what the disk holds, and the writes in between. */
class Inode {
  data: Uint8Array = new Uint8Array(0);
  length = 0;
  /** The content as of the last completed `syncData`. */
  synced: Uint8Array = new Uint8Array(0);
  /** Writes not yet covered by a completed `syncData`, in order. */
  pending: PendingWrite[] = [];
  nextSeq = 0;

  append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.data.length) {
      const grown = new Uint8Array(Math.max(this.length + bytes.length, this.data.length * 2, 4096));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(bytes, this.length);
    this.length += bytes.length;
    this.pending.push({ seq: this.nextSeq++, kind: "append", bytes: bytes.slice() });
  }

  truncate(size: number): void {
    if (size > this.length) {
      this.append(new Uint8Array(size - this.length));
      return;
    }
    this.length = size;
    this.pending.push({ seq: this.nextSeq++, kind: "truncate", size });
  }

  /** Folds the writes numbered below `upTo` into the durable content. */
  markSynced(upTo: number): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n].seq < upTo) n++;
    if (n === 0) return;
    this.synced = applyWrites(this.synced, this.pending.slice(0, n));
    this.pending.splice(0, n);
  }

  /** What survives a crash: the synced content and, in "prefix" mode, part of the rest. */
  crash(mode: "lost" | "prefix" | "kept", random: () => number): void {
    let content: Uint8Array;
    if (mode === "kept") {
      content = this.data.slice(0, this.length);
    } else if (mode === "lost" || this.pending.length === 0) {
      content = this.synced;
    } else {
      const kept = Math.floor(random() * (this.pending.length + 1));
      content = applyWrites(this.synced, this.pending.slice(0, kept));
      const torn = this.pending[kept];
      if (torn?.kind === "append" && random() < 0.5) {
        // The write reached the disk in part: its first bytes, or only the new size (the rest reads as zeros).
        const partial = Math.floor(random() * torn.bytes.length);
        const bytes = random() < 0.5 ? torn.bytes.subarray(0, partial) : new Uint8Array(partial);
        content = applyWrites(content, [{ seq: torn.seq, kind: "append", bytes }]);
      }
    }
    this.synced = content.slice();
    this.data = content.slice();
    this.length = content.length;
    this.pending = [];
  }
}

function applyWrites(base: Uint8Array, writes: readonly PendingWrite[]): Uint8Array {
  let capacity = base.length;
  let length = base.length;
  for (const w of writes) {
    length = w.kind === "append" ? length + w.bytes.length : Math.min(length, w.size);
    capacity = Math.max(capacity, length);
  }
  const out = new Uint8Array(capacity);
  out.set(base);
  length = base.length;
  for (const w of writes) {
    if (w.kind === "append") {
      out.set(w.bytes, length);
      length += w.bytes.length;
    } else {
      length = Math.min(length, w.size);
    }
  }
  return out.slice(0, length);
}

type Node = { kind: "file"; inode: Inode } | { kind: "dir" };
type DirOp =
  | { kind: "link"; name: string; node: Node }
  | { kind: "unlink"; name: string }
  | { kind: "rename"; from: string; to: string; node: Node };

/** A directory: its entries as the process sees them, as the disk holds them, and the operations between. */
class Directory {
  entries = new Map<string, Node>();
  durable = new Map<string, Node>();
  pending: DirOp[] = [];

  link(name: string, node: Node): void {
    this.entries.set(name, node);
    this.pending.push({ kind: "link", name, node });
  }

  unlink(name: string): void {
    this.entries.delete(name);
    this.pending.push({ kind: "unlink", name });
  }

  /** A rename within this directory: one operation, atomic at a crash as POSIX promises. */
  rename(from: string, to: string, node: Node): void {
    this.entries.delete(from);
    this.entries.set(to, node);
    this.pending.push({ kind: "rename", from, to, node });
  }

  crash(mode: "undone" | "prefix" | "kept", random: () => number): void {
    if (mode !== "kept") {
      const kept = mode === "undone" ? 0 : Math.floor(random() * (this.pending.length + 1));
      this.entries = applyDirOps(this.durable, this.pending.slice(0, kept));
    }
    this.durable = new Map(this.entries);
    this.pending = [];
  }
}

/** A small seeded generator (mulberry32): the same seed cuts the same way. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normalize(path: string): string {
  const trimmed = path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
  return trimmed === "" ? "." : trimmed;
}

function split(path: string): { parent: string; name: string } {
  const p = normalize(path);
  const slash = p.lastIndexOf("/");
  if (slash < 0) return { parent: ".", name: p };
  return { parent: slash === 0 ? "/" : p.slice(0, slash), name: p.slice(slash + 1) };
}

class PowerLossLogFile implements LogFile {
  #closed = false;

  constructor(readonly path: string, private readonly fs: PowerLossFileSystem, private readonly inode: Inode) {}

  #check(): void {
    if (this.#closed) throw new Error(`${this.path}: file is closed`);
    this.fs.checkAlive(this.path);
  }

  append(bytes: Uint8Array): void {
    this.#check();
    this.inode.append(bytes);
  }

  readAt(buffer: Uint8Array, position: number): number {
    this.#check();
    const n = Math.max(0, Math.min(buffer.length, this.inode.length - position));
    buffer.set(this.inode.data.subarray(position, position + n));
    return n;
  }

  async syncData(): Promise<void> {
    this.#check();
    const upTo = this.inode.nextSeq;
    await this.fs.beforeSyncCompletes(this.path);
    this.fs.checkAlive(this.path);
    this.inode.markSynced(upTo);
  }

  truncate(size: number): void {
    this.#check();
    this.inode.truncate(size);
  }

  size(): number {
    this.#check();
    return this.inode.length;
  }

  close(): void {
    this.#closed = true;
  }
}

/**
 * An in-memory file system, on a new empty disk, whose `crash()` keeps only what was synced (and, by choice, a
 * seeded random part of the rest). A directory made under a parent it does not know is a durable root (it stands for a directory
 * that existed on the disk before the test); one made under a known directory is an entry of that directory,
 * durable only once the parent is synced.
 *
 * @example
 * ```ts
 * import { PowerLossFileSystem } from "./power_loss_file_system.ts";
 * const fs = new PowerLossFileSystem();
 * fs.mkdir("/data");
 * const file = fs.open("/data/x.log", { create: true });
 * file.append(new Uint8Array([1, 2, 3]));
 * await file.syncData();
 * file.append(new Uint8Array([4, 5]));   // never synced
 * await fs.syncDir("/data");             // the name is durable too
 * const after = fs.crash({ unsyncedWrites: "lost" }); // the next process's view; `fs` is dead
 * after.stat("/data/x.log")?.size;                    // 3
 * ```
 */
export class PowerLossFileSystem implements FileSystem {
  #disk: Disk = { dirs: new Map(), roots: new Set(), generation: 0 };
  #generation = 0;

  /** The file system of the next process over `disk`. */
  static #over(disk: Disk): PowerLossFileSystem {
    const fs = new PowerLossFileSystem();
    fs.#disk = disk;
    fs.#generation = disk.generation;
    return fs;
  }

  get #dirs(): Map<string, Directory> {
    return this.#disk.dirs;
  }

  get #roots(): Set<string> {
    return this.#disk.roots;
  }

  /** Throws when a crash happened since this file system was made: a dead process does nothing more. */
  checkAlive(path: string): void {
    if (this.#generation !== this.#disk.generation) throw new DeadProcessError(path);
  }

  /**
   * Awaited by each `syncData` and `syncDir` before it counts as done (a test gates or fails fsyncs here). The
   * default completes on a microtask.
   */
  beforeSyncCompletes: (path: string) => Promise<void> = () => Promise.resolve();

  #dir(path: string): Directory | undefined {
    this.checkAlive(path);
    return this.#dirs.get(normalize(path));
  }

  #lookup(path: string): Node | undefined {
    const { parent, name } = split(path);
    return this.#dir(parent)?.entries.get(name);
  }

  #fileInode(path: string): Inode | undefined {
    const node = this.#lookup(path);
    return node?.kind === "file" ? node.inode : undefined;
  }

  open(path: string, options: { create?: boolean } = {}): LogFile {
    const p = normalize(path);
    let inode = this.#fileInode(p);
    if (!inode) {
      const { parent, name } = split(p);
      const dir = this.#dir(parent);
      if (!options.create || !dir) throw new Deno.errors.NotFound(`no such file: ${p}`);
      if (dir.entries.get(name)?.kind === "dir") throw new Error(`${p} is a directory`);
      inode = new Inode();
      dir.link(name, { kind: "file", inode });
    }
    return new PowerLossLogFile(p, this, inode);
  }

  stat(path: string): FileInfo | null {
    this.checkAlive(path);
    const p = normalize(path);
    if (this.#dirs.has(p)) return { size: 0, mtimeMs: 0 };
    const inode = this.#fileInode(p);
    return inode ? { size: inode.length, mtimeMs: 0 } : null;
  }

  rename(from: string, to: string): void {
    const source = split(from);
    const target = split(to);
    const node = this.#dir(source.parent)?.entries.get(source.name);
    const targetDir = this.#dir(target.parent);
    if (!node || node.kind !== "file") throw new Deno.errors.NotFound(`no such file: ${from}`);
    if (!targetDir) throw new Deno.errors.NotFound(`no such directory: ${target.parent}`);
    if (normalize(source.parent) === normalize(target.parent)) {
      targetDir.rename(source.name, target.name, node);
    } else {
      this.#dir(source.parent)!.unlink(source.name);
      targetDir.link(target.name, node);
    }
  }

  remove(path: string): void {
    const p = normalize(path);
    const { parent, name } = split(p);
    const node = this.#dir(parent)?.entries.get(name);
    if (!node) return;
    if (node.kind === "dir") {
      if ((this.#dirs.get(p)?.entries.size ?? 0) > 0) throw new Error(`${p}: directory not empty`);
      this.#dirs.delete(p);
    }
    this.#dir(parent)!.unlink(name);
  }

  readDir(path: string): string[] {
    const dir = this.#dir(path);
    if (!dir) throw new Deno.errors.NotFound(`no such directory: ${path}`);
    return [...dir.entries.keys()];
  }

  mkdir(path: string): void {
    this.checkAlive(path);
    const p = normalize(path);
    if (this.#dirs.has(p)) return;
    const { parent, name } = split(p);
    const parentDir = parent === p ? undefined : this.#dirs.get(parent);
    this.#dirs.set(p, new Directory());
    if (parentDir) parentDir.link(name, { kind: "dir" });
    else this.#roots.add(p); // a directory the test made before the broker ran: part of the disk, durable
  }

  async syncDir(path: string): Promise<void> {
    const p = normalize(path);
    this.checkAlive(p);
    if (!this.#dirs.has(p)) throw new Deno.errors.NotFound(`no such directory: ${p}`);
    // A directory fsync covers the operations made before it is called.
    const pendingAtCall = this.#dirs.get(p)!.pending.length;
    await this.beforeSyncCompletes(p);
    this.checkAlive(p);
    const dir = this.#dirs.get(p);
    if (!dir) return;
    dir.durable = applyDirOps(dir.durable, dir.pending.slice(0, pendingAtCall));
    dir.pending.splice(0, pendingAtCall);
  }

  /**
   * Power loss: every file goes back to its synced content and every directory to its synced entries, keeping
   * what `options` says of the rest. This file system and its files fail every call from now on (the process
   * died with the power, even the fsyncs it had in flight); the returned one is the next process's view of the
   * disk.
   */
  crash(options: CrashOptions = {}): PowerLossFileSystem {
    this.checkAlive("crash");
    const random = seededRandom(options.seed ?? 1);
    const dirMode = options.unsyncedDirOps ?? "prefix";
    const writeMode = options.unsyncedWrites ?? "prefix";
    this.#disk.generation++;
    for (const path of [...this.#dirs.keys()].sort()) this.#dirs.get(path)!.crash(dirMode, random);
    // Directories whose entry in their parent did not survive are gone, with everything below them.
    const reachable = (path: string): boolean => {
      if (this.#roots.has(path)) return true;
      const { parent, name } = split(path);
      return this.#dirs.get(parent)?.entries.get(name)?.kind === "dir" && reachable(parent);
    };
    for (const path of [...this.#dirs.keys()]) if (!reachable(path)) this.#dirs.delete(path);
    // A directory whose removal the crash undid comes back, empty as it had to be to be removed.
    for (const [path, dir] of this.#dirs) {
      for (const [name, node] of dir.entries) {
        const child = path === "/" ? `/${name}` : `${path}/${name}`;
        if (node.kind === "dir" && !this.#dirs.has(child)) this.#dirs.set(child, new Directory());
      }
    }
    const inodes = new Set<Inode>();
    for (const dir of [...this.#dirs.keys()].sort().map((p) => this.#dirs.get(p)!)) {
      for (const node of dir.entries.values()) if (node.kind === "file") inodes.add(node.inode);
    }
    for (const inode of inodes) inode.crash(writeMode, random);
    return PowerLossFileSystem.#over(this.#disk);
  }

  /** The whole current content of a file (for tests to compare bytes), or null when it does not exist. */
  readFile(path: string): Uint8Array | null {
    this.checkAlive(path);
    const inode = this.#fileInode(path);
    return inode ? inode.data.slice(0, inode.length) : null;
  }
}

function applyDirOps(base: Map<string, Node>, ops: readonly DirOp[]): Map<string, Node> {
  const out = new Map(base);
  for (const op of ops) {
    if (op.kind === "link") out.set(op.name, op.node);
    else if (op.kind === "unlink") out.delete(op.name);
    else {
      out.delete(op.from);
      out.set(op.to, op.node);
    }
  }
  return out;
}
