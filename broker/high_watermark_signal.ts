/**
 * Wakes fetch long polls when a partition's high watermark moves: waiting costs no timer per partition and no
 * polling, only a callback that the next advance runs.
 *
 * @module
 */

/**
 * A signal whose listeners run once, at the next `notify()`.
 *
 * @example
 * ```ts
 * import { AdvanceSignal } from "./high_watermark_signal.ts";
 * const signal = new AdvanceSignal();
 * const cancel = signal.once(() => console.log("advanced"));
 * signal.notify(); // logs "advanced"
 * cancel(); // no effect after it ran; before, it would have removed the listener
 * ```
 */
export class AdvanceSignal {
  #listeners = new Set<() => void>();

  /** Runs `listener` at the next `notify()`; the returned function removes it (a long poll that timed out). */
  once(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs and removes every listener. */
  notify(): void {
    if (this.#listeners.size === 0) return;
    const listeners = this.#listeners;
    this.#listeners = new Set();
    for (const listener of listeners) listener();
  }
}
