/**
 * A Samsa broker process for the long compatibility runs (franz-go, the client matrix): on a free 127.0.0.1 port,
 * with a temporary data directory, its log written to a file, and a lifetime after which it stops itself even if
 * the runner that started it was killed (the broker runs under coreutils `timeout`).
 *
 * @module
 */

import { freePort } from "../../integration/broker_process.ts";

const MAIN = new URL("../../../main.ts", import.meta.url).pathname;

/** A running broker started by `startSamsa`. */
export interface SamsaBroker {
  /** `127.0.0.1:PORT`. */
  bootstrap: string;
  dataDir: string;
  /** The file that receives the broker's stderr (its structured log). */
  logFile: string;
  /** SIGTERM, wait for the exit, remove the data directory; resolves with the exit code. */
  stop(): Promise<number>;
}

/** Options of `startSamsa`. */
export interface SamsaOptions {
  /** Where the broker's log goes; a file in the data directory's parent otherwise. */
  logFile?: string;
  /** The broker stops itself (SIGTERM, then SIGKILL 10 s later) after this many seconds; default 3600. */
  lifetimeS?: number;
  /** Extra broker settings, Kafka property names. */
  settings?: Record<string, string | number | boolean>;
  /** How long to wait for the port to accept connections; default 30 s. */
  startTimeoutMs?: number;
  /**
   * On SIGINT or SIGTERM to the runner, stop the broker and exit 130 (default true). A runner with children of its
   * own to stop first says false and calls `stop` itself.
   */
  exitOnSignal?: boolean;
}

/**
 * Starts `main.ts start` under `timeout`.
 *
 * @example
 * ```ts ignore
 * const broker = await startSamsa({ lifetimeS: 1200 });
 * try {
 *   // ... run a client against broker.bootstrap ...
 * } finally {
 *   await broker.stop();
 * }
 * ```
 */
export async function startSamsa(options: SamsaOptions = {}): Promise<SamsaBroker> {
  const dataDir = await Deno.makeTempDir({ prefix: "samsa-compat-" });
  const logFile = options.logFile ?? `${dataDir}.log`;
  const port = freePort();
  const settings: Record<string, string | number | boolean> = {
    "listeners": `PLAINTEXT://127.0.0.1:${port}`,
    "log.dirs": dataDir,
    ...options.settings,
  };
  const args = [
    "-s",
    "TERM",
    "-k",
    "10",
    String(options.lifetimeS ?? 3600),
    Deno.execPath(),
    "run",
    "-A",
    MAIN,
    "start",
  ];
  for (const [k, v] of Object.entries(settings)) args.push("--set", `${k}=${v}`);
  const log = await Deno.open(logFile, { write: true, create: true, truncate: true });
  const child = new Deno.Command("timeout", { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
  const drained = child.stderr.pipeTo(log.writable).catch(() => {});
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (exited || Date.now() > deadline) {
        if (!exited) child.kill("SIGKILL");
        await status;
        await drained;
        const tail = (await Deno.readTextFile(logFile)).slice(-3000);
        throw new Error(`Samsa did not listen on ${port}; its log (${logFile}):\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Ctrl-C or a SIGTERM to the runner stops the broker too, rather than leaving it to its lifetime.
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = () => {
    if (!exited) child.kill("SIGTERM");
    status.then(() => Deno.remove(dataDir, { recursive: true }).catch(() => {})).finally(() => Deno.exit(130));
  };
  const listen = options.exitOnSignal ?? true;
  if (listen) { for (const s of signals) Deno.addSignalListener(s, onSignal); }
  return {
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    logFile,
    async stop() {
      if (listen) { for (const s of signals) Deno.removeSignalListener(s, onSignal); }
      // `timeout` passes SIGTERM on to the broker, which shuts down cleanly.
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await drained;
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      return s.code;
    },
  };
}
