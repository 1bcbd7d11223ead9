/**
 * Differences between Samsa and Apache Kafka that are known and justified. A difference listed here is
 * reported by `diff_test.ts` and `main.ts` but does not fail them. Every entry says why the difference is
 * acceptable (or which issue will remove it); an entry without a good reason belongs in a bug report instead.
 *
 * @example
 * ```ts
 * import { explainDifference } from "./known_differences.ts";
 * explainDifference("metadata", "[all topics] Metadata v12: topics[0].name"); // undefined: not known
 * ```
 *
 * @module
 */

/** One justified difference. */
export interface KnownDifference {
  /** The scenario's name. */
  scenario: string;
  /** Matches the difference's full path (`[step] Api vN: field.path`); every difference of the scenario if absent. */
  path?: RegExp;
  /** Why Samsa may answer differently. */
  reason: string;
}

/** The list. Differences that are bugs (or missing features) stay out of it and fail the test. */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    scenario: "metadata",
    path: /^\[missing topic, auto-create on v(6|12)\] Metadata v\d+: topics\[0\]\.(errorCode|partitions\[0\]|topicId)$/,
    reason: "Kafka 4.x (KRaft) creates the topic asynchronously and answers the first Metadata with " +
      "UNKNOWN_TOPIC_OR_PARTITION; Samsa creates it before answering and returns it. Clients retry on the " +
      "error and then see the same topic, so Samsa's answer only saves them a round trip.",
  },
  {
    scenario: "create_topics",
    path: /configs\["min\.insync\.replicas"\]\.configSource$/,
    reason: "Kafka 4.x writes min.insync.replicas as a cluster-wide dynamic default when it formats storage " +
      "(KIP-966), so its source is DYNAMIC_DEFAULT_BROKER_CONFIG (3); Samsa has no dynamic broker configs and " +
      "reports DEFAULT_CONFIG (5). Value, readOnly and sensitivity agree.",
  },
  {
    scenario: "describe_configs",
    path: /configs\["min\.insync\.replicas"\]\.configSource$/,
    reason: "See create_topics: Kafka 4.x stores min.insync.replicas as a cluster-wide dynamic default (KIP-966).",
  },
  {
    scenario: "produce",
    path: /^\[null records field\] Produce v9: error$/,
    reason: "Kafka 4.3.1 throws a NullPointerException for a partition with null records and never answers " +
      "(a Kafka bug, see the broker log); Samsa answers with an error code, which is what a client can use.",
  },
  {
    scenario: "produce",
    path:
      /^\[idempotent seq (2 again|0 again) .*\] Produce v9: responses\[0\]\.partitionResponses\[0\]\.logAppendTimeMs$/,
    reason: "For a duplicate batch Kafka returns the original batch's max timestamp as logAppendTimeMs even on " +
      "a CreateTime topic (it replays cached batch metadata); Samsa returns -1 as for any CreateTime append. " +
      "Clients then report the record's own create time, which is the same instant.",
  },
  {
    scenario: "record_validation",
    path: /^\[offset deltas 0, 2, 1\] Produce v9: responses\[0\]\.partitionResponses\[0\]\.(errorCode|baseOffset)$/,
    reason: "Kafka stores an uncompressed batch whose records' offset deltas are not 0..n-1 as sent (and rewrites " +
      "a compressed one), so its records carry offsets other than those the broker assigned, or the same offset " +
      "twice; Samsa never rewrites batches and refuses it with INVALID_RECORD. No real client writes such deltas.",
  },
  {
    scenario: "record_validation",
    path: /^\[gzip stream of garbage\] Produce v9: responses\[0\]\.partitionResponses\[0\]\.errorCode$/,
    reason: "A compressed records section that does not decompress surfaces in Kafka 4.3.1 as an internal " +
      "KafkaException, answered UNKNOWN_SERVER_ERROR; Samsa answers INVALID_RECORD like every other record " +
      "defect: the client's bytes are wrong and resending them cannot help.",
  },
  {
    scenario: "record_validation",
    path:
      /^\[records 1 and 3 of 5 timestamped .*\] Produce v9: responses\[0\]\.partitionResponses\[0\]\.recordErrors\[\d\]\.batchIndexErrorMessage$/,
    reason: "The message names the accepted range, now - message.timestamp.before.max.ms to now + " +
      "message.timestamp.after.max.ms, so it holds each broker's clock at the time of the run (and Kafka's lower " +
      "bound is computed in 64-bit integers, Samsa's in doubles). Record indexes and error codes agree.",
  },
  {
    scenario: "list_offsets",
    path:
      /^\[timestamp (T0\+1 \(exact\)|0 \(before every record\)) v\d+\] ListOffsets v\d+: topics\[0\]\.partitions\[0\]\.(offset|timestamp)$/,
    reason: "By design (broker/handlers/list_offsets.ts): Samsa does not decode records, so a lookup by time " +
      "answers the base offset and max timestamp of the first batch whose max timestamp is >= the target; Kafka " +
      "answers the first record's own offset and timestamp. Samsa's offset is never later and lies in the same " +
      "batch, so a consumer seeking there misses nothing (it may re-read a few records of that batch).",
  },
  {
    scenario: "fetch",
    path: /^\[open a fetch session \(epoch 0\) v\d+\] Fetch v\d+: sessionId$/,
    reason: "Samsa declines incremental fetch sessions, answering sessionId 0, which KIP-227 allows: clients " +
      "then keep sending full fetch requests. Costs request size with many partitions, not correctness.",
  },
  {
    scenario: "api_versions",
    path: /^\[api versions v99 \(unknown version\) answered as v0\] observation: body\.apiKeys/,
    reason: "To an unknown ApiVersions version Kafka answers UNSUPPORTED_VERSION listing only ApiVersions' own " +
      "range; Samsa lists every API. Both carry the same ApiVersions range, the only entry clients read " +
      "(KIP-511) before retrying at a version both know.",
  },

  ...["create_topics", "describe_configs"].flatMap((scenario) => [
    {
      scenario,
      path:
        /configs\["(remote\.storage\.enable|remote\.log\.copy\.disable|remote\.log\.delete\.on\.disable|local\.retention\.ms|local\.retention\.bytes)"\]$/,
      reason: "Tiered storage (KIP-405) is not implemented: Samsa keeps every segment on local disk, so it neither " +
        "reports these keys nor accepts them (CreateTopics answers INVALID_CONFIG, 'Unknown topic config name'). " +
        "Kafka reports them with remote storage off, which is what Samsa does.",
    },
    {
      scenario,
      path: /configs\["(leader|follower)\.replication\.throttled\.replicas"\]$/,
      reason: "Replication quotas (KIP-73) are not implemented: Samsa's Raft replication is never throttled, so " +
        "there is no throttled-replica list to report or set. Kafka's default is the empty list, i.e. no throttle.",
    },
    {
      scenario,
      path: /configs\["compression\.(gzip|lz4|zstd)\.level"\]$/,
      reason: "Codec levels (KIP-390) matter only when the broker recompresses batches; Samsa stores batches as the " +
        "producer compressed them (bytes stay bytes: compression.type is accepted but not applied), so it has no " +
        "level to use and does not offer the keys. Producers still choose their own level.",
    },
  ]),
  {
    scenario: "api_versions",
    path: /^\[api versions v[34]\] ApiVersions v[34]: (supportedFeatures|finalizedFeatures)\[\d+\]$/,
    reason: "Samsa advertises only the feature levels (KIP-584) whose behaviour it has: metadata.version, " +
      "kraft.version 0 and group.version 1 (broker/metadata/features.ts). Clients treat a missing feature as level " +
      "0 and use the behaviour that predates it: transaction.version < 2 (no per-transaction epoch bump of KIP-890 " +
      "part 2); share.version, streams.version and eligible.leader.replicas.version describe features Samsa does " +
      "not have.",
  },
  {
    scenario: "api_versions",
    path:
      /: apiKeys\[(SaslHandshake|SaslAuthenticate|DescribeAcls|CreateAcls|DeleteAcls|CreateDelegationToken|RenewDelegationToken|ExpireDelegationToken|DescribeDelegationToken|DescribeUserScramCredentials|AlterUserScramCredentials)\]$/,
    reason: "Samsa serves PLAINTEXT listeners only, without authentication or authorization (docs/OPERATIONS.md), " +
      "so it lists no SASL, ACL, delegation-token or SCRAM API. A client configured for SASL fails while it sets " +
      "up its connection, before it sends any data.",
  },
  {
    scenario: "api_versions",
    path:
      /: apiKeys\[(AddPartitionsToTxn|AddOffsetsToTxn|EndTxn|WriteTxnMarkers|TxnOffsetCommit|DescribeTransactions|ListTransactions|DescribeProducers)\]$/,
    reason: "Transactions are not served yet (the compatibility matrix marks them failing for every client); " +
      "idempotent producers need none of these APIs. Clients see the APIs missing and fail a transactional " +
      "producer at initTransactions. DescribeProducers is the admin view of the " +
      "same transaction state.",
  },
  {
    scenario: "api_versions",
    path:
      /: apiKeys\[(ShareGroupHeartbeat|ShareGroupDescribe|ShareFetch|ShareAcknowledge|InitializeShareGroupState|ReadShareGroupState|WriteShareGroupState|DeleteShareGroupState|ReadShareGroupStateSummary|api 88|api 89|api 90|api 91|api 92)\]$/,
    reason: "Share groups (KIP-932, queues) and Streams groups (KIP-1071, keys 88 and 89) are not implemented; " +
      "keys 90-92 are the share-group offset admin APIs. Clients use them only when asked to (a share consumer, " +
      "group.protocol=streams) and then report the API as unsupported.",
  },
  {
    scenario: "api_versions",
    path:
      /: apiKeys\[(DescribeQuorum|AddRaftVoter|RemoveRaftVoter|UnregisterBroker|UpdateFeatures|DescribeClientQuotas|AlterClientQuotas|ListClientMetricsResources)\]$/,
    reason: "Administration of Kafka's KRaft controller quorum, feature levels, client quotas and client metrics " +
      "(KIP-714): Samsa's metadata is its own Raft log configured at start, with no quotas and no pushed client " +
      "metrics, so the admin tools for them have nothing to act on. Clients never need them to produce or consume.",
  },
  {
    scenario: "api_versions",
    path: /: apiKeys\[(AlterReplicaLogDirs|DescribeLogDirs)\]$/,
    reason:
      "Not implemented yet: moving replicas between log directories (one log directory per broker). Admin calls for " +
      "them fail with UNSUPPORTED_VERSION; producing, consuming and groups do not use them.",
  },
  {
    scenario: "api_versions",
    path: /: apiKeys\[DescribeTopicPartitions\]$/,
    reason: "KIP-966's paginated topic description; the Java Admin client falls back to Metadata when the broker " +
      "does not list it (the Java driver's admin scenario describes topics that way), and other clients use Metadata.",
  },
];

/** The entry that justifies a difference at `path` in `scenario`, if any. */
export function explainDifference(scenario: string, path: string): KnownDifference | undefined {
  return KNOWN_DIFFERENCES.find((k) => k.scenario === scenario && (k.path === undefined || k.path.test(path)));
}
