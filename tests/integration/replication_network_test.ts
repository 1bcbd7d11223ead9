/**
 * The replication network between brokers over their Kafka client listeners: brokers on 127.0.0.1 exchange Raft
 * message batches through real listeners (a `KafkaServer` with the network's hand-over), messages to one peer in
 * one turn travel as one frame, Kafka clients on the same listener are still served, nodes of another cluster or
 * with this node's id are refused, a malformed hello closes only its connection, and a restarted peer is reached
 * again.
 */
import assert from "node:assert/strict";
import { apiVersionsBody } from "../../broker/handlers/api_versions.ts";
import { KafkaServer } from "../../broker/listener.ts";
import { createLogger, type Logger } from "../../broker/logger.ts";
import { encodeListenerHello } from "../../broker/node_hello.ts";
import { FrameKind, nodeFrame } from "../../broker/raft_transport.ts";
import { type ReplicationNetwork, startReplicationNetwork } from "../../broker/replication/replication_network.ts";
import { ApiKey, decodeRequestHeader, encodeResponse, ErrorCode } from "../../protocol/messages.ts";
import type { MessageBatch } from "../../raft/transport.ts";
import { EntryType, message } from "../../raft/types.ts";
import { RawClient } from "../diff/raw_client.ts";

const CLUSTER = "cmVwbGljYXRpb24tdGVzdA";

/** One broker's side: its replication network behind a listener that also answers ApiVersions. */
interface TestBroker {
  id: number;
  network: ReplicationNetwork;
  server: KafkaServer;
  port: number;
  received: MessageBatch[];
  logs: string[];
  kafkaRequests: number;
  stop(): Promise<void>;
}

function startTestBroker(id: number, options: { clusterId?: string; port?: number } = {}): TestBroker {
  const logs: string[] = [];
  const logger: Logger = createLogger({ level: "debug", sink: (line) => logs.push(line) });
  const received: MessageBatch[] = [];
  const network = startReplicationNetwork({
    nodeId: id,
    clusterId: options.clusterId ?? CLUSTER,
    logger,
    onBatch: (batch) => received.push(batch),
  });
  const broker: TestBroker = {
    id,
    network,
    server: undefined as unknown as KafkaServer,
    port: 0,
    received,
    logs,
    kafkaRequests: 0,
    async stop() {
      await broker.server.close({ timeoutMs: 1000 });
      await network.close();
    },
  };
  broker.server = KafkaServer.listen({
    listeners: [{ name: "PLAINTEXT", host: "127.0.0.1", port: options.port ?? 0 }],
    logger,
    handover: network.handover,
    handler: {
      handle(frame) {
        broker.kafkaRequests++;
        const { header } = decodeRequestHeader(frame);
        return encodeResponse(ApiKey.ApiVersions, 0, header.correlationId, apiVersionsBody(ErrorCode.NONE));
      },
    },
  });
  broker.port = broker.server.address().port;
  return broker;
}

function connect(brokers: TestBroker[]): void {
  for (const a of brokers) {
    for (const b of brokers) if (a !== b) a.network.setPeer(b.id, { host: "127.0.0.1", port: b.port });
  }
}

/** An append message of `group` carrying one entry with `data`. */
function append(from: number, to: number, group: string, data: Uint8Array) {
  return {
    group,
    message: message("app", from, to, 3, {
      index: 10,
      logTerm: 3,
      commit: 9,
      entries: [{ index: 11, count: 1, term: 3, type: EntryType.Normal, data }],
    }),
  };
}

/** Waits until `condition()` holds, for at most `ms`, checking every 10 ms. */
async function waitFor(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function messageCount(batches: MessageBatch[]): number {
  return batches.reduce((n, b) => n + b.messages.length, 0);
}

async function stopAll(brokers: TestBroker[]): Promise<void> {
  for (const b of brokers) await b.stop();
}

Deno.test("three brokers exchange raft batches through their client listeners, record bytes intact", async () => {
  const brokers = [1, 2, 3].map((id) => startTestBroker(id));
  try {
    connect(brokers);
    const [one, two, three] = brokers;
    const big = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + 7) & 0xff);
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t1:0", big)] });
    one.network.send({ from: 1, to: 3, messages: [append(1, 3, "t1:0", new Uint8Array([1, 2, 3]))] });
    three.network.send({ from: 3, to: 1, messages: [append(3, 1, "t2:4", new Uint8Array([9]))] });
    await waitFor(
      "every batch",
      () => two.received.length === 1 && three.received.length === 1 && one.received.length === 1,
    );
    const got = two.received[0];
    assert.equal(got.from, 1);
    assert.equal(got.to, 2);
    assert.equal(got.messages[0].group, "t1:0");
    assert.deepEqual(got.messages[0].message.entries[0].data, big);
    assert.deepEqual(three.received[0].messages[0].message.entries[0].data, new Uint8Array([1, 2, 3]));
    assert.equal(one.received[0].messages[0].group, "t2:4");
    assert.equal(one.received[0].from, 3);
    // Node connections never reach the Kafka request path.
    assert.deepEqual(brokers.map((b) => b.kafkaRequests), [0, 0, 0]);
  } finally {
    await stopAll(brokers);
  }
});

Deno.test("messages of many groups sent to one peer in one turn travel as one frame", async () => {
  const brokers = [1, 2].map((id) => startTestBroker(id));
  try {
    connect(brokers);
    const [one, two] = brokers;
    for (let g = 0; g < 200; g++) {
      one.network.send({ from: 1, to: 2, messages: [append(1, 2, `topic:${g}`, new Uint8Array([g & 0xff]))] });
    }
    await waitFor("the 200 messages", () => messageCount(two.received) === 200);
    assert.equal(two.received.length, 1, "one batch delivered");
    assert.equal(one.network.stats.framesSent, 1);
    assert.deepEqual(two.received[0].messages.map((m) => m.group).slice(0, 3), ["topic:0", "topic:1", "topic:2"]);
    // A later turn is a later frame.
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "topic:0", new Uint8Array([1]))] });
    await waitFor("the next frame", () => two.received.length === 2);
    assert.equal(one.network.stats.framesSent, 2);
  } finally {
    await stopAll(brokers);
  }
});

Deno.test("a Kafka client on the listener is served before and after node connections", async () => {
  const brokers = [1, 2].map((id) => startTestBroker(id));
  try {
    connect(brokers);
    const [one, two] = brokers;
    const before = await RawClient.connect(`127.0.0.1:${two.port}`, "before");
    const answer = await before.request(ApiKey.ApiVersions, 0, { clientSoftwareName: "", clientSoftwareVersion: "" });
    assert.equal(answer.errorCode, ErrorCode.NONE);
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t:0", new Uint8Array([7]))] });
    await waitFor("the batch", () => two.received.length === 1);
    const after = await RawClient.connect(`127.0.0.1:${two.port}`, "after");
    for (const client of [before, after]) {
      const again = await client.request(ApiKey.ApiVersions, 0, { clientSoftwareName: "", clientSoftwareVersion: "" });
      assert.ok(again.apiKeys.some((k) => k.apiKey === ApiKey.Produce));
      await client.close();
    }
    assert.equal(two.kafkaRequests, 3);
  } finally {
    await stopAll(brokers);
  }
});

Deno.test("a node of another cluster is refused, both sides log why, and the listener keeps serving", async () => {
  const brokers = [1, 2].map((id) => startTestBroker(id));
  const stranger = startTestBroker(3, { clusterId: "b3RoZXItY2x1c3Rlci0xMg" });
  try {
    connect(brokers);
    const [one, two] = brokers;
    stranger.network.setPeer(2, { host: "127.0.0.1", port: two.port });
    stranger.network.send({ from: 3, to: 2, messages: [append(3, 2, "t:0", new Uint8Array([1]))] });
    await waitFor("the refusal", () => two.logs.some((l) => l.includes("refused a node of another cluster")));
    await waitFor("the stranger's log", () => stranger.logs.some((l) => l.includes("peer refused the connection")));
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t:0", new Uint8Array([2]))] });
    await waitFor("the batch of the same cluster", () => two.received.length === 1);
    assert.equal(two.received[0].from, 1);
  } finally {
    await stopAll([...brokers, stranger]);
  }
});

Deno.test("a node presenting this node's own id is refused", async () => {
  const two = startTestBroker(2);
  const twin = startTestBroker(2);
  try {
    twin.network.setPeer(5, { host: "127.0.0.1", port: two.port });
    twin.network.send({ from: 2, to: 5, messages: [append(2, 5, "t:0", new Uint8Array([1]))] });
    await waitFor("the refusal", () => two.logs.some((l) => l.includes("refused a node with this node's own node.id")));
    assert.equal(two.received.length, 0);
  } finally {
    await stopAll([two, twin]);
  }
});

Deno.test("a malformed node hello closes only its connection, with the reason logged", async () => {
  const two = startTestBroker(2);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: two.port });
    // Api key -1, then not the magic.
    const body = new TextEncoder().encode("\xff\xffNOT-A-NODE-HELLO");
    body[0] = 0xff;
    body[1] = 0xff;
    const frame = new Uint8Array(4 + body.length);
    new DataView(frame.buffer).setInt32(0, body.length);
    frame.set(body, 4);
    await conn.write(frame);
    // The server answers REFUSED and closes: read until the end of the stream.
    const buf = new Uint8Array(1024);
    let reads = 0;
    while ((await conn.read(buf)) !== null) assert.ok(++reads < 100);
    conn.close();
    assert.ok(two.logs.some((l) => l.includes("refused a malformed node hello")), two.logs.join("\n"));
    const client = await RawClient.connect(`127.0.0.1:${two.port}`);
    const answer = await client.request(ApiKey.ApiVersions, 0, { clientSoftwareName: "", clientSoftwareVersion: "" });
    assert.equal(answer.errorCode, ErrorCode.NONE);
    await client.close();
  } finally {
    await two.stop();
  }
});

Deno.test("a peer that restarts on its port is reached again", async () => {
  const one = startTestBroker(1);
  let two = startTestBroker(2);
  try {
    connect([one, two]);
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t:0", new Uint8Array([1]))] });
    await waitFor("the first batch", () => two.received.length === 1);
    const port = two.port;
    await two.stop();
    // Sends while the peer is down are lost (Raft resends): the link notices and backs off.
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t:0", new Uint8Array([2]))] });
    two = startTestBroker(2, { port });
    // Raft resends on its clock: so does this test, until the restarted peer hears one.
    const deadline = Date.now() + 10_000;
    while (two.received.length === 0) {
      assert.ok(Date.now() < deadline, "the restarted peer never received a batch");
      one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t:0", new Uint8Array([3]))] });
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(two.received[0].from, 1);
  } finally {
    await stopAll([one, two]);
  }
});

Deno.test("messages for an unknown or removed peer are dropped, and sends after close are ignored", async () => {
  const brokers = [1, 2].map((id) => startTestBroker(id));
  try {
    connect(brokers);
    const [one, two] = brokers;
    one.network.send({ from: 1, to: 9, messages: [append(1, 9, "t:0", new Uint8Array([1]))] });
    one.network.removePeer(2);
    assert.deepEqual([...one.network.peers().keys()], []);
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t:0", new Uint8Array([1]))] });
    await Promise.resolve();
    assert.equal(one.network.stats.framesSent, 0);
    await one.network.close();
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t:0", new Uint8Array([1]))] });
    assert.equal(two.received.length, 0);
  } finally {
    await stopAll(brokers);
  }
});

Deno.test("a garbled batch after an accepted hello closes only that connection; other peers are still heard", async () => {
  const [one, two] = [1, 2].map((id) => startTestBroker(id));
  try {
    connect([one, two]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: two.port });
    await conn.write(encodeListenerHello({ clusterId: CLUSTER, nodeId: 7, purpose: "replication" }));
    const answer = new Uint8Array(16);
    const n = await conn.read(answer);
    assert.equal(answer[4], FrameKind.Accepted, `answer of ${n} bytes`);
    await conn.write(nodeFrame(FrameKind.Raft, new Uint8Array([0, 0, 0, 0, 7, 0, 0, 0, 2, 0x7f, 0xff])));
    const buf = new Uint8Array(64);
    let reads = 0;
    while ((await conn.read(buf)) !== null) assert.ok(++reads < 100);
    conn.close();
    assert.ok(two.logs.some((l) => l.includes("node connection closed")), two.logs.join("\n"));
    one.network.send({ from: 1, to: 2, messages: [append(1, 2, "t:0", new Uint8Array([1]))] });
    await waitFor("the other peer's batch", () => two.received.length === 1);
  } finally {
    await stopAll([one, two]);
  }
});
