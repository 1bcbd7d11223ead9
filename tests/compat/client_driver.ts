/**
 * Runs a real-client driver program (Java, Python, ...) against a broker and returns its checks: each driver
 * prints one JSON line per check, `{"check": "...", "ok": true|false, "detail": ...}`.
 *
 * @module
 */

/** One check a driver reported. */
export interface DriverCheck {
  check: string;
  ok: boolean;
  detail?: unknown;
}

/** What a driver run produced. */
export interface DriverRun {
  code: number;
  checks: DriverCheck[];
  stderr: string;
}

/**
 * Runs `command args...` (with `env` added to the environment), killed after `timeoutMs`, and parses its JSON
 * check lines.
 *
 * @example
 * ```ts ignore
 * const run = await runDriver("python3", ["tests/compat/python/driver.py", bootstrap, "admin"]);
 * ```
 */
export async function runDriver(
  command: string,
  args: string[],
  timeoutMs = 180_000,
  env: Record<string, string> = {},
): Promise<DriverRun> {
  const child = new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped", stdin: "null" }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const out = await child.output();
    const checks: DriverCheck[] = [];
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        checks.push(JSON.parse(line));
      } catch {
        // not a check line
      }
    }
    return { code: out.code, checks, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** A readable summary of failed checks for an assertion message. */
export function failedChecks(run: DriverRun): string {
  const failed = run.checks.filter((c) => !c.ok).map((c) => `${c.check}: ${JSON.stringify(c.detail)}`);
  return `exit ${run.code}; failed: ${failed.join("; ") || "none"}\n${run.stderr.slice(-2000)}`;
}
