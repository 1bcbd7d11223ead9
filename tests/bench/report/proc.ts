/**
 * Processes for the report: run a client under GNU time (CPU seconds, peak RSS), watch a broker through /proc
 * (CPU seconds between two points, peak RSS sampled while a workload runs), and wait for a port.
 *
 * @module
 */

/** What a finished client process cost. */
export interface Usage {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKiB: number;
}

/** A finished client process. */
export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
  usage: Usage;
}

const decoder = new TextDecoder();

/** Whether a program is on PATH. */
export async function have(program: string): Promise<boolean> {
  const out = await new Deno.Command("bash", { args: ["-c", `command -v ${program}`], stdout: "null", stderr: "null" })
    .output();
  return out.success;
}

/**
 * Runs `cmd` under `/usr/bin/time` (its children included) and `timeout`, so a stuck client ends by itself.
 *
 * @example
 * ```ts
 * const r = await runTimed(["true"], { timeoutS: 5 });
 * r.usage.wallS;
 * ```
 */
export async function runTimed(
  cmd: string[],
  options: { timeoutS: number; env?: Record<string, string>; cwd?: string },
): Promise<CmdResult> {
  const timeFile = await Deno.makeTempFile({ prefix: "samsa-report-time-" });
  try {
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%e %U %S %M", "-o", timeFile, "timeout", "-k", "5", String(options.timeoutS), ...cmd],
      env: options.env,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const fields = (await Deno.readTextFile(timeFile)).trim().split("\n").pop()!.split(" ").map(Number);
    const [wallS, userS, sysS, maxRssKiB] = fields.length === 4 ? fields : [NaN, NaN, NaN, NaN];
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      usage: { wallS, userS, sysS, maxRssKiB },
    };
  } finally {
    await Deno.remove(timeFile).catch(() => {});
  }
}

/** CPU seconds (user + system) a process has used so far; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100; // CLK_TCK is 100 on Linux x86-64
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in KiB (`VmRSS`), or its lifetime peak (`VmHWM`). */
export function rssKiB(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** The first child of a process (the real broker under a `timeout` wrapper). */
export function firstChild(pid: number): number | undefined {
  try {
    const children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/);
    return children[0] ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** Watches a broker (or every broker of a cluster) while a workload runs: CPU seconds and peak RSS, summed. */
export class BrokerWatch {
  #pids: number[];
  #cpuStart: number;
  #peakKiB = 0;
  #timer: ReturnType<typeof setInterval>;

  constructor(pids: number | number[], sampleMs = 200) {
    this.#pids = typeof pids === "number" ? [pids] : pids;
    this.#cpuStart = this.#cpu();
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), sampleMs);
  }

  #cpu(): number {
    return this.#pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  }

  #sample(): void {
    const rss = this.#pids.reduce((sum, pid) => sum + rssKiB(pid), 0);
    if (rss > this.#peakKiB) this.#peakKiB = rss;
  }

  /** Stops sampling; returns the CPU seconds and peak RSS (summed over the processes) since the watch began. */
  stop(): { cpuS: number; peakRssKiB: number } {
    clearInterval(this.#timer);
    this.#sample();
    return { cpuS: this.#cpu() - this.#cpuStart, peakRssKiB: this.#peakKiB };
  }
}

/** Resolves once 127.0.0.1:port accepts a connection; throws after `timeoutMs` or when `gone()` says so. */
export async function waitForPort(port: number, timeoutMs: number, gone: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone()) throw new Error(`process exited before it listened on ${port}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listened on ${port} within ${timeoutMs} ms`);
}

/** A free TCP port on 127.0.0.1 now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** `/proc/loadavg`'s three load averages, e.g. "1.38 1.95 2.21". */
export function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
