/**
 * The proxy against a stand-in target that answers every request frame with its correlation id and the
 * request's payload: what the client and the target each see under each rule.
 */
import assert from "node:assert/strict";
import { FrameReader } from "../../broker/connection.ts";
import { startTcpProxy, type TcpProxy } from "./tcp_proxy.ts";

const PRODUCE = 0;
const FETCH = 1;

/** A request frame (with size prefix): api key, version 0, correlation id, then the payload bytes. */
function request(apiKey: number, correlationId: number, payload: number[] = []): Uint8Array {
  const frame = new Uint8Array(4 + 8 + payload.length);
  const view = new DataView(frame.buffer);
  view.setInt32(0, 8 + payload.length);
  view.setInt16(4, apiKey);
  view.setInt16(6, 0);
  view.setInt32(8, correlationId);
  frame.set(payload, 12);
  return frame;
}

/** Reads frames off a socket: `next()` is the next whole frame, or null once the socket closed. */
function frameStream(conn: Deno.Conn) {
  const reader = new FrameReader(1 << 20, 1024);
  return {
    async next(): Promise<Uint8Array | null> {
      while (true) {
        const frame = reader.next();
        if (frame !== null) return frame;
        const n = await conn.read(reader.space());
        if (n === null) return null;
        reader.filled(n);
      }
    },
  };
}

const correlationIdOf = (answer: Uint8Array) => new DataView(answer.buffer, answer.byteOffset).getInt32(0);

/** A target that answers each request with its correlation id and payload, and records what it served. */
class EchoTarget {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  /** Correlation ids of the requests answered, in order. */
  readonly served: number[] = [];
  readonly #conns = new Set<Deno.Conn>();
  readonly #loops: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  constructor() {
    this.#accepting = this.#accept();
  }

  get port(): number {
    return (this.listener.addr as Deno.NetAddr).port;
  }

  /** Closes every accepted connection (the proxy then sees EOF from the target). */
  closeConnections(): void {
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
  }

  async close(): Promise<void> {
    this.listener.close();
    this.closeConnections();
    await this.#accepting;
    await Promise.all(this.#loops);
  }

  async #accept(): Promise<void> {
    for await (const conn of this.listener) {
      this.#conns.add(conn);
      this.#loops.push(this.#serve(conn));
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const frames = frameStream(conn);
    try {
      for (let frame = await frames.next(); frame !== null; frame = await frames.next()) {
        const view = new DataView(frame.buffer, frame.byteOffset);
        const answer = new Uint8Array(4 + 4 + frame.length - 8);
        new DataView(answer.buffer).setInt32(0, 4 + frame.length - 8);
        new DataView(answer.buffer).setInt32(4, view.getInt32(4));
        answer.set(frame.subarray(8), 8);
        this.served.push(view.getInt32(4));
        await conn.write(answer);
      }
    } catch {
      // closed by closeConnections
    }
  }
}

async function withProxy(fn: (proxy: TcpProxy, target: EchoTarget) => Promise<void>): Promise<void> {
  const target = new EchoTarget();
  const proxy = startTcpProxy({ targetPort: target.port });
  try {
    await fn(proxy, target);
  } finally {
    await proxy.close();
    await target.close();
  }
}

const connect = (proxy: TcpProxy) => Deno.connect({ hostname: "127.0.0.1", port: proxy.port });

Deno.test("the proxy forwards requests and answers unchanged and counts requests per API key", async () => {
  await withProxy(async (proxy, target) => {
    const conn = await connect(proxy);
    const answers = frameStream(conn);
    await conn.write(request(PRODUCE, 7, [1, 2, 3]));
    assert.deepEqual(await answers.next(), new Uint8Array([0, 0, 0, 7, 1, 2, 3]));
    await conn.write(request(FETCH, 8));
    assert.equal(correlationIdOf((await answers.next())!), 8);
    assert.deepEqual(target.served, [7, 8]);
    assert.equal(proxy.requestCount(PRODUCE), 1);
    assert.equal(proxy.requestCount(FETCH), 1);
    assert.equal(proxy.connectionCount, 1);
    conn.close();
  });
});

Deno.test("a cut lets the target serve the request, then closes the client's connection without the answer", async () => {
  await withProxy(async (proxy, target) => {
    proxy.cutBeforeAnswer({ apiKey: PRODUCE, nth: 2 });
    const first = await connect(proxy);
    const answers = frameStream(first);
    await first.write(request(PRODUCE, 1));
    assert.equal(correlationIdOf((await answers.next())!), 1);
    await first.write(request(PRODUCE, 2));
    assert.equal(await answers.next(), null, "the connection closed, no answer");
    assert.deepEqual(target.served, [1, 2], "the target served the request whose answer was lost");
    first.close();

    const second = await connect(proxy);
    const retried = frameStream(second);
    await second.write(request(PRODUCE, 2));
    assert.equal(correlationIdOf((await retried.next())!), 2, "the rule fired once; the resend is answered");
    assert.deepEqual(proxy.fired().map((f) => [f.apiKey, f.nth, f.fate.kind]), [[PRODUCE, 2, "cut"]]);
    second.close();
  });
});

Deno.test("a delayed answer keeps its place: answers behind it wait", async () => {
  await withProxy(async (proxy) => {
    proxy.delayAnswers({ apiKey: PRODUCE }, 100);
    const conn = await connect(proxy);
    const answers = frameStream(conn);
    await conn.write(request(PRODUCE, 1));
    await conn.write(request(FETCH, 2));
    assert.equal(correlationIdOf((await answers.next())!), 1);
    assert.equal(correlationIdOf((await answers.next())!), 2);
    conn.close();
  });
});

Deno.test("a dropped answer silences the connection: neither it nor later answers reach the client", async () => {
  await withProxy(async (proxy, target) => {
    proxy.dropAnswers({ apiKey: PRODUCE });
    const conn = await connect(proxy);
    const answers = frameStream(conn);
    await conn.write(request(FETCH, 1));
    assert.equal(correlationIdOf((await answers.next())!), 1);
    await conn.write(request(PRODUCE, 2));
    await conn.write(request(FETCH, 3));
    for (let i = 0; i < 500 && target.served.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(target.served, [1, 2, 3]);
    // The target hangs up after answering; everything it said before reaches the proxy first, so the client
    // seeing the close with nothing before it proves both answers were swallowed.
    target.closeConnections();
    assert.equal(await answers.next(), null);
    conn.close();
  });
});

Deno.test("a client connecting while the target is down sees its connection closed", async () => {
  const target = new EchoTarget();
  const port = target.port;
  await target.close();
  const proxy = startTcpProxy({ targetPort: port });
  try {
    const conn = await connect(proxy);
    const answers = frameStream(conn);
    await conn.write(request(FETCH, 1)).catch(() => 0);
    assert.equal(await answers.next().catch(() => null), null);
    conn.close();
  } finally {
    await proxy.close();
  }
});
