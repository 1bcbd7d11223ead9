/**
 * Raft between brokers over TCP: an inter-broker listener and one outgoing connection per peer, both framed as
 * Kafka frames (a 4-byte big-endian size, then the bytes of `raft/message_codec.ts`). Messages are one-way, so
 * nothing waits for an answer; a peer that cannot be reached loses what was queued for it, which Raft tolerates
 * (it retries), and the connection is re-established with a backoff.
 *
 * @module
 */
import { decodeMessageBatch, encodeMessageBatch } from "../raft/message_codec.ts";
import type { MessageBatch, Transport } from "../raft/transport.ts";
import type { NodeId } from "../raft/types.ts";
import { FrameReader } from "./connection.ts";
import { type Logger, silentLogger } from "./logger.ts";

/** Where a peer's inter-broker listener is. */
export interface PeerAddress {
  host: string;
  port: number;
}

/** Limits of the transport. */
export interface RaftTransportOptions {
  /** This broker's node id. */
  nodeId: NodeId;
  /** Every peer's inter-broker address. */
  peers: ReadonlyMap<NodeId, PeerAddress>;
  /** Drop the oldest queued batches for a peer beyond this many bytes. Default 64 MiB. */
  maxQueuedBytes?: number;
  logger?: Logger;
}

const MAX_BACKOFF_MS = 2000;
const FIRST_BACKOFF_MS = 50;

function frame(batch: MessageBatch): Uint8Array {
  const body = encodeMessageBatch(batch);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

class PeerLink {
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #conn: Deno.TcpConn | undefined;
  #connecting = false;
  #writing = false;
  #backoffMs = FIRST_BACKOFF_MS;
  #retryAt = 0;
  #closed = false;

  constructor(
    private readonly id: NodeId,
    private readonly address: PeerAddress,
    private readonly maxQueuedBytes: number,
    private readonly logger: Logger,
  ) {}

  enqueue(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    while (this.#queuedBytes > this.maxQueuedBytes && this.#queue.length > 1) {
      this.#queuedBytes -= this.#queue.shift()!.length;
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#closed || this.#writing) return;
    if (!this.#conn) {
      if (!this.#connecting && Date.now() >= this.#retryAt) void this.#connect();
      return;
    }
    void this.#write();
  }

  async #connect(): Promise<void> {
    this.#connecting = true;
    try {
      const conn = await Deno.connect({ hostname: this.address.host, port: this.address.port });
      conn.setNoDelay(true);
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#conn = conn;
      this.#backoffMs = FIRST_BACKOFF_MS;
      this.logger.info("raft peer connected", { peer: this.id });
    } catch (e) {
      this.#failed(e);
    } finally {
      this.#connecting = false;
    }
    this.#pump();
  }

  async #write(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#conn && this.#queue.length > 0) {
        const chunk = this.#queue.length === 1 ? this.#queue[0] : concat(this.#queue);
        this.#queue = [];
        this.#queuedBytes = 0;
        let written = 0;
        while (written < chunk.length) written += await this.#conn.write(chunk.subarray(written));
      }
    } catch (e) {
      this.#failed(e);
    } finally {
      this.#writing = false;
    }
  }

  /** Drops the connection and what was queued (Raft resends); the next send reconnects after a backoff. */
  #failed(e: unknown): void {
    this.logger.debug("raft peer unreachable", { peer: this.id, error: String(e), retry_ms: this.#backoffMs });
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#conn = undefined;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#retryAt = Date.now() + this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
  }

  close(): void {
    this.#closed = true;
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#conn = undefined;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The sending side: `send` never blocks and never throws.
 *
 * @example
 * ```ts ignore
 * const transport = new TcpRaftTransport({ nodeId: 1, peers: new Map([[2, { host: "127.0.0.1", port: 9093 }]]) });
 * transport.send({ from: 1, to: 2, messages });
 * ```
 */
export class TcpRaftTransport implements Transport {
  readonly #links = new Map<NodeId, PeerLink>();

  constructor(private readonly options: RaftTransportOptions) {
    for (const [id, address] of options.peers) {
      if (id === options.nodeId) continue;
      this.#links.set(
        id,
        new PeerLink(id, address, options.maxQueuedBytes ?? 64 << 20, options.logger ?? silentLogger),
      );
    }
  }

  send(batch: MessageBatch): void {
    const link = this.#links.get(batch.to);
    if (!link) {
      this.options.logger?.warn("raft message for an unknown node dropped", { to: batch.to });
      return;
    }
    link.enqueue(frame(batch));
  }

  /** Closes every outgoing connection. */
  close(): void {
    for (const link of this.#links.values()) link.close();
  }
}

/**
 * The receiving side: an inter-broker listener that hands every batch to `onBatch`. A malformed or oversized
 * frame closes only its connection.
 *
 * @example
 * ```ts ignore
 * const listener = RaftListener.listen({ hostname: "127.0.0.1", port: 0, onBatch: (b) => multiRaft.receive(b) });
 * ```
 */
export class RaftListener {
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #accepting: Promise<void>;

  private constructor(
    listener: Deno.TcpListener,
    private readonly onBatch: (batch: MessageBatch) => void,
    private readonly maxFrameBytes: number,
    private readonly logger: Logger,
  ) {
    this.#listener = listener;
    this.#accepting = this.#accept();
  }

  /** Binds and starts accepting. */
  static listen(options: {
    hostname: string;
    port: number;
    onBatch: (batch: MessageBatch) => void;
    maxFrameBytes?: number;
    logger?: Logger;
  }): RaftListener {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    return new RaftListener(
      listener,
      options.onBatch,
      options.maxFrameBytes ?? 256 << 20,
      options.logger ?? silentLogger,
    );
  }

  /** The bound port (a port 0 listener gets a free one). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        conn.setNoDelay(true);
        this.#conns.add(conn);
        void this.#serve(conn).finally(() => this.#conns.delete(conn));
      }
    } catch {
      // the listener was closed
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const reader = new FrameReader(this.maxFrameBytes);
    try {
      while (true) {
        const n = await conn.read(reader.space());
        if (n === null) return;
        reader.filled(n);
        for (let f = reader.next(); f !== null; f = reader.next()) this.onBatch(decodeMessageBatch(f));
      }
    } catch (e) {
      this.logger.warn("raft connection closed", { error: String(e) });
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await this.#accepting;
  }
}
