/**
 * Faults a broker must survive: a full file system answers KAFKA_STORAGE_ERROR while reads keep working, and
 * malformed or oversized frames on one connection leave every other connection served.
 */
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startBroker } from "./broker_process.ts";
import { kcat } from "../compat/kcat/kcat.ts";

async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  const out = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir] }).output();
  return out.success;
}

async function unmount(dir: string) {
  await new Deno.Command("umount", { args: ["-l", dir] }).output();
}

Deno.test("a full file system gets KAFKA_STORAGE_ERROR and the broker keeps serving reads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-tmpfs-" });
  assert.ok(await mountTmpfs(dir, "8m"), "mounting a small tmpfs needs root (CI runs as root)");
  const broker = await startBroker({ dataDir: dir });
  try {
    const early = Array.from({ length: 100 }, (_, i) => `early-${i}`);
    const first = await kcat(["-b", broker.bootstrap, "-P", "-t", "full", "-X", "acks=all"], early.join("\n") + "\n");
    assert.equal(first.code, 0, first.stderr);
    // Incompressible values until the 8 MiB file system is full; the client does not retry, to see the error.
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    const value = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(48 * 1024))));
    let failure: unknown;
    for (let i = 0; i < 400 && failure === undefined; i++) {
      try {
        await producer.send({ topic: "full", acks: -1, messages: [{ value }] });
      } catch (e) {
        failure = e;
      }
    }
    await producer.disconnect();
    const described = JSON.stringify(failure, Object.getOwnPropertyNames(failure ?? {})) + String(failure);
    assert.match(described, /KAFKA_STORAGE_ERROR|Disk error/i, "producers learn the disk failed");
    const read = await kcat(["-b", broker.bootstrap, "-C", "-t", "full", "-o", "beginning", "-c", "100", "-e", "-q"]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(read.stdout.trim().split("\n"), early);
    const metadata = await kcat(["-b", broker.bootstrap, "-L"]);
    assert.equal(metadata.code, 0, "the broker still answers");
  } finally {
    await broker.kill();
    await unmount(dir);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed and oversized frames close only their own connection", async () => {
  const broker = await startBroker();
  try {
    const frames = [
      new Uint8Array([0x7f, 0xff, 0xff, 0xff]), // a 2 GiB size prefix
      new Uint8Array([0xff, 0xff, 0xff, 0xf0]), // a negative size
      new Uint8Array([0, 0, 0, 6, 0, 3, 0, 9, 0, 0]), // Metadata v9 cut short inside its header
      new Uint8Array([0, 0, 0, 8, 0x7f, 0x00, 0, 0, 0, 0, 0, 1]), // an unknown API key
    ];
    for (const frame of frames) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: broker.port });
      await conn.write(frame);
      const buf = new Uint8Array(16);
      const n = await Promise.race([
        conn.read(buf).catch(() => null),
        new Promise<"open">((r) => setTimeout(() => r("open"), 5000)),
      ]);
      assert.equal(n, null, "the broker closed the bad connection");
      conn.close();
      const listed = await kcat(["-b", broker.bootstrap, "-L"]);
      assert.equal(listed.code, 0, "other clients are still served");
    }
  } finally {
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
