package dev.samsa.compat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Scripted scenarios with the official Kafka Java client against any Kafka-compatible broker.
 *
 * <p>Usage: {@code Driver <bootstrap> <scenario>}; scenarios: produce-idempotent, produce-retry (to the topic
 * COMPAT_TOPIC), consume, follower-fetch (brokers with racks, COMPAT_RF 3), admin, group-classic, group-consumer. Each check prints one JSON line {@code {"check": ..., "ok": ..., "detail": ...}}; the exit code
 * is 1 if any check failed. Topic and group names carry a per-run suffix, so runs never see each other's data.
 * Environment: COMPAT_RECORDS (default 100), COMPAT_RF (replication factor, default 1), COMPAT_TOPIC and
 * COMPAT_REQUEST_TIMEOUT_MS (produce-retry only).
 */
public final class Driver {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final long SCENARIO_LIMIT_MS = 180_000;

  private final String bootstrap;
  private final int records = intEnv("COMPAT_RECORDS", 100);
  private final short rf = (short) intEnv("COMPAT_RF", 1);
  private final String runId = Long.toString(System.currentTimeMillis(), 36);
  private int failures;

  private Driver(String bootstrap) {
    this.bootstrap = bootstrap;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: Driver <bootstrap> <produce-idempotent|produce-retry|consume|follower-fetch|admin|group-classic|group-consumer>");
      System.exit(2);
    }
    Driver driver = new Driver(args[0]);
    startWatchdog(args[1]);
    try {
      switch (args[1]) {
        case "produce-idempotent" -> driver.produceIdempotent();
        case "produce-retry" -> driver.produceRetry();
        case "consume" -> driver.consume();
        case "follower-fetch" -> driver.followerFetch();
        case "admin" -> driver.admin();
        case "group-classic" -> driver.group("classic");
        case "group-consumer" -> driver.group("consumer");
        default -> {
          System.err.println("unknown scenario: " + args[1]);
          System.exit(2);
        }
      }
    } catch (Exception e) {
      StringBuilder causes = new StringBuilder("exception: " + e);
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        causes.append(" / caused by: ").append(c);
      }
      driver.check(args[1], false, causes.toString());
    }
    System.exit(driver.failures == 0 ? 0 : 1);
  }

  /** N records with acks=all and idempotence on: every send is acknowledged, offsets are 0..N-1 in send order. */
  private void produceIdempotent() throws Exception {
    String topic = "java-idempotent-" + runId;
    createTopic(topic, 1, Map.of());
    Properties props = producerProps();
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    List<Long> offsets = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < records; i++) {
        acks.add(producer.send(new ProducerRecord<>(topic, "k-" + i, "v-" + i)));
      }
      producer.flush();
      for (Future<RecordMetadata> ack : acks) {
        offsets.add(ack.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).offset());
      }
    }
    check("all-acked", offsets.size() == records, ordered("acked", offsets.size(), "sent", records));
    boolean contiguous = true;
    for (int i = 0; i < offsets.size(); i++) {
      contiguous &= offsets.get(i) == i;
    }
    check("offsets-contiguous", contiguous, ordered("first", offsets.isEmpty() ? -1 : offsets.get(0),
        "last", offsets.isEmpty() ? -1 : offsets.get(offsets.size() - 1)));
    deleteTopicQuietly(topic);
  }

  /**
   * N records with idempotence to partition 0 of the existing topic COMPAT_TOPIC, through a network that loses
   * answers (the test's proxy): every send is acknowledged with offsets 0..N-1. The caller reads the partition
   * back to see that each record is stored exactly once; the topic is left for it.
   */
  private void produceRetry() throws Exception {
    String topic = System.getenv("COMPAT_TOPIC");
    if (topic == null || topic.isBlank()) {
      throw new IllegalArgumentException("produce-retry needs COMPAT_TOPIC");
    }
    Properties props = producerProps();
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, "1024");
    // A short request timeout lets a test whose network holds an answer see the client give up and resend.
    String requestTimeoutMs = System.getenv("COMPAT_REQUEST_TIMEOUT_MS");
    if (requestTimeoutMs != null && !requestTimeoutMs.isBlank()) {
      props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, requestTimeoutMs.trim());
    }
    List<Long> offsets = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < records; i++) {
        acks.add(producer.send(new ProducerRecord<>(topic, 0, "k-" + i, "v-" + i)));
      }
      producer.flush();
      for (Future<RecordMetadata> ack : acks) {
        try {
          offsets.add(ack.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).offset());
        } catch (ExecutionException e) {
          errors.add(String.valueOf(e.getCause()));
        }
      }
    }
    check("all-acked", offsets.size() == records && errors.isEmpty(),
        ordered("acked", offsets.size(), "sent", records, "errors", errors.stream().distinct().limit(3).toList()));
    List<Long> expected = new ArrayList<>();
    for (long i = 0; i < records; i++) {
      expected.add(i);
    }
    check("offsets-in-send-order", offsets.equals(expected), ordered("first", offsets.isEmpty() ? -1 : offsets.get(0),
        "last", offsets.isEmpty() ? -1 : offsets.get(offsets.size() - 1)));
  }

  /** Produce N records, then read partition 0 from the beginning by assignment: exactly those records, in order. */
  private void consume() throws Exception {
    String topic = "java-consume-" + runId;
    createTopic(topic, 1, Map.of());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps())) {
      for (int i = 0; i < records; i++) {
        ProducerRecord<String, String> record = new ProducerRecord<>(topic, 0, "k-" + i, "v-" + i);
        record.headers().add("index", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
        producer.send(record);
      }
      producer.flush();
    }
    TopicPartition tp = new TopicPartition(topic, 0);
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps(null, null))) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      List<ConsumerRecord<String, String>> got = pollUntil(consumer, records);
      check("read-all", got.size() == records, ordered("read", got.size(), "produced", records));
      String mismatch = null;
      for (int i = 0; i < got.size() && mismatch == null; i++) {
        ConsumerRecord<String, String> r = got.get(i);
        var header = r.headers().lastHeader("index");
        boolean same = r.offset() == i && ("k-" + i).equals(r.key()) && ("v-" + i).equals(r.value())
            && header != null && Integer.toString(i).equals(new String(header.value(), StandardCharsets.UTF_8));
        if (!same) {
          mismatch = "offset " + r.offset() + " key " + r.key() + " value " + r.value();
        }
      }
      check("records-match", mismatch == null && got.size() == records, mismatch == null ? "in order" : mismatch);
      List<ConsumerRecord<String, String>> extra = pollFor(consumer, Duration.ofSeconds(1));
      long end = consumer.endOffsets(List.of(tp), TIMEOUT).get(tp);
      check("no-extra", extra.isEmpty() && end == records, ordered("extra", extra.size(), "endOffset", end));
    }
    deleteTopicQuietly(topic);
  }

  /**
   * KIP-392: N records to one partition (replication factor COMPAT_RF), then a consumer whose client.rack is the
   * rack of a follower reads them all. The last check, "follower", names the leader and that follower (the caller
   * checks on the brokers which one served the fetches).
   */
  private void followerFetch() throws Exception {
    String topic = "java-follower-fetch-" + runId;
    createTopic(topic, 1, Map.of());
    Properties producerProps = producerProps();
    producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps)) {
      for (int i = 0; i < records; i++) {
        producer.send(new ProducerRecord<>(topic, 0, "k-" + i, "v-" + i));
      }
      producer.flush();
    }
    org.apache.kafka.common.Node leader;
    org.apache.kafka.common.Node follower;
    try (Admin admin = Admin.create(adminProps())) {
      var partition = admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .get(topic).partitions().get(0);
      leader = partition.leader();
      follower = partition.replicas().stream().filter(n -> n.id() != leader.id() && n.hasRack()).findFirst().orElse(null);
    }
    check("follower-with-rack", follower != null, ordered("leader", leader.id()));
    if (follower == null) {
      return;
    }
    Properties props = consumerProps(null, null);
    props.put(ConsumerConfig.CLIENT_RACK_CONFIG, follower.rack());
    props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
    TopicPartition tp = new TopicPartition(topic, 0);
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      List<ConsumerRecord<String, String>> got = pollUntil(consumer, records);
      boolean inOrder = got.size() == records;
      // Offsets need not start at 0: a replicated partition's first leader writes a control batch first.
      for (int i = 0; i < got.size() && inOrder; i++) {
        inOrder = ("v-" + i).equals(got.get(i).value()) && (i == 0 || got.get(i).offset() > got.get(i - 1).offset());
      }
      check("read-all-in-order", inOrder, ordered("read", got.size(), "produced", records));
    }
    check("follower", true, ordered("leader", leader.id(), "follower", follower.id(), "rack", follower.rack(),
        "topic", topic));
  }

  /** The Admin API round: create, describe, list, describe configs, list offsets, delete. */
  private void admin() throws Exception {
    String topic = "java-admin-" + runId;
    try (Admin admin = Admin.create(adminProps())) {
      // The CreateTopics answer itself says what was created (v5+): partitions, replication factor, configs.
      CreateTopicsResult created = admin.createTopics(
          List.of(new NewTopic(topic, 3, rf).configs(Map.of("retention.ms", "123456"))));
      created.all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      int createdPartitions = created.numPartitions(topic).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      int createdRf = created.replicationFactor(topic).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      var createdRetention = created.config(topic).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get("retention.ms");
      String createdRetentionValue = createdRetention == null ? null : createdRetention.value();
      check("create-topic", createdPartitions == 3 && createdRf == rf && "123456".equals(createdRetentionValue),
          ordered("partitions", createdPartitions, "replicationFactor", createdRf, "retention.ms",
              createdRetentionValue));

      TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames()
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(topic);
      boolean leaders = description.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty());
      check("describe-topic", description.partitions().size() == 3 && leaders,
          ordered("partitions", description.partitions().size(), "leaders", leaders));

      Set<String> names = admin.listTopics().names().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      check("list-topics", names.contains(topic), ordered("topics", names.size()));

      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Config config = admin.describeConfigs(List.of(resource)).all()
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(resource);
      var retention = config.get("retention.ms");
      check("describe-configs", retention != null && "123456".equals(retention.value()),
          retention == null ? "retention.ms missing" : "retention.ms=" + retention.value());

      int produced = 5;
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps())) {
        for (int i = 0; i < produced; i++) {
          producer.send(new ProducerRecord<>(topic, 0, "k-" + i, "v-" + i));
        }
        producer.flush();
      }
      TopicPartition tp = new TopicPartition(topic, 0);
      long earliest = admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp)
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).offset();
      long latest = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp)
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).offset();
      check("list-offsets", earliest == 0 && latest == produced, ordered("earliest", earliest, "latest", latest));

      String deleteError = null;
      try {
        admin.deleteTopics(List.of(topic)).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        deleteError = String.valueOf(e.getCause());
      }
      check("delete-topic", deleteError == null, deleteError == null ? topic : deleteError);
      boolean gone = false;
      for (long deadline = System.currentTimeMillis() + 10_000; !gone && System.currentTimeMillis() < deadline; ) {
        gone = !admin.listTopics().names().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).contains(topic);
        if (!gone) {
          Thread.sleep(200);
        }
      }
      check("topic-gone", gone, topic);
    }
  }

  /**
   * A consumer group with the given group.protocol: a first member consumes N records and commits; after it leaves,
   * M more records arrive and a second member of the same group reads exactly those M, resuming from the commit.
   */
  private void group(String protocol) throws Exception {
    String topic = "java-group-" + protocol + "-" + runId;
    String group = "java-group-" + protocol + "-" + runId;
    int partitions = 2;
    createTopic(topic, partitions, Map.of());
    produceSpread(topic, partitions, "first-", records);

    try (KafkaConsumer<String, String> first = new KafkaConsumer<>(consumerProps(group, protocol))) {
      first.subscribe(List.of(topic));
      List<ConsumerRecord<String, String>> got = pollUntil(first, records);
      check("first-member-reads-all", sortedValues(got).equals(numbered("first-", records)),
          ordered("read", got.size(), "distinct", got.stream().map(ConsumerRecord::value).distinct().count(),
              "produced", records));
      first.commitSync(TIMEOUT);
      Set<TopicPartition> tps = first.assignment();
      long committed = first.committed(tps, TIMEOUT).values().stream()
          .mapToLong(o -> o == null ? 0 : o.offset()).sum();
      check("commit", committed == records, ordered("committedTotal", committed, "assigned", tps.size()));
    }

    try (Admin admin = Admin.create(adminProps())) {
      ConsumerGroupDescription description = admin.describeConsumerGroups(List.of(group)).describedGroups()
          .get(group).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      String type = String.valueOf(description.type()).toLowerCase();
      check("group-type", type.equals(protocol), ordered("type", type, "state", String.valueOf(description.groupState())));
    }

    int more = Math.max(1, records / 2);
    produceSpread(topic, partitions, "second-", more);
    try (KafkaConsumer<String, String> second = new KafkaConsumer<>(consumerProps(group, protocol))) {
      second.subscribe(List.of(topic));
      // Each partition is read in order from the commit: a record re-read from before it would come before the
      // new ones of its partition, so once `more` records are in, a replay would be among them.
      List<ConsumerRecord<String, String>> got = pollUntil(second, more);
      long replayed = got.stream().filter(r -> !r.value().startsWith("second-")).count();
      check("second-member-resumes", sortedValues(got).equals(numbered("second-", more)),
          ordered("read", got.size(), "expected", more, "replayed", replayed));
      second.commitSync(TIMEOUT);
    }

    try (Admin admin = Admin.create(adminProps())) {
      Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      long total = offsets.values().stream().mapToLong(OffsetAndMetadata::offset).sum();
      check("group-offsets", total == records + more, ordered("committedTotal", total, "expected", records + more));
      admin.deleteConsumerGroups(List.of(group)).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }
    deleteTopicQuietly(topic);
  }

  // ---- helpers

  private static List<String> sortedValues(List<ConsumerRecord<String, String>> got) {
    return got.stream().map(ConsumerRecord::value).sorted().toList();
  }

  /** {@code prefix0 … prefix(count-1)}, sorted as strings (to compare with {@link #sortedValues}). */
  private static List<String> numbered(String prefix, int count) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(prefix + i);
    }
    return out.stream().sorted().toList();
  }

  private void produceSpread(String topic, int partitions, String prefix, int count) throws Exception {
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps())) {
      for (int i = 0; i < count; i++) {
        producer.send(new ProducerRecord<>(topic, i % partitions, "k-" + i, prefix + i));
      }
      producer.flush();
    }
  }

  private List<ConsumerRecord<String, String>> pollUntil(KafkaConsumer<String, String> consumer, int count) {
    List<ConsumerRecord<String, String>> got = new ArrayList<>();
    long deadline = System.currentTimeMillis() + 45_000;
    while (got.size() < count && System.currentTimeMillis() < deadline) {
      consumer.poll(Duration.ofMillis(200)).forEach(got::add);
    }
    return got;
  }

  private List<ConsumerRecord<String, String>> pollFor(KafkaConsumer<String, String> consumer, Duration duration) {
    List<ConsumerRecord<String, String>> got = new ArrayList<>();
    long deadline = System.currentTimeMillis() + duration.toMillis();
    while (System.currentTimeMillis() < deadline) {
      consumer.poll(Duration.ofMillis(100)).forEach(got::add);
    }
    return got;
  }

  private void createTopic(String topic, int partitions, Map<String, String> configs) throws Exception {
    try (Admin admin = Admin.create(adminProps())) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, rf).configs(configs))).all()
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw e;
      }
    }
  }

  private void deleteTopicQuietly(String topic) {
    try (Admin admin = Admin.create(adminProps())) {
      admin.deleteTopics(List.of(topic)).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      System.err.println("cleanup: could not delete " + topic + ": " + e);
    }
  }

  private Properties adminProps() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    return props;
  }

  private Properties producerProps() {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis() / 2);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    return props;
  }

  private Properties consumerProps(String group, String protocol) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    if (group != null) {
      props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
    }
    return props;
  }

  private void check(String name, boolean ok, Object detail) {
    if (!ok) {
      failures++;
    }
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("check", name);
    line.put("ok", ok);
    line.put("detail", detail);
    System.out.println(json(line));
    System.out.flush();
  }

  /** Key-value pairs in the order given, so check details read the same on every run. */
  private static Map<String, Object> ordered(Object... keysAndValues) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i + 1 < keysAndValues.length; i += 2) {
      map.put(String.valueOf(keysAndValues[i]), keysAndValues[i + 1]);
    }
    return map;
  }

  /** A scenario that hangs is a failure, not a stuck test run. */
  private static void startWatchdog(String scenario) {
    Thread watchdog = new Thread(() -> {
      try {
        Thread.sleep(SCENARIO_LIMIT_MS);
      } catch (InterruptedException e) {
        return;
      }
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("check", scenario);
      line.put("ok", false);
      line.put("detail", "timed out after " + SCENARIO_LIMIT_MS / 1000 + "s");
      System.out.println(json(line));
      System.out.flush();
      Runtime.getRuntime().halt(1);
    });
    watchdog.setDaemon(true);
    watchdog.start();
  }

  private static int intEnv(String name, int fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : Integer.parseInt(value.trim());
  }

  /** Just enough JSON for check lines: maps, lists, strings, numbers, booleans, null. */
  static String json(Object value) {
    if (value == null) {
      return "null";
    }
    if (value instanceof Number || value instanceof Boolean) {
      return value.toString();
    }
    if (value instanceof Map<?, ?> map) {
      return map.entrySet().stream().map(e -> json(String.valueOf(e.getKey())) + ": " + json(e.getValue()))
          .collect(Collectors.joining(", ", "{", "}"));
    }
    if (value instanceof Collection<?> list) {
      return list.stream().map(Driver::json).collect(Collectors.joining(", ", "[", "]"));
    }
    StringBuilder out = new StringBuilder("\"");
    for (char c : value.toString().toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> out.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
      }
    }
    return out.append('"').toString();
  }
}
