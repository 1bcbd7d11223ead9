/**
 * DescribeConfigs of a topic at v1 (not flexible; kafkajs) and v4 (flexible; Java 4.x): a topic with only
 * defaults, a topic with overrides, selected keys (one unknown), and a missing topic.
 *
 * Names, values, configSource, readOnly and isSensitive are compared for the configs both brokers return;
 * configs only one side returns are listed as informational (Kafka has configs Samsa does not implement).
 *
 * @module
 */
import { ApiKey } from "../../../protocol/messages.ts";
import type { DescribeConfigsRequest } from "../../../protocol/generated/mod.ts";
import type { Scenario } from "../scenario.ts";

const TOPIC = 2;

function describe(name: string, keys: string[] | null = null): DescribeConfigsRequest {
  return {
    resources: [{ resourceType: TOPIC, resourceName: name, configurationKeys: keys }],
    includeSynonyms: false,
    includeDocumentation: false,
  };
}

/** DescribeConfigs scenarios. */
export const scenario: Scenario = {
  name: "describe_configs",
  description: "DescribeConfigs v1/v4 of a topic: defaults, overrides, selected keys, a missing topic",
  async run(s) {
    const { name: plain } = await s.createTopic("defaults");
    const { name: custom } = await s.createTopic("overrides", {
      configs: { "cleanup.policy": "compact", "retention.ms": "3600000", "max.message.bytes": "4096" },
    });
    for (const v of [1, 4]) {
      await s.step(`topic defaults v${v}`, ApiKey.DescribeConfigs, v, describe(plain));
      await s.step(`topic overrides v${v}`, ApiKey.DescribeConfigs, v, describe(custom));
      await s.step(
        `selected keys, one unknown v${v}`,
        ApiKey.DescribeConfigs,
        v,
        describe(custom, ["retention.ms", "cleanup.policy", "no.such.config"]),
      );
      await s.step(`missing topic v${v}`, ApiKey.DescribeConfigs, v, describe(s.topic(`no-such-topic-v${v}`)));
    }
  },
};
