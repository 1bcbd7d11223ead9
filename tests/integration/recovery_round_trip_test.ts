/**
 * Recovery round trips with a real broker process and a real client (kcat): the broker is killed (SIGKILL), the
 * active segment's tail is damaged (a torn last batch, garbage appended, a zero-filled tail), and the restarted
 * broker cuts exactly the damage, takes new records after it, and after another kill and a clean stop serves
 * every acknowledged record — with the segment files unchanged byte for byte by the restarts that had nothing
 * to cut. A recovery that left the damage in place would put the new records after it, where the next
 * recovery cuts them.
 */
import assert from "node:assert/strict";
import { iterateBatches } from "../../protocol/record_batch.ts";
import { type BrokerProcess, startBroker } from "./broker_process.ts";
import { consumeLines, kcat } from "../compat/kcat/kcat.ts";

type Damage = "a torn last batch" | "appended garbage" | "a zero-filled tail";

/** Produces `values` with acks=all, one record per batch; fails the test unless kcat reports every delivery. */
async function produce(broker: BrokerProcess, topic: string, values: string[]): Promise<void> {
  const result = await kcat(
    ["-b", broker.bootstrap, "-P", "-t", topic, "-X", "linger.ms=0", "-X", "batch.num.messages=1", "-X", "acks=all"],
    values.join("\n") + "\n",
  );
  assert.equal(result.code, 0, result.stderr);
}

/** Every record of partition 0 as `offset value`, read with kcat. */
function readAll(broker: BrokerProcess, topic: string): Promise<string[]> {
  return consumeLines(broker.bootstrap, topic, "%o %s\n", { partition: 0 });
}

/** The partition's segment files, by name, with their bytes. */
async function segmentFiles(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".log")) files.set(entry.name, await Deno.readFile(`${dir}/${entry.name}`));
  }
  return files;
}

/** The bytes a damage appends to a segment whose last batch is `lastBatch`. */
function damageBytes(damage: Damage, lastBatch: Uint8Array): Uint8Array {
  switch (damage) {
    case "a torn last batch":
      return lastBatch.slice(0, Math.floor(lastBatch.length / 2));
    case "appended garbage":
      return Uint8Array.from({ length: 500 }, (_, i) => (i * 97 + 13) & 0xff);
    case "a zero-filled tail":
      return new Uint8Array(8192);
  }
}

for (const damage of ["a torn last batch", "appended garbage", "a zero-filled tail"] as const) {
  Deno.test(`kill -9, ${damage} in the active segment: cut, appended after, killed again, all served`, async () => {
    const topic = "roundtrip";
    const dir = (broker: BrokerProcess) => `${broker.dataDir}/${topic}-0`;
    const first = Array.from({ length: 20 }, (_, i) => `before-${i}`);
    const second = Array.from({ length: 10 }, (_, i) => `after-${i}`);
    const expected = [...first, ...second].map((value, offset) => `${offset} ${value}`);

    let broker = await startBroker({ settings: { "log.segment.bytes": 1200 } });
    const dataDir = broker.dataDir;
    try {
      await produce(broker, topic, first);
      await broker.kill();

      // Damage the active (last) segment's tail.
      const before = await segmentFiles(dir(broker));
      const active = [...before.keys()].sort().at(-1)!;
      const activeBytes = before.get(active)!;
      const batches = [...iterateBatches(activeBytes)];
      assert.ok(batches.length > 0 && before.size > 1, "several segments, the active one not empty");
      const last = batches[batches.length - 1];
      const bad = damageBytes(damage, activeBytes.slice(last.pos, last.pos + last.size));
      const file = await Deno.open(`${dir(broker)}/${active}`, { append: true });
      await file.write(bad);
      file.close();

      broker = await startBroker({ dataDir, port: broker.port, settings: { "log.segment.bytes": 1200 } });
      assert.deepEqual(await segmentFiles(dir(broker)), before, "recovery cut exactly the damage");
      assert.match(broker.logs(), /log_recovered/);
      await produce(broker, topic, second);
      assert.deepEqual(await readAll(broker, topic), expected);
      await broker.kill();

      const afterKill = await segmentFiles(dir(broker));
      broker = await startBroker({ dataDir, port: broker.port, settings: { "log.segment.bytes": 1200 } });
      assert.deepEqual(await readAll(broker, topic), expected, "every acknowledged record after the second kill");
      assert.equal(await broker.stop(), 0);
      assert.deepEqual(await segmentFiles(dir(broker)), afterKill, "nothing acknowledged was cut or rewritten");

      broker = await startBroker({ dataDir, port: broker.port, settings: { "log.segment.bytes": 1200 } });
      assert.deepEqual(await readAll(broker, topic), expected, "and after a clean stop");
      assert.doesNotMatch(broker.logs(), /log_recovered/, "a clean stop needs no recovery");
    } finally {
      await broker.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  });
}
