import assert from "node:assert/strict";
import { MetadataImage } from "../../../../broker/metadata_image.ts";
import {
  LeadershipReporter,
  type ReportedReplica,
  reportFor,
} from "../../../../broker/metadata/leadership_reporter.ts";
import type { LeadershipReport } from "../../../../broker/metadata/partition_leadership.ts";
import { silentLogger } from "../../../../broker/logger.ts";

const TOPIC_ID = "7c2d0c5a-3e4f-4a71-8cbd-2e3f4a5b6c7d";
const NODE = 2;

/** Topic "orders": partition 0 on [1, 2, 3] led by 1 in epoch 4, partition 1 on [2] led by 2 in epoch 0. */
function image(): MetadataImage {
  const image = new MetadataImage();
  image.apply({ type: "topic", record: { name: "orders", topicId: TOPIC_ID } });
  image.apply({
    type: "partition",
    record: {
      topicId: TOPIC_ID,
      partitionId: 0,
      replicas: [1, 2, 3],
      isr: [1, 2, 3],
      leader: 1,
      leaderEpoch: 4,
      partitionEpoch: 0,
    },
  });
  image.apply({
    type: "partition",
    record: {
      topicId: TOPIC_ID,
      partitionId: 1,
      replicas: [2],
      isr: [2],
      leader: 2,
      leaderEpoch: 0,
      partitionEpoch: 0,
    },
  });
  return image;
}

/** A replica whose leadership the test sets. */
function replica(partition: number, isLeader: boolean, leaderEpoch: number, isr: number[]) {
  return {
    topic: "orders",
    partition,
    isLeader,
    leaderEpoch,
    isr,
    inSyncReplicas() {
      return this.isr;
    },
  };
}

/** Replicas that announce leadership changes when told to. */
class FakeReplicas {
  readonly replicas: ReturnType<typeof replica>[] = [];
  readonly listeners = new Set<(r: ReportedReplica) => void>();
  all() {
    return this.replicas;
  }
  onLeadership(listener: (r: ReportedReplica) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  announce(r: ReportedReplica) {
    for (const l of this.listeners) l(r);
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("a replica is reported only when it leads and the image does not say so yet", () => {
  const img = image();
  // Broker 2 won partition 0 in term 5.
  assert.deepEqual(reportFor(img, NODE, replica(0, true, 5, [2, 3])), {
    topicId: TOPIC_ID,
    partition: 0,
    leader: 2,
    leaderEpoch: 5,
    isr: [2, 3],
  });
  // A follower reports nothing; nor does a leader of a term the image is already past (its group moved on).
  assert.equal(reportFor(img, NODE, replica(0, false, 5, [])), undefined);
  assert.equal(reportFor(img, NODE, replica(0, true, 3, [2])), undefined);
  // The image agrees (same leader, epoch and ISR members): nothing to say.
  assert.equal(reportFor(img, NODE, replica(1, true, 0, [2])), undefined);
  // The sole voter restarted in a new term: reported.
  assert.equal(reportFor(img, NODE, replica(1, true, 1, [2]))?.leaderEpoch, 1);
  // A topic this image does not have.
  assert.equal(reportFor(img, NODE, { ...replica(0, true, 9, [2]), topic: "gone" }), undefined);
});

Deno.test("leadership changes close together go in one report; the image then agreeing, nothing more is sent", async () => {
  const img = image();
  const replicas = new FakeReplicas();
  const sent: LeadershipReport[][] = [];
  const reporter = new LeadershipReporter({
    nodeId: NODE,
    image: img,
    replicas,
    logger: silentLogger,
    coalesceMs: 20,
    reconcileIntervalMs: 60_000,
    send: (reports) => {
      sent.push(reports);
      // The controller records them; the answer comes once applied here.
      for (const r of reports) {
        img.apply({
          type: "partition_change",
          record: {
            topicId: r.topicId,
            partitionId: r.partition,
            leader: r.leader,
            isr: r.isr,
            leaderEpoch: r.leaderEpoch,
          },
        });
      }
      return Promise.resolve();
    },
  });
  try {
    reporter.start();
    const p0 = replica(0, true, 5, [2]);
    const p1 = replica(1, true, 1, [2]);
    replicas.replicas.push(p0, p1);
    replicas.announce(p0);
    replicas.announce(p1);
    await waitFor("a report", () => sent.length > 0);
    assert.deepEqual(sent, [[
      { topicId: TOPIC_ID, partition: 0, leader: 2, leaderEpoch: 5, isr: [2] },
      { topicId: TOPIC_ID, partition: 1, leader: 2, leaderEpoch: 1, isr: [2] },
    ]]);
    // Applied batches touching partitions make the reporter check again; the image agrees now.
    reporter.afterApplied([{
      type: "partition_change",
      record: { topicId: TOPIC_ID, partitionId: 0, leader: 2, isr: null },
    }]);
    reporter.reconcile();
    // The ISR grows: an announcement, a report.
    p0.isr = [2, 1];
    replicas.announce(p0);
    await waitFor("the ISR report", () => sent.length > 1);
    assert.deepEqual(sent.slice(1), [[{ topicId: TOPIC_ID, partition: 0, leader: 2, leaderEpoch: 5, isr: [2, 1] }]]);
    assert.deepEqual(img.topic("orders")!.partitions[0].isr, [2, 1]);
  } finally {
    reporter.close();
  }
});

Deno.test("reports are sent again, with backoff, until a controller answers", async () => {
  const img = image();
  const replicas = new FakeReplicas();
  const p0 = replica(0, true, 6, [2, 3]);
  replicas.replicas.push(p0);
  const attempts: number[] = [];
  let answered: LeadershipReport[] | undefined;
  const reporter = new LeadershipReporter({
    nodeId: NODE,
    image: img,
    replicas,
    logger: silentLogger,
    coalesceMs: 5,
    reconcileIntervalMs: 60_000,
    backoffMs: 10,
    maxBackoffMs: 40,
    send: (reports) => {
      attempts.push(Date.now());
      if (attempts.length < 4) return Promise.reject(new Error("no active controller"));
      answered = reports;
      return Promise.resolve();
    },
  });
  try {
    // No announcement: the first check at start finds the replica the image does not name.
    reporter.start();
    await waitFor("an answered report", () => answered !== undefined);
    assert.equal(attempts.length, 4);
    assert.deepEqual(answered, [{ topicId: TOPIC_ID, partition: 0, leader: 2, leaderEpoch: 6, isr: [2, 3] }]);
  } finally {
    reporter.close();
  }
});

Deno.test("a report the controller ignored is sent again when a later batch or the slow timer finds the image disagreeing", async () => {
  const img = image();
  const replicas = new FakeReplicas();
  replicas.replicas.push(replica(0, true, 5, [2]));
  let sends = 0;
  const reporter = new LeadershipReporter({
    nodeId: NODE,
    image: img,
    replicas,
    logger: silentLogger,
    coalesceMs: 5,
    reconcileIntervalMs: 30,
    send: () => {
      sends++;
      return Promise.resolve(); // answered, but the image is left as it was
    },
  });
  try {
    reporter.start();
    await waitFor("the report sent again by the slow timer", () => sends >= 3);
    const before = sends;
    // A batch that does not touch partitions or brokers triggers no check of its own.
    reporter.afterApplied([{ type: "feature_level", record: { name: "metadata.version", featureLevel: 7 } }]);
    reporter.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(sends <= before + 1, "nothing is sent once closed");
  } finally {
    reporter.close();
  }
});

Deno.test("an election wave over thousands of partitions is sent in requests of at most 1000 reports", async () => {
  const img = new MetadataImage();
  img.apply({ type: "topic", record: { name: "orders", topicId: TOPIC_ID } });
  const replicas = new FakeReplicas();
  for (let p = 0; p < 2500; p++) {
    img.apply({
      type: "partition",
      record: {
        topicId: TOPIC_ID,
        partitionId: p,
        replicas: [1, 2],
        isr: [1, 2],
        leader: 1,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    });
    replicas.replicas.push(replica(p, true, 1, [2]));
  }
  const sizes: number[] = [];
  const reporter = new LeadershipReporter({
    nodeId: NODE,
    image: img,
    replicas,
    logger: silentLogger,
    coalesceMs: 5,
    reconcileIntervalMs: 60_000,
    send: (reports) => {
      sizes.push(reports.length);
      return Promise.resolve();
    },
  });
  try {
    reporter.start();
    await waitFor("every partition reported", () => sizes.reduce((a, b) => a + b, 0) >= 2500);
    assert.deepEqual(sizes, [1000, 1000, 500]);
  } finally {
    reporter.close();
  }
});
