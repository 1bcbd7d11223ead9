/**
 * The vocabulary of Samsa's Raft: node ids, log entries spanning Kafka offsets, hard state, configurations,
 * snapshots and the messages nodes exchange.
 *
 * Indexes are Kafka offsets. One entry is one record batch and covers `count >= 1` consecutive indexes,
 * `index .. index + count - 1`; its term is the batch's partition leader epoch. An empty log has last index
 * -1 and the term of index -1 is 0 (the "initial snapshot").
 *
 * @module
 */

/** A node (broker) id. Real ids are positive; {@linkcode NONE} means "nobody". */
export type NodeId = number;

/** "No node": no vote cast, no leader known. */
export const NONE: NodeId = 0;

/** What an entry carries. The broker maps non-normal entries to Kafka control batches. */
export enum EntryType {
  /** Application data (a record batch). */
  Normal = 0,
  /** The empty entry a new leader appends to commit its term (Raft §8; KRaft's LeaderChange record). */
  LeaderChange = 1,
  /** A membership change; `data` is {@linkcode encodeConfChange}'s output. */
  ConfChange = 2,
}

/**
 * One log entry: one record batch covering `count` offsets starting at `index`.
 *
 * @example
 * ```ts
 * import { EntryType, type Entry } from "./types.ts";
 * const e: Entry = { index: 10, count: 3, term: 2, type: EntryType.Normal, data: new Uint8Array(0) };
 * // e covers offsets 10, 11, 12; the next entry starts at 13.
 * ```
 */
export interface Entry {
  /** First offset covered (the batch's base offset). */
  index: number;
  /** Number of offsets covered, at least 1. */
  count: number;
  /** Term of the leader that created it (the partition leader epoch). */
  term: number;
  /** What the entry carries. */
  type: EntryType;
  /** Opaque payload. */
  data: Uint8Array;
}

/** The last offset an entry covers. */
export function lastIndexOf(e: Entry): number {
  return e.index + e.count - 1;
}

/** The state a node must persist before sending any message produced alongside it. */
export interface HardState {
  /** Current term. */
  term: number;
  /** Whom this node voted for in `term`, or {@linkcode NONE}. */
  vote: NodeId;
  /** Last committed index (the high watermark minus one), -1 when nothing is committed. */
  commit: number;
}

/** A group's membership: voters decide, learners only receive the log. */
export interface ConfState {
  /** Nodes that vote and count towards quorums. */
  voters: NodeId[];
  /** Nodes that replicate the log without voting. */
  learners: NodeId[];
}

/** Identifies the log prefix a snapshot replaces, and the configuration as of its last index. */
export interface SnapshotMeta {
  /** Last index covered by the snapshot (an entry's last index), -1 for the initial empty snapshot. */
  index: number;
  /** Term of that index. */
  term: number;
  /** Membership as of `index`. */
  config: ConfState;
}

/** A snapshot: metadata plus the application's opaque state. */
export interface Snapshot {
  /** What the snapshot covers. */
  meta: SnapshotMeta;
  /** The application's state as of `meta.index`. */
  data: Uint8Array;
}

/** Kinds of messages exchanged between nodes of one group. */
export type MessageType =
  | "app" // append entries (also the probe), leader -> follower
  | "app_resp" // its answer: accepted up to `index`, or rejected with a hint
  | "vote" // request vote, candidate -> all
  | "vote_resp"
  | "pre_vote" // would you vote for me at `term`? Changes no state at the receiver
  | "pre_vote_resp"
  | "heartbeat" // leader -> follower, carries the commit index the follower may apply
  | "heartbeat_resp"
  | "snap" // install snapshot, leader -> follower behind the leader's first index
  | "timeout_now"; // leadership transfer: campaign now, ignoring the election timer and leases

/**
 * A message of one Raft group. Unused fields are 0 / false / empty.
 *
 * @example
 * ```ts
 * import { message } from "./types.ts";
 * const m = message("heartbeat", 1, 2, 5, { commit: 41 });
 * ```
 */
export interface Message {
  /** What the message asks or answers. */
  type: MessageType;
  /** Sender. */
  from: NodeId;
  /** Receiver. */
  to: NodeId;
  /** Sender's term (for pre_vote: the term the sender would campaign in). */
  term: number;
  /** app: prev index; app_resp: matched or rejected index; (pre_)vote: candidate's last index. */
  index: number;
  /** app: prev term; app_resp reject: term at `rejectHint`; (pre_)vote: candidate's last term. */
  logTerm: number;
  /** app: entries to append after `index`. */
  entries: Entry[];
  /** app / heartbeat: the commit index the receiver may adopt. */
  commit: number;
  /** Responses: refusal. */
  reject: boolean;
  /** app_resp reject: the follower's best guess of a matching index (an entry boundary of its log). */
  rejectHint: number;
  /** snap: the snapshot. */
  snapshot?: Snapshot;
  /** vote: sent after a leadership transfer, so leases must not stop it. */
  force: boolean;
  /**
   * The sender's log start offset, when the application sets it on what it sends (the core neither sets nor reads
   * it): a partition leader's tells its followers where the log starts (DeleteRecords, retention), a follower's
   * answer tells the leader how far it followed. Undefined when not set.
   */
  logStartOffset?: number;
}

/** Builds a message, defaulting unused fields. */
export function message(
  type: MessageType,
  from: NodeId,
  to: NodeId,
  term: number,
  fields: Partial<Message> = {},
): Message {
  return {
    type,
    from,
    to,
    term,
    index: 0,
    logTerm: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    force: false,
    ...fields,
  };
}

/** Sum of the payload sizes of `entries`, the unit of the byte-based flow-control limits. */
export function entriesBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.byteLength;
  return n;
}
