/**
 * Runs the real `kcat` (librdkafka's command-line client) against a broker, as a user would.
 *
 * @module
 */

/** What a kcat run printed. */
export interface KcatResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `kcat` with `args`, feeding `input` on stdin, killed after `timeoutMs`.
 *
 * @example
 * ```ts
 * import { kcat } from "./kcat.ts";
 * const { stdout } = await kcat(["-b", "127.0.0.1:9092", "-L"]);
 * ```
 */
export async function kcat(args: string[], input?: string | Uint8Array, timeoutMs = 60_000): Promise<KcatResult> {
  const child = new Deno.Command("kcat", {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    if (input !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(typeof input === "string" ? new TextEncoder().encode(input) : input);
      await writer.close();
    }
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a partition with kcat's group-less consumer from `offset` to its current end, one line per record in
 * kcat's `-f` `format` (e.g. `%o %k %s\n`); throws with kcat's stderr when it fails.
 *
 * @example
 * ```ts ignore
 * const lines = await consumeLines("127.0.0.1:9092", "orders", "%s\n");
 * ```
 */
export async function consumeLines(
  bootstrap: string,
  topic: string,
  format: string,
  options: { partition?: number; offset?: string; extra?: string[]; timeoutMs?: number } = {},
): Promise<string[]> {
  const args = ["-b", bootstrap, "-C", "-t", topic, "-o", options.offset ?? "beginning", "-e", "-q", "-f", format];
  if (options.partition !== undefined) args.push("-p", String(options.partition));
  const result = await kcat([...args, ...(options.extra ?? [])], undefined, options.timeoutMs ?? 60_000);
  if (result.code !== 0) throw new Error(`kcat -C ${topic} failed (${result.code}): ${result.stderr}`);
  return result.stdout.split("\n").filter((l) => l.length > 0);
}
