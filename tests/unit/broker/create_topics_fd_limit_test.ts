/**
 * CreateTopics at the descriptor limit: a topic whose partitions cannot be opened is answered with
 * KAFKA_STORAGE_ERROR and a message saying why, never a false success; it is not left in the metadata, so the
 * same request succeeds once descriptors are free again. Other topics of the request are unaffected.
 */
import assert from "node:assert/strict";
import type { TopicCreation } from "../../../broker/broker_context.ts";
import { BrokerConfig } from "../../../broker/config.ts";
import { LocalController } from "../../../broker/controller.ts";
import { silentLogger } from "../../../broker/logger.ts";
import { MetadataLog } from "../../../broker/metadata_log.ts";
import { ReplicaManager } from "../../../broker/replication/replica_manager.ts";
import { DenoFileSystem, type LogFile } from "../../../log/file_system.ts";
import { ErrorCode } from "../../../protocol/messages.ts";

/** Answers EMFILE to opens of files of partition directories whose topic starts with `fullFor`, as a full process. */
class DescriptorLimitedFileSystem extends DenoFileSystem {
  fullFor: string | null = null;
  override open(path: string, options?: { create?: boolean }): LogFile {
    if (this.fullFor !== null && path.split("/").at(-2)!.startsWith(this.fullFor)) {
      throw Object.assign(new Error(`Too many open files (os error 24): open '${path}'`), { code: "EMFILE" });
    }
    return super.open(path, options);
  }
}

function topic(name: string, numPartitions: number): TopicCreation {
  return { name, numPartitions, replicationFactor: 1, assignments: [], configs: {} };
}

Deno.test("CreateTopics answers KAFKA_STORAGE_ERROR for a topic it cannot open and leaves no trace of it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-fd-limit-" });
  const config = BrokerConfig.from([
    { key: "log.dirs", value: dir, source: { kind: "flag" as const, flag: `--set log.dirs=${dir}` } },
  ]);
  const metadata = await MetadataLog.open(`${dir}/__cluster_metadata-0`);
  const fs = new DescriptorLimitedFileSystem();
  const replicas = new ReplicaManager(config, silentLogger, { fs });
  const controller = new LocalController(metadata, replicas, config, silentLogger);
  try {
    fs.fullFor = "blocked";
    const [blocked, fine] = await controller.createTopics([topic("blocked", 3), topic("fine", 2)], false);
    assert.equal(blocked.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.match(blocked.errorMessage ?? "", /not created: .*too many open files/i);
    assert.equal(metadata.image.topic("blocked"), undefined, "the topic is not left in the metadata");
    for (let p = 0; p < 3; p++) {
      assert.equal(replicas.get("blocked", p), undefined);
      assert.throws(() => Deno.statSync(`${dir}/blocked-${p}`), Deno.errors.NotFound, "no directory is left");
    }
    assert.equal(fine.errorCode, ErrorCode.NONE, "the other topic of the request is created");
    assert.ok(replicas.get("fine", 0) && replicas.get("fine", 1));

    fs.fullFor = null; // descriptors are free again: the retry succeeds
    const [retried] = await controller.createTopics([topic("blocked", 3)], false);
    assert.equal(retried.errorCode, ErrorCode.NONE);
    for (let p = 0; p < 3; p++) assert.ok(replicas.get("blocked", p));
  } finally {
    await replicas.close();
    await metadata.close();
    await Deno.remove(dir, { recursive: true });
  }
});
