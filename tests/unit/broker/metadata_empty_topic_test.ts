/**
 * Metadata naming the topic "" (a name before v10, where topics have no ids): Kafka 4.x validates the name of
 * a topic it does not know and answers INVALID_TOPIC_EXCEPTION for it, with or without auto-creation, and the
 * answer encodes at every version (it once failed to encode and closed the connection).
 */
import assert from "node:assert/strict";
import { BrokerConfig } from "../../../broker/config.ts";
import { handleMetadata } from "../../../broker/handlers/metadata.ts";
import { decodeResponse, encodeResponse, ErrorCode, ZERO_UUID } from "../../../protocol/messages.ts";
import { testConnection, withReplicas } from "./replica_fixture.ts";

async function askFor(
  ctx: Parameters<typeof handleMetadata>[0],
  name: string,
  apiVersion: number,
): Promise<{ errorCode: number; name: string | null }[]> {
  const body = {
    topics: [{ name, topicId: ZERO_UUID }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };
  const header = { requestApiKey: 3, requestApiVersion: apiVersion, correlationId: 7, clientId: "test" };
  const response = await handleMetadata(ctx, { apiVersion, header, body }, testConnection());
  assert.ok(response !== null);
  // The answer must encode at the request's version, as the dispatcher will encode it.
  const frame = encodeResponse(3, apiVersion, 7, response);
  const decoded = decodeResponse(3, apiVersion, frame);
  return decoded.body.topics.map((t) => ({ errorCode: t.errorCode, name: t.name }));
}

Deno.test('Metadata v1-v9 naming the topic "" answers INVALID_TOPIC_EXCEPTION for it', async () => {
  await withReplicas(async (f) => {
    for (let v = 1; v <= 9; v++) {
      assert.deepEqual(
        await askFor(f.ctx, "", v),
        [{ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name: "" }],
        `v${v}`,
      );
    }
  });
});

Deno.test("Metadata without auto-creation answers an illegal topic name INVALID_TOPIC_EXCEPTION too", async () => {
  await withReplicas(async (f) => {
    const config = BrokerConfig.from([
      { key: "log.dirs", value: f.ctx.config.logDirs[0], source: { kind: "default" } },
      { key: "auto.create.topics.enable", value: "false", source: { kind: "default" } },
    ]);
    const ctx = { ...f.ctx, config };
    assert.deepEqual(await askFor(ctx, "", 9), [{ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name: "" }]);
    assert.deepEqual(await askFor(ctx, "a/b", 4), [{ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name: "a/b" }]);
    assert.deepEqual(await askFor(ctx, "missing", 9), [
      { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: "missing" },
    ]);
  });
});
