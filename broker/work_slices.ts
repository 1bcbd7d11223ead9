/**
 * Cooperative time slices: how one large request shares the event loop with every other client.
 *
 * JavaScript runs the whole broker on one thread, so a handler looping over a million topics stalls every
 * connection until it finishes. Work that can be large runs in slices instead: a loop asks `due()` (cheap: the
 * clock is read only every `CHECK_EVERY` calls) and, when its slice of `SLICE_MS` is used up, awaits `pause()`,
 * which resumes on a later macrotask so that socket reads, timers and other requests run in between.
 *
 * The pause is `setTimeout(0)` (~2.3 ms here). Cheaper macrotasks exist, but in Deno 2.9.6 they do not let
 * socket I/O in: with 10 ms slices separated by `setImmediate` (node:timers, ~12 us) or a MessageChannel
 * round trip (~17 us), a client on another connection got 1 and 0 round trips in 3 s; with `setTimeout(0)`,
 * thousands, the slowest 56 ms (tests/bench/yield.ts prints these figures). Only a timer turn polls the
 * sockets. The ~2 ms is not lost when other clients wait (it is their turn); it costs a large request alone
 * ~20% of its time, the price of the others' latency.
 *
 * Only requests the dispatcher marks as large (see `slicerFor`) pause. While one does, the requests after it on
 * the same connection wait for its ordered part to end (`endOrdered`: a Produce's appends), so pausing never
 * lets a later request of the same connection overtake an earlier one (a producer's batches stay in order).
 *
 * @module
 */
/** Work between two pauses: long enough that pausing costs nothing noticeable, short enough to go unnoticed. */
export const SLICE_MS = 10;

/** `due()` reads the clock once per this many calls. */
const CHECK_EVERY = 64;

/** Resolves on a later turn of the event loop, after pending socket I/O has been polled and served. */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Tells a loop when to pause. `now` is injectable so the decision can be tested without a clock.
 *
 * @example
 * ```ts
 * import { WorkSlicer } from "./work_slices.ts";
 * const slicer = new WorkSlicer();
 * let sum = 0;
 * for (let i = 0; i < 1_000_000; i++) {
 *   sum += i;
 *   if (slicer.due()) await slicer.pause();
 * }
 * ```
 */
export class WorkSlicer {
  readonly #sliceMs: number;
  readonly #now: () => number;
  readonly #pauseFn: () => Promise<void>;
  #deadline: number;
  #calls = 0;
  #orderedEnd: (() => void) | null = null;
  /** How many times this slicer paused. */
  pauses = 0;

  /** A slicer whose first slice starts now. */
  constructor(
    sliceMs: number = SLICE_MS,
    now: () => number = () => performance.now(),
    pause: () => Promise<void> = nextMacrotask,
  ) {
    this.#sliceMs = sliceMs;
    this.#now = now;
    this.#pauseFn = pause;
    this.#deadline = now() + sliceMs;
  }

  /** True when the current slice is used up and the caller should `await pause()`. */
  due(): boolean {
    if (++this.#calls < CHECK_EVERY) return false;
    this.#calls = 0;
    return this.#now() >= this.#deadline;
  }

  /** Calls `f` once the request's ordered part ends (see {@link WorkSlicer.endOrdered}). */
  onOrderedEnd(f: () => void): void {
    this.#orderedEnd = f;
  }

  /**
   * Tells the dispatcher that the request has done everything that must happen before the next request of its
   * connection starts (a Produce: its appends), so that request may start while this one waits (for an fsync,
   * say). The dispatcher calls it anyway once the request is answered. Idempotent.
   */
  endOrdered(): void {
    const f = this.#orderedEnd;
    this.#orderedEnd = null;
    f?.();
  }

  /** Like {@link WorkSlicer.due}, reading the clock now: for loops whose steps are coarse (thousands of items). */
  dueNow(): boolean {
    return this.#now() >= this.#deadline;
  }

  /** True when this slicer can pause at all (false for small requests: see {@link slicerFor}). */
  get slices(): boolean {
    return true;
  }

  /** Lets other work run, then starts a new slice. */
  async pause(): Promise<void> {
    this.pauses++;
    await this.#pauseFn();
    this.#deadline = this.#now() + this.#sliceMs;
  }

  /**
   * Runs a generator that yields at its own checkpoints (the `*InSlices` decoders pause every SLICE_ELEMENTS array
   * elements), pausing whenever the slice is used up, and returns its result.
   */
  async run<T>(steps: Generator<void, T>): Promise<T> {
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      if (this.#now() >= this.#deadline) await this.pause();
    }
  }
}

/** A slicer that never pauses: what handlers get for ordinary (small) requests. */
class NeverPauses extends WorkSlicer {
  override due(): boolean {
    return false;
  }

  override dueNow(): boolean {
    return false;
  }

  override get slices(): boolean {
    return false;
  }
}

const NEVER = new NeverPauses(Infinity, () => 0, () => Promise.resolve());
const slicers = new WeakMap<object, WorkSlicer>();

/** Marks a decoded request as large: its handler's loops pause with `slicer` (see {@link slicerFor}). */
export function sliceRequest(request: object, slicer: WorkSlicer): void {
  slicers.set(request, slicer);
}

/**
 * The slicer a handler's loops over `request`'s arrays should consult: a real one for a request the dispatcher
 * decoded in slices, one that never pauses otherwise (small requests keep their synchronous path).
 *
 * @example
 * ```ts ignore
 * const slicer = slicerFor(request);
 * for (const topic of request.body.topics) {
 *   answer(topic);
 *   if (slicer.due()) await slicer.pause();
 * }
 * ```
 */
export function slicerFor(request: object): WorkSlicer {
  return slicers.get(request) ?? NEVER;
}
