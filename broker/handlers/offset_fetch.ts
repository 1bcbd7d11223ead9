/**
 * OffsetFetch (key 9): the committed offsets of a group (v0-7) or of several groups (v8+, KIP-709). A partition
 * without a commit answers offset -1; a group that does not exist is not an error. Commits are applied only once
 * durable, so `requireStable` (KIP-447) never has an unstable offset to wait for here.
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";
import { slicerFor, type WorkSlicer } from "../work_slices.ts";

type Coordinator = ReturnType<typeof groupCoordinatorOf>;
type Fetched = ReturnType<Coordinator["fetchOffsets"]>;

/** Partitions looked up per coordinator call when a large request is answered in slices. */
const PARTITIONS_PER_SLICE = 2048;

/**
 * The coordinator's answer for `topics`, asked a few thousand partitions at a time with pauses between, so a
 * request naming a million partitions does not hold the event loop (each partition's answer is independent).
 */
async function fetchInSlices(
  coordinator: Coordinator,
  groupId: string,
  topics: { name: string; partitionIndexes: number[] }[] | null,
  member: { memberId: string | null; memberEpoch: number } | undefined,
  slicer: WorkSlicer,
): Promise<Fetched> {
  if (topics === null) return coordinator.fetchOffsets(groupId, null, member);
  const answer: Fetched = { errorCode: 0, topics: [] };
  for (const t of topics) {
    const topic = { name: t.name, partitions: [] as Fetched["topics"][number]["partitions"] };
    answer.topics.push(topic);
    for (let from = 0; from === 0 || from < t.partitionIndexes.length; from += PARTITIONS_PER_SLICE) {
      const partitionIndexes = t.partitionIndexes.slice(from, from + PARTITIONS_PER_SLICE);
      const part = coordinator.fetchOffsets(groupId, [{ name: t.name, partitionIndexes }], member);
      if (part.errorCode !== 0) return { errorCode: part.errorCode, topics: [] };
      for (const p of part.topics[0]?.partitions ?? []) topic.partitions.push(p);
      if (slicer.dueNow()) await slicer.pause();
    }
  }
  return answer;
}

/** Answers OffsetFetch. */
export const handleOffsetFetch: Handler<typeof ApiKey.OffsetFetch> = async (ctx, request) => {
  const { body, apiVersion } = request;
  const slicer = slicerFor(request);
  const coordinator = groupCoordinatorOf(ctx);
  const fetch = (
    groupId: string,
    topics: typeof body.topics,
    member?: { memberId: string | null; memberEpoch: number },
  ) =>
    slicer.slices
      ? fetchInSlices(coordinator, groupId, topics, member, slicer)
      : coordinator.fetchOffsets(groupId, topics, member);
  if (apiVersion >= 8) {
    const groups = [];
    for (const g of body.groups) {
      const { errorCode, topics } = await fetch(g.groupId, g.topics, {
        memberId: g.memberId,
        memberEpoch: g.memberEpoch,
      });
      groups.push({ groupId: g.groupId, errorCode, topics });
    }
    return { throttleTimeMs: 0, topics: [], errorCode: 0, groups };
  }
  const { errorCode, topics } = await fetch(body.groupId, body.topics);
  if (apiVersion < 2 && errorCode !== 0) {
    // v0-1 have no group-level error: each partition asked for carries it (NOT_COORDINATOR, say).
    const failed = (body.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1n,
        committedLeaderEpoch: -1,
        metadata: "",
        errorCode,
      })),
    }));
    return { throttleTimeMs: 0, topics: failed, errorCode, groups: [] };
  }
  return { throttleTimeMs: 0, topics, errorCode, groups: [] };
};
