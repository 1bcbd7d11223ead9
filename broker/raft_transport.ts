/**
 * Raft between nodes over TCP: a listener (the CONTROLLER listener of a cluster) and one outgoing connection per
 * peer, framed as Kafka frames (a 4-byte big-endian size), each frame starting with a kind byte:
 *
 * - `HELLO` (first frame of every connection): JSON `{clusterId, nodeId}`. A listener refuses, with an error
 *   logged, a connection from another cluster or one claiming the listener's own node id (two nodes with one id).
 * - `RAFT`: the bytes of `raft/message_codec.ts`. Messages are one-way, so nothing waits for an answer; a peer
 *   that cannot be reached loses what was queued for it, which Raft tolerates (it retries), and the connection
 *   is re-established with a backoff.
 * - `REQUEST` / `RESPONSE`: JSON controller requests (`{id, op, args}` → `{id, ok, value | error}`), how a
 *   node forwards metadata changes to the active controller (see `broker/metadata/controller_client.ts`).
 *
 * @module
 */
import { decodeMessageBatch, encodeMessageBatch } from "../raft/message_codec.ts";
import type { MessageBatch, Transport } from "../raft/transport.ts";
import type { NodeId } from "../raft/types.ts";
import { FrameReader } from "./connection.ts";
import { type Logger, silentLogger } from "./logger.ts";

/**
 * Reads size-prefixed frames from `conn` and hands each to `onFrame` (a view into a reused buffer: copy what is
 * kept), until the peer closes the connection; a read error or an oversized frame throws.
 */
export async function readFrames(
  conn: Deno.TcpConn,
  maxFrameBytes: number,
  onFrame: (frame: Uint8Array) => void,
): Promise<void> {
  const reader = new FrameReader(maxFrameBytes);
  while (true) {
    const n = await conn.read(reader.space());
    if (n === null) return;
    reader.filled(n);
    for (let f = reader.next(); f !== null; f = reader.next()) onFrame(f);
  }
}

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
  /** The cluster id sent in every connection's hello ("" in tests of the transport alone). */
  clusterId?: string;
  /** Raft messages peers send back on this node's own connections (an observer's only way to hear them). */
  onBatch?: (batch: MessageBatch) => void;
  logger?: Logger;
}

const MAX_BACKOFF_MS = 2000;
const FIRST_BACKOFF_MS = 50;

/** What a frame between nodes carries: its first byte. */
export const FrameKind = { Hello: 0, Raft: 1, Request: 2, Response: 3 } as const;

/** Who is on the other end of a connection between nodes. */
export interface NodeHello {
  clusterId: string;
  nodeId: NodeId;
  /**
   * `raft`: the connection carries Raft messages both ways (a node that is not a voter, an observer, has no
   * listener of its own and receives the leader's messages back on the connection it opened).
   * `requests`: controller requests only.
   */
  purpose: "raft" | "requests";
}

/** A size-prefixed frame of `kind` carrying `body`. */
export function nodeFrame(kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setInt32(0, body.length + 1);
  out[4] = kind;
  out.set(body, 5);
  return out;
}

/** A frame of `kind` carrying `value` as JSON (bigints as decimal strings). */
export function jsonFrame(kind: number, value: unknown): Uint8Array {
  const text = JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v);
  return nodeFrame(kind, new TextEncoder().encode(text));
}

/** The JSON body of a frame (after its kind byte). */
export function jsonBody(frame: Uint8Array): unknown {
  return JSON.parse(new TextDecoder().decode(frame.subarray(1)));
}

function frame(batch: MessageBatch): Uint8Array {
  return nodeFrame(FrameKind.Raft, encodeMessageBatch(batch));
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
    private address: PeerAddress,
    private readonly maxQueuedBytes: number,
    private readonly logger: Logger,
    private readonly hello: Uint8Array,
    private readonly onBatch: ((batch: MessageBatch) => void) | undefined,
  ) {}

  /** Connects now if not connected (an observer keeps its links open to hear from the leader). */
  keepConnected(): void {
    this.#pump();
  }

  /** Points the link at a new address (a restarted peer on another port); the next connection uses it. */
  retarget(address: PeerAddress): void {
    this.address = address;
  }

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
      let written = 0;
      while (written < this.hello.length) written += await conn.write(this.hello.subarray(written));
      this.#conn = conn;
      void this.#read(conn);
      this.#backoffMs = FIRST_BACKOFF_MS;
      this.logger.info("raft peer connected", { peer: this.id });
    } catch (e) {
      this.#failed(e);
    } finally {
      this.#connecting = false;
    }
    this.#pump();
  }

  /** Raft messages the peer sends back on this connection (to an observer), until it closes. */
  async #read(conn: Deno.TcpConn): Promise<void> {
    try {
      await readFrames(conn, 256 << 20, (f) => {
        if (f[0] === FrameKind.Raft && this.onBatch) this.onBatch(decodeMessageBatch(f.slice(1)));
      });
    } catch {
      // closed: the writer notices and reconnects
    }
    if (this.#conn === conn) this.#failed(new Error("connection closed by the peer"));
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

/** A controller request on the wire. */
export interface NodeRequest {
  id: number;
  op: string;
  args: unknown;
}

/** What `RaftListener.listen` needs. */
export interface RaftListenerOptions {
  hostname: string;
  port: number;
  onBatch: (batch: MessageBatch) => void;
  /** Controller requests; without it they are answered with an error. */
  onRequest?: NodeRequestHandler;
  /** The cluster id a connecting node must present ("" in tests of the transport alone). */
  clusterId?: string;
  /** This node: a peer presenting the same id is refused. */
  nodeId?: NodeId;
  /** A node opened a Raft connection: `write` sends frames back on it. Returns what to call when it closes. */
  onRaftPeer?: (peer: NodeHello, write: (bytes: Uint8Array) => void) => () => void;
  maxFrameBytes?: number;
  logger?: Logger;
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

  readonly #hello: Uint8Array;
  /** Connections observers opened to this node's listener, by observer id: how messages reach them. */
  readonly #returnPaths = new Map<NodeId, (bytes: Uint8Array) => void>();

  constructor(private readonly options: RaftTransportOptions) {
    const hello: NodeHello = { clusterId: options.clusterId ?? "", nodeId: options.nodeId, purpose: "raft" };
    this.#hello = jsonFrame(FrameKind.Hello, hello);
    for (const [id, address] of options.peers) this.setPeer(id, address);
  }

  /** Adds a peer, or moves a known one to a new address (an observer that registered). */
  setPeer(id: NodeId, address: PeerAddress): void {
    if (id === this.options.nodeId) return;
    const link = this.#links.get(id);
    if (link) {
      link.retarget(address);
      return;
    }
    const logger = this.options.logger ?? silentLogger;
    const maxQueued = this.options.maxQueuedBytes ?? 64 << 20;
    this.#links.set(id, new PeerLink(id, address, maxQueued, logger, this.#hello, this.options.onBatch));
  }

  /**
   * Routes messages for `id` (a node this one has no address for: an observer) over a connection it opened
   * to this node's listener. Returns the function that forgets the route when that connection closes.
   */
  attachReturnPath(id: NodeId, write: (bytes: Uint8Array) => void): () => void {
    this.#returnPaths.set(id, write);
    return () => {
      if (this.#returnPaths.get(id) === write) this.#returnPaths.delete(id);
    };
  }

  /** Opens every link that is down (an observer calls this on its clock, so the leader can reach it). */
  keepConnected(): void {
    for (const link of this.#links.values()) link.keepConnected();
  }

  send(batch: MessageBatch): void {
    const link = this.#links.get(batch.to);
    if (!link) {
      const back = this.#returnPaths.get(batch.to);
      if (back) {
        back(frame(batch));
        return;
      }
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

/** Answers a controller request arriving on the listener; a thrown error goes back as the error text. */
export type NodeRequestHandler = (op: string, args: unknown, from: NodeHello) => Promise<unknown>;

/**
 * The receiving side: an inter-node listener that hands every Raft batch to `onBatch` and every controller
 * request to `onRequest`. A malformed or oversized frame, or a hello from another cluster, closes only its
 * connection.
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
    private readonly options: RaftListenerOptions,
  ) {
    this.#listener = listener;
    this.#accepting = this.#accept();
  }

  /** Binds and starts accepting. */
  static listen(options: RaftListenerOptions): RaftListener {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    return new RaftListener(listener, options);
  }

  get #logger(): Logger {
    return this.options.logger ?? silentLogger;
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

  /** Checks a connection's hello; returns the peer, or undefined after logging why it is refused. */
  #admit(frame: Uint8Array): NodeHello | undefined {
    if (frame[0] !== FrameKind.Hello) {
      this.#logger.error("refused a connection that did not introduce itself", { kind: frame[0] });
      return undefined;
    }
    const hello = jsonBody(frame) as NodeHello;
    const clusterId = this.options.clusterId ?? "";
    if (hello.clusterId !== clusterId) {
      this.#logger.error("refused a node of another cluster", {
        peer: hello.nodeId,
        peer_cluster_id: hello.clusterId,
        cluster_id: clusterId,
      });
      return undefined;
    }
    if (this.options.nodeId !== undefined && hello.nodeId === this.options.nodeId) {
      this.#logger.error("refused a node with this node's own node.id: two nodes share it", { node_id: hello.nodeId });
      return undefined;
    }
    return hello;
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const reader = new FrameReader(this.options.maxFrameBytes ?? 256 << 20);
    let peer: NodeHello | undefined;
    let detach: (() => void) | undefined;
    let writing = Promise.resolve();
    const reply = (bytes: Uint8Array) => {
      writing = writing.then(async () => {
        let written = 0;
        while (written < bytes.length) written += await conn.write(bytes.subarray(written));
      }).catch(() => {});
    };
    try {
      while (true) {
        const n = await conn.read(reader.space());
        if (n === null) return;
        reader.filled(n);
        for (let f = reader.next(); f !== null; f = reader.next()) {
          if (peer === undefined) {
            peer = this.#admit(f);
            if (peer === undefined) return;
            if (peer.purpose === "raft" && this.options.onRaftPeer) detach = this.options.onRaftPeer(peer, reply);
            continue;
          }
          // A copy: entries keep their payloads (views of the frame) after the reader reuses its buffer.
          if (f[0] === FrameKind.Raft) this.options.onBatch(decodeMessageBatch(f.slice(1)));
          else if (f[0] === FrameKind.Request) this.#answer(jsonBody(f) as NodeRequest, peer, reply);
          else throw new Error(`unexpected frame kind ${f[0]}`);
        }
      }
    } catch (e) {
      this.#logger.warn("raft connection closed", { error: String(e) });
    } finally {
      detach?.();
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  #answer(request: NodeRequest, peer: NodeHello, reply: (bytes: Uint8Array) => void): void {
    const handler = this.options.onRequest;
    const answer = handler ? handler(request.op, request.args, peer) : Promise.reject(new Error("no controller here"));
    answer.then(
      (value) => reply(jsonFrame(FrameKind.Response, { id: request.id, ok: true, value })),
      (e) => reply(jsonFrame(FrameKind.Response, { id: request.id, ok: false, error: String(e?.message ?? e) })),
    );
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
