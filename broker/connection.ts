/**
 * One client connection: Kafka framing (a 4-byte big-endian size, then that many bytes), pipelined requests
 * handled concurrently with responses written strictly in request order, and backpressure (the socket is not
 * read while too many responses are pending or unsent).
 *
 * The framing itself is the pure `FrameReader`: it owns a reusable read buffer, hands out the region the next
 * socket read should fill, and cuts complete frames out of it. A frame is allocated only once its size is
 * known and within `socket.request.max.bytes`; a frame larger than the buffer gets its own exact allocation
 * and the socket reads straight into it, so large requests are copied once.
 *
 * @module
 */

import { type Logger, silentLogger } from "./logger.ts";
import type { MalformedKind, MalformedRequestLog } from "./malformed_request_log.ts";
import type { RequestMemoryPool } from "./request_memory_pool.ts";

// ---------------------------------------------------------------------------------------------------------------
// Framing (pure)

/** A size prefix that is negative or over the limit: the connection must be closed, nothing allocated. */
export class FrameSizeError extends Error {
  /** The size the prefix claimed. */
  readonly size: number;
  /** The limit (`socket.request.max.bytes`). */
  readonly maxBytes: number;

  /** Creates the error for a claimed `size` over `maxBytes` (or negative). */
  constructor(size: number, maxBytes: number) {
    super(
      size < 0
        ? `request size ${size} is negative`
        : `request size ${size} is larger than socket.request.max.bytes ${maxBytes}`,
    );
    this.name = "FrameSizeError";
    this.size = size;
    this.maxBytes = maxBytes;
  }
}

/** The default read buffer of a connection: most requests fit, so most reads need no extra allocation. */
export const DEFAULT_READ_BUFFER_BYTES = 64 * 1024;

/**
 * Cuts size-prefixed frames out of a byte stream, without doing any I/O: the caller reads into `space()`,
 * reports the count with `filled(n)`, then calls `next()` until it returns null.
 *
 * @example
 * ```ts
 * import { FrameReader } from "./connection.ts";
 * const reader = new FrameReader(1024);
 * const bytes = new Uint8Array([0, 0, 0, 2, 7, 8, 0, 0]);
 * reader.space().set(bytes);
 * reader.filled(bytes.length);
 * reader.next(); // Uint8Array [7, 8]
 * reader.next(); // null: half of the next size prefix is buffered
 * ```
 */
export class FrameReader {
  readonly #maxFrameBytes: number;
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #start = 0;
  #end = 0;
  #large: Uint8Array | null = null;
  #largeFilled = 0;

  /** A reader that accepts frames of at most `maxFrameBytes`, reading through a buffer of `bufferBytes`. */
  constructor(maxFrameBytes: number, bufferBytes: number = DEFAULT_READ_BUFFER_BYTES) {
    if (!(bufferBytes >= 8)) throw new RangeError("bufferBytes must be at least 8");
    this.#maxFrameBytes = maxFrameBytes;
    this.#buf = new Uint8Array(bufferBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#large !== null ? this.#largeFilled + 4 : this.#end - this.#start;
  }

  /** Where the next read should put its bytes: never empty. */
  space(): Uint8Array {
    if (this.#large !== null) return this.#large.subarray(this.#largeFilled);
    if (this.#end === this.#buf.length) this.#compact();
    return this.#buf.subarray(this.#end);
  }

  /** Records that the last read put `n` bytes at the start of `space()`. */
  filled(n: number): void {
    if (this.#large !== null) this.#largeFilled += n;
    else this.#end += n;
  }

  /**
   * The size of the next frame when its size prefix has arrived and its memory is not yet allocated, else
   * null. Throws FrameSizeError as `next()` does. Lets the caller budget the frame before it is read.
   */
  nextFrameSize(): number | null {
    if (this.#large !== null || this.#end - this.#start < 4) return null;
    const size = this.#view.getInt32(this.#start);
    if (size < 0 || size > this.#maxFrameBytes) throw new FrameSizeError(size, this.#maxFrameBytes);
    return size;
  }

  /**
   * The next complete frame (without its size prefix, in memory of its own), or null when more bytes are
   * needed. Throws FrameSizeError for a negative or oversized prefix; the stream is unusable after that.
   */
  next(): Uint8Array | null {
    if (this.#large !== null) {
      if (this.#largeFilled < this.#large.length) return null;
      const frame = this.#large;
      this.#large = null;
      this.#largeFilled = 0;
      return frame;
    }
    const available = this.#end - this.#start;
    if (available < 4) return null;
    const size = this.#view.getInt32(this.#start);
    if (size < 0 || size > this.#maxFrameBytes) throw new FrameSizeError(size, this.#maxFrameBytes);
    const body = this.#start + 4;
    if (available - 4 >= size) {
      const frame = this.#buf.slice(body, body + size);
      this.#start = body + size;
      if (this.#start === this.#end) this.#start = this.#end = 0;
      return frame;
    }
    if (4 + size > this.#buf.length) {
      // Too big for the buffer: give the frame its exact memory now and let reads fill it directly.
      const frame = new Uint8Array(size);
      frame.set(this.#buf.subarray(body, this.#end));
      this.#large = frame;
      this.#largeFilled = this.#end - body;
      this.#start = this.#end = 0;
      return null;
    }
    if (this.#start + 4 + size > this.#buf.length) this.#compact();
    return null;
  }

  #compact(): void {
    this.#buf.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Handler interface

/** What a handler knows about the connection a request came on. */
export interface ConnectionInfo {
  /** Unique among the server's connections. */
  readonly id: number;
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The listener (from `listeners`) the client connected to, e.g. `PLAINTEXT`. */
  readonly listenerName: string;
  /** Aborted when the connection closes: long waits (a Fetch's max wait) should listen to it. */
  readonly signal: AbortSignal;
  /** Resolves when the connection has closed. Never rejects. */
  readonly closed: Promise<void>;
  /** True once the connection has closed. */
  readonly isClosed: boolean;
  /**
   * Closes the connection (after failed authentication, say); `reason` is logged. With `malformed`, the close
   * is for a request the broker cannot serve and goes to the server's rate-limited malformed-request log.
   */
  close(reason: string, malformed?: MalformedKind): void;
}

/**
 * Answers requests. `frame` is one request without its size prefix; the result is the response without its
 * size prefix, or null for no response (Produce with acks=0). A thrown error or rejected promise closes the
 * connection (and is logged), never the server.
 *
 * Requests of one connection are passed to `handle` in arrival order, each as soon as it is read, so several
 * may be in progress at once; the synchronous part of `handle` runs in request order, and responses are
 * written in request order whatever order they finish in.
 *
 * @example
 * ```ts
 * import type { RequestHandler } from "./connection.ts";
 * const echo: RequestHandler = { handle: (frame) => frame };
 * ```
 */
export interface RequestHandler {
  /** Answers one request. */
  handle(frame: Uint8Array, conn: ConnectionInfo): Promise<Uint8Array | null> | Uint8Array | null;
}

/**
 * Another protocol served on a Kafka listener: a connection whose first frame it claims is handed to it whole
 * (socket and read buffer) instead of being served as Kafka requests. Brokers open their replication
 * connections this way on each other's inter-broker listener (`broker/node_hello.ts`).
 *
 * @example
 * ```ts ignore
 * const handover: ConnectionHandover = {
 *   claims: (frame) => claimsNodeProtocol(frame),
 *   take: (conn, frame, reader) => void nodeServer.serveHandedOver(conn, frame, reader),
 * };
 * ```
 */
export interface ConnectionHandover {
  /**
   * True when a connection's first frame belongs to the other protocol. It must never claim a Kafka request (a
   * frame starting with a non-negative api key).
   */
  claims(firstFrame: Uint8Array): boolean;
  /** Serves the socket from now on and closes it; `reader` holds whatever was read after `firstFrame`. */
  take(conn: Deno.Conn, firstFrame: Uint8Array, reader: FrameReader): void;
}

// ---------------------------------------------------------------------------------------------------------------
// The connection (I/O shell)

/** Limits of one connection. */
export interface ConnectionOptions {
  /** Largest request accepted (`socket.request.max.bytes`). */
  maxRequestBytes: number;
  /** Stop reading while this many requests are unanswered or unsent (`connection.queued.max.requests`). */
  maxQueuedRequests: number;
  /** Stop reading while requests and responses held for this connection reach this many bytes. */
  maxQueuedBytes: number;
  /** Size of the reusable read buffer. */
  readBufferBytes?: number;
  /** Where to log; events carry the connection id, listener and remote address. */
  logger?: Logger;
  /** Where closes for malformed requests are reported (rate-limited); default: logged at debug only. */
  malformedLog?: MalformedRequestLog;
  /** The broker-wide budget of request bytes in flight (`queued.max.request.bytes`); default unbounded. */
  memoryPool?: RequestMemoryPool;
  /** Serves connections whose first frame is not a Kafka request (another protocol on this listener). */
  handover?: ConnectionHandover;
}

interface Slot {
  done: boolean;
  failed: boolean;
  error: unknown;
  response: Uint8Array | null;
  /** Bytes held: the request until it is answered, then the response until it is written. */
  bytes: number;
  /** Bytes of the memory pool held for the request until it is answered. */
  reserved: number;
}

/** Responses ready together are written in one call, up to this many bytes. */
const COALESCE_BYTES = 64 * 1024;

/**
 * True when the 4 bytes in front of `frame` in its buffer already hold its size prefix, so the view widened
 * by 4 bytes is exactly the bytes to send. A match is never wrong, whoever wrote those bytes: it only reads,
 * and bytes equal to the prefix are the prefix.
 */
function hasSizePrefixBefore(frame: Uint8Array): boolean {
  return frame.byteOffset >= 4 && new DataView(frame.buffer, frame.byteOffset - 4, 4).getInt32(0) === frame.length;
}

/**
 * A served connection. The server creates one per accepted socket and calls `run()`.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 * const conn = await Deno.connect({ port: 9092 });
 * const c = new Connection(conn, 1, "PLAINTEXT", { handle: (f) => f }, {
 *   maxRequestBytes: 104857600,
 *   maxQueuedRequests: 64,
 *   maxQueuedBytes: 33554432,
 * });
 * await c.run();
 * ```
 */
export class Connection implements ConnectionInfo {
  readonly id: number;
  readonly remoteAddr: Deno.NetAddr;
  readonly listenerName: string;
  readonly closed: Promise<void>;

  readonly #conn: Deno.Conn;
  readonly #handler: RequestHandler;
  readonly #reader: FrameReader;
  readonly #maxQueuedRequests: number;
  readonly #maxQueuedBytes: number;
  readonly #log: Logger;
  readonly #malformedLog: MalformedRequestLog | undefined;
  readonly #pool: RequestMemoryPool | undefined;
  readonly #handover: ConnectionHandover | undefined;
  /** True until the first frame has been read: only it may hand the connection over. */
  #firstFrame = true;
  /** Pool bytes reserved for the frame being read, not yet handed to a slot. */
  #reservedForNext = 0;
  readonly #abort = new AbortController();
  readonly #resolveClosed: () => void;
  readonly #queue: Slot[] = [];
  #queuedBytes = 0;
  #isClosed = false;
  #stopReading = false;
  #wakeWriter: (() => void) | null = null;
  #resumeReader: (() => void) | null = null;
  #lastActivityMs = Date.now();

  /** Wraps an accepted socket; nothing happens until `run()`. */
  constructor(
    conn: Deno.Conn,
    id: number,
    listenerName: string,
    handler: RequestHandler,
    options: ConnectionOptions,
  ) {
    this.#conn = conn;
    this.id = id;
    this.listenerName = listenerName;
    this.remoteAddr = conn.remoteAddr as Deno.NetAddr;
    this.#handler = handler;
    this.#reader = new FrameReader(options.maxRequestBytes, options.readBufferBytes);
    this.#maxQueuedRequests = Math.max(1, options.maxQueuedRequests);
    this.#maxQueuedBytes = Math.max(1, options.maxQueuedBytes);
    this.#malformedLog = options.malformedLog;
    this.#pool = options.memoryPool;
    this.#handover = options.handover;
    this.#log = (options.logger ?? silentLogger).child({
      connection: id,
      listener: listenerName,
      remote: `${this.remoteAddr.hostname}:${this.remoteAddr.port}`,
    });
    let resolve!: () => void;
    this.closed = new Promise<void>((r) => resolve = r);
    this.#resolveClosed = resolve;
  }

  /** The abort signal of the connection's lifetime. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Requests read but not yet answered and written. */
  get queuedRequests(): number {
    return this.#queue.length;
  }

  /** True when no request is in progress or unsent. */
  get idle(): boolean {
    return this.#queue.length === 0;
  }

  /** When bytes last moved in either direction (ms since the epoch). */
  get lastActivityMs(): number {
    return this.#lastActivityMs;
  }

  /** Serves the connection until it closes; the promise resolves then and never rejects. */
  run(): Promise<void> {
    this.#log.debug("connection opened");
    void this.#readLoop();
    void this.#writeLoop();
    return this.closed;
  }

  /** Stops reading requests; the connection closes once every request already read has been answered. */
  drain(): void {
    if (this.#isClosed || this.#stopReading) return;
    this.#stopReading = true;
    this.#wake();
  }

  /**
   * Closes the socket now; unsent responses are dropped. Idempotent. `malformed` reports the close to the
   * server's malformed-request log (rate-limited warnings) instead of a debug line.
   */
  close(reason: string, malformed?: MalformedKind): void {
    this.#close(reason, malformed, {});
  }

  #close(reason: string, malformed: MalformedKind | undefined, fields: Record<string, unknown>): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#reservedForNext > 0) {
      this.#pool?.release(this.#reservedForNext);
      this.#reservedForNext = 0;
    }
    if (malformed !== undefined) {
      if (this.#malformedLog !== undefined) {
        this.#malformedLog.report(malformed, reason, {
          connection: this.id,
          listener: this.listenerName,
          remote: `${this.remoteAddr.hostname}:${this.remoteAddr.port}`,
          ...fields,
        });
      } else this.#log.warn("closing connection: malformed request", { kind: malformed, reason, ...fields });
    }
    this.#stopReading = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer's reset
    }
    this.#abort.abort(new Error(`connection closed: ${reason}`));
    this.#wake();
    this.#log.debug("connection closed", { reason });
    this.#resolveClosed();
  }

  #wake(): void {
    const w = this.#wakeWriter;
    this.#wakeWriter = null;
    w?.();
    const r = this.#resumeReader;
    this.#resumeReader = null;
    r?.();
  }

  #overBound(): boolean {
    return this.#queue.length >= this.#maxQueuedRequests || this.#queuedBytes >= this.#maxQueuedBytes;
  }

  async #readLoop(): Promise<void> {
    const reader = this.#reader;
    try {
      while (!this.#stopReading) {
        for (;;) {
          while (this.#overBound() && !this.#stopReading) {
            await new Promise<void>((r) => this.#resumeReader = r);
          }
          if (this.#stopReading) return;
          let frame: Uint8Array | null;
          try {
            const pool = this.#pool;
            if (pool !== undefined && this.#reservedForNext === 0) {
              const size = reader.nextFrameSize();
              if (size !== null) {
                // Budget the request before its memory exists (queued.max.request.bytes); an empty frame
                // still takes a byte so that the reservation is visible.
                const bytes = Math.max(1, size);
                if (!pool.tryReserve(bytes) && !await pool.reserve(bytes, this.#abort.signal)) return;
                if (this.#isClosed) {
                  pool.release(bytes);
                  return;
                }
                this.#reservedForNext = bytes;
              }
            }
            frame = reader.next();
          } catch (e) {
            if (!(e instanceof FrameSizeError)) throw e;
            this.#close(`invalid request size: ${e.message}`, "request_size", { size: e.size, max: e.maxBytes });
            return;
          }
          if (frame === null) break;
          if (this.#firstFrame) {
            this.#firstFrame = false;
            if (this.#handover?.claims(frame)) {
              this.#handOver(this.#handover, frame);
              return;
            }
          }
          const reserved = this.#reservedForNext;
          this.#reservedForNext = 0;
          this.#dispatch(frame, reserved);
        }
        const n = await this.#conn.read(reader.space());
        if (n === null) {
          // The client closed its side: answer what it sent, then close.
          this.#stopReading = true;
          this.#wake();
          return;
        }
        this.#lastActivityMs = Date.now();
        reader.filled(n);
      }
    } catch (e) {
      if (!this.#isClosed) {
        this.#log.debug("read failed", { error: e });
        this.close(`read failed: ${(e as Error)?.message ?? e}`);
      }
    }
  }

  /**
   * Gives the socket to another protocol's server: this connection ends (`closed` resolves) without closing
   * the socket, and nothing of it was answered, since the first frame was its only one.
   */
  #handOver(handover: ConnectionHandover, frame: Uint8Array): void {
    if (this.#reservedForNext > 0) {
      this.#pool?.release(this.#reservedForNext);
      this.#reservedForNext = 0;
    }
    this.#isClosed = true;
    this.#stopReading = true;
    this.#abort.abort(new Error("connection handed over to another protocol"));
    this.#wake();
    this.#log.debug("connection handed over to another protocol");
    this.#resolveClosed();
    handover.take(this.#conn, frame, this.#reader);
  }

  #dispatch(frame: Uint8Array, reserved: number): void {
    const slot: Slot = {
      done: false,
      failed: false,
      error: undefined,
      response: null,
      bytes: frame.length,
      reserved,
    };
    this.#queue.push(slot);
    this.#queuedBytes += slot.bytes;
    let result: Promise<Uint8Array | null> | Uint8Array | null;
    try {
      result = this.#handler.handle(frame, this);
    } catch (e) {
      this.#fail(slot, e);
      return;
    }
    if (result instanceof Uint8Array || result === null) {
      this.#settle(slot, result);
    } else if (typeof (result as Promise<unknown>)?.then === "function") {
      (result as Promise<Uint8Array | null>).then((r) => this.#settle(slot, r), (e) => this.#fail(slot, e));
    } else {
      this.#fail(slot, new TypeError(`handler returned ${typeof result}, not Uint8Array, null or a promise`));
    }
  }

  /** The request has been answered (or failed): its pool bytes go back. */
  #releaseRequest(slot: Slot): void {
    if (slot.reserved > 0) {
      this.#pool?.release(slot.reserved);
      slot.reserved = 0;
    }
  }

  #settle(slot: Slot, response: unknown): void {
    this.#releaseRequest(slot);
    if (!(response instanceof Uint8Array) && response !== null) {
      this.#fail(slot, new TypeError(`handler resolved to ${typeof response}, not Uint8Array or null`));
      return;
    }
    const bytes = response === null ? 0 : response.length;
    this.#queuedBytes += bytes - slot.bytes;
    slot.bytes = bytes;
    slot.response = response;
    slot.done = true;
    const w = this.#wakeWriter;
    this.#wakeWriter = null;
    w?.();
  }

  #fail(slot: Slot, error: unknown): void {
    this.#releaseRequest(slot);
    slot.done = true;
    slot.failed = true;
    slot.error = error;
    // Read no more: the connection closes when the writer reaches this request.
    this.#stopReading = true;
    this.#wake();
  }

  async #writeLoop(): Promise<void> {
    const queue = this.#queue;
    try {
      while (!this.#isClosed) {
        const head = queue[0];
        if (head === undefined || !head.done) {
          if (head === undefined && this.#stopReading) {
            this.close("no more requests");
            return;
          }
          await new Promise<void>((r) => this.#wakeWriter = r);
          continue;
        }
        if (head.failed) {
          this.#log.error("request handler failed; closing connection", { error: head.error });
          if (this.#log.enabled("debug") && head.error instanceof Error) {
            this.#log.debug("request handler failure", { stack: head.error.stack });
          }
          this.close(`handler failed: ${(head.error as Error)?.message ?? head.error}`);
          return;
        }
        let count = 0;
        let total = 0;
        while (count < queue.length && queue[count].done && !queue[count].failed) {
          const r = queue[count].response;
          const add = r === null ? 0 : 4 + r.length;
          if (count > 0 && total + add > COALESCE_BYTES) break;
          total += add;
          count++;
        }
        const only = count === 1 ? queue[0].response : null;
        if (only !== null && only.length > COALESCE_BYTES && hasSizePrefixBefore(only)) {
          // A large response whose encoder left its size prefix in front of it (a Fetch of MBs) goes out as
          // it is: copying it next to the prefix would cost more than the whole rest of the request.
          await this.#writeAll(new Uint8Array(only.buffer, only.byteOffset - 4, only.length + 4));
          this.#lastActivityMs = Date.now();
        } else if (total > 0) {
          // Size prefix and body go out in one write; ready neighbours join it.
          const out = new Uint8Array(total);
          const view = new DataView(out.buffer);
          let offset = 0;
          for (let i = 0; i < count; i++) {
            const r = queue[i].response;
            if (r === null) continue;
            view.setInt32(offset, r.length);
            out.set(r, offset + 4);
            offset += 4 + r.length;
          }
          await this.#writeAll(out);
          this.#lastActivityMs = Date.now();
        }
        for (let i = 0; i < count; i++) this.#queuedBytes -= queue[i].bytes;
        queue.splice(0, count);
        if (!this.#overBound()) {
          const r = this.#resumeReader;
          this.#resumeReader = null;
          r?.();
        }
      }
    } catch (e) {
      if (!this.#isClosed) {
        this.#log.debug("write failed", { error: e });
        this.close(`write failed: ${(e as Error)?.message ?? e}`);
      }
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      written += await this.#conn.write(written === 0 ? bytes : bytes.subarray(written));
    }
  }
}
