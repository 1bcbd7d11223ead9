/**
 * The fixed list of mutations `deno task mutate` applies, one at a time, to a scratch copy of the repository.
 * Each breaks one behaviour Samsa's durability or correctness rests on; each names the test files that must
 * fail because of it. Snippets are exact: when the code they point at changes, the run (and
 * `tests/mutate/mutate_test.ts` in the default suite) fails until this list follows the code.
 *
 * @module
 */
import type { Mutation } from "./mutation.ts";

/** Every mutation, in the order the table lists them. */
export const MUTATIONS: readonly Mutation[] = [
  {
    id: "crc-produce",
    title: "CRC check off on produce: the replica accepts a batch whose CRC-32C does not match",
    file: "broker/replication/partition_replica.ts",
    edits: [{
      find: "!isBatchCrcValid(records, 0)",
      replace: "!(isBatchCrcValid(records, 0) || true)",
    }],
    tests: ["tests/unit/broker/partition_replica_test.ts"],
  },
  {
    id: "crc-recovery",
    title: "CRC check off in recovery: a batch with a bad CRC-32C survives the scan after an unclean stop",
    file: "log/segment.ts",
    edits: [{
      find: "!isBatchCrcValid(whole, 0)",
      replace: "!(isBatchCrcValid(whole, 0) || true)",
    }],
    tests: ["tests/unit/log/recovery_test.ts"],
  },
  {
    id: "dedup-off",
    title: "dedup off: an idempotent retry of one of the last five batches is written again",
    file: "broker/producer_state.ts",
    edits: [{
      find: 'if (original) return { kind: "duplicate", original };',
      replace: 'if (original) return { kind: "append" };',
    }],
    tests: [
      "tests/unit/broker/partition_replica_test.ts",
      "tests/unit/broker/producer_state_test.ts",
      "tests/compat/idempotence_retry_test.ts",
    ],
  },
  {
    id: "fetch-past-hw",
    title: "fetch past the high watermark: consumers see records that are not committed (not yet fsynced)",
    file: "broker/replication/partition_replica.ts",
    edits: [{
      find: "upTo: this.#highWatermark, minOneBatch, deferred",
      replace: "upTo: this.log.logEndOffset, minOneBatch, deferred",
    }],
    tests: ["tests/unit/broker/fetch_test.ts"],
  },
  {
    id: "commit-not-written",
    title: "commit answered but not written: OffsetCommit succeeds without a record in __consumer_offsets",
    file: "broker/group/group_coordinator.ts",
    edits: [{
      find: ": await this.writeRecords(req.groupId, records);",
      replace: ": ErrorCode.NONE;",
    }],
    tests: ["tests/unit/broker/group/group_coordinator_test.ts", "tests/unit/broker/power_loss_test.ts"],
  },
  {
    id: "commit-before-durable",
    title: "commit answered before it is durable: OffsetCommit succeeds while its record still waits for the fsync",
    file: "broker/group/group_coordinator.ts",
    edits: [{
      find: ": await this.writeRecords(req.groupId, records);",
      replace: ": (this.writeRecords(req.groupId, records), ErrorCode.NONE);",
    }],
    tests: ["tests/unit/broker/group/group_coordinator_test.ts"],
  },
  {
    id: "acks-before-fsync",
    title: "acks=-1 answered before the fsync that makes the batch durable",
    file: "broker/handlers/produce.ts",
    edits: [{ find: "if (acks === -1 && pending.length > 0) {", replace: "if (acks === -1 && false) {" }],
    tests: ["tests/unit/broker/produce_durability_test.ts", "tests/unit/broker/power_loss_test.ts"],
  },
  {
    id: "commit-before-fsync",
    title: "the partition's Raft driver advances the commit index (the high watermark) before the log's fsync",
    file: "broker/replication/partition_raft.ts",
    edits: [{
      find: "          await this.log.waitForDurable(last.index + last.count);\n",
      replace: "          this.log.waitForDurable(last.index + last.count).catch(() => {});\n",
    }],
    tests: ["tests/unit/broker/produce_durability_test.ts", "tests/unit/broker/power_loss_test.ts"],
  },
  {
    id: "no-recovery-truncation",
    title: "no truncation in recovery: the torn or corrupt tail stays in the segment file",
    file: "log/segment.ts",
    edits: [{ find: "if (pos < fileBytes) file.truncate(pos);", replace: "" }],
    tests: [
      "tests/unit/log/recovery_round_trip_test.ts",
      "tests/integration/recovery_round_trip_test.ts",
      "tests/unit/log/partition_log_power_loss_test.ts",
    ],
  },
  {
    id: "fsync-noop",
    title: "fsync a no-op in the log: group commit claims durability without syncing the files written",
    file: "log/partition_log.ts",
    edits: [{
      find: "await Promise.all(files.map((f) => f.syncData()));\n      if (dirDirty)",
      replace: "if (dirDirty)",
    }],
    tests: ["tests/unit/log/partition_log_power_loss_test.ts", "tests/unit/broker/power_loss_test.ts"],
  },
  {
    id: "fsync-noop-real-fs",
    title: "fsync a no-op in the real file system: DenoFileSystem's syncData returns without calling fdatasync",
    file: "log/file_system.ts",
    edits: [{ find: "return this.file.syncData();", replace: "return Promise.resolve();" }],
    tests: ["tests/integration/fsync_syscalls_test.ts"],
  },
  {
    id: "describe-configs-empty",
    title: "DescribeConfigs empty: every resource is answered without its config entries",
    file: "broker/handlers/describe_configs.ts",
    edits: [{
      find: "configs: r.configurationKeys === null || r.configurationKeys.length === 0\n" +
        "      ? configs\n" +
        "      : configs.filter((c) => r.configurationKeys!.includes(c.name)),",
      replace: "configs: [],",
    }],
    tests: ["tests/unit/broker/admin_handlers_test.ts", "tests/diff/diff_test.ts"],
  },
  {
    id: "clean-marker-trusted",
    title:
      "clean-shutdown marker left behind and trusted: a start after an unclean stop skips recovery of the torn tail",
    file: "log/partition_log.ts",
    edits: [
      // The marker is no longer removed when the log opens, so it outlives the next (unclean) stop...
      { find: "fs.remove(`${dir}/${CLEAN_MARKER_FILE}`);", replace: "" },
      // ...and it is believed without checking that the active segment is the one it describes.
      {
        find:
          "marker && marker.activeBaseOffset === active.baseOffset && marker.activeSizeBytes === active.sizeBytes &&",
        replace: "marker &&",
      },
    ],
    tests: [
      "tests/unit/log/clean_restart_test.ts",
      "tests/unit/log/recovery_round_trip_test.ts",
      "tests/unit/broker/power_loss_test.ts",
    ],
  },
  {
    id: "raft-commit-without-majority",
    title: "Raft leader commits what it alone has persisted, without a majority of voters",
    file: "raft/raft.ts",
    edits: [{
      find: "const m = committedIndex(this.config.voters, (id) => this.progress.get(id)?.match);",
      replace: "const m = this.progress.get(this.id)?.match ?? -1;",
    }],
    tests: ["tests/unit/raft/scenario_test.ts", "tests/sim/sim_test.ts"],
  },
  {
    id: "raft-ack-before-fsync",
    title: "Raft follower acknowledges appended entries before they are persisted and synced",
    file: "raft/multi_raft.ts",
    edits: [
      {
        find: "    this.#send(work);\n    for (const [g, node, rd] of work) {\n      if (this.#host.apply(g, rd)",
        replace: "    for (const [g, node, rd] of work) {\n      if (this.#host.apply(g, rd)",
      },
      {
        find:
          "    const work = this.#collect();\n    if (work.length === 0) return 0;\n    for (const [g, , rd] of work) {",
        replace: "    const work = this.#collect();\n    if (work.length === 0) return 0;\n    this.#send(work);\n" +
          "    for (const [g, , rd] of work) {",
      },
      {
        find: "      await Promise.all(work.map(([g, , rd]) => this.#host.persist(g, rd)));\n" +
          "      await this.#host.sync?.();\n      this.#send(work);\n",
        replace:
          "      this.#send(work);\n      await Promise.all(work.map(([g, , rd]) => this.#host.persist(g, rd)));\n" +
          "      await this.#host.sync?.();\n",
      },
    ],
    tests: ["tests/unit/raft/persist_before_send_test.ts", "tests/unit/raft/multi_raft_test.ts"],
  },
  {
    id: "follower-serves-clients",
    title: "a follower serves clients: appends produces, serves consumer fetches, deletes records as if it led",
    file: "broker/leader_lookup.ts",
    edits: [{
      find: "if ((check.requireLeader ?? true) && !replica.isLeader) {",
      replace: "if ((check.requireLeader ?? true) && !replica.isLeader && false) {",
    }],
    tests: ["tests/unit/broker/not_leader_test.ts", "tests/unit/broker/offset_for_leader_epoch_test.ts"],
  },
];
