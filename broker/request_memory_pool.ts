/**
 * The broker-wide bound on request bytes in flight, Kafka's `queued.max.request.bytes`: a connection reserves
 * a request's size as soon as its size prefix is read, before the request's memory is allocated, and gives it
 * back once the request has been answered. While the pool is exhausted, connections stop reading (TCP then
 * holds their clients back) and wait in arrival order.
 *
 * As in Kafka's memory pool, a reservation is granted whenever anything is left, even if the request is larger
 * than what is left: a single request larger than the bound still gets through once the others are done, so
 * no request size below `socket.request.max.bytes` can wait forever. The bound may thus be exceeded by at most
 * one request.
 *
 * @module
 */

/**
 * A byte budget shared by every connection of a server.
 *
 * @example
 * ```ts
 * import { RequestMemoryPool } from "./request_memory_pool.ts";
 * const pool = new RequestMemoryPool(1000);
 * pool.tryReserve(1500); // true: something was left
 * pool.tryReserve(10); // false: exhausted until a release
 * const waiting = pool.available(); // resolves once bytes are released
 * pool.release(1500);
 * await waiting;
 * ```
 */
export class RequestMemoryPool {
  /** The bound in bytes. */
  readonly maxBytes: number;
  #used = 0;
  readonly #waiters: (() => void)[] = [];

  /** A pool of `maxBytes` (positive). */
  constructor(maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError(`queued.max.request.bytes must be positive, got ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  /** Bytes reserved now. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Connections waiting for memory. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Reserves `bytes` if anything is left (and nobody waits before us); false when exhausted. */
  tryReserve(bytes: number): boolean {
    if (this.#used >= this.maxBytes || this.#waiters.length > 0) return false;
    this.#used += bytes;
    return true;
  }

  /**
   * Reserves `bytes`, waiting in arrival order while the pool is exhausted.
   */
  async reserve(bytes: number, signal?: AbortSignal): Promise<boolean> {
    if (this.tryReserve(bytes)) return true;
    for (;;) {
      await this.available(signal);
      if (signal?.aborted) {
        this.#wakeNext();
        return false;
      }
      if (this.#used < this.maxBytes) {
        this.#used += bytes;
        this.#wakeNext();
        return true;
      }
    }
  }

  /** Resolves when bytes have been released (or `signal` aborts). */
  available(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      this.#waiters.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Gives back `bytes` and wakes waiters while something is left. */
  release(bytes: number): void {
    this.#used -= bytes;
    if (this.#used < 0) this.#used = 0;
    this.#wakeNext();
  }

  /**
   * Wakes the longest waiter if anything is left. One at a time, so arrival order holds: a woken waiter wakes
   * the next once it has reserved.
   */
  #wakeNext(): void {
    if (this.#used < this.maxBytes) this.#waiters.shift()?.();
  }
}
