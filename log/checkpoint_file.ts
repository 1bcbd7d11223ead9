/**
 * Small text files replaced atomically: the recovery point, the log start offset, the leader-epoch cache and
 * the clean-shutdown marker of a partition.
 *
 * A checkpoint is written to `<name>.tmp`, optionally fdatasynced, then renamed over the old one, so a reader
 * sees the old or the new content, never a mix. Without the fsync a crash may lose the newest value; callers
 * only skip it for values where an older one is safe (the recovery point: an older one means more scanning).
 *
 * @module
 */
import type { FileSystem } from "./file_system.ts";

/**
 * Writes `text` to `path` atomically; with `sync`, makes the content durable before the rename.
 *
 * @example
 * ```ts
 * import { DenoFileSystem } from "./file_system.ts";
 * import { readCheckpoint, writeCheckpoint } from "./checkpoint_file.ts";
 * const fs = new DenoFileSystem();
 * const dir = await Deno.makeTempDir();
 * await writeCheckpoint(fs, `${dir}/recovery-point-offset-checkpoint`, "0\n42\n", true);
 * readCheckpoint(fs, `${dir}/recovery-point-offset-checkpoint`); // "0\n42\n"
 * ```
 */
export async function writeCheckpoint(fs: FileSystem, path: string, text: string, sync: boolean): Promise<void> {
  const tmp = `${path}.tmp`;
  fs.remove(tmp);
  const file = fs.open(tmp, { create: true });
  try {
    file.append(new TextEncoder().encode(text));
    if (sync) await file.syncData();
  } finally {
    file.close();
  }
  fs.rename(tmp, path);
}

/** Writes `text` to `path` atomically without waiting for the disk (for values where losing the newest is safe). */
export function writeCheckpointSync(fs: FileSystem, path: string, text: string): void {
  const tmp = `${path}.tmp`;
  fs.remove(tmp);
  const file = fs.open(tmp, { create: true });
  try {
    file.append(new TextEncoder().encode(text));
  } finally {
    file.close();
  }
  fs.rename(tmp, path);
}

/** The content of `path`, or null when it does not exist. */
export function readCheckpoint(fs: FileSystem, path: string): string | null {
  const info = fs.stat(path);
  if (!info) return null;
  const file = fs.open(path);
  try {
    const bytes = new Uint8Array(info.size);
    const n = file.readAt(bytes, 0);
    return new TextDecoder().decode(bytes.subarray(0, n));
  } finally {
    file.close();
  }
}

/** Encodes a single offset in the checkpoint text format: version 0, then the value. */
export function encodeOffsetCheckpoint(offset: number): string {
  return `0\n${offset}\n`;
}

/** Decodes a single-offset checkpoint; null when malformed. */
export function decodeOffsetCheckpoint(text: string | null): number | null {
  if (text === null) return null;
  const lines = text.split("\n");
  if (lines[0] !== "0") return null;
  const value = Number(lines[1]);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}
