/**
 * DeleteTopics (key 20, v1-6): deletes topics by name (`topicNames`, v1-5) or by name or id (`topics`, v6)
 * through the controller. With `delete.topic.enable=false` every topic is refused: INVALID_REQUEST before v3,
 * TOPIC_DELETION_DISABLED from v3, as in Kafka. Otherwise a `timeoutMs` of 0 or less times every topic out
 * (REQUEST_TIMED_OUT) and deletes nothing, as in Kafka 4.x.
 *
 * Entries that Kafka answers once (a duplicated name or id, or a name whose id is also given) get one result.
 * Kafka shuffles its results; Samsa keeps request order (clients match results by name or id).
 *
 * @module
 */
import { type ApiKey, ErrorCode, ZERO_UUID } from "../../protocol/messages.ts";
import type { DeleteTopicsResponseDeletableTopicResult } from "../../protocol/generated/messages/delete_topics_response.ts";
import type { Handler } from "../broker_context.ts";
import { slicerFor } from "../work_slices.ts";

/** Answers no two entries of one request share. */
const ANSWERED_ONCE: ReadonlySet<number> = new Set([
  ErrorCode.NONE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.UNKNOWN_TOPIC_ID,
]);

/** Answers DeleteTopics. */
export const handleDeleteTopics: Handler<typeof ApiKey.DeleteTopics> = async (ctx, request) => {
  const { apiVersion, body } = request;
  const entries = apiVersion >= 6
    ? body.topics.map((t) => ({ name: t.name, topicId: t.topicId === ZERO_UUID ? null : t.topicId }))
    : body.topicNames.map((name) => ({ name: name as string | null, topicId: null as string | null }));

  if (!ctx.config.getBoolean("delete.topic.enable")) {
    const errorCode = apiVersion < 3 ? ErrorCode.INVALID_REQUEST : ErrorCode.TOPIC_DELETION_DISABLED;
    return {
      throttleTimeMs: 0,
      responses: entries.map((e) => ({ name: e.name, topicId: e.topicId ?? ZERO_UUID, errorCode, errorMessage: null })),
    };
  }

  if (body.timeoutMs <= 0) {
    // Kafka 4.x: the controller's deadline has passed before it starts, so nothing is deleted.
    const errorCode = ErrorCode.REQUEST_TIMED_OUT;
    return {
      throttleTimeMs: 0,
      responses: entries.map((e) => ({ name: e.name, topicId: e.topicId ?? ZERO_UUID, errorCode, errorMessage: null })),
    };
  }

  const slicer = slicerFor(request);
  const results = await ctx.controller.deleteTopics(entries, slicer.slices ? slicer : undefined);
  const responses: DeleteTopicsResponseDeletableTopicResult[] = [];
  const seen = new Set<string>();
  for (const r of results) {
    if (slicer.due()) await slicer.pause();
    const response = {
      name: r.name as string | null,
      topicId: r.topicId || ZERO_UUID,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
    };
    // A deleted or unknown topic is answered once anyway (a name or id given twice is a duplicate): keying only
    // the other answers spares a large request a string per entry. JSON strings keep null apart from "null".
    if (!ANSWERED_ONCE.has(response.errorCode)) {
      const key = `${JSON.stringify(response.name)}\u0000${response.topicId}\u0000${
        JSON.stringify(response.errorMessage)
      }`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    responses.push(response);
  }
  return { throttleTimeMs: 0, responses };
};
