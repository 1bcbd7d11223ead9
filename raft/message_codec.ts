/**
 * The wire form of a {@linkcode MessageBatch} between brokers: pure bytes in, bytes out (no sockets), so the
 * TCP transport only frames and ships it. Entries' payloads (record batches) are carried as they are.
 *
 * Layout (big-endian, numbers as Kafka's primitives): version int8 (0), from int32, to int32, message count
 * int32, then per message: group (int16-length string), type int8, from int32, to int32, term int32, index
 * float64, logTerm int32, commit float64, reject bool, rejectHint float64, force bool, entry count int32 and
 * per entry index float64, count int32, term int32, type int8, data (int32-length bytes); then a snapshot flag
 * bool and, when set, its index float64, term int32, voters and learners (int32 arrays), data (bytes); version 1
 * ends each message with the sender's log start offset float64 (-1 when unset; version 0 has none).
 * Offsets travel as float64, exact for every integer a JS number holds exactly (up to 2^53).
 *
 * @module
 */
import { ProtocolError } from "../protocol/protocol_error.ts";
import { Reader } from "../protocol/wire/reader.ts";
import { Writer } from "../protocol/wire/writer.ts";
import type { GroupMessage, MessageBatch } from "./transport.ts";
import type { ConfState, Entry, EntryType, Message, MessageType, Snapshot } from "./types.ts";

/** The version written; version 0 (no log start offset) is still read. */
const VERSION = 1;
/** The oldest version read. */
const OLDEST_VERSION = 0;
const TYPES: readonly MessageType[] = [
  "app",
  "app_resp",
  "vote",
  "vote_resp",
  "pre_vote",
  "pre_vote_resp",
  "heartbeat",
  "heartbeat_resp",
  "snap",
  "timeout_now",
];
const TYPE_CODES = new Map(TYPES.map((t, i) => [t, i]));

function writeIds(w: Writer, ids: readonly number[]): void {
  w.int32(ids.length);
  for (const id of ids) w.int32(id);
}

function readIds(r: Reader): number[] {
  const n = r.int32();
  if (n < 0 || n * 4 > r.remaining()) throw new ProtocolError("invalid_length", `node id array of ${n}`);
  return Array.from({ length: n }, () => r.int32());
}

function writeBytes(w: Writer, bytes: Uint8Array): void {
  w.int32(bytes.length);
  w.raw(bytes);
}

function readBytes(r: Reader): Uint8Array {
  const n = r.int32();
  if (n < 0 || n > r.remaining()) throw new ProtocolError("invalid_length", `payload of ${n} bytes`);
  return r.raw(n);
}

function writeMessage(w: Writer, { group, message: m }: GroupMessage): void {
  w.string(group, false);
  w.int8(TYPE_CODES.get(m.type)!);
  w.int32(m.from);
  w.int32(m.to);
  w.int32(m.term);
  w.float64(m.index);
  w.int32(m.logTerm);
  w.float64(m.commit);
  w.bool(m.reject);
  w.float64(m.rejectHint);
  w.bool(m.force);
  w.int32(m.entries.length);
  for (const e of m.entries) {
    w.float64(e.index);
    w.int32(e.count);
    w.int32(e.term);
    w.int8(e.type);
    writeBytes(w, e.data);
  }
  w.bool(m.snapshot !== undefined);
  if (m.snapshot) {
    const { meta, data } = m.snapshot;
    w.float64(meta.index);
    w.int32(meta.term);
    writeIds(w, meta.config.voters);
    writeIds(w, meta.config.learners);
    writeBytes(w, data);
  }
  w.float64(m.logStartOffset ?? -1);
}

function readMessage(r: Reader, version: number): GroupMessage {
  const group = r.string(false);
  const code = r.int8();
  const type = TYPES[code];
  if (type === undefined) throw new ProtocolError("invalid_value", `unknown raft message type ${code}`);
  const from = r.int32();
  const to = r.int32();
  const term = r.int32();
  const index = r.float64();
  const logTerm = r.int32();
  const commit = r.float64();
  const reject = r.bool();
  const rejectHint = r.float64();
  const force = r.bool();
  const entryCount = r.int32();
  if (entryCount < 0 || entryCount * 21 > r.remaining()) {
    throw new ProtocolError("invalid_length", `entry count ${entryCount}`);
  }
  const entries: Entry[] = [];
  for (let i = 0; i < entryCount; i++) {
    const index = r.float64();
    const count = r.int32();
    const term = r.int32();
    const type = r.int8() as EntryType;
    entries.push({ index, count, term, type, data: readBytes(r) });
  }
  let snapshot: Snapshot | undefined;
  if (r.bool()) {
    const index = r.float64();
    const term = r.int32();
    const config: ConfState = { voters: readIds(r), learners: readIds(r) };
    snapshot = { meta: { index, term, config }, data: readBytes(r) };
  }
  const logStartOffset = version >= 1 ? r.float64() : -1;
  const message: Message = {
    type,
    from,
    to,
    term,
    index,
    logTerm,
    entries,
    commit,
    reject,
    rejectHint,
    force,
  };
  if (snapshot) message.snapshot = snapshot;
  if (logStartOffset >= 0) message.logStartOffset = logStartOffset;
  return { group, message };
}

/**
 * Encodes a batch of Raft messages, after `reserveBytes` zero bytes the caller may overwrite (its framing).
 * Entry payloads are copied once, into the result.
 *
 * @example
 * ```ts
 * import { decodeMessageBatch, encodeMessageBatch } from "./message_codec.ts";
 * const bytes = encodeMessageBatch({ from: 1, to: 2, messages: [] });
 * decodeMessageBatch(bytes).to; // 2
 * ```
 */
export function encodeMessageBatch(batch: MessageBatch, reserveBytes = 0): Uint8Array {
  let payload = 0;
  for (const { message } of batch.messages) for (const e of message.entries) payload += e.data.length;
  const w = new Writer(reserveBytes + 64 + payload + batch.messages.length * 64);
  // Room for the caller's framing (a size prefix), so the encoded batch needs no second copy to be framed.
  for (let i = 0; i < reserveBytes; i++) w.int8(0);
  w.int8(VERSION);
  w.int32(batch.from);
  w.int32(batch.to);
  w.int32(batch.messages.length);
  for (const m of batch.messages) writeMessage(w, m);
  return w.finish();
}

/** Decodes a batch written by {@linkcode encodeMessageBatch}; throws ProtocolError on malformed bytes. */
export function decodeMessageBatch(bytes: Uint8Array): MessageBatch {
  const r = new Reader(bytes);
  const version = r.int8();
  if (version < OLDEST_VERSION || version > VERSION) {
    throw new ProtocolError("unsupported_version", `raft message batch version ${version}`);
  }
  const from = r.int32();
  const to = r.int32();
  const count = r.int32();
  if (count < 0 || count * 40 > r.remaining()) throw new ProtocolError("invalid_length", `message count ${count}`);
  const messages: GroupMessage[] = [];
  for (let i = 0; i < count; i++) messages.push(readMessage(r, version));
  r.end();
  return { from, to, messages };
}
