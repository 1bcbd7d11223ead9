/**
 * The client side of controller requests: a node sends a metadata change (or its registration and heartbeats)
 * to the active controller's CONTROLLER listener and gets the answer back, over one connection per controller
 * (framing in `broker/raft_transport.ts`). A lost connection fails the requests in flight; the caller retries.
 * The same requests reach a broker on its inter-broker listener (a Kafka client listener) when the client opens
 * its connections with the listener hello of `broker/node_hello.ts` (`onClientListener`).
 *
 * @module
 */
import { encodeListenerHello } from "../node_hello.ts";
import { FrameKind, jsonBody, jsonFrame, type NodeHello, type PeerAddress, readFrames } from "../raft_transport.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

class ControllerConnection {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #conn: Promise<Deno.TcpConn> | undefined;
  /** Resolved by the peer's `ACCEPTED` (listener hello only); rejected by its `REFUSED` or a lost connection. */
  #accepted: { resolve(): void; reject(e: Error): void } | undefined;

  /** `awaitAccepted`: a listener hello, answered before anything else may be sent (see `node_hello.ts`). */
  constructor(
    private readonly address: PeerAddress,
    private readonly hello: Uint8Array,
    private readonly awaitAccepted = false,
  ) {}

  async request(op: string, args: unknown, timeoutMs: number): Promise<unknown> {
    const conn = await this.#connect();
    const id = this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`controller request ${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
    const bytes = jsonFrame(FrameKind.Request, { id, op, args });
    try {
      let written = 0;
      while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    } catch (e) {
      this.#fail(e);
    }
    return answer;
  }

  #connect(): Promise<Deno.TcpConn> {
    if (this.#conn) return this.#conn;
    const connecting = (async () => {
      const conn = await Deno.connect({ hostname: this.address.host, port: this.address.port });
      conn.setNoDelay(true);
      let written = 0;
      while (written < this.hello.length) written += await conn.write(this.hello.subarray(written));
      const accepted = this.awaitAccepted
        ? new Promise<void>((resolve, reject) => this.#accepted = { resolve, reject })
        : undefined;
      void this.#read(conn);
      await accepted;
      return conn;
    })();
    this.#conn = connecting;
    connecting.catch(() => {
      if (this.#conn === connecting) this.#conn = undefined;
    });
    return connecting;
  }

  async #read(conn: Deno.TcpConn): Promise<void> {
    try {
      await readFrames(conn, 64 << 20, (f) => {
        if (f[0] === FrameKind.Accepted) this.#accepted?.resolve();
        if (f[0] === FrameKind.Refused) {
          this.#fail(new Error(`refused: ${(jsonBody(f) as { reason?: string }).reason ?? "no reason given"}`));
        }
        if (f[0] !== FrameKind.Response) return;
        const answer = jsonBody(f) as { id: number; ok: boolean; value?: unknown; error?: string };
        const pending = this.#pending.get(answer.id);
        if (!pending) return;
        this.#pending.delete(answer.id);
        clearTimeout(pending.timer);
        if (answer.ok) pending.resolve(answer.value);
        else pending.reject(new ControllerRequestError(answer.error ?? "controller request failed"));
      });
      this.#fail(new Error("controller connection closed"));
    } catch (e) {
      this.#fail(e);
    }
  }

  #fail(e: unknown): void {
    const conn = this.#conn;
    this.#conn = undefined;
    conn?.then((c) => {
      try {
        c.close();
      } catch {
        // already closed
      }
    }, () => {});
    const error = e instanceof Error ? e : new Error(String(e));
    this.#accepted?.reject(error);
    this.#accepted = undefined;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(error);
    }
  }

  close(): void {
    this.#fail(new Error("closed"));
  }
}

/** The controller answered with an error (as opposed to the connection failing). */
export class ControllerRequestError extends Error {}

/**
 * Requests to controllers, by address.
 *
 * @example
 * ```ts ignore
 * const client = new ControllerClient({ clusterId, nodeId: 4 });
 * const answer = await client.request({ host: "127.0.0.1", port: 19093 }, "createTopics", args, 30_000);
 * ```
 */
export class ControllerClient {
  readonly #connections = new Map<string, ControllerConnection>();
  readonly #hello: Uint8Array;
  readonly #onClientListener: boolean;

  /**
   * `onClientListener`: the peers are brokers' inter-broker listeners (a Kafka client listener), not CONTROLLER
   * listeners: connections open with the listener hello and wait for it to be accepted.
   */
  constructor(options: { clusterId: string; nodeId: number; onClientListener?: boolean }) {
    const hello: NodeHello = { clusterId: options.clusterId, nodeId: options.nodeId, purpose: "requests" };
    this.#onClientListener = options.onClientListener ?? false;
    this.#hello = this.#onClientListener ? encodeListenerHello(hello) : jsonFrame(FrameKind.Hello, hello);
  }

  /** Sends `op` with `args`; resolves with the controller's answer. */
  request(address: PeerAddress, op: string, args: unknown, timeoutMs: number): Promise<unknown> {
    const key = `${address.host}:${address.port}`;
    let c = this.#connections.get(key);
    if (!c) this.#connections.set(key, c = new ControllerConnection(address, this.#hello, this.#onClientListener));
    return c.request(op, args, timeoutMs);
  }

  /** Closes every connection. */
  close(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }
}
