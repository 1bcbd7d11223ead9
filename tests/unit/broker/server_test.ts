/**
 * The broker's network shell: Kafka framing, pipelining, backpressure, failures that close one connection
 * only, clean shutdown, and the `samsa start` executable stopping on SIGTERM.
 */
import assert from "node:assert/strict";
import { FrameReader, FrameSizeError } from "../../../broker/connection.ts";
import { type ConnectionInfo, KafkaServer, type KafkaServerOptions } from "../../../broker/listener.ts";
import { createLogger } from "../../../broker/logger.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function sized(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function indexOf(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset).getUint32(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `condition()` holds, for at most `ms`. */
async function eventually(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(5);
  }
}

/** Waits until `value()` stays the same for `quietMs`, for at most 10 s, and returns it. */
async function settled(value: () => number, quietMs: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  let last = value();
  for (;;) {
    await sleep(quietMs);
    const now = value();
    if (now === last || Date.now() > deadline) return now;
    last = now;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let n = 0;
  while (n < bytes.length) n += await conn.write(bytes.subarray(n));
}

/** A client-side response reader, written independently of the server's FrameReader. */
class Responses {
  #pending: Uint8Array = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  /** The next response body, or null when the server closed the connection. */
  async next(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#pending.length >= 4) {
        const size = new DataView(this.#pending.buffer, this.#pending.byteOffset).getInt32(0);
        if (this.#pending.length >= 4 + size) {
          const body = this.#pending.slice(4, 4 + size);
          this.#pending = this.#pending.slice(4 + size);
          return body;
        }
      }
      const buf = new Uint8Array(256 * 1024);
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        n = null; // reset by the server
      }
      if (n === null) return null;
      this.#pending = concat([this.#pending, buf.subarray(0, n)]);
    }
  }
}

interface Harness {
  server: KafkaServer;
  logs: string[];
  connect(): Promise<{ conn: Deno.Conn; responses: Responses }>;
  [Symbol.asyncDispose](): Promise<void>;
}

function serve(
  handle: (frame: Uint8Array, conn: ConnectionInfo) => Promise<Uint8Array | null> | Uint8Array | null,
  options: Partial<KafkaServerOptions> = {},
): Harness {
  const logs: string[] = [];
  const server = KafkaServer.listen({
    listeners: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 0 }],
    handler: { handle },
    logger: createLogger({ level: "debug", sink: (l) => logs.push(l) }),
    ...options,
  });
  const clients: Deno.Conn[] = [];
  return {
    server,
    logs,
    async connect() {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.address().port });
      clients.push(conn);
      return { conn, responses: new Responses(conn) };
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) {
        try {
          c.close();
        } catch {
          // closed by the test
        }
      }
      await server.close({ timeoutMs: 1000 });
    },
  };
}

const echo = (frame: Uint8Array) => frame;

// ---------------------------------------------------------------------------------------------------------------
// FrameReader: the pure framing core

Deno.test("FrameReader returns every frame of a chunk that holds several, in order", () => {
  const reader = new FrameReader(1024, 64);
  const chunk = concat([sized(new Uint8Array([1])), sized(new Uint8Array([2, 2])), sized(new Uint8Array(0))]);
  reader.space().set(chunk);
  reader.filled(chunk.length);
  assert.deepEqual(reader.next(), new Uint8Array([1]));
  assert.deepEqual(reader.next(), new Uint8Array([2, 2]));
  assert.deepEqual(reader.next(), new Uint8Array(0));
  assert.equal(reader.next(), null);
  assert.equal(reader.bufferedBytes, 0);
});

Deno.test("FrameReader assembles a frame delivered one byte at a time", () => {
  const reader = new FrameReader(1024, 16);
  const wire = concat([sized(new Uint8Array([9, 8, 7, 6, 5])), sized(new Uint8Array([4]))]);
  const frames: Uint8Array[] = [];
  for (const byte of wire) {
    reader.space()[0] = byte;
    reader.filled(1);
    for (let f = reader.next(); f !== null; f = reader.next()) frames.push(f);
  }
  assert.deepEqual(frames, [new Uint8Array([9, 8, 7, 6, 5]), new Uint8Array([4])]);
});

Deno.test("FrameReader gives a frame larger than its buffer exact memory and reads straight into it", () => {
  const reader = new FrameReader(1 << 20, 64);
  const body = new Uint8Array(1000).map((_, i) => i & 0xff);
  const wire = sized(body);
  let offset = 0;
  let frame: Uint8Array | null = null;
  while (frame === null) {
    const space = reader.space();
    const n = Math.min(space.length, wire.length - offset, 100);
    space.set(wire.subarray(offset, offset + n));
    offset += n;
    reader.filled(n);
    frame = reader.next();
  }
  assert.equal(offset, wire.length);
  assert.deepEqual(frame, body);
  assert.equal(frame.buffer.byteLength, 1000, "the frame owns exactly its bytes");
});

Deno.test("FrameReader refuses a size over the limit or negative before allocating anything", () => {
  for (const prefix of [0x7fffffff, 0xffffffff, 1025]) {
    const reader = new FrameReader(1024, 64);
    reader.space().set(u32(prefix));
    reader.filled(4);
    assert.throws(() => reader.next(), (e) => e instanceof FrameSizeError && e.maxBytes === 1024);
  }
});

Deno.test("FrameReader accepts a frame of exactly the limit", () => {
  const reader = new FrameReader(100, 64);
  const wire = sized(new Uint8Array(100).fill(3));
  let offset = 0;
  let frame: Uint8Array | null = null;
  while (frame === null) {
    const space = reader.space();
    const n = Math.min(space.length, wire.length - offset);
    space.set(wire.subarray(offset, offset + n));
    offset += n;
    reader.filled(n);
    frame = reader.next();
  }
  assert.equal(frame.length, 100);
});

// ---------------------------------------------------------------------------------------------------------------
// Framing over TCP

Deno.test("a request split across many TCP writes reaches the handler as one frame", async () => {
  const seen: number[] = [];
  await using h = serve((frame) => {
    seen.push(frame.length);
    return frame;
  });
  const { conn, responses } = await h.connect();
  const body = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
  const wire = sized(body);
  for (let i = 0; i < wire.length; i += 7) {
    await writeAll(conn, wire.subarray(i, i + 7));
    if (i % 70 === 0) await sleep(1);
  }
  assert.deepEqual(await responses.next(), body);
  assert.deepEqual(seen, [300]);
});

Deno.test("many requests in one TCP write are each answered, in order", async () => {
  await using h = serve(echo);
  const { conn, responses } = await h.connect();
  await writeAll(conn, concat(Array.from({ length: 500 }, (_, i) => sized(u32(i)))));
  for (let i = 0; i < 500; i++) assert.equal(indexOf((await responses.next())!), i);
});

Deno.test("many concurrent connections each get their own responses, in their own order", async () => {
  await using h = serve(async (frame) => {
    await sleep(frame[3] % 3);
    return frame;
  });
  const clients = await Promise.all(Array.from({ length: 100 }, () => h.connect()));
  await Promise.all(clients.map(async ({ conn, responses }, c) => {
    await writeAll(conn, concat(Array.from({ length: 20 }, (_, i) => sized(u32(c * 1000 + i)))));
    for (let i = 0; i < 20; i++) assert.equal(indexOf((await responses.next())!), c * 1000 + i);
  }));
  assert.equal(h.server.connectionCount, 100);
});

Deno.test("a request larger than the read buffer is echoed whole", async () => {
  await using h = serve(echo, { readBufferBytes: 4096 });
  const { conn, responses } = await h.connect();
  const body = new Uint8Array(3 << 20).map((_, i) => i % 251);
  await Promise.all([writeAll(conn, sized(body)), (async () => assert.deepEqual(await responses.next(), body))()]);
});

Deno.test("pipelined requests are answered in request order even when handlers finish out of order", async () => {
  const finished: number[] = [];
  await using h = serve(async (frame) => {
    const i = indexOf(frame);
    await sleep((10 - i) * 5); // the last request finishes first
    finished.push(i);
    return frame;
  });
  const { conn, responses } = await h.connect();
  await writeAll(conn, concat(Array.from({ length: 10 }, (_, i) => sized(u32(i)))));
  const order: number[] = [];
  for (let i = 0; i < 10; i++) order.push(indexOf((await responses.next())!));
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(finished, order, "the handlers did finish out of order");
});

Deno.test("a null response sends nothing and the next response follows cleanly", async () => {
  await using h = serve((frame) => indexOf(frame) % 2 === 1 ? null : frame);
  const { conn, responses } = await h.connect();
  await writeAll(conn, concat([0, 1, 2, 3, 5, 7, 4].map((i) => sized(u32(i)))));
  assert.equal(indexOf((await responses.next())!), 0);
  assert.equal(indexOf((await responses.next())!), 2);
  assert.equal(indexOf((await responses.next())!), 4);
  await writeAll(conn, sized(u32(6)));
  assert.equal(indexOf((await responses.next())!), 6);
});

Deno.test("a size prefix of 0x7fffffff closes only that connection, with a logged reason", async () => {
  await using h = serve(echo, { maxRequestBytes: 1 << 20 });
  const good = await h.connect();
  const bad = await h.connect();
  await writeAll(bad.conn, u32(0x7fffffff));
  assert.equal(await bad.responses.next(), null, "the server closed the connection");
  const line = h.logs.find((l) => l.includes("invalid request size"));
  assert.ok(line, h.logs.join("\n"));
  assert.match(line, /level=warn/);
  assert.match(line, /size=2147483647/);
  assert.match(line, /max=1048576/);
  await writeAll(good.conn, sized(u32(42)));
  assert.equal(indexOf((await good.responses.next())!), 42);
  const third = await h.connect();
  await writeAll(third.conn, sized(u32(43)));
  assert.equal(indexOf((await third.responses.next())!), 43);
});

Deno.test("a negative size prefix closes only that connection, with a logged reason", async () => {
  await using h = serve(echo);
  const good = await h.connect();
  const bad = await h.connect();
  await writeAll(bad.conn, concat([u32(0xffffffff), new Uint8Array(10)]));
  assert.equal(await bad.responses.next(), null);
  assert.ok(h.logs.some((l) => l.includes("invalid request size") && l.includes("size=-1")), h.logs.join("\n"));
  await writeAll(good.conn, sized(u32(7)));
  assert.equal(indexOf((await good.responses.next())!), 7);
});

// ---------------------------------------------------------------------------------------------------------------
// Backpressure

Deno.test("the server stops reading a connection with queued.max.requests requests unanswered", async () => {
  const calls: ((r: Uint8Array) => void)[] = [];
  await using h = serve(
    (frame) => new Promise<Uint8Array>((resolve) => calls.push(() => resolve(frame))),
    { maxQueuedRequests: 4 },
  );
  const { conn, responses } = await h.connect();
  await writeAll(conn, concat(Array.from({ length: 20 }, (_, i) => sized(u32(i)))));
  assert.equal(await settled(() => calls.length, 100), 4, "only the bound is handed to the handler");
  calls.splice(0, 2).forEach((release) => release(new Uint8Array(0)));
  assert.equal(indexOf((await responses.next())!), 0);
  assert.equal(indexOf((await responses.next())!), 1);
  await eventually(() => calls.length === 4);
  assert.equal(await settled(() => calls.length, 50), 4, "two answered, two more read, no more");
  for (let answered = 2; answered < 20;) {
    while ((calls.length as number) === 0) await sleep(5);
    calls.shift()!(new Uint8Array(0));
    assert.equal(indexOf((await responses.next())!), answered++);
  }
});

Deno.test("a client that sends but does not read makes the server stop reading from it", async () => {
  const RESPONSE = 1 << 20;
  let calls = 0;
  await using h = serve((frame) => {
    calls++;
    const out = new Uint8Array(RESPONSE);
    out.set(frame);
    return out;
  }, { maxQueuedRequests: 4, maxQueuedBytes: 4 * RESPONSE });
  const { conn, responses } = await h.connect();
  const REQUESTS = 200;
  await writeAll(conn, concat(Array.from({ length: REQUESTS }, (_, i) => sized(u32(i)))));
  const stalled = await settled(() => calls, 200);
  await sleep(200);
  assert.equal(calls, stalled, "no more requests are handled while responses stay unread");
  // What the kernel's socket buffers absorb (tens of MiB at most on loopback), plus the bound.
  assert.ok(stalled < 64, `handler ran ${stalled} times for ${REQUESTS} requests`);
  for (let i = 0; i < REQUESTS; i++) {
    const r = (await responses.next())!;
    assert.equal(r.length, RESPONSE);
    assert.equal(indexOf(r), i);
  }
  assert.equal(calls, REQUESTS);
});

// ---------------------------------------------------------------------------------------------------------------
// Failures

Deno.test("a handler that throws closes only its connection, after the responses before it", async () => {
  await using h = serve((frame) => {
    if (indexOf(frame) === 666) throw new Error("boom");
    return frame;
  });
  const good = await h.connect();
  const bad = await h.connect();
  await writeAll(bad.conn, concat([sized(u32(1)), sized(u32(666)), sized(u32(2))]));
  assert.equal(indexOf((await bad.responses.next())!), 1);
  assert.equal(await bad.responses.next(), null);
  assert.ok(h.logs.some((l) => l.includes("level=error") && l.includes("error=boom")), h.logs.join("\n"));
  await writeAll(good.conn, sized(u32(3)));
  assert.equal(indexOf((await good.responses.next())!), 3);
});

Deno.test("a handler whose promise rejects closes only its connection", async () => {
  await using h = serve((frame) => indexOf(frame) === 666 ? Promise.reject(new Error("async boom")) : frame);
  const bad = await h.connect();
  await writeAll(bad.conn, sized(u32(666)));
  assert.equal(await bad.responses.next(), null);
  assert.ok(h.logs.some((l) => l.includes("async boom")));
  const good = await h.connect();
  await writeAll(good.conn, sized(u32(5)));
  assert.equal(indexOf((await good.responses.next())!), 5);
});

Deno.test("a handler can close its connection, and sees the connection's listener, address and signal", async () => {
  let info: ConnectionInfo | undefined;
  await using h = serve((frame, conn) => {
    info = conn;
    conn.close("not allowed");
    return frame;
  });
  const { conn, responses } = await h.connect();
  await writeAll(conn, sized(u32(1)));
  assert.equal(await responses.next(), null);
  assert.ok(info);
  assert.equal(info.listenerName, "PLAINTEXT");
  assert.equal(info.remoteAddr.hostname, "127.0.0.1");
  assert.equal(info.remoteAddr.port, (conn.localAddr as Deno.NetAddr).port);
  assert.equal(info.isClosed, true);
  assert.equal(info.signal.aborted, true);
  await info.closed;
});

// ---------------------------------------------------------------------------------------------------------------
// Listeners and shutdown

Deno.test("port 0 listeners report the ports the system chose", async () => {
  const server = KafkaServer.listen({
    listeners: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 0 }, { name: "INTERNAL", host: "127.0.0.1", port: 0 }],
    handler: { handle: echo },
  });
  try {
    assert.deepEqual(server.addresses.map((a) => a.name), ["PLAINTEXT", "INTERNAL"]);
    for (const a of server.addresses) {
      assert.ok(a.port > 0);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: a.port });
      await writeAll(conn, sized(u32(9)));
      assert.equal(indexOf((await new Responses(conn).next())!), 9);
      conn.close();
    }
    assert.notEqual(server.address("PLAINTEXT").port, server.address("INTERNAL").port);
    assert.throws(() => server.address("NOPE"));
  } finally {
    await server.close();
  }
});

Deno.test("binding a port in use fails naming the listener, and releases listeners already bound", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.throws(
      () =>
        KafkaServer.listen({
          listeners: [{ name: "A", host: "127.0.0.1", port: 0 }, {
            name: "B",
            host: "127.0.0.1",
            port: taken.addr.port,
          }],
          handler: { handle: echo },
        }),
      (e) => e instanceof Error && e.message.startsWith(`cannot listen on B://127.0.0.1:${taken.addr.port}`),
    );
  } finally {
    taken.close();
  }
});

Deno.test("close() stops accepting, lets requests in progress finish, then closes connections", async () => {
  let started!: () => void;
  const inProgress = new Promise<void>((r) => started = r);
  const h = serve(async (frame) => {
    started();
    await sleep(100);
    return frame;
  });
  const port = h.server.address().port;
  const { conn, responses } = await h.connect();
  await writeAll(conn, sized(u32(77)));
  await inProgress;
  const closing = h.server.close({ timeoutMs: 5000 });
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  assert.equal(indexOf((await responses.next())!), 77, "the request in progress was answered");
  assert.equal(await responses.next(), null, "then the connection was closed");
  await closing;
  assert.equal(h.server.connectionCount, 0);
  conn.close();
});

Deno.test("close() gives up on requests that outlast its timeout", async () => {
  const h = serve(() => new Promise<Uint8Array>(() => {}));
  const { conn, responses } = await h.connect();
  await writeAll(conn, sized(u32(1)));
  await sleep(20);
  const t0 = performance.now();
  await h.server.close({ timeoutMs: 150 });
  const took = performance.now() - t0;
  assert.ok(took >= 140 && took < 2000, `close took ${took} ms`);
  assert.equal(await responses.next(), null);
  assert.ok(h.logs.some((l) => l.includes("shutdown timeout")));
  conn.close();
});

Deno.test("max.connections refuses connections beyond the limit", async () => {
  await using h = serve(echo, { maxConnections: 1 });
  const first = await h.connect();
  await writeAll(first.conn, sized(u32(1)));
  assert.equal(indexOf((await first.responses.next())!), 1);
  const second = await h.connect();
  assert.equal(await second.responses.next(), null);
  assert.ok(h.logs.some((l) => l.includes("max.connections")));
});

Deno.test("connections idle longer than connections.max.idle.ms are closed", async () => {
  await using h = serve(echo, { connectionsMaxIdleMs: 50 });
  const { responses } = await h.connect();
  const t0 = performance.now();
  assert.equal(await responses.next(), null);
  assert.ok(performance.now() - t0 < 2000);
});

// ---------------------------------------------------------------------------------------------------------------
// The executable

Deno.test("`samsa start` listens, and exits 0 soon after SIGTERM", async () => {
  const main = new URL("../../../main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "start", "--set", "listeners=PLAINTEXT://127.0.0.1:0", "--set", "log.dirs=/nonexistent"],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  const decoder = new TextDecoderStream();
  const reading = (async () => {
    let partial = "";
    for await (const chunk of child.stderr.pipeThrough(decoder)) {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
    }
  })();
  try {
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l.includes(`msg="broker started"`)) && Date.now() < deadline) await sleep(20);
    assert.ok(lines.some((l) => l.includes(`msg="broker started"`)), lines.join("\n"));
    const listening = lines.find((l) => l.includes("msg=listening"))!;
    const port = Number(/address=127\.0\.0\.1:(\d+)/.exec(listening)![1]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();

    const t0 = Date.now();
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
    assert.ok(Date.now() - t0 < 5000, `exit took ${Date.now() - t0} ms`);
    await reading;
    assert.ok(lines.some((l) => l.includes(`msg="broker stopped"`)), lines.join("\n"));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
  }
});

Deno.test("`samsa start` with a bad value exits 1 naming the key and its source", async () => {
  const main = new URL("../../../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "start", "--set", "num.partitions=lots"],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 1);
  const text = new TextDecoder().decode(out.stderr);
  assert.match(text, /num\.partitions/);
  assert.match(text, /--set num\.partitions=lots/);
});
