/**
 * The replication network between brokers: carries the Raft messages of partition groups (group id
 * `${topicId}:${partition}`) from this broker to the others and back, over each broker's inter-broker listener, a
 * Kafka client listener, as Kafka's replication does. The metadata quorum keeps its own connections on the
 * CONTROLLER listener, so its heartbeats never wait behind record batches.
 *
 * Outgoing: one connection per peer broker (a `PeerLink`: bounded queue dropping the oldest frames, since Raft
 * resends; reconnection with a backoff), opened with the node hello of `broker/node_hello.ts`, which the peer's
 * listener hands to its node-protocol server. Every message sent to one peer within a turn of the event loop,
 * whichever groups sent it, goes out as one `MessageBatch` frame, flushed on a microtask.
 *
 * Incoming: connections that peers' hellos opened on this broker's client listeners, handed over by the listener
 * (`handover`), served by a `NodeConnectionServer`; each batch goes to `onBatch` (the `ReplicaManager`).
 *
 * Copies of a record batch (an append message's entry), leader socket to follower log: the leader's entry is a
 * view of the produce request (or of its log read); encoding the frame copies it once, into a frame whose size
 * prefix and kind byte were reserved in front (no second copy to frame it), and the link writes a frame larger
 * than 64 KiB as it is (smaller ones are joined into one write). The follower's node connection reads through an
 * 8-byte buffer, so the socket reads any frame with a batch in it straight into memory of its own, and the
 * entries are decoded as views of it: one copy in all, the encoding. (Writing payloads by reference instead
 * would cost a write call per entry, ~25 us each in Deno, more than copying a batch of tens of KiB.)
 *
 * @module
 */
import { encodeMessageBatch } from "../../raft/message_codec.ts";
import type { GroupMessage, MessageBatch, Transport } from "../../raft/transport.ts";
import type { NodeId } from "../../raft/types.ts";
import type { ConnectionHandover } from "../connection.ts";
import type { Logger } from "../logger.ts";
import { claimsNodeProtocol, encodeListenerHello } from "../node_hello.ts";
import {
  FrameKind,
  NodeConnectionServer,
  type NodeRequestHandler,
  type PeerAddress,
  PeerLink,
} from "../raft_transport.ts";

/** What `startReplicationNetwork` needs. */
export interface ReplicationNetworkOptions {
  /** This broker's node id. */
  nodeId: NodeId;
  /** The cluster id: peers of another cluster are refused, and refuse this broker. */
  clusterId: string;
  logger: Logger;
  /** Batches from other brokers (`ReplicaManager.receive`). */
  onBatch: (batch: MessageBatch) => void;
  /** Requests other brokers send on these connections (a leadership transfer); refused without it. */
  onRequest?: NodeRequestHandler;
  /** Per peer, the oldest queued frames are dropped beyond this many bytes. Default 64 MiB. */
  maxQueuedBytes?: number;
}

/** What a replication network has sent so far (for tests and metrics). */
export interface ReplicationNetworkStats {
  /** `MessageBatch` frames queued for peers. */
  framesSent: number;
  /** Raft messages in them. */
  messagesSent: number;
}

/**
 * The replication network of one broker: a raft `Transport` to the other brokers, and the server of their
 * connections to this one.
 *
 * @example
 * ```ts ignore
 * const network = startReplicationNetwork({ nodeId: 1, clusterId, logger, onBatch: (b) => replicas.receive(b) });
 * network.setPeer(2, { host: "127.0.0.1", port: 9093 });
 * replicas.attachTransport(network);
 * KafkaServer.listen({ ...options, handover: network.handover });
 * ```
 */
export interface ReplicationNetwork extends Transport {
  /** Sends `batch` to `batch.to` with everything else sent to it in this turn; never throws or blocks. */
  send(batch: MessageBatch): void;
  /** Adds a peer broker, or moves a known one to a new address. */
  setPeer(id: NodeId, address: PeerAddress): void;
  /** Forgets a peer (it was unregistered): its connection closes, messages to it are dropped. */
  removePeer(id: NodeId): void;
  /** The peers and their addresses. */
  peers(): ReadonlyMap<NodeId, PeerAddress>;
  /** Installed on the broker's client listeners: takes the connections peers open with the node hello. */
  readonly handover: ConnectionHandover;
  readonly stats: ReplicationNetworkStats;
  /** Closes every connection, outgoing and incoming; later sends are dropped. */
  close(): Promise<void>;
}

/**
 * Starts the replication network of broker `nodeId` (no socket is opened until a message is sent to a peer).
 *
 * @example
 * ```ts ignore
 * const network = startReplicationNetwork({ nodeId: 1, clusterId: "c", logger, onBatch: console.log });
 * await network.close();
 * ```
 */
export function startReplicationNetwork(options: ReplicationNetworkOptions): ReplicationNetwork {
  return new TcpReplicationNetwork(options);
}

/** Frame header in front of an encoded batch: the size prefix and the kind byte. */
const FRAME_HEADER_BYTES = 5;

class TcpReplicationNetwork implements ReplicationNetwork {
  readonly #links = new Map<NodeId, { address: PeerAddress; link: PeerLink }>();
  /** Messages sent this turn, per peer, waiting for the flush. */
  readonly #pending = new Map<NodeId, GroupMessage[]>();
  #flushScheduled = false;
  #closed = false;
  readonly #hello: Uint8Array;
  readonly #server: NodeConnectionServer;
  readonly #logger: Logger;
  readonly stats: ReplicationNetworkStats = { framesSent: 0, messagesSent: 0 };
  readonly handover: ConnectionHandover;

  constructor(private readonly options: ReplicationNetworkOptions) {
    this.#logger = options.logger.child({ component: "replication" });
    this.#hello = encodeListenerHello({ clusterId: options.clusterId, nodeId: options.nodeId, purpose: "replication" });
    this.#server = new NodeConnectionServer({
      clusterId: options.clusterId,
      nodeId: options.nodeId,
      logger: this.#logger,
      onBatch: (batch) => this.#receive(batch),
      onRequest: options.onRequest,
    });
    this.handover = {
      claims: claimsNodeProtocol,
      take: (conn, frame, reader) => void this.#server.serveHandedOver(conn, frame, reader),
    };
  }

  #receive(batch: MessageBatch): void {
    if (batch.to !== this.options.nodeId) {
      this.#logger.warn("replication batch for another node dropped", { to: batch.to, from: batch.from });
      return;
    }
    try {
      this.options.onBatch(batch);
    } catch (e) {
      // One batch the replicas could not take must not cut the connection the other groups' messages use.
      this.#logger.error("replication batch not delivered", { from: batch.from, error: String(e) });
    }
  }

  send(batch: MessageBatch): void {
    if (this.#closed || batch.messages.length === 0) return;
    if (!this.#links.has(batch.to)) {
      this.#logger.debug("replication message for an unknown broker dropped", { to: batch.to });
      return;
    }
    const pending = this.#pending.get(batch.to);
    if (pending) {
      for (const m of batch.messages) pending.push(m);
    } else this.#pending.set(batch.to, batch.messages.slice());
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /** One frame per peer for everything sent to it since the last flush. */
  #flush(): void {
    this.#flushScheduled = false;
    for (const [to, messages] of this.#pending) {
      const entry = this.#links.get(to);
      if (!entry) continue;
      const frame = encodeMessageBatch({ from: this.options.nodeId, to, messages }, FRAME_HEADER_BYTES);
      new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES).setInt32(0, frame.length - 4);
      frame[4] = FrameKind.Raft;
      entry.link.enqueue(frame);
      this.stats.framesSent++;
      this.stats.messagesSent += messages.length;
    }
    this.#pending.clear();
  }

  setPeer(id: NodeId, address: PeerAddress): void {
    if (this.#closed || id === this.options.nodeId) return;
    const known = this.#links.get(id);
    if (known) {
      known.address = address;
      known.link.retarget(address);
      return;
    }
    const link = new PeerLink({
      id,
      address,
      maxQueuedBytes: this.options.maxQueuedBytes ?? 64 << 20,
      logger: this.#logger,
      hello: this.#hello,
      awaitAccepted: true,
    });
    this.#links.set(id, { address, link });
    this.#logger.debug("replication peer added", { peer: id, address: `${address.host}:${address.port}` });
  }

  removePeer(id: NodeId): void {
    const known = this.#links.get(id);
    if (!known) return;
    known.link.close();
    this.#links.delete(id);
    this.#pending.delete(id);
    this.#logger.debug("replication peer removed", { peer: id });
  }

  peers(): ReadonlyMap<NodeId, PeerAddress> {
    return new Map([...this.#links].map(([id, { address }]) => [id, address]));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.clear();
    for (const { link } of this.#links.values()) link.close();
    this.#links.clear();
    await this.#server.close();
  }
}
