/**
 * CreatePartitions (key 37, v0-3): raises partition counts through the controller. As Kafka's ControllerApis
 * does, a name given more than once gets one INVALID_REQUEST result ("Duplicate topic name."), placed first.
 * A `timeoutMs` of 0 or less times every topic out (REQUEST_TIMED_OUT) and changes nothing, as in Kafka 4.x.
 *
 * @module
 */
import { type ApiKey, ErrorCode } from "../../protocol/messages.ts";
import type { CreatePartitionsResponseCreatePartitionsTopicResult } from "../../protocol/generated/messages/create_partitions_response.ts";
import type { Handler } from "../broker_context.ts";

/** Answers CreatePartitions. */
export const handleCreatePartitions: Handler<typeof ApiKey.CreatePartitions> = async (ctx, { body }) => {
  if (body.timeoutMs <= 0) {
    const errorCode = ErrorCode.REQUEST_TIMED_OUT;
    return { throttleTimeMs: 0, results: body.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) };
  }
  const results = await ctx.controller.createPartitions(
    body.topics.map((t) => ({
      name: t.name,
      count: t.count,
      assignments: t.assignments === null ? null : t.assignments.map((a) => [...a.brokerIds]),
    })),
    body.validateOnly,
  );
  const count = new Map<string, number>();
  for (const t of body.topics) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  const duplicates: CreatePartitionsResponseCreatePartitionsTopicResult[] = [];
  const others: CreatePartitionsResponseCreatePartitionsTopicResult[] = [];
  const answered = new Set<string>();
  for (const r of results) {
    if (answered.has(r.name)) continue;
    answered.add(r.name);
    const result = { name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage };
    if ((count.get(r.name) ?? 0) > 1) duplicates.push(result);
    else others.push(result);
  }
  return { throttleTimeMs: 0, results: [...duplicates, ...others] };
};
