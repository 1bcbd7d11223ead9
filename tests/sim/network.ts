/**
 * The simulated network: every message waits in one queue with a delivery time. Faults come from a seeded
 * PRNG: delay (hence reordering), loss, duplication, and partitions (symmetric or one-way) that drop
 * messages both when sent and when due.
 *
 * @module
 */
import type { Message, NodeId } from "../../raft/types.ts";

/** Fault rates of the network; all zero means a perfect, instantaneous, ordered network. */
export interface NetworkFaults {
  /** Probability a message is lost. */
  loss: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Largest delay in ticks (uniform in `[0, maxDelay]`). */
  maxDelay: number;
}

interface InFlight {
  m: Message;
  at: number;
  seq: number;
}

/** Messages in flight between simulated nodes. */
export class Network {
  now = 0;
  faults: NetworkFaults = { loss: 0, duplicate: 0, maxDelay: 0 };
  #queue: InFlight[] = [];
  #blocked = new Set<string>();
  #seq = 0;
  /** Counters, for reports. */
  stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(readonly random: () => number) {}

  /** Whether messages from `from` to `to` are cut. */
  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.#blocked.has(`${from}>${to}`);
  }

  /** Cuts `from -> to` (one way). */
  block(from: NodeId, to: NodeId): void {
    this.#blocked.add(`${from}>${to}`);
  }

  /** Splits the nodes into groups that cannot talk to each other (in both directions). */
  partition(groups: NodeId[][]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i]) for (const b of groups[j]) this.block(a, b);
      }
    }
  }

  /** Removes every partition. */
  heal(): void {
    this.#blocked.clear();
  }

  /** Describes the current cuts. */
  describeCuts(): string {
    return [...this.#blocked].sort().join(" ");
  }

  /** Queues `m` subject to the current faults. */
  send(m: Message): void {
    this.stats.sent++;
    if (this.isBlocked(m.from, m.to) || this.random() < this.faults.loss) {
      this.stats.dropped++;
      return;
    }
    this.#enqueue(m);
    if (this.random() < this.faults.duplicate) {
      this.stats.duplicated++;
      this.#enqueue(m);
    }
  }

  #enqueue(m: Message): void {
    const delay = this.faults.maxDelay === 0 ? 0 : Math.floor(this.random() * (this.faults.maxDelay + 1));
    this.#queue.push({ m, at: this.now + delay, seq: this.#seq++ });
  }

  /** Removes and returns the messages due now, in delivery order; those crossing a cut are dropped. */
  takeDue(): Message[] {
    const due: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.#queue) (f.at <= this.now ? due : rest).push(f);
    this.#queue = rest;
    due.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const out: Message[] = [];
    for (const f of due) {
      if (this.isBlocked(f.m.from, f.m.to)) this.stats.dropped++;
      else out.push(f.m);
    }
    this.stats.delivered += out.length;
    return out;
  }

  /** Number of messages in flight. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Drops every message in flight. */
  clear(): void {
    this.#queue = [];
  }
}
