/**
 * The produce path's durability, shown deterministically: the fake disk's fdatasync of segment files is held
 * open by the test, so what the Produce handler answers before and after it completes is observable. acks=-1
 * answers only once the fsync covering the batch has completed; acks=1 answers at once; a failed fsync answers
 * KAFKA_STORAGE_ERROR and the batch never becomes visible to consumers.
 */
import assert from "node:assert/strict";
import { PowerLossFileSystem } from "../../../log/power_loss_file_system.ts";
import { ErrorCode } from "../../../protocol/messages.ts";
import { buildRecordBatch } from "../../../protocol/record_batch.ts";
import { createTopic, openNode, type PowerLossNode, produceThroughHandler } from "./power_loss_node.ts";

/** Holds every fdatasync of a segment file until the test releases or fails it. */
class SegmentSyncGate {
  #waiting: { path: string; release: () => void; fail: (e: Error) => void }[] = [];
  #entered: (() => void)[] = [];
  #open = false;

  constructor(fs: PowerLossFileSystem) {
    fs.beforeSyncCompletes = (path) => {
      if (this.#open || !path.endsWith(".log")) return Promise.resolve();
      return new Promise<void>((release, fail) => {
        this.#waiting.push({ path, release, fail });
        for (const wake of this.#entered.splice(0)) wake();
      });
    };
  }

  /** Resolves once at least one segment fsync is being held. */
  async entered(): Promise<void> {
    while (this.#waiting.length === 0) await new Promise<void>((r) => this.#entered.push(r));
  }

  /** Lets every held fsync complete, and every later one pass. */
  release(): void {
    this.#open = true;
    for (const w of this.#waiting.splice(0)) w.release();
  }

  /** Fails every held fsync with EIO. */
  fail(): void {
    for (const w of this.#waiting.splice(0)) w.fail(new Error(`EIO: fdatasync of ${w.path} failed`));
  }
}

function batch(value: string): Uint8Array {
  return buildRecordBatch([{ timestamp: Date.now(), key: null, value: new TextEncoder().encode(value) }]);
}

/** "answered" if `promise` has settled once the event loop has run everything ready, else "pending". */
async function settledYet(promise: Promise<unknown>): Promise<"answered" | "pending"> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await new Promise((r) => setTimeout(r, 0));
  return settled ? "answered" : "pending";
}

/** Runs `fn` with a node over a fresh fake disk that has the topic `t` (one partition) and a first durable batch. */
async function withNode(fn: (node: PowerLossNode, fs: PowerLossFileSystem) => Promise<void>): Promise<void> {
  const fs = new PowerLossFileSystem();
  fs.mkdir("/data");
  const node = await openNode(fs);
  try {
    await createTopic(node, "t");
    assert.equal((await produceThroughHandler(node.ctx, "t", 0, batch("first"), -1)).errorCode, ErrorCode.NONE);
    await fn(node, fs);
  } finally {
    node.groups.close();
    await node.close().catch(() => {});
  }
}

Deno.test("an acks=-1 produce is answered only after the fsync covering its batch completes", async () => {
  await withNode(async (node, fs) => {
    const replica = node.replicas.get("t", 0)!;
    const gate = new SegmentSyncGate(fs);
    const answer = produceThroughHandler(node.ctx, "t", 0, batch("held"), -1);
    await gate.entered();
    assert.equal(await settledYet(answer), "pending", "no answer while the fsync is held");
    assert.equal(replica.highWatermark, 1, "the batch is not visible to consumers yet");
    assert.equal(replica.read(1, 1024 * 1024, true).records.length, 0);
    gate.release();
    const { errorCode, baseOffset } = await answer;
    assert.equal(errorCode, ErrorCode.NONE);
    assert.equal(baseOffset, 1);
    assert.equal(replica.highWatermark, 2);
    // What was acknowledged survives a power loss that keeps nothing unsynced.
    node.groups.close();
    const after = await openNode(fs.crash({ unsyncedWrites: "lost", unsyncedDirOps: "undone" }));
    try {
      assert.equal(after.replicas.get("t", 0)!.logEndOffset, 2);
    } finally {
      await after.close();
    }
  });
});

Deno.test("an acks=1 produce is answered while the fsync is still held, and stays invisible until it completes", async () => {
  await withNode(async (node, fs) => {
    const replica = node.replicas.get("t", 0)!;
    const gate = new SegmentSyncGate(fs);
    const { errorCode, baseOffset } = await produceThroughHandler(node.ctx, "t", 0, batch("leader only"), 1);
    assert.equal(errorCode, ErrorCode.NONE);
    assert.equal(baseOffset, 1);
    await gate.entered();
    assert.equal(replica.highWatermark, 1, "the high watermark waits for the fsync");
    assert.equal(replica.read(1, 1024 * 1024, true).records.length, 0, "consumers do not see it yet");
    gate.release();
    for (let i = 0; i < 100 && replica.highWatermark < 2; i++) {
      await new Promise<void>((r) => replica.highWatermarkAdvanced.once(r));
    }
    assert.equal(replica.highWatermark, 2);
    assert.ok(replica.read(1, 1024 * 1024, true).records.length > 0, "visible once durable");
  });
});

Deno.test("a failed fsync answers acks=-1 with KAFKA_STORAGE_ERROR and the batch never becomes visible", async () => {
  await withNode(async (node, fs) => {
    const replica = node.replicas.get("t", 0)!;
    const gate = new SegmentSyncGate(fs);
    const answer = produceThroughHandler(node.ctx, "t", 0, batch("doomed"), -1);
    await gate.entered();
    gate.fail();
    const { errorCode, baseOffset } = await answer;
    assert.equal(errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(baseOffset, -1);
    assert.equal(replica.highWatermark, 1, "the high watermark did not pass the batch");
    assert.equal(replica.read(1, 1024 * 1024, true).records.length, 0, "consumers never see it");
    gate.release();
    const next = await produceThroughHandler(node.ctx, "t", 0, batch("after"), -1);
    assert.equal(next.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, "the partition refuses writes it cannot make durable");
    assert.equal(replica.highWatermark, 1);
  });
});
