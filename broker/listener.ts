/**
 * The broker's TCP front door: one `Deno.listen` socket per configured listener, an accept loop for each, a
 * `Connection` per client, idle-connection reaping, and clean shutdown (stop accepting, let requests in
 * progress finish within a bound, close every connection).
 *
 * The server knows nothing of Kafka's messages: it moves frames between sockets and a `RequestHandler`.
 *
 * @module
 */

import type { BrokerConfig } from "./config.ts";
import { Connection, type ConnectionHandover, type RequestHandler } from "./connection.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { MalformedRequestLog } from "./malformed_request_log.ts";
import { RequestMemoryPool } from "./request_memory_pool.ts";

export type { ConnectionHandover, ConnectionInfo, RequestHandler } from "./connection.ts";

/** Where to listen: the `name`, `host` and `port` of a `ListenerConfig`. */
export interface ListenerSpec {
  /** The listener name, e.g. `PLAINTEXT`. */
  readonly name: string;
  /** Host or address to bind; empty means every IPv4 interface. */
  readonly host: string;
  /** Port; 0 lets the system choose. */
  readonly port: number;
}

/** A bound listener: the address it actually listens on (port 0 replaced by the real port). */
export interface BoundListener {
  /** The listener name. */
  readonly name: string;
  /** The bound address. */
  readonly hostname: string;
  /** The bound port. */
  readonly port: number;
}

/** What `KafkaServer.listen` needs. */
export interface KafkaServerOptions {
  /** The listeners to bind, in order. */
  listeners: readonly ListenerSpec[];
  /** Answers every request of every connection. */
  handler: RequestHandler;
  /** Where to log; default silent. */
  logger?: Logger;
  /** `socket.request.max.bytes`; default 104857600. */
  maxRequestBytes?: number;
  /** `connection.queued.max.requests`; default 64. */
  maxQueuedRequests?: number;
  /** `connection.queued.max.bytes`; default 33554432. */
  maxQueuedBytes?: number;
  /** `queued.max.request.bytes`: request bytes in flight over all connections; 0 or less (default) is no bound. */
  queuedMaxRequestBytes?: number;
  /** `max.connections`: further connections are closed at once; default unlimited. */
  maxConnections?: number;
  /** `connections.max.idle.ms`: close connections with no traffic and nothing pending for this long. */
  connectionsMaxIdleMs?: number;
  /** Per-connection read buffer; default 64 KiB. */
  readBufferBytes?: number;
  /**
   * Another protocol on these listeners: a connection whose first frame it claims is handed to it (a cluster
   * broker's replication connections from other brokers, `broker/node_hello.ts`).
   */
  handover?: ConnectionHandover;
}

/**
 * The server options a broker configuration gives (everything but the handler and logger).
 *
 * @example
 * ```ts
 * import { BrokerConfig } from "./config.ts";
 * import { serverOptionsFromConfig } from "./listener.ts";
 * serverOptionsFromConfig(BrokerConfig.from([])).maxRequestBytes; // 104857600
 * ```
 */
export function serverOptionsFromConfig(config: BrokerConfig): Omit<KafkaServerOptions, "handler" | "logger"> {
  return {
    listeners: config.listeners,
    maxRequestBytes: config.socketRequestMaxBytes,
    maxQueuedRequests: config.connectionQueuedMaxRequests,
    maxQueuedBytes: config.connectionQueuedMaxBytes,
    queuedMaxRequestBytes: config.queuedMaxRequestBytes,
    maxConnections: config.maxConnections,
    connectionsMaxIdleMs: config.connectionsMaxIdleMs,
  };
}

/**
 * A running Kafka-framed TCP server.
 *
 * @example
 * ```ts
 * import { KafkaServer } from "./listener.ts";
 * const server = KafkaServer.listen({
 *   listeners: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 0 }],
 *   handler: { handle: (frame) => frame }, // an echo server
 * });
 * server.address("PLAINTEXT").port; // the port the system chose
 * await server.close();
 * ```
 */
export class KafkaServer implements AsyncDisposable {
  /** The bound listeners, in configuration order. */
  readonly addresses: readonly BoundListener[];

  readonly #listeners: Deno.TcpListener[];
  readonly #options: KafkaServerOptions;
  readonly #log: Logger;
  readonly #connections = new Set<Connection>();
  readonly #acceptLoops: Promise<void>[] = [];
  #nextConnectionId = 1;
  #closing: Promise<void> | null = null;
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  readonly #malformedLog: MalformedRequestLog;
  readonly #malformedTimer: ReturnType<typeof setInterval>;
  readonly #memoryPool: RequestMemoryPool | undefined;

  private constructor(options: KafkaServerOptions, listeners: Deno.TcpListener[]) {
    this.#options = options;
    this.#log = options.logger ?? silentLogger;
    this.#listeners = listeners;
    this.#malformedLog = new MalformedRequestLog(this.#log);
    // A window's summary line is written when the window ends, even if no further close comes.
    this.#malformedTimer = setInterval(() => this.#malformedLog.flush(), 1000);
    Deno.unrefTimer(this.#malformedTimer);
    const poolBytes = options.queuedMaxRequestBytes ?? -1;
    this.#memoryPool = poolBytes > 0 ? new RequestMemoryPool(poolBytes) : undefined;
    this.addresses = Object.freeze(
      listeners.map((l, i) =>
        Object.freeze({ name: options.listeners[i].name, hostname: l.addr.hostname, port: l.addr.port })
      ),
    );
    for (let i = 0; i < listeners.length; i++) {
      this.#acceptLoops.push(this.#acceptLoop(listeners[i], options.listeners[i].name));
    }
    const idleMs = options.connectionsMaxIdleMs;
    if (idleMs !== undefined && idleMs > 0 && Number.isFinite(idleMs)) {
      const everyMs = Math.max(10, Math.min(idleMs / 2, 30_000));
      const timer = setInterval(() => this.#closeIdle(idleMs), everyMs);
      Deno.unrefTimer(timer);
      this.#idleTimer = timer;
    }
  }

  /**
   * Binds every listener and starts accepting. Throws (after releasing anything already bound) when a
   * listener cannot be bound, naming it.
   */
  static listen(options: KafkaServerOptions): KafkaServer {
    if (options.listeners.length === 0) throw new Error("no listeners to bind");
    const bound: Deno.TcpListener[] = [];
    for (const spec of options.listeners) {
      const hostname = spec.host === "" ? "0.0.0.0" : spec.host;
      try {
        bound.push(Deno.listen({ hostname, port: spec.port, transport: "tcp" }));
      } catch (e) {
        for (const l of bound) l.close();
        throw new Error(
          `cannot listen on ${spec.name}://${hostname.includes(":") ? `[${hostname}]` : hostname}:${spec.port}: ` +
            (e as Error).message,
          { cause: e },
        );
      }
    }
    const server = new KafkaServer(options, bound);
    for (const a of server.addresses) {
      server.#log.info("listening", { listener: a.name, address: `${a.hostname}:${a.port}` });
    }
    return server;
  }

  /** The bound address of listener `name` (the first listener when omitted). Throws for an unknown name. */
  address(name?: string): BoundListener {
    const a = name === undefined ? this.addresses[0] : this.addresses.find((x) => x.name === name);
    if (a === undefined) throw new Error(`no listener named ${name}`);
    return a;
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Stops accepting, stops reading new requests, waits up to `timeoutMs` (default 10000) for requests in
   * progress to be answered, then closes every connection. Calling it again returns the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.timeoutMs ?? 10_000);
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Connections closed for malformed requests since the server started. */
  get malformedRequestCloses(): number {
    return this.#malformedLog.total;
  }

  /** The `queued.max.request.bytes` pool, when bounded. */
  get memoryPool(): RequestMemoryPool | undefined {
    return this.#memoryPool;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    if (this.#idleTimer !== undefined) clearInterval(this.#idleTimer);
    clearInterval(this.#malformedTimer);
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch {
        // already closed
      }
    }
    const open = [...this.#connections];
    for (const c of open) c.drain();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((r) => timer = setTimeout(() => r(true), timeoutMs));
    const finished = Promise.all(open.map((c) => c.closed)).then(() => false);
    const late = await Promise.race([finished, timedOut]);
    clearTimeout(timer);
    if (late) {
      this.#log.warn("shutdown timeout: closing connections with requests in progress", {
        connections: [...this.#connections].length,
        timeout_ms: timeoutMs,
      });
    }
    for (const c of [...this.#connections]) c.close("server shutdown");
    this.#malformedLog.flush(true);
    await Promise.all(this.#acceptLoops);
    this.#log.info("server stopped");
  }

  async #acceptLoop(listener: Deno.TcpListener, name: string): Promise<void> {
    const maxConnections = this.#options.maxConnections ?? Infinity;
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.#closing !== null || e instanceof Deno.errors.BadResource) return;
        // Out of file descriptors and the like: report, pause briefly, go on.
        this.#log.error("accept failed", { listener: name, error: e });
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.#closing !== null) {
        conn.close();
        return;
      }
      if (this.#connections.size >= maxConnections) {
        this.#log.warn("refusing connection: max.connections reached", {
          listener: name,
          remote: `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`,
          max: maxConnections,
        });
        conn.close();
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // the peer already went away; the first read will say so
      }
      const o = this.#options;
      const c = new Connection(conn, this.#nextConnectionId++, name, o.handler, {
        maxRequestBytes: o.maxRequestBytes ?? 104_857_600,
        maxQueuedRequests: o.maxQueuedRequests ?? 64,
        maxQueuedBytes: o.maxQueuedBytes ?? 33_554_432,
        readBufferBytes: o.readBufferBytes,
        logger: this.#log,
        malformedLog: this.#malformedLog,
        memoryPool: this.#memoryPool,
        handover: o.handover,
      });
      this.#connections.add(c);
      void c.run().then(() => this.#connections.delete(c));
    }
  }

  #closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const c of this.#connections) {
      if (c.idle && now - c.lastActivityMs > idleMs) c.close(`idle for more than ${idleMs} ms`);
    }
  }
}

/**
 * Binds and starts a server; the same as `KafkaServer.listen(options)`.
 *
 * @example
 * ```ts
 * import { startServer } from "./listener.ts";
 * const server = startServer({
 *   listeners: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 0 }],
 *   handler: { handle: () => null },
 * });
 * await server.close();
 * ```
 */
export function startServer(options: KafkaServerOptions): KafkaServer {
  return KafkaServer.listen(options);
}
