/**
 * The machine's limits, measured in the same run as the brokers so every figure can be read as a ratio:
 * sequential write + fdatasync (fio, 1 MiB and 64 KiB), fdatasync latency of a small append (fio, 4 KiB), and
 * loopback TCP (iperf3).
 *
 * @module
 */

import { freePort, have, runTimed, sleep } from "./proc.ts";

/** The limits; a missing figure is `undefined` and the reason is in `notes`. */
export interface Limits {
  write1MiBMBps?: number;
  write64KiBMBps?: number;
  smallAppendSyncsPerS?: number;
  smallAppendP50Us?: number;
  smallAppendP99Us?: number;
  loopbackMBps?: number;
  notes: string[];
}

interface FioJob {
  write: { bw_bytes: number; total_ios: number; runtime: number };
  sync?: { total_ios?: number; lat_ns?: { percentile?: Record<string, number> } };
}

async function fio(dir: string, name: string, bs: string, size: string, runtimeS: number): Promise<FioJob> {
  const r = await runTimed([
    "fio",
    `--name=${name}`,
    `--directory=${dir}`,
    "--rw=write",
    `--bs=${bs}`,
    `--size=${size}`,
    "--fdatasync=1",
    "--ioengine=psync",
    `--runtime=${runtimeS}`,
    "--output-format=json",
  ], { timeoutS: runtimeS + 60 });
  if (r.code !== 0) throw new Error(`fio ${name} failed: ${r.stderr.slice(-500)}`);
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
  await Deno.remove(`${dir}/${name}.0.0`).catch(() => {});
  return json.jobs[0] as FioJob;
}

/** fsync tests first (the disk slows down after bulk writes), then loopback TCP. */
export async function measureLimits(dir: string, mode: "full" | "quick" | "smoke"): Promise<Limits> {
  const limits: Limits = { notes: [] };
  const quick = mode !== "full";
  const smoke = mode === "smoke";
  if (await have("fio")) {
    const small = await fio(dir, "append4k", "4k", smoke ? "4m" : quick ? "16m" : "64m", smoke ? 1 : quick ? 2 : 5);
    const pct = small.sync?.lat_ns?.percentile ?? {};
    limits.smallAppendP50Us = pct["50.000000"] !== undefined ? pct["50.000000"] / 1000 : undefined;
    limits.smallAppendP99Us = pct["99.000000"] !== undefined ? pct["99.000000"] / 1000 : undefined;
    limits.smallAppendSyncsPerS = small.write.total_ios / (small.write.runtime / 1000);
    limits.write64KiBMBps =
      (await fio(dir, "seq64k", "64k", smoke ? "16m" : quick ? "64m" : "512m", smoke ? 1 : quick ? 2 : 8)).write
        .bw_bytes / 1e6;
    limits.write1MiBMBps =
      (await fio(dir, "seq1m", "1m", smoke ? "32m" : quick ? "128m" : "1g", smoke ? 1 : quick ? 2 : 8)).write.bw_bytes /
      1e6;
  } else {
    limits.notes.push("fio is not installed (apt-get install fio): no disk limits");
  }
  if (await have("iperf3")) {
    const port = freePort();
    const server = new Deno.Command("timeout", {
      args: ["60", "iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", String(port)],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await sleep(300);
    const r = await runTimed([
      "iperf3",
      "-c",
      "127.0.0.1",
      "-p",
      String(port),
      "-t",
      smoke ? "1" : quick ? "2" : "5",
      "-J",
    ], {
      timeoutS: 30,
    });
    await server.status;
    if (r.code === 0) limits.loopbackMBps = JSON.parse(r.stdout).end.sum_received.bits_per_second / 8 / 1e6;
    else limits.notes.push(`iperf3 failed: ${r.stdout.slice(-300)}`);
  } else {
    limits.notes.push("iperf3 is not installed (apt-get install iperf3): no loopback limit");
  }
  return limits;
}
