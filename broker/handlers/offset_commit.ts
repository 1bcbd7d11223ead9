/**
 * OffsetCommit (key 8): a group member (checked against its generation) or a group-less consumer (generation
 * -1) commits offsets. Answered once the offset records are durable in `__consumer_offsets`.
 *
 * As in Kafka, partitions of topics that do not exist are answered UNKNOWN_TOPIC_OR_PARTITION before the
 * coordinator sees the request; when nothing is left, the group is not even looked at.
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";
import { mergeAnswers, splitByExistence, splitByExistenceSteps } from "../group/known_partitions.ts";
import { slicerFor } from "../work_slices.ts";

/** Answers OffsetCommit. */
export const handleOffsetCommit: Handler<typeof ApiKey.OffsetCommit> = async (ctx, request) => {
  const { body, apiVersion } = request;
  const slicer = slicerFor(request);
  const { known, unknown } = slicer.slices
    ? await slicer.run(splitByExistenceSteps(ctx.metadata, body.topics))
    : splitByExistence(ctx.metadata, body.topics);
  const committed = known.length === 0
    ? []
    : await groupCoordinatorOf(ctx).commitOffsets({ ...body, topics: known }, apiVersion, slicer);
  return { throttleTimeMs: 0, topics: mergeAnswers(unknown, committed) };
};
