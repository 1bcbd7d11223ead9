import assert from "node:assert/strict";
import { BrokerConfig, ConfigError } from "../../../../broker/config.ts";
import { clusterSettings } from "../../../../broker/metadata/cluster_config.ts";

const flag = { kind: "flag", flag: "--set" } as const;

function config(settings: Record<string, string>): BrokerConfig {
  return BrokerConfig.from(Object.entries(settings).map(([key, value]) => ({ key, value, source: flag })));
}

const NODE_1 = {
  "node.id": "1",
  "cluster.id": "MkU3OEVBNTcwNTJENDM2Qk",
  "process.roles": "broker,controller",
  "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:19093",
  "controller.listener.names": "CONTROLLER",
  "controller.quorum.voters": "1@127.0.0.1:19093,2@127.0.0.1:29093,3@127.0.0.1:39093",
};

function refusal(settings: Record<string, string>): ConfigError {
  try {
    clusterSettings(config(settings));
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("the settings were accepted");
}

Deno.test("a node without controller.quorum.voters is a single-node cluster", () => {
  assert.equal(clusterSettings(BrokerConfig.from([])).mode, "single");
});

Deno.test("a combined node of a three-voter quorum reads its controller and client listeners", () => {
  const s = clusterSettings(config(NODE_1));
  assert.equal(s.mode, "cluster");
  if (s.mode !== "cluster") return;
  assert.deepEqual(s.voters.map((v) => `${v.id}@${v.host}:${v.port}`), [
    "1@127.0.0.1:19093",
    "2@127.0.0.1:29093",
    "3@127.0.0.1:39093",
  ]);
  assert.ok(s.isController && s.isBroker);
  assert.equal(s.controllerListener?.port, 19093);
  assert.deepEqual(s.clientListeners.map((l) => l.name), ["PLAINTEXT"]);
  assert.equal(s.interBrokerListenerName, "PLAINTEXT");
  assert.equal(s.rack, null);
});

Deno.test("a broker-only node is an observer: not a voter, no controller listener", () => {
  const s = clusterSettings(config({
    ...NODE_1,
    "node.id": "4",
    "process.roles": "broker",
    "listeners": "PLAINTEXT://127.0.0.1:9095",
    "broker.rack": "rack-b",
  }));
  assert.ok(s.mode === "cluster" && !s.isController && s.isBroker && s.rack === "rack-b");
});

Deno.test("bad cluster settings are refused with an error naming the key", () => {
  const cases: [Record<string, string>, string][] = [
    [{ ...NODE_1, "controller.quorum.voters": "1@127.0.0.1" }, "controller.quorum.voters"],
    [{ ...NODE_1, "controller.quorum.voters": "1@a:1,1@b:2" }, "controller.quorum.voters"],
    [{ ...NODE_1, "node.id": "7" }, "controller.quorum.voters"],
    [{ ...NODE_1, "process.roles": "broker" }, "controller.quorum.voters"],
    [
      { ...NODE_1, "listeners": "PLAINTEXT://127.0.0.1:9092", "controller.listener.names": "" },
      "controller.listener.names",
    ],
    [{ ...NODE_1, "listeners": "PLAINTEXT://127.0.0.1:9092" }, "listeners"],
    [{ ...NODE_1, "listeners": "CONTROLLER://127.0.0.1:19093" }, "listeners"],
    [{ ...NODE_1, "inter.broker.listener.name": "CONTROLLER" }, "inter.broker.listener.name"],
    [{ ...NODE_1, "inter.broker.listener.name": "INTERNAL" }, "inter.broker.listener.name"],
    [{ ...NODE_1, "cluster.id": "" }, "cluster.id"],
    [{ ...NODE_1, "controller.quorum.bootstrap.servers": "127.0.0.1:19093" }, "controller.quorum.bootstrap.servers"],
    [{ "process.roles": "broker" }, "process.roles"],
    [{ "controller.listener.names": "CONTROLLER" }, "controller.listener.names"],
  ];
  for (const [settings, key] of cases) {
    const e = refusal(settings);
    assert.equal(e.key, key, e.message);
    assert.ok(e.message.startsWith(key), e.message);
  }
});
