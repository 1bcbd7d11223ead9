/**
 * Starts a real Samsa broker process for the integration and real-client tests: on a free 127.0.0.1 port,
 * with its own data directory, stopped cleanly (SIGTERM) or killed (SIGKILL) by the test.
 *
 * A new broker binds port 0 and the test reads the bound port from its "listening" log line. Picking a free port
 * here and passing it on raced: between `freePort()` closing its probe and the broker binding, another test's
 * broker or client (the suite runs in parallel) could take the port; the broker then failed to bind and exited
 * while `waitForPort` connected to the other test's broker, which closed the connection when its test ended.
 *
 * @module
 */

import { fixedPorts } from "../harness/test_ports.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A running broker process. */
export interface BrokerProcess {
  /** `127.0.0.1:PORT`. */
  bootstrap: string;
  port: number;
  /** The broker's process id (for /proc/PID/status: its memory). */
  pid: number;
  dataDir: string;
  /** Everything the broker wrote to stderr so far. */
  logs(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait (a crash). */
  kill(): Promise<void>;
  /** Sends `signal` without waiting (SIGSTOP / SIGCONT to freeze and thaw the process). */
  signal(signal: Deno.Signal): void;
}

/** Options for `startBroker`. */
export interface StartOptions {
  /** Reuse a data directory (a restart); a new temp dir otherwise. */
  dataDir?: string;
  /** Reuse a port (a restart); a free one otherwise. */
  port?: number;
  /** Extra `key=value` settings. */
  settings?: Record<string, string | number | boolean>;
  /** How long to wait for the port to accept, default 20 s. */
  startTimeoutMs?: number;
  /** Run the broker under this `ulimit -n` (RLIMIT_NOFILE, soft and hard), through bash. */
  openFilesLimit?: number;
  /** `--v8-flags=` for the broker's Deno (a benchmark trying V8 settings). */
  v8Flags?: string;
}

/**
 * Finds a port that is free on 127.0.0.1 now, outside the kernel's ephemeral range (`fixedPorts`): the port-0
 * binds and outgoing connections of the tests running in parallel cannot take it before it is bound, as they
 * could take a port probed with a port-0 listener. Still prefer letting the process bind port 0, as `startBroker`
 * does, where the process allows it.
 */
export function freePort(): number {
  return fixedPorts(1)[0];
}

/** The port of the first "listening" line in a broker's log (logfmt or JSON), or null before it is logged. */
export function listeningPort(log: string): number | null {
  const match = /msg=listening\b[^\n]*?\baddress="?[^\s"]*:(\d+)/.exec(log) ??
    /"msg":"listening"[^\n]*?"address":"[^"]*:(\d+)"/.exec(log);
  return match ? Number(match[1]) : null;
}

/** Whether a broker's log (logfmt or JSON) has a "listening" line for `port`: this broker bound it, not another. */
export function listensOn(log: string, port: number): boolean {
  const logfmt = new RegExp(`msg=listening\\b[^\\n]*?\\baddress="?[^\\s"]*:${port}\\b`);
  const json = new RegExp(`"msg":"listening"[^\\n]*?"address":"[^"]*:${port}"`);
  return logfmt.test(log) || json.test(log);
}

async function waitForPort(
  port: () => number | null,
  timeoutMs: number,
  exited: () => boolean,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error("broker exited before it listened");
    const p = port();
    if (p === null) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: p });
      conn.close();
      return p;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`broker did not listen on ${port() ?? "a logged port"} within ${timeoutMs} ms`);
}

/**
 * Starts `main.ts start` as a child process.
 *
 * @example
 * ```ts
 * import { startBroker } from "./broker_process.ts";
 * const broker = await startBroker();
 * // ... kcat -b broker.bootstrap ...
 * await broker.stop();
 * ```
 */
export async function startBroker(options: StartOptions = {}): Promise<BrokerProcess> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "samsa-test-" });
  // Port 0 unless restarting on a known port: the broker binds a free port itself (see the module comment).
  // A log level above info hides the "listening" line: such a broker gets a port picked here (racy, see above).
  const logsListening = !["warn", "error"].includes(String(options.settings?.["log.level"] ?? "info"));
  const requestedPort = options.port ?? (logsListening ? 0 : freePort());
  const settings: Record<string, string | number | boolean> = {
    "listeners": `PLAINTEXT://127.0.0.1:${requestedPort}`,
    "log.dirs": dataDir,
    ...options.settings,
  };
  const args = ["run", "--allow-all", ...(options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : []), MAIN, "start"];
  for (const [k, v] of Object.entries(settings)) args.push("--set", `${k}=${v}`);
  // V8 prints its traces (--trace-gc) on stdout: keep them in the log when V8 flags are given.
  const stdout = options.v8Flags ? "piped" : "null";
  const command = options.openFilesLimit === undefined
    ? new Deno.Command(Deno.execPath(), { args, stdout, stderr: "piped", stdin: "null" })
    : new Deno.Command("bash", {
      args: ["-c", `ulimit -n ${options.openFilesLimit} && exec "$0" "$@"`, Deno.execPath(), ...args],
      stdout: "null",
      stderr: "piped",
      stdin: "null",
    });
  const child = command.spawn();
  let stderr = "";
  let exited = false;
  const decoder = new TextDecoder();
  const drained = Promise.all([
    (async () => {
      for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
    })(),
    (async () => {
      if (stdout !== "piped") return;
      const traces = new TextDecoder();
      for await (const chunk of child.stdout) stderr += traces.decode(chunk, { stream: true });
    })(),
  ]);
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  let port: number;
  try {
    // On a given port, wait for this broker's own "listening" line too: a connection alone may reach another
    // process that holds the port while this broker fails to bind it.
    const logged = () =>
      requestedPort === 0
        ? listeningPort(stderr)
        : !logsListening || listensOn(stderr, requestedPort)
        ? requestedPort
        : null;
    port = await waitForPort(logged, options.startTimeoutMs ?? 20_000, () => exited);
  } catch (e) {
    if (!exited) child.kill("SIGKILL");
    await status;
    await drained;
    throw new Error(`${(e as Error).message}\n--- broker log ---\n${stderr}`);
  }
  return {
    bootstrap: `127.0.0.1:${port}`,
    port,
    pid: child.pid,
    dataDir,
    logs: () => stderr,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await drained;
      return s.code;
    },
    async kill() {
      if (!exited) child.kill("SIGKILL");
      await status;
      await drained;
    },
    signal(signal) {
      if (!exited) child.kill(signal);
    },
  };
}
