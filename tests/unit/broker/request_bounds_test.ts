/**
 * The pieces that keep one request from taking the broker down: the `queued.max.request.bytes` pool (alone
 * and in a server), the rate-limited log of malformed-request closes, and the time slicer.
 */
import assert from "node:assert/strict";
import { KafkaServer } from "../../../broker/listener.ts";
import { createLogger } from "../../../broker/logger.ts";
import { MalformedRequestLog } from "../../../broker/malformed_request_log.ts";
import { RequestMemoryPool } from "../../../broker/request_memory_pool.ts";
import { sliceRequest, slicerFor, WorkSlicer } from "../../../broker/work_slices.ts";

// ---------------------------------------------------------------------------------------------------------------
// RequestMemoryPool

Deno.test("the pool grants while anything is left, even past the bound, then makes readers wait in order", async () => {
  const pool = new RequestMemoryPool(100);
  assert.ok(pool.tryReserve(60));
  assert.ok(pool.tryReserve(60), "40 bytes were left: a larger request still gets through");
  assert.equal(pool.usedBytes, 120);
  assert.equal(pool.tryReserve(1), false);
  const order: string[] = [];
  const a = pool.reserve(10).then(() => order.push("a"));
  const b = pool.reserve(10).then(() => order.push("b"));
  assert.equal(pool.waiting, 2);
  pool.release(60); // 60 used: room again
  await a;
  await b;
  assert.deepEqual(order, ["a", "b"]);
  assert.equal(pool.usedBytes, 80);
});

Deno.test("a waiting reservation gives up when its connection closes", async () => {
  const pool = new RequestMemoryPool(10);
  assert.ok(pool.tryReserve(10));
  const abort = new AbortController();
  const waiting = pool.reserve(5, abort.signal);
  abort.abort();
  assert.equal(await waiting, false);
  assert.equal(pool.waiting, 0);
  assert.equal(pool.usedBytes, 10);
});

// ---------------------------------------------------------------------------------------------------------------
// MalformedRequestLog

Deno.test("malformed-request closes: the first of a window one line each, the rest in one summary line", () => {
  let now = 0;
  const lines: string[] = [];
  const log = new MalformedRequestLog(createLogger({ level: "info", sink: (l) => lines.push(l) }), {
    windowMs: 10_000,
    detailedPerWindow: 3,
    now: () => now,
  });
  for (let i = 0; i < 9500; i++) {
    log.report(i % 2 === 0 ? "body" : "request_size", `bad request ${i}`, { remote: `10.0.0.1:${1000 + i}` });
    now += 1; // 9.5 s of closes
  }
  assert.equal(lines.length, 3, "three closes logged one by one");
  assert.match(lines[0], /closing connection: malformed request/);
  assert.match(lines[0], /remote=10\.0\.0\.1:1000/);
  log.flush(); // the window is not over: nothing yet
  assert.equal(lines.length, 3);
  now = 10_000;
  log.flush();
  assert.equal(lines.length, 4, "one summary line for the rest");
  assert.match(lines[3], /more connections closed for malformed requests/);
  assert.match(lines[3], /closed=9497/);
  assert.match(lines[3], /body=4748/);
  assert.match(lines[3], /request_size=4749/);
  assert.match(lines[3], /level=warn/);
  assert.equal(log.total, 9500);
  log.report("header", "again", {});
  assert.equal(lines.length, 5, "a new window logs one by one again");
});

Deno.test("a summary is written at shutdown even when the window has not ended", () => {
  const lines: string[] = [];
  const log = new MalformedRequestLog(createLogger({ sink: (l) => lines.push(l) }), { detailedPerWindow: 0 });
  log.report("body", "x");
  assert.equal(lines.length, 0);
  log.flush(true);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /closed=1/);
});

// ---------------------------------------------------------------------------------------------------------------
// WorkSlicer

Deno.test("the slicer asks for a pause once its slice is used up, reading the clock only every so often", async () => {
  let now = 0;
  let clockReads = 0;
  let pauses = 0;
  const slicer = new WorkSlicer(10, () => (clockReads++, now), () => (pauses++, Promise.resolve()));
  let due = 0;
  for (let i = 0; i < 1000; i++) {
    now += 0.1; // 100 us of work per element: 100 ms in all
    if (slicer.due()) {
      due++;
      await slicer.pause();
    }
  }
  // The clock is read every 64 calls (6.4 ms here), so a slice runs 10-16 ms.
  assert.ok(due >= 6 && due <= 10, `paused ${due} times in 100 ms of 10 ms slices`);
  assert.equal(pauses, due);
  assert.ok(clockReads < 1000 / 32, `read the clock ${clockReads} times for 1000 elements`);
});

Deno.test("the slicer runs a generator to its result, pausing between its steps when the slice is over", async () => {
  let now = 0;
  const slicer = new WorkSlicer(5, () => now, () => Promise.resolve());
  function* steps(): Generator<void, string> {
    for (let i = 0; i < 10; i++) {
      now += 2;
      yield;
    }
    return "done";
  }
  assert.equal(await slicer.run(steps()), "done");
  assert.ok(slicer.pauses >= 3 && slicer.pauses <= 4, `${slicer.pauses} pauses for 20 ms of 5 ms slices`);
});

Deno.test("only requests marked by the dispatcher get a slicer that pauses", () => {
  const small = {};
  const large = {};
  const slicer = new WorkSlicer(0, () => 1);
  sliceRequest(large, slicer);
  assert.equal(slicerFor(large), slicer);
  for (let i = 0; i < 1000; i++) assert.equal(slicerFor(small).due(), false);
});

// ---------------------------------------------------------------------------------------------------------------
// queued.max.request.bytes in a server

function sized(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

Deno.test("with queued.max.request.bytes exhausted, no connection is read until requests are answered", async () => {
  const held: (() => void)[] = [];
  const seen: number[] = [];
  const server = KafkaServer.listen({
    listeners: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 0 }],
    queuedMaxRequestBytes: 1000,
    handler: {
      handle: (frame) => {
        seen.push(frame[0]);
        return new Promise<Uint8Array>((resolve) => held.push(() => resolve(frame.subarray(0, 1))));
      },
    },
  });
  const port = server.address().port;
  const a = await Deno.connect({ hostname: "127.0.0.1", port });
  const b = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await a.write(sized(new Uint8Array(1500).fill(1))); // over the bound, granted: nothing else is held
    const deadline = Date.now() + 5000;
    while (seen.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(seen, [1]);
    assert.equal(server.memoryPool?.usedBytes, 1500);
    await b.write(sized(new Uint8Array(10).fill(2)));
    await new Promise((r) => setTimeout(r, 200)); // b must NOT be read meanwhile (no event to wait for)
    assert.deepEqual(seen, [1], "the second connection waits for memory");
    held.shift()!();
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(seen, [1, 2], "answered requests give their memory back and reading resumes");
    held.shift()!();
    const buf = new Uint8Array(5);
    assert.equal(await b.read(buf), 5);
    assert.equal(buf[4], 2);
  } finally {
    a.close();
    b.close();
    await server.close({ timeoutMs: 1000 });
  }
  assert.equal(server.memoryPool?.usedBytes, 0);
});
