/**
 * The real file system really syncs: a partition log on `DenoFileSystem`, run under strace, issues fdatasync on
 * its segment file when it flushes and on its directory when it creates a segment. No in-process test can see
 * this (the page cache survives a killed process), and the power-loss file system stands in for
 * `DenoFileSystem` everywhere else, so this is the one check that the real `syncData`/`syncDir` reach the disk.
 * Needs strace (Debian's `strace`); without it the test fails and says so.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** A script that opens a log in `dir`, appends a batch, flushes it and closes the log. */
function script(dir: string): string {
  const log = new URL("log/partition_log.ts", ROOT).href;
  const record = new URL("protocol/record_batch.ts", ROOT).href;
  return `
import { PartitionLog } from "${log}";
import { buildRecordBatch } from "${record}";
const log = await PartitionLog.open(${JSON.stringify(dir)});
log.append(buildRecordBatch([{ timestamp: Date.now(), key: null, value: new Uint8Array(100) }]));
await log.flush();
await log.close();
`;
}

Deno.test("a flush fdatasyncs the segment file and a new segment fdatasyncs its directory (strace)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "samsa-fsync-" });
  try {
    const dir = `${tmp}/orders-0`;
    await Deno.writeTextFile(`${tmp}/flush.ts`, script(dir));
    const trace = `${tmp}/trace.txt`;
    const out = await new Deno.Command("strace", {
      args: [
        "-f",
        "-qq",
        "-y",
        "-e",
        "trace=fdatasync,fsync",
        "-o",
        trace,
        Deno.execPath(),
        "run",
        "--allow-all",
        "--config",
        new URL("deno.json", ROOT).pathname,
        `${tmp}/flush.ts`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output().catch((e) => {
      throw new Error(`strace is needed to check the real fsyncs (apt-get install strace): ${e}`);
    });
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const syncs = (await Deno.readTextFile(trace)).split("\n").filter((l) => /f(data)?sync\(/.test(l) && /= 0/.test(l));
    const synced = (path: string) => syncs.some((l) => l.includes(`<${path}>`));
    assert.ok(synced(`${dir}/00000000000000000000.log`), `the segment file was fdatasynced:\n${syncs.join("\n")}`);
    assert.ok(synced(dir), `the partition directory was fsynced:\n${syncs.join("\n")}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
