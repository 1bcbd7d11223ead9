/**
 * Partition storage: segments of record batches with sparse offset and time indexes, group commit, recovery,
 * retention, truncation and the leader-epoch cache. The broker uses `PartitionLog`; the rest is exported for
 * tests, tools and the simulator.
 *
 * @example
 * ```ts
 * import { PartitionLog } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const log = await PartitionLog.open(`${dir}/orders-0`);
 * log.logEndOffset; // 0
 * await log.close();
 * ```
 *
 * @module
 */
export {
  type AppendResult,
  type Clock,
  type LogStats,
  PartitionLog,
  type PartitionLogOptions,
  type ReadOptions,
  type ReadResult,
  type RecoveryReport,
  type RecoveryTruncation,
  type TimestampAndOffset,
} from "./partition_log.ts";
export { DEFAULT_LOG_CONFIG, type LogConfig, logConfig } from "./log_config.ts";
export { LogError, type LogErrorKind } from "./log_error.ts";
export { DenoFileSystem, type FileInfo, type FileSystem, type LogFile } from "./file_system.ts";
export { type FaultRule, FaultyFileSystem, type FileOp, InjectedFault } from "./faulty_file_system.ts";
export { type CrashOptions, DeadProcessError, PowerLossFileSystem } from "./power_loss_file_system.ts";
export { type EpochEndOffset, type EpochEntry, LeaderEpochCache } from "./leader_epoch_cache.ts";
export {
  type RetentionDecision,
  type RetentionLimits,
  type RetentionReason,
  type SegmentMeta,
  segmentsToDelete,
} from "./retention.ts";
export { OffsetIndex, type OffsetPosition } from "./offset_index.ts";
export {
  type BatchInfo,
  LogSegment,
  parseSegmentLogName,
  type ScanResult,
  type ScanStop,
  type SegmentFileKind,
  segmentFileName,
} from "./segment.ts";
export { TimeIndex, type TimestampOffset } from "./time_index.ts";
