package dev.samsa.compat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The chaos workload with the official Java client: the same modes, arguments and JSON lines as
 * {@code tests/chaos/workload.py}, so the chaos scenario drives it and the checker judges it unchanged.
 *
 * <pre>
 * ChaosWorkload produce &lt;bootstrap&gt; &lt;topic&gt; &lt;partitions&gt; [--max-records N] [--max-seconds S]
 *               [--interval-ms I] [--message-timeout-ms M] [--flush-seconds F]
 * ChaosWorkload consume &lt;bootstrap&gt; &lt;topic&gt; &lt;partitions&gt; [--max-seconds S]
 * ChaosWorkload group &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt; [--group-protocol classic|consumer] [--max-seconds S]
 * ChaosWorkload tail &lt;bootstrap&gt; &lt;topic&gt; &lt;partitions&gt; [--max-seconds S]
 * </pre>
 *
 * <p>produce: an idempotent acks=all producer sends 0, 1, 2, ... (decimal text), value v to partition v % partitions,
 * one every I ms, until stdin closes, N values were sent or S seconds passed, then waits at most F seconds for the
 * outstanding acknowledgements. Lines: {@code ack} (value, partition, offset, atMs), {@code fail}, {@code error},
 * then {@code done} (sent, unflushed). consume: reads every partition from the beginning to the high watermark found
 * at the start; {@code read} lines, then {@code done} (highWatermarks, complete). group: a member of a consumer group
 * auto-committing every 100 ms, {@code read} lines until stdin closes, then it commits, leaves and prints
 * {@code done}. tail: like consume but with no end: it follows the partitions from the beginning (no group, no
 * commits) until stdin closes, so a position reset (a skip or a re-read) shows in its read lines; it logs the
 * consumer's position validation (KIP-320) at debug level to stderr.
 *
 * <p>Every loop is bounded in time; the exit code is 0 unless the arguments are wrong (2).
 */
public final class ChaosWorkload {
  private static final Object OUT = new Object();

  private ChaosWorkload() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 4 || !List.of("produce", "consume", "group", "tail").contains(args[0])) {
      System.err.println("usage: ChaosWorkload produce|consume|tail <bootstrap> <topic> <partitions> [options]");
      System.err.println("       ChaosWorkload group <bootstrap> <topic> <group> [--group-protocol classic|consumer]");
      System.exit(2);
    }
    Map<String, String> options = new HashMap<>();
    for (int i = 4; i + 1 < args.length; i += 2) {
      options.put(args[i], args[i + 1]);
    }
    if (args[0].equals("tail")) {
      // Before the first logger exists: slf4j-simple reads its levels once.
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka.clients.consumer.internals", "debug");
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient", "debug");
    }
    double maxSeconds = Double.parseDouble(options.getOrDefault("--max-seconds", "120"));
    long deadline = System.nanoTime() + (long) (maxSeconds * 1e9);
    switch (args[0]) {
      case "produce" -> produce(args[1], args[2], Integer.parseInt(args[3]), options, deadline);
      case "consume" -> consume(args[1], args[2], Integer.parseInt(args[3]), deadline);
      case "group" -> group(args[1], args[2], args[3], options.getOrDefault("--group-protocol", "classic"), deadline);
      default -> tail(args[1], args[2], Integer.parseInt(args[3]), deadline);
    }
    System.exit(0);
  }

  private static void produce(String bootstrap, String topic, int partitions, Map<String, String> options,
      long deadline) throws InterruptedException {
    long maxRecords = Long.parseLong(options.getOrDefault("--max-records", "1000000"));
    long intervalNanos = (long) (Double.parseDouble(options.getOrDefault("--interval-ms", "2")) * 1e6);
    int messageTimeoutMs = Integer.parseInt(options.getOrDefault("--message-timeout-ms", "30000"));
    double flushSeconds = Double.parseDouble(options.getOrDefault("--flush-seconds", "30"));
    Thread stdinClosed = watchStdin();
    Properties props = commonConfig(bootstrap);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "2");
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
    // The Java client's counterpart of librdkafka's message.timeout.ms; it must cover linger + request timeout.
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(messageTimeoutMs, 3002)));
    props.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "50");
    props.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "500");
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
    AtomicInteger outstanding = new AtomicInteger();
    long sent = 0;
    int unflushed = 0;
    KafkaProducer<String, String> producer = new KafkaProducer<>(props);
    try {
      long next = System.nanoTime();
      while (stdinClosed.isAlive() && sent < maxRecords && System.nanoTime() < deadline) {
        long value = sent;
        try {
          outstanding.incrementAndGet();
          producer.send(new ProducerRecord<>(topic, (int) (value % partitions), null, String.valueOf(value)),
              (metadata, error) -> {
                if (error == null) {
                  emit(line("type", "ack", "value", value, "partition", metadata.partition(), "offset",
                      metadata.offset(), "atMs", System.currentTimeMillis()));
                } else {
                  emit(line("type", "fail", "value", value, "error", error.toString(), "atMs",
                      System.currentTimeMillis()));
                }
                synchronized (outstanding) {
                  outstanding.decrementAndGet();
                  outstanding.notifyAll();
                }
              });
          sent++;
        } catch (KafkaException e) { // fatal for the idempotent producer (its guarantee is gone): stop sending
          outstanding.decrementAndGet();
          emit(line("type", "error", "error", "produce: " + e, "atMs", System.currentTimeMillis()));
          break;
        }
        next += intervalNanos;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
      }
      long flushDeadline = System.nanoTime() + (long) (flushSeconds * 1e9);
      synchronized (outstanding) {
        long left;
        while (outstanding.get() > 0 && (left = flushDeadline - System.nanoTime()) > 0) {
          outstanding.wait(Math.max(1, left / 1_000_000));
        }
        unflushed = outstanding.get();
      }
    } finally {
      emit(line("type", "done", "sent", sent, "unflushed", unflushed));
      producer.close(Duration.ZERO);
    }
  }

  private static void consume(String bootstrap, String topic, int partitions, long deadline) {
    Map<Integer, Long> high = new LinkedHashMap<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerConfig(bootstrap, null, null))) {
      for (int p = 0; p < partitions && System.nanoTime() < deadline; p++) {
        TopicPartition tp = new TopicPartition(topic, p);
        while (!high.containsKey(p) && System.nanoTime() < deadline) {
          try {
            high.put(p, consumer.endOffsets(List.of(tp), Duration.ofSeconds(2)).get(tp));
          } catch (KafkaException e) {
            emit(line("type", "error", "error", "watermarks of partition " + p + ": " + e, "atMs",
                System.currentTimeMillis()));
          }
        }
      }
      List<TopicPartition> assigned = high.keySet().stream().map(p -> new TopicPartition(topic, p)).toList();
      consumer.assign(assigned);
      consumer.seekToBeginning(assigned);
      Map<Integer, Long> position = new HashMap<>();
      high.keySet().forEach(p -> position.put(p, 0L));
      while (System.nanoTime() < deadline && high.entrySet().stream().anyMatch(e -> position.get(e.getKey()) < e.getValue())) {
        try {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
            position.put(r.partition(), r.offset() + 1);
            emitRead(r);
          }
        } catch (KafkaException e) {
          emit(line("type", "error", "error", e.toString(), "atMs", System.currentTimeMillis()));
        }
      }
      boolean complete = high.size() == partitions
          && high.entrySet().stream().allMatch(e -> position.get(e.getKey()) >= e.getValue());
      Map<String, Object> watermarks = new LinkedHashMap<>();
      high.forEach((p, hw) -> watermarks.put(String.valueOf(p), hw));
      emit(line("type", "done", "highWatermarks", watermarks, "complete", complete));
    }
  }

  private static void group(String bootstrap, String topic, String group, String protocol, long deadline) {
    Thread stdinClosed = watchStdin();
    Properties props = consumerConfig(bootstrap, group, protocol);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "true");
    props.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, "100");
    if (protocol.equals("classic")) {
      props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
      props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
    }
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(topic));
      pollUntilStopped(consumer, stdinClosed, deadline);
    } // close commits (auto-commit on) and leaves the group
    emit(line("type", "done"));
  }

  private static void tail(String bootstrap, String topic, int partitions, long deadline) {
    Thread stdinClosed = watchStdin();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerConfig(bootstrap, null, null))) {
      List<TopicPartition> assigned = new ArrayList<>();
      for (int p = 0; p < partitions; p++) {
        assigned.add(new TopicPartition(topic, p));
      }
      consumer.assign(assigned);
      consumer.seekToBeginning(assigned);
      pollUntilStopped(consumer, stdinClosed, deadline);
    }
    emit(line("type", "done"));
  }

  private static void pollUntilStopped(KafkaConsumer<String, String> consumer, Thread stdinClosed, long deadline) {
    while (stdinClosed.isAlive() && System.nanoTime() < deadline) {
      try {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
          emitRead(r);
        }
      } catch (KafkaException e) {
        emit(line("type", "error", "error", e.toString(), "atMs", System.currentTimeMillis()));
      }
    }
  }

  /** Reconnects and metadata refreshes fast enough that a failover is noticed within about a second. */
  private static Properties commonConfig(String bootstrap) {
    Properties props = new Properties();
    props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(CommonClientConfigs.RECONNECT_BACKOFF_MS_CONFIG, "50");
    props.put(CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    props.put(CommonClientConfigs.METADATA_MAX_AGE_CONFIG, "1000");
    props.put(CommonClientConfigs.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, "3000");
    props.put(CommonClientConfigs.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, "3000");
    return props;
  }

  private static Properties consumerConfig(String bootstrap, String group, String protocol) {
    Properties props = commonConfig(bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
    props.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    if (group != null) {
      props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
    } else {
      props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    }
    return props;
  }

  /** A thread that ends when stdin closes (the harness's "stop"). */
  private static Thread watchStdin() {
    Thread watcher = new Thread(() -> {
      try {
        InputStream in = System.in;
        byte[] buffer = new byte[256];
        while (in.read(buffer) >= 0) {
          // discard: only the end of input matters
        }
      } catch (IOException e) {
        // a closed stdin ends the wait too
      }
    }, "stdin-watch");
    watcher.setDaemon(true);
    watcher.start();
    return watcher;
  }

  private static void emitRead(ConsumerRecord<String, String> r) {
    emit(line("type", "read", "partition", r.partition(), "offset", r.offset(), "value", r.value()));
  }

  private static Map<String, Object> line(Object... keysAndValues) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i + 1 < keysAndValues.length; i += 2) {
      map.put(String.valueOf(keysAndValues[i]), keysAndValues[i + 1]);
    }
    return map;
  }

  /** One JSON line on stdout, whole: delivery callbacks run on the client's I/O thread. */
  private static void emit(Map<String, Object> line) {
    byte[] bytes = (Driver.json(line) + "\n").getBytes(StandardCharsets.UTF_8);
    synchronized (OUT) {
      System.out.write(bytes, 0, bytes.length);
      System.out.flush();
    }
  }
}
