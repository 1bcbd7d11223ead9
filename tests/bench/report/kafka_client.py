"""Kafka-protocol helpers for the side-by-side report, on librdkafka (confluent-kafka).

  kafka_client.py create BOOTSTRAP TOPIC PARTITIONS [TIMEOUT_S] [RF]   create a topic (replication factor RF, 1 unless
                                                                  given), wait until every partition has a leader
  kafka_client.py partition BOOTSTRAP TOPIC PARTITION            that partition's leader, replicas and ISR (Metadata)
  kafka_client.py wait-isr BOOTSTRAP TOPIC PARTITIONS RF TIMEOUT_S   wait until every partition is led with RF in sync
  kafka_client.py wait BOOTSTRAP TOPIC PARTITIONS TIMEOUT_S       wait until the topic lists PARTITIONS partitions with leaders
  kafka_client.py create-many BOOTSTRAP PREFIX TOPICS EACH TIMEOUT_S   TOPICS topics PREFIX-0.. of EACH partitions
  kafka_client.py wait-many BOOTSTRAP PREFIX TOPICS EACH TIMEOUT_S     wait until all of them are led
  kafka_client.py offsets BOOTSTRAP TOPIC PARTITIONS             every partition's high watermark (log end for acks)
  kafka_client.py e2e BOOTSTRAP TOPIC RATE SECONDS SIZE ACKS [FETCH_WAIT_MS]
                                                                  end-to-end latency at a fixed rate, one partition
  kafka_client.py failover BOOTSTRAP TOPIC RATE SIZE             produce to partition 0 at RATE records/s, acks=all,
                                                                  idempotent, until stdin says "stop"; "kill T" on stdin
                                                                  (T: wall-clock seconds of a kill -9) is answered by one
                                                                  line: the first acknowledgement of a record sent at or
                                                                  after T

Every command prints one JSON object on stdout. Used for both Samsa and Apache Kafka, so each sees the same client.
Consumers use assign(), not subscribe(): the report must not depend on group coordination.
"""

import collections
import json
import struct
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def leaders_ready(admin, topic, partitions):
    try:
        md = admin.list_topics(topic=topic, timeout=10)
    except KafkaException:
        return False
    t = md.topics.get(topic)
    if t is None or t.error is not None or len(t.partitions) != partitions:
        return False
    return all(p.leader >= 0 for p in t.partitions.values())


def wait(bootstrap, topic, partitions, timeout_s):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if leaders_ready(admin, topic, partitions):
            return {"ready": True, "seconds": time.monotonic() - start}
        time.sleep(0.05)
    return {"ready": False, "seconds": time.monotonic() - start}


def create(bootstrap, topic, partitions, timeout_s=120.0, rf=1):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    start = time.monotonic()
    futures = admin.create_topics([NewTopic(topic, partitions, rf)], request_timeout=timeout_s,
                                  operation_timeout=timeout_s)
    futures[topic].result()
    created = time.monotonic() - start
    ready = wait(bootstrap, topic, partitions, timeout_s)
    return {"created_s": created, "ready": ready["ready"], "seconds": time.monotonic() - start}


def create_many(bootstrap, prefix, topics, each, timeout_s):
    """One CreateTopics request per topic: Kafka refuses a request of more than 10,000 partition records."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    start = time.monotonic()
    for i in range(topics):
        name = f"{prefix}-{i}"
        admin.create_topics([NewTopic(name, each, 1)], request_timeout=timeout_s,
                            operation_timeout=timeout_s)[name].result()
    ready = wait_many(bootstrap, prefix, topics, each, timeout_s)
    return {"ready": ready["ready"], "seconds": time.monotonic() - start}


def wait_many(bootstrap, prefix, topics, each, timeout_s):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    start = time.monotonic()
    for i in range(topics):
        while not leaders_ready(admin, f"{prefix}-{i}", each):
            if time.monotonic() - start > timeout_s:
                return {"ready": False, "seconds": time.monotonic() - start}
            time.sleep(0.05)
    return {"ready": True, "seconds": time.monotonic() - start}


def partition(bootstrap, topic, index):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(topic=topic, timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None or index not in t.partitions:
        return {"leader": -1, "replicas": [], "isr": [], "error": str(t.error) if t is not None else "no topic"}
    p = t.partitions[index]
    return {"leader": p.leader, "replicas": list(p.replicas), "isr": list(p.isrs)}


def wait_isr(bootstrap, topic, partitions, rf, timeout_s):
    """Every partition led and with RF replicas in sync (a restarted broker has caught up)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            t = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
        except KafkaException:
            t = None
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
                p.leader >= 0 and len(p.isrs) >= rf for p in t.partitions.values()):
            return {"ready": True, "seconds": time.monotonic() - start}
        time.sleep(0.1)
    return {"ready": False, "seconds": time.monotonic() - start}


def offsets(bootstrap, topic, partitions):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    highs = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)]
    consumer.close()
    return {"offsets": highs, "total": sum(highs)}


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def e2e(bootstrap, topic, rate, seconds, size, acks, fetch_wait_ms=100):
    """Producer thread paced to RATE records/s; the main thread consumes and measures receive - send time."""
    warmup_s = min(2.0, seconds / 4)
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    _, high = probe.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    probe.close()
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
        "fetch.wait.max.ms": fetch_wait_ms, "fetch.min.bytes": 1,
    })
    consumer.assign([TopicPartition(topic, 0, high)])
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 1, "enable.idempotence": False})
    pad = b"x" * (size - 8)
    total = int(rate * seconds)
    sent = [0]
    errors = [0]

    def on_delivery(err, _msg):
        if err is not None:
            errors[0] += 1

    def produce():
        start = time.monotonic()
        while sent[0] < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            while sent[0] < due:
                try:
                    producer.produce(topic, struct.pack(">q", time.monotonic_ns()) + pad, partition=0,
                                     on_delivery=on_delivery)
                    sent[0] += 1
                except BufferError:
                    producer.poll(0.001)
            producer.poll(0)
            time.sleep(0.0005)
        producer.flush(30)

    thread = threading.Thread(target=produce)
    started = time.monotonic()
    thread.start()
    latencies = []
    received = 0
    deadline = started + seconds + 15
    while received < total and time.monotonic() < deadline:
        # consume() waits for num_messages or the timeout, whichever first: take what is there, else wait for one.
        msgs = consumer.consume(num_messages=1000, timeout=0)
        if not msgs:
            one = consumer.poll(0.05)
            msgs = [one] if one is not None else []
        for m in msgs:
            if m.error() is not None:
                continue
            now = time.monotonic_ns()
            sent_ns = struct.unpack(">q", m.value()[:8])[0]
            received += 1
            if (sent_ns / 1e9) - started >= warmup_s:
                latencies.append((now - sent_ns) / 1e6)
    elapsed = time.monotonic() - started
    thread.join()
    consumer.close()
    latencies.sort()
    return {
        "sent": sent[0], "received": received, "errors": errors[0], "seconds": elapsed,
        "rate_achieved": received / elapsed if elapsed > 0 else 0, "measured": len(latencies),
        "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
        "p999_ms": percentile(latencies, 0.999), "max_ms": latencies[-1] if latencies else None,
    }


def failover(bootstrap, topic, rate, size):
    """A paced acks=all idempotent producer that times its acknowledgements against kills announced on stdin.

    The runner kills a leader at wall-clock time T, then writes "kill T". The answer is the first acknowledgement
    of a record whose produce() call came at or after T: only a live leader can acknowledge it, so a reply the dead
    leader sent just before it died never counts. Acknowledgements of the last seconds are kept, so one that came
    before the "kill" line was read still counts.
    """
    pad = b"x" * (size - 8)
    lock = threading.Lock()
    recent = collections.deque(maxlen=20000)  # (sent, acked, offset) of the latest acknowledgements
    state = {"kill": None, "acked": 0, "errors": 0, "last_error": None, "first": False, "stop": False}

    def on_error(err):
        if err.fatal():
            state["last_error"] = str(err)
            state["stop"] = True
            print(json.dumps({"fatal": str(err)}), flush=True)

    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 1,
        "error_cb": on_error,
    })

    def answer(kill_at, sent, acked, offset):
        print(json.dumps({"kill_at": kill_at, "sent_at": sent, "acked_at": acked, "offset": offset,
                          "failover_ms": (acked - kill_at) * 1000}), flush=True)

    def on_delivery(err, msg):
        now = time.time()
        if err is not None:
            with lock:
                state["errors"] += 1
                state["last_error"] = str(err)
            return
        sent = struct.unpack(">d", msg.value()[:8])[0]
        with lock:
            state["acked"] += 1
            recent.append((sent, now, msg.offset()))
            if not state["first"]:
                state["first"] = True
                print(json.dumps({"first_ack_at": now}), flush=True)
            kill_at = state["kill"]
            if kill_at is not None and sent >= kill_at:
                state["kill"] = None
                answer(kill_at, sent, now, msg.offset())

    def commands():
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "kill":
                kill_at = float(words[1])
                with lock:
                    hit = next((r for r in recent if r[0] >= kill_at), None)
                    if hit is not None:
                        answer(kill_at, *hit)
                    else:
                        state["kill"] = kill_at
            elif words[0] == "stop":
                break
        state["stop"] = True

    reader = threading.Thread(target=commands, daemon=True)
    reader.start()
    start = time.monotonic()
    sent = 0
    while not state["stop"]:
        due = int((time.monotonic() - start) * rate) + 1
        while sent < due and not state["stop"]:
            try:
                producer.produce(topic, struct.pack(">d", time.time()) + pad, partition=0, on_delivery=on_delivery)
                sent += 1
            except BufferError:
                producer.poll(0.001)
                break
            except KafkaException as e:
                # A fatal error of the idempotent producer (e.g. a sequence gap after a lossy failover) ends the run.
                state["last_error"] = str(e)
                state["stop"] = True
                print(json.dumps({"fatal": str(e)}), flush=True)
        producer.poll(0)
        time.sleep(0.0005)
    left = producer.flush(60)
    return {"sent": sent, "acked": state["acked"], "errors": state["errors"], "unflushed": left,
            "last_error": state["last_error"]}


def main(argv):
    cmd = argv[1]
    if cmd == "create":
        out = create(argv[2], argv[3], int(argv[4]), float(argv[5]) if len(argv) > 5 else 120.0,
                     int(argv[6]) if len(argv) > 6 else 1)
    elif cmd == "partition":
        out = partition(argv[2], argv[3], int(argv[4]))
    elif cmd == "wait-isr":
        out = wait_isr(argv[2], argv[3], int(argv[4]), int(argv[5]), float(argv[6]))
    elif cmd == "failover":
        out = failover(argv[2], argv[3], float(argv[4]), int(argv[5]))
    elif cmd == "create-many":
        out = create_many(argv[2], argv[3], int(argv[4]), int(argv[5]), float(argv[6]))
    elif cmd == "wait-many":
        out = wait_many(argv[2], argv[3], int(argv[4]), int(argv[5]), float(argv[6]))
    elif cmd == "wait":
        out = wait(argv[2], argv[3], int(argv[4]), float(argv[5]))
    elif cmd == "offsets":
        out = offsets(argv[2], argv[3], int(argv[4]))
    elif cmd == "e2e":
        out = e2e(argv[2], argv[3], float(argv[4]), float(argv[5]), int(argv[6]), argv[7],
                  int(argv[8]) if len(argv) > 8 else 100)
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
