/**
 * How nodes exchange Raft messages: one batch per destination node per round, carrying the messages of
 * every group hosted on both ends. The TCP implementation lives with the broker; {@linkcode MemoryTransport}
 * connects in-process nodes for tests and the simulator.
 *
 * @module
 */
import type { Message, NodeId } from "./types.ts";

/** A message of one group. */
export interface GroupMessage {
  /** Group id (for the broker: the partition, e.g. "orders-3"). */
  group: string;
  /** The message. */
  message: Message;
}

/** Every message from one node to another produced in one round, coalesced. */
export interface MessageBatch {
  /** Sending node. */
  from: NodeId;
  /** Receiving node. */
  to: NodeId;
  /** The messages, of any groups. */
  messages: GroupMessage[];
}

/** Sends batches to other nodes; delivery may fail silently (Raft retries). */
export interface Transport {
  /** Queues `batch` for `batch.to`. Must not throw on an unreachable node. */
  send(batch: MessageBatch): void;
}

/**
 * An in-memory network of nodes: batches wait in a queue until `deliver()` hands them to the receiving
 * node's handler, so tests decide when messages arrive.
 *
 * @example
 * ```ts
 * import { MemoryTransport } from "./transport.ts";
 * const net = new MemoryTransport();
 * const received: number[] = [];
 * net.register(2, (b) => received.push(b.messages.length));
 * net.endpoint(1).send({ from: 1, to: 2, messages: [] });
 * net.deliver(); // received = [0]
 * ```
 */
export class MemoryTransport {
  #handlers = new Map<NodeId, (batch: MessageBatch) => void>();
  #queue: MessageBatch[] = [];
  #down = new Set<NodeId>();
  /** Batches sent so far. */
  batchesSent = 0;
  /** Messages sent so far, over all batches. */
  messagesSent = 0;

  /** Routes batches for `id` to `handler`. */
  register(id: NodeId, handler: (batch: MessageBatch) => void): void {
    this.#handlers.set(id, handler);
  }

  /** The transport a node sends through. */
  endpoint(_id: NodeId): Transport {
    return {
      send: (batch) => {
        this.batchesSent++;
        this.messagesSent += batch.messages.length;
        this.#queue.push(batch);
      },
    };
  }

  /** Makes `id` unreachable (batches to and from it are dropped) or reachable again. */
  setDown(id: NodeId, down: boolean): void {
    if (down) this.#down.add(id);
    else this.#down.delete(id);
  }

  /** Delivers every queued batch; returns how many were delivered. */
  deliver(): number {
    const q = this.#queue;
    this.#queue = [];
    let n = 0;
    for (const b of q) {
      if (this.#down.has(b.from) || this.#down.has(b.to)) continue;
      const h = this.#handlers.get(b.to);
      if (h) {
        h(b);
        n++;
      }
    }
    return n;
  }

  /** Batches waiting. */
  get pending(): number {
    return this.#queue.length;
  }
}
