/**
 * The hello by which a broker opens a node-protocol connection on another broker's Kafka client listener (the
 * inter-broker listener, where partition replication travels): pure bytes in and out, no sockets.
 *
 * A Kafka request frame starts with its int16 api key, and no Kafka API has a negative key. The node hello
 * therefore starts with the api key -1 (`0xFF 0xFF`), then the magic `SAMSA-NODE`, a version byte and the JSON
 * {@linkcode NodeHello}:
 *
 * ```
 * size int32 | 0xFF 0xFF | "SAMSA-NODE" | version int8 (0) | JSON {clusterId, nodeId, purpose}
 * ```
 *
 * A listener hands a connection whose first frame starts with a negative api key to the node-protocol server
 * ({@linkcode claimsNodeProtocol}); every Kafka request (api key 0 and up) takes the Kafka path as before. Of
 * the frames handed over, one that is not a well-formed hello closes its connection with the reason logged
 * ({@linkcode parseListenerHello}), as a malformed Kafka request would.
 *
 * The accepting side answers the hello with an `ACCEPTED` frame, or a `REFUSED` frame carrying the reason before
 * it closes; the connecting side sends nothing else until it is accepted. So no byte of the node protocol is ever
 * read into the Kafka connection's buffers, and a refused peer logs why.
 *
 * @module
 */
import type { NodeHello } from "./raft_transport.ts";

/** The first two bytes: api key -1, which no Kafka request has. */
const API_KEY_BYTES = [0xff, 0xff] as const;
const MAGIC = new TextEncoder().encode("SAMSA-NODE");
/** Version of the hello (and of the node protocol after it). */
export const LISTENER_HELLO_VERSION = 0;
const HEADER_BYTES = API_KEY_BYTES.length + MAGIC.length + 1;

/**
 * True when `frame` (a connection's first frame, without its size prefix) cannot be a Kafka request because its
 * api key is negative: it is for the node-protocol server. A frame of fewer than two bytes is left to the Kafka
 * path, which refuses it.
 *
 * @example
 * ```ts
 * import { claimsNodeProtocol, encodeListenerHello } from "./node_hello.ts";
 * claimsNodeProtocol(new Uint8Array([0, 18, 0, 3])); // false: ApiVersions v3
 * const hello = encodeListenerHello({ clusterId: "c", nodeId: 2, purpose: "replication" });
 * claimsNodeProtocol(hello.subarray(4)); // true
 * ```
 */
export function claimsNodeProtocol(frame: Uint8Array): boolean {
  // The high bit of a big-endian int16 is its sign.
  return frame.length >= 2 && (frame[0] & 0x80) !== 0;
}

/**
 * The hello frame, size prefix included.
 *
 * @example
 * ```ts
 * import { encodeListenerHello, parseListenerHello } from "./node_hello.ts";
 * const frame = encodeListenerHello({ clusterId: "c", nodeId: 2, purpose: "replication" });
 * parseListenerHello(frame.subarray(4)); // { ok: true, hello: { clusterId: "c", nodeId: 2, purpose: "replication" } }
 * ```
 */
export function encodeListenerHello(hello: NodeHello): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(hello));
  const out = new Uint8Array(4 + HEADER_BYTES + json.length);
  new DataView(out.buffer).setInt32(0, HEADER_BYTES + json.length);
  out.set(API_KEY_BYTES, 4);
  out.set(MAGIC, 4 + API_KEY_BYTES.length);
  out[4 + API_KEY_BYTES.length + MAGIC.length] = LISTENER_HELLO_VERSION;
  out.set(json, 4 + HEADER_BYTES);
  return out;
}

/** What `parseListenerHello` finds: the hello, or why the frame is not one. */
export type ParsedListenerHello = { ok: true; hello: NodeHello } | { ok: false; reason: string };

/** Reads a hello frame (without its size prefix); never throws. */
export function parseListenerHello(frame: Uint8Array): ParsedListenerHello {
  if (frame.length < HEADER_BYTES || frame[0] !== API_KEY_BYTES[0] || frame[1] !== API_KEY_BYTES[1]) {
    return { ok: false, reason: "negative api key but no node hello" };
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (frame[API_KEY_BYTES.length + i] !== MAGIC[i]) return { ok: false, reason: "node hello with a bad magic" };
  }
  const version = frame[HEADER_BYTES - 1];
  if (version !== LISTENER_HELLO_VERSION) return { ok: false, reason: `node hello version ${version} unsupported` };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(frame.subarray(HEADER_BYTES)));
  } catch (e) {
    return { ok: false, reason: `node hello is not JSON: ${(e as Error).message}` };
  }
  const v = value as Partial<NodeHello> | null;
  if (
    typeof v !== "object" || v === null || typeof v.clusterId !== "string" || !Number.isSafeInteger(v.nodeId) ||
    (v.purpose !== "raft" && v.purpose !== "requests" && v.purpose !== "replication")
  ) {
    return { ok: false, reason: "node hello lacks clusterId, nodeId or purpose" };
  }
  return { ok: true, hello: { clusterId: v.clusterId, nodeId: v.nodeId!, purpose: v.purpose } };
}
