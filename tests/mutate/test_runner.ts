/**
 * Runs `deno test` on some files of a scratch copy, within a time limit, and reports which tests failed (from
 * its JUnit report). The run gets its own process group, so a timeout also stops the brokers and clients the
 * tests started.
 *
 * @module
 */
import { readJunit } from "./junit.ts";
import type { TestRun } from "./verdict.ts";

/** How to run. */
export interface RunOptions {
  /** The scratch copy's root. */
  dir: string;
  /** Test files or folders, relative to `dir`. */
  files: string[];
  /** Test files of the mutation that do not exist (reported, not run). */
  missing?: string[];
  /** Kill the run after this long. */
  timeoutMs: number;
  /** Run test files in parallel (`--parallel`), as the default suite does. */
  parallel?: boolean;
  /** Receives the run's output lines as they come, for a verbose run. */
  onOutput?: (line: string) => void;
}

async function drain(stream: ReadableStream<Uint8Array>, keep: string[], onLine?: (line: string) => void) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      // Only type errors are needed from the output; keep them, hand every line to a verbose caller.
      if (/\bTS\d{4}\b/.test(line)) keep.push(line.trim()); // NO_COLOR: no escapes
      onLine?.(line);
    }
  }
}

/** Runs the tests and waits for them (or for the time limit). */
export async function runTests(options: RunOptions): Promise<TestRun> {
  const junitPath = await Deno.makeTempFile({ prefix: "samsa-mutate-", suffix: ".xml" });
  const args = [
    "deno",
    "test",
    "--allow-all",
    ...(options.parallel ? ["--parallel"] : []),
    `--junit-path=${junitPath}`,
    ...options.files,
  ];
  const started = performance.now();
  // setsid: the run leads a new process group, which the timeout (and the cleanup after it) kills whole.
  const child = new Deno.Command("setsid", {
    args,
    cwd: options.dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, options.timeoutMs);
  const typeErrors: string[] = [];
  try {
    const [status] = await Promise.all([
      child.status,
      drain(child.stdout, typeErrors, options.onOutput),
      drain(child.stderr, typeErrors, options.onOutput),
    ]);
    const durationMs = performance.now() - started;
    let xml = "";
    try {
      xml = await Deno.readTextFile(junitPath);
    } catch {
      // No report: the run was killed, or never got to run a test.
    }
    const { cases, failed } = readJunit(xml);
    return {
      files: options.files,
      missing: options.missing ?? [],
      exitCode: timedOut ? null : status.code,
      cases,
      failed,
      timedOut,
      typeErrors,
      durationMs,
    };
  } finally {
    clearTimeout(timer);
    killGroup(child.pid); // whatever the tests left running
    await Deno.remove(junitPath).catch(() => {});
  }
}

function killGroup(pid: number): void {
  try {
    Deno.kill(-pid, "SIGKILL");
  } catch {
    // The group is gone already.
  }
}
