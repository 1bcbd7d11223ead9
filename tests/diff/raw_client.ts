/**
 * A raw Kafka client for differential tests: one TCP connection, size-prefixed frames, correlation ids, and
 * Samsa's own codec at whatever API version the caller chooses. No retries, no metadata cache, no cleverness:
 * what the broker answers is what the caller sees.
 *
 * @example
 * ```ts
 * import { RawClient } from "./raw_client.ts";
 * import { ApiKey } from "../../protocol/messages.ts";
 * const client = await RawClient.connect("127.0.0.1:9092");
 * const body = await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: "diff", clientSoftwareVersion: "0" });
 * client.close();
 * ```
 *
 * @module
 */
import { decodeResponse, encodeRequest, type RequestByKey, type ResponseByKey } from "../../protocol/messages.ts";

/** The broker closed the connection (or never answered) before the response to a request arrived. */
export class ConnectionClosedError extends Error {
  /** Creates the error; `message` says which request was waiting. */
  constructor(message: string) {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

/** No response arrived within the request's time limit. */
export class RequestTimeoutError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "RequestTimeoutError";
  }
}

interface Pending {
  resolve(frame: Uint8Array): void;
  reject(error: Error): void;
  what: string;
}

/** Splits `host:port`; only 127.0.0.1 and localhost are accepted, as the tests must stay on this machine. */
export function parseBootstrap(bootstrap: string): { hostname: string; port: number } {
  const i = bootstrap.lastIndexOf(":");
  const hostname = bootstrap.slice(0, i);
  const port = Number(bootstrap.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`bad bootstrap address '${bootstrap}', want HOST:PORT`);
  }
  if (hostname !== "127.0.0.1" && hostname !== "localhost") {
    throw new Error(`bootstrap ${bootstrap}: differential tests only talk to 127.0.0.1`);
  }
  return { hostname: "127.0.0.1", port };
}

/** One connection to one broker. */
export class RawClient {
  #conn: Deno.TcpConn;
  #nextCorrelationId = 1;
  #pending = new Map<number, Pending>();
  #closed: Error | null = null;
  #reading: Promise<void>;
  /** The client id sent in every request header. */
  readonly clientId: string;

  private constructor(conn: Deno.TcpConn, clientId: string) {
    this.#conn = conn;
    this.clientId = clientId;
    this.#reading = this.#readLoop();
  }

  /** Connects to `host:port` (127.0.0.1 only). */
  static async connect(bootstrap: string, clientId = "samsa-diff"): Promise<RawClient> {
    const conn = await Deno.connect(parseBootstrap(bootstrap));
    conn.setNoDelay(true);
    return new RawClient(conn, clientId);
  }

  /**
   * Sends one request with the codec at `apiVersion` and returns the decoded response body.
   * Rejects with ConnectionClosedError if the broker closes the connection first, RequestTimeoutError after
   * `timeoutMs` (default 15 s).
   */
  async request<K extends keyof RequestByKey & keyof ResponseByKey>(
    apiKey: K,
    apiVersion: number,
    body: RequestByKey[K],
    timeoutMs = 15_000,
  ): Promise<ResponseByKey[K]> {
    const correlationId = this.#nextCorrelationId++;
    const frame = encodeRequest(
      { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: this.clientId },
      body,
      { sizePrefix: true },
    );
    const response = await this.#roundTrip(correlationId, frame, `api ${apiKey} v${apiVersion}`, timeoutMs);
    const { header, body: decoded } = decodeResponse(apiKey, apiVersion, response);
    if (header.correlationId !== correlationId) {
      throw new Error(`correlation id ${header.correlationId} in the response to request ${correlationId}`);
    }
    return decoded as ResponseByKey[K];
  }

  /**
   * Sends a hand-made request frame (without size prefix) whose header carries correlation id
   * `correlationId`, and returns the raw response frame (without size prefix). For requests the codec refuses
   * to encode, such as an ApiVersions request at a version nobody knows.
   */
  sendRaw(correlationId: number, frameWithoutSize: Uint8Array, timeoutMs = 15_000): Promise<Uint8Array> {
    const frame = new Uint8Array(4 + frameWithoutSize.length);
    new DataView(frame.buffer).setInt32(0, frameWithoutSize.length);
    frame.set(frameWithoutSize, 4);
    return this.#roundTrip(correlationId, frame, "raw frame", timeoutMs);
  }

  /** A correlation id no other request of this client uses, for `sendRaw`. */
  takeCorrelationId(): number {
    return this.#nextCorrelationId++;
  }

  #roundTrip(correlationId: number, frame: Uint8Array, what: string, timeoutMs: number): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError(`${what}: ${this.#closed.message}`));
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationId);
        reject(new RequestTimeoutError(`${what}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(correlationId, {
        what,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#writeAll(frame).catch((e) => this.#fail(new ConnectionClosedError(`write failed: ${e.message}`)));
    });
  }

  /** The previous frame's write: frames go out one after another, never interleaved. */
  #writing: Promise<void> = Promise.resolve();

  /**
   * Writes a whole frame after the frames before it. A large frame takes several `write` calls; without the chain,
   * two pipelined requests written at once would interleave their pieces and the broker would read garbage.
   */
  #writeAll(bytes: Uint8Array): Promise<void> {
    const write = async () => {
      let written = 0;
      while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
    };
    const done = this.#writing.then(write);
    this.#writing = done.catch(() => {});
    return done;
  }

  async #readLoop(): Promise<void> {
    let buffer = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        const joined = new Uint8Array(buffer.length + n);
        joined.set(buffer);
        joined.set(chunk.subarray(0, n), buffer.length);
        buffer = joined;
        while (buffer.length >= 4) {
          const size = new DataView(buffer.buffer, buffer.byteOffset, 4).getInt32(0);
          if (size < 4) throw new Error(`response frame size ${size}`);
          if (buffer.length < 4 + size) break;
          const frame = buffer.slice(4, 4 + size);
          buffer = buffer.subarray(4 + size);
          const correlationId = new DataView(frame.buffer).getInt32(0);
          const pending = this.#pending.get(correlationId);
          if (pending === undefined) continue; // a response after its request timed out
          this.#pending.delete(correlationId);
          pending.resolve(frame);
        }
      }
      this.#fail(new ConnectionClosedError("the broker closed the connection"));
    } catch (e) {
      this.#fail(new ConnectionClosedError(`connection failed: ${(e as Error).message}`));
    }
  }

  #fail(error: Error): void {
    if (!this.#closed) this.#closed = error;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.reject(new ConnectionClosedError(`${p.what}: ${error.message}`));
    }
  }

  /** Closes the connection; waiting requests fail with ConnectionClosedError. */
  async close(): Promise<void> {
    if (!this.#closed) this.#closed = new Error("closed by the client");
    try {
      this.#conn.close();
    } catch {
      // already closed by the broker
    }
    await this.#reading;
    this.#fail(this.#closed);
  }
}
