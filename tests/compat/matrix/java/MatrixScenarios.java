import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The matrix's own scenarios for the official Java client, beside the Java driver (tests/compat/java), which has
 * no compression or transaction scenario. Run as a single-file program on the driver's jars:
 * {@code java -cp 'tests/compat/java/target/lib/*' MatrixScenarios.java <bootstrap> <scenario> [codec]}.
 *
 * <p>Scenarios: {@code produce-codec <none|gzip|snappy|lz4|zstd>} (a non-idempotent producer with
 * {@code compression.type}, then the records read back by assignment), {@code transactions} (a committed and an
 * aborted transaction; read_committed sees only the first, read_uncommitted both). One JSON line per check, as the
 * drivers print; exit 1 if a check failed.
 */
public final class MatrixScenarios {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final int RECORDS = Integer.parseInt(System.getenv().getOrDefault("COMPAT_RECORDS", "100"));
  private static final String RUN_ID = Long.toString(System.currentTimeMillis(), 36);
  private static String bootstrap;
  private static int failures;

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: MatrixScenarios <bootstrap> <produce-codec CODEC|transactions>");
      System.exit(2);
    }
    bootstrap = args[0];
    String scenario = args[1];
    Thread watchdog = new Thread(() -> {
      try {
        Thread.sleep(170_000);
        check(scenario, false, json("timed out after 170 s"));
        System.exit(1);
      } catch (InterruptedException e) {
        // finished in time
      }
    });
    watchdog.setDaemon(true);
    watchdog.start();
    try {
      switch (scenario) {
        case "produce-codec" -> produceCodec(args.length > 2 ? args[2] : "none");
        case "transactions" -> transactions();
        default -> {
          System.err.println("unknown scenario: " + scenario);
          System.exit(2);
        }
      }
    } catch (Exception e) {
      StringBuilder causes = new StringBuilder("exception: " + e);
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        causes.append(" / caused by: ").append(c);
      }
      check(scenario, false, json(causes.toString()));
    }
    System.exit(failures == 0 ? 0 : 1);
  }

  private static void produceCodec(String codec) throws Exception {
    String topic = "java-matrix-" + codec + "-" + RUN_ID;
    createTopic(topic);
    Properties props = producerProps();
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    List<Long> offsets = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < RECORDS; i++) {
        String value = codec + "-value-" + i + "-" + "x".repeat(i % 40);
        acks.add(producer.send(new ProducerRecord<>(topic, 0, "k-" + i, value)));
      }
      producer.flush();
      for (Future<RecordMetadata> ack : acks) {
        offsets.add(ack.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).offset());
      }
    }
    boolean contiguous = offsets.size() == RECORDS;
    for (int i = 0; i < offsets.size(); i++) {
      contiguous &= offsets.get(i) == i;
    }
    check("acked-in-order", contiguous, "{\"acked\": " + offsets.size() + ", \"sent\": " + RECORDS + "}");
    List<ConsumerRecord<String, String>> got = readAll(topic, "read_uncommitted", RECORDS);
    String mismatch = null;
    for (int i = 0; i < got.size() && mismatch == null; i++) {
      ConsumerRecord<String, String> r = got.get(i);
      if (r.offset() != i || !("k-" + i).equals(r.key())
          || !(codec + "-value-" + i + "-" + "x".repeat(i % 40)).equals(r.value())) {
        mismatch = "offset " + r.offset() + " key " + r.key();
      }
    }
    check("read-back", got.size() == RECORDS && mismatch == null,
        "{\"read\": " + got.size() + ", \"mismatch\": " + json(mismatch) + "}");
    deleteTopicQuietly(topic);
  }

  private static void transactions() throws Exception {
    String topic = "java-matrix-txn-" + RUN_ID;
    createTopic(topic);
    Properties props = producerProps();
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "java-matrix-txn-" + RUN_ID);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
    int aborted = Math.max(1, RECORDS / 2);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      producer.initTransactions();
      check("init-transactions", true, null);
      producer.beginTransaction();
      for (int i = 0; i < RECORDS; i++) {
        producer.send(new ProducerRecord<>(topic, 0, "k-" + i, "committed-" + i));
      }
      producer.commitTransaction();
      check("commit", true, null);
      producer.beginTransaction();
      for (int i = 0; i < aborted; i++) {
        producer.send(new ProducerRecord<>(topic, 0, "k-" + i, "aborted-" + i));
      }
      producer.flush();
      producer.abortTransaction();
      check("abort", true, null);
    }
    List<ConsumerRecord<String, String>> committed = readAll(topic, "read_committed", RECORDS);
    long onlyCommitted = committed.stream().filter(r -> r.value().startsWith("committed-")).count();
    check("read-committed", committed.size() == RECORDS && onlyCommitted == RECORDS,
        "{\"read\": " + committed.size() + ", \"committed\": " + onlyCommitted + "}");
    List<ConsumerRecord<String, String>> all = readAll(topic, "read_uncommitted", RECORDS + aborted);
    check("read-uncommitted", all.size() == RECORDS + aborted,
        "{\"read\": " + all.size() + ", \"expected\": " + (RECORDS + aborted) + "}");
    deleteTopicQuietly(topic);
  }

  /** Reads partition 0 from the beginning by assignment until `count` records or 30 s, then 1 s more. */
  private static List<ConsumerRecord<String, String>> readAll(String topic, String isolation, int count) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<ConsumerRecord<String, String>> got = new ArrayList<>();
    TopicPartition tp = new TopicPartition(topic, 0);
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.currentTimeMillis() + TIMEOUT.toMillis();
      while (got.size() < count && System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(got::add);
      }
      long settle = System.currentTimeMillis() + 1000;
      while (System.currentTimeMillis() < settle) {
        consumer.poll(Duration.ofMillis(100)).forEach(got::add);
      }
    }
    return got;
  }

  private static Properties producerProps() {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    return props;
  }

  private static Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000"));
  }

  private static void createTopic(String topic) throws Exception {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
  }

  private static void deleteTopicQuietly(String topic) {
    try (Admin admin = admin()) {
      admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("cleanup: could not delete " + topic + ": " + e);
    }
  }

  private static synchronized void check(String name, boolean ok, String detailJson) {
    if (!ok) {
      failures++;
    }
    System.out.println("{\"check\": " + json(name) + ", \"ok\": " + ok + ", \"detail\": "
        + (detailJson == null ? "null" : detailJson) + "}");
    System.out.flush();
  }

  private static String json(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> b.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
      }
    }
    return b.append('"').toString();
  }
}
