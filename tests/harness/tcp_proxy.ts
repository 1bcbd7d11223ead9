/**
 * A Kafka-aware TCP proxy for tests that need the network to fail on cue: it listens on a free 127.0.0.1 port,
 * opens one connection to the target per client connection, forwards bytes both ways frame by frame, and
 * applies rules to the answers of chosen requests (see `proxy_rules.ts`): cut the connection once the answer
 * of the Nth request of an API key is back from the broker (so the request was served but the client never
 * learns it), delay answers, or drop them (the client then times out).
 *
 * Brokers tell clients where to connect in Metadata answers, so a broker behind the proxy must advertise the
 * proxy's address (`advertised.listeners=PLAINTEXT://<proxy.address>`), or clients bypass it after bootstrap.
 * Requests without an answer (Produce with acks=0) are counted but never trigger a rule.
 *
 * @module
 */
import { FrameReader } from "../../broker/connection.ts";
import { type AnswerFate, type FiredRule, ProxyRuleBook, type RequestMatch } from "./proxy_rules.ts";

export type { AnswerFate, FiredRule, RequestMatch };

/** Sees each request frame, without its size prefix, as it passes to the target. */
export type RequestObserver = (frame: Uint8Array) => void;

/** The largest frame the proxy passes through (Kafka's default socket.request.max.bytes is 100 MiB). */
const MAX_FRAME_BYTES = 200 * 1024 * 1024;

/** Where and how to start a proxy. */
export interface TcpProxyOptions {
  /** The port the proxy forwards to, on `targetHost`. */
  targetPort: number;
  /** Default 127.0.0.1. */
  targetHost?: string;
  /** The port to listen on; default a free one. */
  listenPort?: number;
}

/**
 * A running proxy. Rules added apply to requests that arrive afterwards.
 *
 * @example
 * ```ts ignore
 * import { startTcpProxy } from "./tcp_proxy.ts";
 * const proxy = startTcpProxy({ targetPort: broker.port });
 * proxy.cutBeforeAnswer({ apiKey: 0, nth: 1 }); // the first Produce is written, its answer never arrives
 * // ... a client with bootstrap.servers = proxy.address ...
 * await proxy.close();
 * ```
 */
export class TcpProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #target: { hostname: string; port: number };
  readonly #rules = new ProxyRuleBook();
  readonly #connections = new Set<ProxiedConnection>();
  readonly #observers: RequestObserver[] = [];
  readonly #observerErrors: unknown[] = [];
  readonly #accepting: Promise<void>;
  #closed = false;
  #connectionCount = 0;

  /** Use `startTcpProxy`. */
  constructor(options: TcpProxyOptions) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: options.listenPort ?? 0 });
    this.#target = { hostname: options.targetHost ?? "127.0.0.1", port: options.targetPort };
    this.#accepting = this.#accept();
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** `127.0.0.1:PORT`, for bootstrap.servers and advertised.listeners. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Client connections accepted so far. */
  get connectionCount(): number {
    return this.#connectionCount;
  }

  /**
   * Once the answer to a matching request comes back from the target, closes both sides of that connection
   * instead of passing it on: the target served the request, the client saw the connection drop.
   */
  cutBeforeAnswer(match: RequestMatch): void {
    this.#rules.add(match, { kind: "cut" });
  }

  /** Holds matching answers for `delayMs` (later answers on the same connection wait behind them). */
  delayAnswers(match: RequestMatch, delayMs: number): void {
    this.#rules.add(match, { kind: "delay", delayMs });
  }

  /** Swallows the answer to a matching request and every later answer on its connection; the socket stays open. */
  dropAnswers(match: RequestMatch): void {
    this.#rules.add(match, { kind: "drop" });
  }

  /**
   * Calls `observer` with every request frame (without its size prefix) before it is forwarded, e.g. to
   * decode Produce requests and see what a client resent. The frame must not be modified.
   */
  observeRequests(observer: RequestObserver): void {
    this.#observers.push(observer);
  }

  /** What observers threw, in order (the frames were forwarded regardless). */
  observerErrors(): readonly unknown[] {
    return this.#observerErrors;
  }

  /** How many requests of `apiKey` the proxy forwarded to the target. */
  requestCount(apiKey: number): number {
    return this.#rules.requestCount(apiKey);
  }

  /** The rules that fired so far, in order. */
  fired(): readonly FiredRule[] {
    return this.#rules.fired();
  }

  /** Stops listening, closes every connection and waits for the forwarding to stop. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    await this.#accepting;
    await Promise.all([...this.#connections].map((c) => c.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #accept(): Promise<void> {
    while (!this.#closed) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // the listener was closed
      }
      this.#connectionCount++;
      let target: Deno.TcpConn;
      try {
        target = await Deno.connect(this.#target);
      } catch {
        client.close(); // the target is down: the client sees a refused connection, as it would without us
        continue;
      }
      if (this.#closed) {
        client.close();
        target.close();
        return;
      }
      client.setNoDelay(true);
      target.setNoDelay(true);
      const connection = new ProxiedConnection(client, target, this.#rules, this.#observers, this.#observerErrors);
      this.#connections.add(connection);
      connection.done.then(() => this.#connections.delete(connection));
    }
  }
}

/**
 * Starts a proxy listening on 127.0.0.1 that forwards to `targetPort`. The target need not be up yet: each
 * client connection opens its own connection to it.
 */
export function startTcpProxy(options: TcpProxyOptions): TcpProxy {
  return new TcpProxy(options);
}

/** One client connection and its connection to the target. */
class ProxiedConnection {
  readonly #client: Deno.TcpConn;
  readonly #target: Deno.TcpConn;
  readonly #rules: ProxyRuleBook;
  readonly #observers: readonly RequestObserver[];
  readonly #observerErrors: unknown[];
  /** The fate of each forwarded request's answer, by correlation id. */
  readonly #pending = new Map<number, AnswerFate>();
  readonly #closing = new AbortController();
  /** Answers are written to the client one after another through this chain, so delays keep their order. */
  #outbox: Promise<void> = Promise.resolve();
  #silent = false;
  /** Resolves once both directions have stopped. */
  readonly done: Promise<void>;

  constructor(
    client: Deno.TcpConn,
    target: Deno.TcpConn,
    rules: ProxyRuleBook,
    observers: RequestObserver[],
    observerErrors: unknown[],
  ) {
    this.#client = client;
    this.#target = target;
    this.#rules = rules;
    this.#observers = observers;
    this.#observerErrors = observerErrors;
    this.done = Promise.all([this.#forwardRequests(), this.#forwardAnswers()]).then(() => this.#outbox);
  }

  /** Closes both sockets (once) and waits for the forwarding loops to end. */
  async close(): Promise<void> {
    this.#shut();
    await this.done;
  }

  #shut(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    for (const conn of [this.#client, this.#target]) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  async #forwardRequests(): Promise<void> {
    try {
      for await (const frame of frames(this.#client)) {
        const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
        // Every request header starts with api key (int16), api version (int16), correlation id (int32).
        if (frame.length >= 8) this.#pending.set(view.getInt32(4), this.#rules.onRequest(view.getInt16(0)));
        for (const observe of this.#observers) {
          try {
            observe(frame);
          } catch (e) {
            // A broken observer is the test's bug, not a network fault: keep forwarding, keep the error.
            this.#observerErrors.push(e);
          }
        }
        await writeFrame(this.#target, frame);
      }
    } catch {
      // a socket closed under us: the connection ends either way
    } finally {
      this.#shut();
    }
  }

  async #forwardAnswers(): Promise<void> {
    try {
      for await (const frame of frames(this.#target)) {
        if (frame.length < 4) continue;
        // Every response header starts with the correlation id of its request.
        const correlationId = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getInt32(0);
        const fate = this.#pending.get(correlationId) ?? { kind: "forward" };
        this.#pending.delete(correlationId);
        if (this.#silent) continue;
        if (fate.kind === "cut") break;
        if (fate.kind === "drop") {
          this.#silent = true;
          continue;
        }
        const delayMs = fate.kind === "delay" ? fate.delayMs : 0;
        this.#outbox = this.#outbox.then(async () => {
          if (delayMs > 0) await abortableSleep(delayMs, this.#closing.signal);
          if (!this.#closing.signal.aborted) await writeFrame(this.#client, frame);
        }).catch(() => this.#shut());
      }
    } catch {
      // a socket closed under us
    } finally {
      this.#shut();
    }
  }
}

/** The size-prefixed frames a socket delivers, without their prefix, until it closes. */
async function* frames(conn: Deno.TcpConn): AsyncGenerator<Uint8Array> {
  const reader = new FrameReader(MAX_FRAME_BYTES);
  while (true) {
    const n = await conn.read(reader.space());
    if (n === null) return;
    reader.filled(n);
    for (let frame = reader.next(); frame !== null; frame = reader.next()) yield frame;
  }
}

async function writeFrame(conn: Deno.TcpConn, frame: Uint8Array): Promise<void> {
  const bytes = new Uint8Array(4 + frame.length);
  new DataView(bytes.buffer).setInt32(0, frame.length);
  bytes.set(frame, 4);
  for (let written = 0; written < bytes.length;) written += await conn.write(bytes.subarray(written));
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
