/**
 * What a mutation is (exact source edits of one file, and the test files that must catch it) and how it is
 * applied: pure string work, no files. An edit whose snippet is not found exactly once fails loudly, so the list
 * of mutations stays honest as the code it mutates changes.
 *
 * @module
 */

/** One exact search/replace in a source file. */
export interface SourceEdit {
  /** The snippet to find; it must occur exactly once in the file (after the edits before it). */
  find: string;
  /** What it becomes. */
  replace: string;
}

/** A deliberate break of one critical behaviour, and the tests that must notice it. */
export interface Mutation {
  /** Short id, for `--only` and `--full`. */
  id: string;
  /** The behaviour that breaks, in words. */
  title: string;
  /** The file edited, relative to the repository root. */
  file: string;
  /** The edits, applied in order. */
  edits: SourceEdit[];
  /** Test files (relative to the repository root) that must fail with the mutation in place. */
  tests: string[];
}

/** A snippet of a mutation was not found exactly once: the code moved and the mutation list must follow it. */
export class MutationDrift extends Error {
  /**
   * @param file the file searched
   * @param find the snippet
   * @param occurrences how often it occurs (0, or more than 1)
   */
  constructor(readonly file: string, readonly find: string, readonly occurrences: number) {
    super(
      `${file}: the snippet ${JSON.stringify(firstLine(find))} occurs ${occurrences} times (expected once); ` +
        "update tests/mutate/mutations.ts to the current code",
    );
    this.name = "MutationDrift";
  }
}

function firstLine(s: string): string {
  const line = s.trim().split("\n")[0];
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

/** How often `snippet` occurs in `text` (non-overlapping). */
export function occurrences(text: string, snippet: string): number {
  if (snippet.length === 0) return 0;
  let n = 0;
  for (let at = text.indexOf(snippet); at !== -1; at = text.indexOf(snippet, at + snippet.length)) n++;
  return n;
}

/**
 * Applies `edits` to `source` in order; throws {@linkcode MutationDrift} when a snippet is not found exactly once.
 *
 * @example
 * ```ts
 * import { applyEdits } from "./mutation.ts";
 * applyEdits("a();\nb();\n", [{ find: "b();", replace: "" }], "x.ts"); // "a();\n\n"
 * ```
 */
export function applyEdits(source: string, edits: readonly SourceEdit[], file: string): string {
  let text = source;
  for (const edit of edits) {
    const n = occurrences(text, edit.find);
    if (n !== 1) throw new MutationDrift(file, edit.find, n);
    const at = text.indexOf(edit.find);
    text = text.slice(0, at) + edit.replace + text.slice(at + edit.find.length);
  }
  return text;
}
