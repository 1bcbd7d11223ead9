/**
 * The log-directory monitor: the probe schedule (pure backoff), the probe itself (write, fsync, remove), and the
 * shell that reopens what is offline once a probe succeeds, logging each transition once. The startup check of
 * a directory the broker cannot use gives one clear message naming it.
 */
import assert from "node:assert/strict";
import { accessProblem, LogDirAccessError, prepareLogDir } from "../../../broker/log_dir_access.ts";
import { LogDirMonitor, PROBE_FILE, probeLogDir, ProbeSchedule } from "../../../broker/log_dir_monitor.ts";
import { createLogger } from "../../../broker/logger.ts";
import { DenoFileSystem } from "../../../log/file_system.ts";
import { FaultyFileSystem } from "../../../log/faulty_file_system.ts";

Deno.test("probes of an offline log dir back off from the initial delay, doubling up to the maximum", () => {
  const schedule = new ProbeSchedule({ initialMs: 100, maxMs: 1000 });
  assert.equal(schedule.offline, false);
  assert.equal(schedule.wentOffline(5_000), 5_100);
  assert.equal(schedule.wentOffline(5_050), 5_100, "a second failure while offline changes nothing");
  assert.deepEqual(
    [5_100, 5_300, 5_700, 6_500, 7_500].map((now) => schedule.probeFailed(now) - now),
    [200, 400, 800, 1000, 1000],
  );
  assert.equal(schedule.offline, true);
  schedule.cameOnline();
  assert.equal(schedule.offline, false);
  assert.equal(schedule.nextProbeAtMs, null);
  assert.equal(schedule.wentOffline(9_000), 9_100, "a new failure starts again from the initial delay");
});

Deno.test("a probe writes, fsyncs and removes its file, and fails while the disk is full", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-probe-" });
  try {
    const fs = new FaultyFileSystem(new DenoFileSystem());
    await probeLogDir(fs, dir);
    assert.equal(fs.count("sync"), 1);
    assert.equal(fs.stat(`${dir}/${PROBE_FILE}`), null, "the probe file is removed");
    fs.failOn({ op: "append", code: "ENOSPC", sticky: true });
    await assert.rejects(probeLogDir(fs, dir), /ENOSPC/);
    assert.equal(fs.stat(`${dir}/${PROBE_FILE}`), null, "a failed probe removes its file too");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Waits until `condition()` holds, checking every 5 ms, for at most 5 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("the monitor reopens once a probe succeeds, retries a failed reopen, and logs each transition", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-monitor-" });
  const fs = new FaultyFileSystem(new DenoFileSystem());
  const lines: string[] = [];
  let reopens = 0;
  let failReopen = true;
  const monitor = new LogDirMonitor({
    dir,
    fs,
    logger: createLogger({ level: "info", sink: (l) => lines.push(l) }),
    backoff: { initialMs: 5, maxMs: 20 },
    now: Date.now,
    reopen: () => {
      reopens++;
      if (failReopen) return Promise.reject(new Error("recovery failed"));
      return Promise.resolve({ reopened: ["orders-0"] });
    },
  });
  try {
    fs.failOn({ op: "append", code: "ENOSPC", sticky: true });
    monitor.reportFailure("orders-0", "No space left on device");
    monitor.reportFailure("orders-1", "No space left on device");
    assert.equal(monitor.offline, true);
    assert.equal(lines.filter((l) => l.includes('msg="log dir offline"')).length, 1, "one line per transition");
    assert.match(lines[0], /level=error .*failed=orders-0/);
    await until(() => lines.some((l) => l.includes("still offline")));
    assert.equal(reopens, 0, "nothing is reopened while the probe fails");

    fs.heal();
    await until(() => reopens >= 1);
    assert.equal(monitor.offline, true, "a failed reopen keeps the directory offline");
    failReopen = false;
    await until(() => !monitor.offline);
    assert.ok(lines.some((l) => /level=info msg="log dir online" .*partitions=orders-0/.test(l)));
  } finally {
    await monitor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a log dir the broker cannot use is refused with its path and the cause", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-access-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "not a directory");
    const err = await prepareLogDir(new DenoFileSystem(), `${dir}/file/data`).then(() => undefined, (e) => e);
    assert.ok(err instanceof LogDirAccessError);
    assert.match(err.message, new RegExp(`^log directory ${dir}/file/data cannot be used: `));
    assert.match(accessProblem(new Deno.errors.NotCapable("Requires write access")), /not granted .*--allow-write/);
    assert.doesNotMatch(accessProblem(new Deno.errors.NotCapable("x")), /run again/);
    assert.match(accessProblem(new Deno.errors.PermissionDenied("open")), /permission denied/);
    await prepareLogDir(new DenoFileSystem(), `${dir}/fresh/data`);
    assert.ok((await Deno.stat(`${dir}/fresh/data`)).isDirectory, "a missing directory is created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
