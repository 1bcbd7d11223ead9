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
 * - `ACCEPTED` / `REFUSED`: the answer to a hello received on a Kafka client listener (`broker/node_hello.ts`),
 *   where partition replication travels (`broker/replication/replication_network.ts`).
 *
 * {@linkcode NodeConnectionServer} serves one such connection, whichever listener accepted it: the CONTROLLER
 * listener ({@linkcode RaftListener}) or a client listener that handed the connection over.
 *
 * @module
 */
import { decodeMessageBatch, encodeMessageBatch } from "../raft/message_codec.ts";
import type { MessageBatch, Transport } from "../raft/transport.ts";
import type { NodeId } from "../raft/types.ts";
import { FrameReader } from "./connection.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { parseListenerHello } from "./node_hello.ts";

/**
 * Reads size-prefixed frames from `conn` and hands each to `onFrame` (in memory of its own: `FrameReader`
 * allocates every frame it returns), until the peer closes the connection; a read error or an oversized frame
 * throws. `reader` continues a stream already begun (bytes it holds are served first).
 */
export async function readFrames(
  conn: Deno.Conn,
  maxFrameBytes: number,
  onFrame: (frame: Uint8Array) => void,
  reader: FrameReader = new FrameReader(maxFrameBytes),
): Promise<void> {
  for (let f = reader.next(); f !== null; f = reader.next()) onFrame(f);
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
export const FrameKind = { Hello: 0, Raft: 1, Request: 2, Response: 3, Accepted: 4, Refused: 5 } as const;

/** Who is on the other end of a connection between nodes. */
export interface NodeHello {
  clusterId: string;
  nodeId: NodeId;
  /**
   * `raft`: the connection carries Raft messages both ways (a node that is not a voter, an observer, has no
   * listener of its own and receives the leader's messages back on the connection it opened).
   * `requests`: controller requests only.
   * `replication`: partition Raft messages from the connecting broker, one way (on a client listener).
   */
  purpose: "raft" | "requests" | "replication";
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

/** What a `PeerLink` needs. */
export interface PeerLinkOptions {
  /** The peer's node id (for logs). */
  id: NodeId;
  /** Where it listens. */
  address: PeerAddress;
  /** Drop the oldest queued frames beyond this many bytes. */
  maxQueuedBytes: number;
  logger: Logger;
  /** The first frame of every connection (size prefix included). */
  hello: Uint8Array;
  /**
   * Wait for the peer's `ACCEPTED` before sending anything else (the hello on a Kafka client listener): a
   * `REFUSED` answer is logged with its reason, and the link retries after its backoff.
   */
  awaitAccepted?: boolean;
  /** Raft messages the peer sends back on this connection (to an observer). */
  onBatch?: (batch: MessageBatch) => void;
  /** Logged with every event of the link, e.g. `{ link: "replication" }`. */
  logFields?: Record<string, unknown>;
}

/** Frames queued together are written in one call up to this size; larger ones are written as they are. */
const COALESCE_WRITE_BYTES = 64 * 1024;

/**
 * One outgoing connection to a peer: frames are queued (bounded, oldest dropped first: Raft resends), written
 * in order, and the connection is re-established with a backoff (50 ms doubling to 2 s) after a failure, on the
 * next `enqueue` or `keepConnected`.
 *
 * @example
 * ```ts ignore
 * const link = new PeerLink({ id: 2, address: { host: "127.0.0.1", port: 9093 }, maxQueuedBytes: 1 << 26, logger, hello });
 * link.enqueue(frameBytes);
 * link.close();
 * ```
 */
export class PeerLink {
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #conn: Deno.TcpConn | undefined;
  #connecting = false;
  #writing = false;
  #backoffMs = FIRST_BACKOFF_MS;
  #retryAt = 0;
  #closed = false;
  #address: PeerAddress;
  readonly #logger: Logger;

  constructor(private readonly options: PeerLinkOptions) {
    this.#address = options.address;
    this.#logger = options.logFields ? options.logger.child(options.logFields) : options.logger;
  }

  /** True while a connection is established (and, with `awaitAccepted`, accepted). */
  get connected(): boolean {
    return this.#conn !== undefined;
  }

  /** Connects now if not connected (an observer keeps its links open to hear from the leader). */
  keepConnected(): void {
    this.#pump();
  }

  /** Points the link at a new address (a restarted peer on another port); the next connection uses it. */
  retarget(address: PeerAddress): void {
    if (address.host === this.#address.host && address.port === this.#address.port) return;
    this.#address = address;
    // A connection to the old address may still be up: the next one must go to the new address.
    if (this.#conn) this.#failed(new Error(`peer moved to ${address.host}:${address.port}`));
    this.#retryAt = 0;
  }

  enqueue(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    while (this.#queuedBytes > this.options.maxQueuedBytes && this.#queue.length > 1) {
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
    if (this.#queue.length > 0) void this.#write();
  }

  async #connect(): Promise<void> {
    this.#connecting = true;
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await Deno.connect({ hostname: this.#address.host, port: this.#address.port });
      conn.setNoDelay(true);
      if (this.#closed) {
        conn.close();
        return;
      }
      const hello = this.options.hello;
      let written = 0;
      while (written < hello.length) written += await conn.write(hello.subarray(written));
      const reader = new FrameReader(256 << 20);
      if (this.options.awaitAccepted) await this.#accepted(conn, reader);
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#conn = conn;
      void this.#read(conn, reader);
      this.#backoffMs = FIRST_BACKOFF_MS;
      this.#logger.info("raft peer connected", { peer: this.options.id });
    } catch (e) {
      if (conn && this.#conn !== conn) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      this.#failed(e);
    } finally {
      this.#connecting = false;
    }
    this.#pump();
  }

  /** Waits for the peer's answer to the hello; throws (after logging a refusal) unless it is `ACCEPTED`. */
  async #accepted(conn: Deno.TcpConn, reader: FrameReader): Promise<void> {
    for (;;) {
      const frame = reader.next();
      if (frame !== null) {
        if (frame[0] === FrameKind.Accepted) return;
        if (frame[0] === FrameKind.Refused) {
          const { reason } = jsonBody(frame) as { reason: string };
          this.#logger.error("peer refused the connection", { peer: this.options.id, reason });
          throw new Error(`refused: ${reason}`);
        }
        throw new Error(`unexpected frame kind ${frame[0]} before the hello was accepted`);
      }
      const n = await conn.read(reader.space());
      if (n === null) throw new Error("connection closed before the hello was accepted");
      reader.filled(n);
    }
  }

  /** Raft messages the peer sends back on this connection (to an observer), until it closes. */
  async #read(conn: Deno.TcpConn, reader: FrameReader): Promise<void> {
    try {
      await readFrames(conn, 256 << 20, (f) => {
        if (f[0] === FrameKind.Raft && this.options.onBatch) this.options.onBatch(decodeMessageBatch(f.subarray(1)));
      }, reader);
    } catch {
      // closed: the writer notices and reconnects
    }
    if (this.#conn === conn) this.#failed(new Error("connection closed by the peer"));
  }

  async #write(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#conn && this.#queue.length > 0) {
        // Small frames go out together; a large one alone, as it is (copying it would cost more than a write).
        let count = 1;
        let bytes = this.#queue[0].length;
        while (count < this.#queue.length && bytes + this.#queue[count].length <= COALESCE_WRITE_BYTES) {
          bytes += this.#queue[count++].length;
        }
        const chunk = count === 1 ? this.#queue[0] : concat(this.#queue.slice(0, count));
        this.#queue.splice(0, count);
        this.#queuedBytes -= bytes;
        let written = 0;
        while (written < chunk.length) written += await this.#conn.write(chunk.subarray(written));
      }
    } catch (e) {
      this.#failed(e);
    } finally {
      this.#writing = false;
    }
    // Frames queued while the connection was being replaced wait for the next one.
    if (!this.#conn && this.#queue.length > 0) this.#pump();
  }

  /** Drops the connection and what was queued (Raft resends); the next send reconnects after a backoff. */
  #failed(e: unknown): void {
    this.#logger.debug("raft peer unreachable", {
      peer: this.options.id,
      error: String(e),
      retry_ms: this.#backoffMs,
    });
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
    this.#queue = [];
    this.#queuedBytes = 0;
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

/** What a `NodeConnectionServer` needs. */
export interface NodeServerOptions {
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

/** What `RaftListener.listen` needs. */
export interface RaftListenerOptions extends NodeServerOptions {
  hostname: string;
  port: number;
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
    this.#links.set(
      id,
      new PeerLink({
        id,
        address,
        maxQueuedBytes: this.options.maxQueuedBytes ?? 64 << 20,
        logger: this.options.logger ?? silentLogger,
        hello: this.#hello,
        onBatch: this.options.onBatch,
      }),
    );
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
 * Frames of a node connection handed over by a client listener are read through a buffer this small, so that
 * every frame larger than it (any frame carrying a record batch) is read by the socket straight into memory of
 * its own: the batches it carries are then decoded as views of that memory and reach the follower's log without
 * another copy. The price is one more read per frame. Measured on loopback (2 vCPU, busy machine, December
 * 2026): ~5 us more CPU per frame for 1 KiB frames (17 against 12 ms of CPU per MB with a 64 KiB buffer), no
 * measurable difference from 8 KiB frames up; frames are coalesced per peer and turn of the sender's event loop,
 * so they are small only when the load is light.
 */
const HANDED_OVER_READ_BUFFER_BYTES = 8;

/**
 * Serves node-protocol connections, whichever listener accepted them: checks the hello (same cluster, another
 * node id), then hands every Raft batch to `onBatch` and answers every controller request with `onRequest`. A
 * malformed or oversized frame, a refused hello, or a batch claiming another sender closes only its connection,
 * with the reason logged.
 *
 * @example
 * ```ts ignore
 * const server = new NodeConnectionServer({ clusterId, nodeId: 1, onBatch: (b) => replicas.receive(b), logger });
 * void server.serve(acceptedConn); // its first frame is the hello
 * await server.close();
 * ```
 */
export class NodeConnectionServer {
  readonly #conns = new Set<Deno.Conn>();
  readonly #serving = new Set<Promise<void>>();
  #closed = false;

  constructor(private readonly options: NodeServerOptions) {}

  get #logger(): Logger {
    return this.options.logger ?? silentLogger;
  }

  /** Connections being served. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  /** Serves a connection accepted by a node listener, whose first frame is a `HELLO` frame; closes it at the end. */
  serve(conn: Deno.Conn): Promise<void> {
    return this.#track(conn, async (replier) => {
      const reader = new FrameReader(this.#maxFrameBytes);
      let peer: NodeHello | undefined;
      let detach: (() => void) | undefined;
      const reply = replier.write;
      try {
        await readFrames(conn, this.#maxFrameBytes, (f) => {
          if (peer === undefined) {
            peer = this.#admitHelloFrame(f);
            if (peer.purpose === "raft" && this.options.onRaftPeer) detach = this.options.onRaftPeer(peer, reply);
            return;
          }
          this.#onFrame(f, peer, reply);
        }, reader);
      } finally {
        detach?.();
      }
    });
  }

  /**
   * Serves a connection a Kafka client listener handed over: `hello` is its first frame (`broker/node_hello.ts`)
   * and `reader` what the listener read. The hello is answered `ACCEPTED`, or `REFUSED` with the reason.
   */
  serveHandedOver(conn: Deno.Conn, hello: Uint8Array, reader: FrameReader): Promise<void> {
    return this.#track(conn, async (replier) => {
      const reply = replier.write;
      const parsed = parseListenerHello(hello);
      let peer: NodeHello;
      try {
        if (!parsed.ok) throw new RefusedHello(`a malformed node hello: ${parsed.reason}`, {});
        peer = this.#admit(parsed.hello);
        // The peer waits for ACCEPTED before it sends anything more, so the listener's buffer holds nothing else.
        if (reader.bufferedBytes > 0) {
          throw new RefusedHello("a node that sent frames before its hello was accepted", {});
        }
      } catch (e) {
        if (e instanceof RefusedHello) reply(jsonFrame(FrameKind.Refused, { reason: e.message }));
        throw e;
      }
      reply(nodeFrame(FrameKind.Accepted, new Uint8Array(0)));
      const own = new FrameReader(this.#maxFrameBytes, HANDED_OVER_READ_BUFFER_BYTES);
      await readFrames(conn, this.#maxFrameBytes, (f) => this.#onFrame(f, peer, reply), own);
    });
  }

  get #maxFrameBytes(): number {
    return this.options.maxFrameBytes ?? 256 << 20;
  }

  /** Runs `body` for `conn` (which it may refuse by throwing RefusedHello), then closes `conn`. */
  async #track(conn: Deno.Conn, body: (reply: Replier) => Promise<void>): Promise<void> {
    if (this.#closed) {
      closeQuietly(conn);
      return;
    }
    this.#conns.add(conn);
    let done!: () => void;
    const serving = new Promise<void>((r) => done = r);
    this.#serving.add(serving);
    const reply = new Replier(conn);
    try {
      await body(reply);
    } catch (e) {
      const remote = conn.remoteAddr as Deno.NetAddr;
      const where = { remote: `${remote.hostname}:${remote.port}` };
      if (e instanceof RefusedHello) {
        this.#logger.error(`refused ${e.message}`, { ...where, ...e.fields });
        // Let the refusal's reason (a few bytes) reach the peer before the socket goes.
        await reply.flushed();
      } else if (!this.#closed) this.#logger.warn("node connection closed", { error: String(e), ...where });
    } finally {
      closeQuietly(conn);
      this.#conns.delete(conn);
      this.#serving.delete(serving);
      done();
    }
  }

  /** A `HELLO` frame's peer; throws RefusedHello. */
  #admitHelloFrame(frame: Uint8Array): NodeHello {
    if (frame[0] !== FrameKind.Hello) {
      throw new RefusedHello("a connection that did not introduce itself", { kind: frame[0] });
    }
    return this.#admit(jsonBody(frame) as NodeHello);
  }

  /** Checks who the peer says it is; throws RefusedHello naming the mismatch. */
  #admit(hello: NodeHello): NodeHello {
    const clusterId = this.options.clusterId ?? "";
    if (hello.clusterId !== clusterId) {
      throw new RefusedHello("a node of another cluster", {
        peer: hello.nodeId,
        peer_cluster_id: hello.clusterId,
        cluster_id: clusterId,
      });
    }
    if (this.options.nodeId !== undefined && hello.nodeId === this.options.nodeId) {
      throw new RefusedHello("a node with this node's own node.id: two nodes share it", { node_id: hello.nodeId });
    }
    return hello;
  }

  #onFrame(f: Uint8Array, peer: NodeHello, reply: (bytes: Uint8Array) => void): void {
    if (f[0] === FrameKind.Raft) {
      // A view, not a copy: every frame the reader returns is memory of its own, which the entries keep.
      const batch = decodeMessageBatch(f.subarray(1));
      if (batch.from !== peer.nodeId) throw new Error(`node ${peer.nodeId} sent a batch from node ${batch.from}`);
      this.options.onBatch(batch);
    } else if (f[0] === FrameKind.Request) this.#answer(jsonBody(f) as NodeRequest, peer, reply);
    else throw new Error(`unexpected frame kind ${f[0]}`);
  }

  #answer(request: NodeRequest, peer: NodeHello, reply: (bytes: Uint8Array) => void): void {
    const handler = this.options.onRequest;
    const answer = handler ? handler(request.op, request.args, peer) : Promise.reject(new Error("no controller here"));
    answer.then(
      (value) => reply(jsonFrame(FrameKind.Response, { id: request.id, ok: true, value })),
      (e) => reply(jsonFrame(FrameKind.Response, { id: request.id, ok: false, error: String(e?.message ?? e) })),
    );
  }

  /** Closes every connection and waits until none is served. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const conn of this.#conns) closeQuietly(conn);
    await Promise.all(this.#serving);
  }
}

/** Writes frames back on one connection, one after another, never throwing (a failed write ends them). */
class Replier {
  #chain: Promise<void> = Promise.resolve();

  constructor(private readonly conn: Deno.Conn) {}

  readonly write = (bytes: Uint8Array): void => {
    this.#chain = this.#chain.then(async () => {
      let written = 0;
      while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
    }).catch(() => {});
  };

  /** Resolves once every frame written so far went out (or failed). */
  flushed(): Promise<void> {
    return this.#chain;
  }
}

/** A hello this node refuses: the connection is closed and the reason logged (and told to the peer if it asks). */
class RefusedHello extends Error {
  constructor(message: string, readonly fields: Record<string, unknown>) {
    super(message);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/**
 * The receiving side of the metadata quorum: the CONTROLLER listener, serving each connection with a
 * {@linkcode NodeConnectionServer}.
 *
 * @example
 * ```ts ignore
 * const listener = RaftListener.listen({ hostname: "127.0.0.1", port: 0, onBatch: (b) => multiRaft.receive(b) });
 * ```
 */
export class RaftListener {
  readonly #listener: Deno.TcpListener;
  readonly #server: NodeConnectionServer;
  readonly #accepting: Promise<void>;

  private constructor(listener: Deno.TcpListener, options: NodeServerOptions) {
    this.#listener = listener;
    this.#server = new NodeConnectionServer(options);
    this.#accepting = this.#accept();
  }

  /** Binds and starts accepting. */
  static listen(options: RaftListenerOptions): RaftListener {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    return new RaftListener(listener, options);
  }

  /** The bound port (a port 0 listener gets a free one). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        conn.setNoDelay(true);
        void this.#server.serve(conn);
      }
    } catch {
      // the listener was closed
    }
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#server.close();
    await this.#accepting;
  }
}
