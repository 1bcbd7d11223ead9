/**
 * The client side of controller requests: a node sends a metadata change (or its registration and heartbeats)
 * to the active controller's CONTROLLER listener and gets the answer back, over one connection per controller
 * (framing in `broker/raft_transport.ts`). A lost connection fails the requests in flight; the caller retries.
 *
 * @module
 */
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

  constructor(private readonly address: PeerAddress, private readonly hello: Uint8Array) {}

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
      void this.#read(conn);
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

  constructor(options: { clusterId: string; nodeId: number }) {
    const hello: NodeHello = { clusterId: options.clusterId, nodeId: options.nodeId, purpose: "requests" };
    this.#hello = jsonFrame(FrameKind.Hello, hello);
  }

  /** Sends `op` with `args`; resolves with the controller's answer. */
  request(address: PeerAddress, op: string, args: unknown, timeoutMs: number): Promise<unknown> {
    const key = `${address.host}:${address.port}`;
    let c = this.#connections.get(key);
    if (!c) this.#connections.set(key, c = new ControllerConnection(address, this.#hello));
    return c.request(op, args, timeoutMs);
  }

  /** Closes every connection. */
  close(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }
}
