/**
 * DescribeGroups (key 15): the state, protocol and members of classic groups. A group that does not exist is
 * described as Dead with no error (up to v5, as Kafka does).
 *
 * @module
 */
import type { ApiKey } from "../../protocol/messages.ts";
import type { Handler } from "../broker_context.ts";
import { groupCoordinatorOf } from "../group/group_coordinator.ts";
import { AUTHORIZED_OPERATIONS_OMITTED } from "./metadata.ts";

/**
 * Every group operation as a bit field (READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS): what everyone
 * may do without an authorizer; Kafka 4.3 answers it for any group asked about, even one that does not exist.
 */
export const GROUP_OPERATIONS_ALL = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11);

/** Answers DescribeGroups. */
export const handleDescribeGroups: Handler<typeof ApiKey.DescribeGroups> = (ctx, request) => {
  const { body } = request;
  return {
    throttleTimeMs: 0,
    groups: body.groups.map((groupId) => {
      const described = groupCoordinatorOf(ctx).describeGroup(groupId);
      return {
        ...described,
        authorizedOperations: body.includeAuthorizedOperations ? GROUP_OPERATIONS_ALL : AUTHORIZED_OPERATIONS_OMITTED,
      };
    }),
  };
};
