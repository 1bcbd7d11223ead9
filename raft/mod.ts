/**
 * Samsa's Raft: a pure consensus core whose log is a Kafka partition log (indexes are offsets, one entry is
 * one record batch), with a driver for many groups per node.
 *
 * Start at {@linkcode RawNode} (one group) or {@linkcode MultiRaft} (many); implement {@linkcode Storage}
 * over durable state and {@linkcode Transport} over the network. See docs/RAFT.md.
 *
 * @module
 */
export { applyConfChange, type ConfChange, type ConfEntry, decodeConfEntry, encodeConfEntry } from "./conf_change.ts";
export { MultiRaft, type MultiRaftHost, type MultiRaftOptions } from "./multi_raft.ts";
export { randomInt, seededRandom } from "./prng.ts";
export { Inflights } from "./inflights.ts";
export { Progress, type ProgressState } from "./progress.ts";
export { committedIndex, hasQuorum, type VoteResult, voteResult } from "./quorum.ts";
export { RaftLog } from "./raft_log.ts";
export { type ProposeError, type ProposeResult, Raft, type RaftConfig, type RaftStatus, type Role } from "./raft.ts";
export { RawNode, type RawNodeOptions, type Ready, type SoftState } from "./raw_node.ts";
export { type InitialState, MemoryStorage, type Storage } from "./storage.ts";
export { type GroupMessage, MemoryTransport, type MessageBatch, type Transport } from "./transport.ts";
export {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  lastIndexOf,
  type Message,
  type MessageType,
  type NodeId,
  NONE,
  type Snapshot,
  type SnapshotMeta,
} from "./types.ts";
