/**
 * The scratch copy mutations are applied to: the repository's files (tracked and untracked, not ignored, as
 * `git ls-files` lists them, so uncommitted work is included) copied into a temporary directory. The working
 * tree itself is never edited.
 *
 * @module
 */
import { applyEdits, type Mutation } from "./mutation.ts";

/** A copy of the repository in a temporary directory. */
export class ScratchCopy {
  private constructor(readonly dir: string) {}

  /** Copies the repository at `repoRoot` into a fresh temporary directory. */
  static async create(repoRoot: string): Promise<ScratchCopy> {
    const listed = await new Deno.Command("git", {
      args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      cwd: repoRoot,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!listed.success) throw new Error(`git ls-files failed: ${new TextDecoder().decode(listed.stderr)}`);
    const files = new TextDecoder().decode(listed.stdout).split("\0").filter((f) => f !== "");
    const dir = await Deno.makeTempDir({ prefix: "samsa-mutate-" });
    const made = new Set<string>();
    for (const file of files) {
      const parent = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
      if (parent !== "" && !made.has(parent)) {
        await Deno.mkdir(`${dir}/${parent}`, { recursive: true });
        made.add(parent);
      }
      try {
        await Deno.copyFile(`${repoRoot}/${file}`, `${dir}/${file}`);
      } catch (e) {
        // A file deleted in the working tree but not yet in the index: it is not part of the tree under test.
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    return new ScratchCopy(dir);
  }

  /** Whether `path` (relative to the copy's root) exists. */
  exists(path: string): boolean {
    try {
      Deno.statSync(`${this.dir}/${path}`);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Applies `mutation` to the copy and returns a function that restores the file. Throws
   * `MutationDrift` (leaving the file as it was) when a snippet is not found exactly once.
   */
  async apply(mutation: Mutation): Promise<() => Promise<void>> {
    const path = `${this.dir}/${mutation.file}`;
    const original = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, applyEdits(original, mutation.edits, mutation.file));
    return () => Deno.writeTextFile(path, original);
  }

  /** Removes the copy. */
  async remove(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}
