/**
 * A compacted topic, end to end with kcat: many updates per key shrink to one record per key, readers see every
 * key's latest value, and a tombstone disappears once `delete.retention.ms` has passed.
 */
import assert from "node:assert/strict";
import { startBroker } from "../../integration/broker_process.ts";
import { createTopicWithConfigs } from "../../integration/produce_helpers.ts";
import { consumeLines, kcat } from "./kcat.ts";

async function readAll(bootstrap: string, topic: string): Promise<{ key: string; value: string }[]> {
  return (await consumeLines(bootstrap, topic, "%k=%s\n", { extra: ["-Z"] })).map((l) => {
    const [key, value] = l.split("=");
    return { key, value };
  });
}

Deno.test("kcat on a compacted topic: one record per key, latest values, tombstones gone after their retention", async () => {
  const broker = await startBroker({ settings: { "log.cleaner.backoff.ms": 200 } });
  try {
    await createTopicWithConfigs(broker.bootstrap, "prices", {
      "cleanup.policy": "compact",
      "segment.bytes": "65536",
      "min.cleanable.dirty.ratio": "0.01",
      "delete.retention.ms": "1000",
    });
    const keys = 20;
    const rounds = 200;
    const lines: string[] = [];
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < keys; k++) lines.push(`key-${k}:price-${k}-${round}`);
    }
    const produced = await kcat(
      ["-b", broker.bootstrap, "-P", "-t", "prices", "-K:", "-X", "batch.num.messages=200"],
      lines.join("\n") + "\n",
    );
    assert.equal(produced.code, 0, produced.stderr);
    // A tombstone for key-0 (kcat -Z sends an empty value as null), then filler so every update above leaves the
    // active segment, which the cleaner never touches.
    const tomb = await kcat(["-b", broker.bootstrap, "-P", "-t", "prices", "-K:", "-Z"], "key-0:\n");
    assert.equal(tomb.code, 0, tomb.stderr);
    const filler = Array.from({ length: 2000 }, (_, i) => `filler-${i}:${"f".repeat(40)}`);
    await kcat(
      ["-b", broker.bootstrap, "-P", "-t", "prices", "-K:", "-X", "batch.num.messages=200"],
      filler.join("\n") + "\n",
    );

    const latest = (records: { key: string; value: string }[]) => {
      const map = new Map<string, string>();
      for (const r of records) map.set(r.key, r.value);
      return map;
    };
    const deadline = Date.now() + 30_000;
    let records = await readAll(broker.bootstrap, "prices");
    const priceKeys = () => records.filter((r) => r.key.startsWith("key-"));
    while (Date.now() < deadline && (priceKeys().length > keys || priceKeys().some((r) => r.key === "key-0"))) {
      await new Promise((r) => setTimeout(r, 500));
      records = await readAll(broker.bootstrap, "prices");
    }
    const compactedKeys = priceKeys();
    assert.ok(compactedKeys.length <= keys, `one record per key left, found ${compactedKeys.length}`);
    const values = latest(compactedKeys);
    for (let k = 1; k < keys; k++) assert.equal(values.get(`key-${k}`), `price-${k}-${rounds - 1}`);
    assert.equal(values.has("key-0"), false, "the tombstone and the key it deleted are gone");
    assert.equal(records.filter((r) => r.key.startsWith("filler-")).length, 2000, "unique keys all stay");
  } finally {
    await broker.stop();
    await Deno.remove(broker.dataDir, { recursive: true });
  }
});
