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
