/**
 * The startup check of the log directory: it is created if missing and must take a small write and fsync, so
 * that a directory the broker cannot use stops it at once with one line naming the directory and the cause,
 * rather than with the runtime's own wording halfway through opening the logs.
 *
 * @module
 */
import type { FileSystem } from "../log/file_system.ts";
import { probeLogDir } from "./log_dir_monitor.ts";

/** The log directory cannot be used; the message names the directory and the cause. */
export class LogDirAccessError extends Error {
  /** Creates the error for `dir`. */
  constructor(readonly dir: string, cause: string, options?: { cause?: unknown }) {
    super(`log directory ${dir} cannot be used: ${cause}`, options);
    this.name = "LogDirAccessError";
  }
}

/**
 * Why an error of the file system keeps the broker from using a directory, in an operator's words.
 *
 * @example
 * ```ts
 * import { accessProblem } from "./log_dir_access.ts";
 * accessProblem(new Deno.errors.PermissionDenied("open")); // "permission denied by the operating system (...)"
 * ```
 */
export function accessProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    // Deno's own message asks to run again with a flag; say instead which permission is missing, and where.
    return "the process was not granted read and write access to it (Deno permissions: --allow-read and --allow-write must include this path)";
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return "permission denied by the operating system (check the owner and mode of the directory and its parents)";
  }
  if (error instanceof Deno.errors.NotADirectory) return "a part of the path is a file, not a directory";
  if (/read-only file system|EROFS/i.test(String(error))) {
    return "the file system is read-only";
  }
  if (/no space left|ENOSPC/i.test(String(error))) return "no space left on the device";
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates `dir` (and its parents) if needed and checks that a small file can be written and fsynced in it.
 * Throws LogDirAccessError when it cannot.
 *
 * @example
 * ```ts ignore
 * await prepareLogDir(new DenoFileSystem(), "/var/lib/samsa");
 * ```
 */
export async function prepareLogDir(fs: FileSystem, dir: string): Promise<void> {
  try {
    fs.mkdir(dir);
    await probeLogDir(fs, dir);
  } catch (e) {
    throw new LogDirAccessError(dir, accessProblem(e), { cause: e });
  }
}
