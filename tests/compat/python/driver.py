#!/usr/bin/env python3
"""Scripted scenarios with confluent-kafka (librdkafka) against any Kafka-compatible broker.

Usage: driver.py <bootstrap> <scenario>
Scenarios: produce-idempotent, produce-retry (to the topic COMPAT_TOPIC), consume, admin, group-classic,
group-consumer.
Each check prints one JSON line {"check": ..., "ok": ..., "detail": ...}; the exit code is 1 if any check
failed, 2 on bad usage. Topic and group names carry a per-run suffix, so runs never see each other's data.
Environment: COMPAT_RECORDS (default 100), COMPAT_RF (replication factor, default 1), COMPAT_TOPIC and
COMPAT_REQUEST_TIMEOUT_MS (produce-retry only).
"""

import json
import logging
import os
import re
import signal
import sys
import time
import traceback

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TIMEOUT_S = 30
SCENARIO_LIMIT_S = 180
RECORDS = int(os.environ.get("COMPAT_RECORDS") or 100)
RF = int(os.environ.get("COMPAT_RF") or 1)
RUN_ID = format(int(time.time() * 1000), "x")

failures = 0


class _OncePerMessage(logging.Filter):
    """librdkafka repeats a refused connection every few milliseconds; show each kind of message once."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record):
        key = re.sub(r"\d+", "N", record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


LOG = logging.getLogger("librdkafka")
LOG.addHandler(logging.StreamHandler(sys.stderr))
LOG.addFilter(_OncePerMessage())
LOG.setLevel(logging.WARNING)


def client_config(bootstrap, **extra):
    """Every client of this driver: the bootstrap address, the deduplicating logger, and the given settings."""
    return {"bootstrap.servers": bootstrap, "logger": LOG, **extra}


def check(name, ok, detail=None):
    global failures
    if not ok:
        failures += 1
    print(json.dumps({"check": name, "ok": bool(ok), "detail": detail}), flush=True)


def create_topic(admin, topic, partitions, config=None):
    futures = admin.create_topics([NewTopic(topic, partitions, RF, config=config or {})], operation_timeout=TIMEOUT_S)
    futures[topic].result(TIMEOUT_S)


def delete_topic_quietly(admin, topic):
    try:
        admin.delete_topics([topic], operation_timeout=TIMEOUT_S)[topic].result(TIMEOUT_S)
    except KafkaException as e:
        print(f"cleanup: could not delete {topic}: {e}", file=sys.stderr)


def poll_until(consumer, count, limit_s=45):
    got = []
    deadline = time.monotonic() + limit_s
    while len(got) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        got.append(msg)
    return got


def poll_for(consumer, seconds):
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = consumer.poll(0.1)
        if msg is not None and not msg.error():
            got.append(msg)
    return got


def produce_idempotent(bootstrap, admin):
    """N records with acks=all and idempotence: every delivery report is a success, offsets are 0..N-1 in order."""
    topic = f"py-idempotent-{RUN_ID}"
    create_topic(admin, topic, 1)
    producer = Producer(client_config(bootstrap, **{"enable.idempotence": True, "acks": "all", "linger.ms": 5,
                                                    "message.timeout.ms": TIMEOUT_S * 1000}))
    reports = []

    def on_delivery(err, msg):
        reports.append((err, msg.offset() if err is None else None))

    for i in range(RECORDS):
        producer.produce(topic, key=f"k-{i}", value=f"v-{i}", on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(TIMEOUT_S)
    errors = [str(err) for err, _ in reports if err is not None]
    check("all-delivered", left == 0 and len(reports) == RECORDS and not errors,
          {"reports": len(reports), "sent": RECORDS, "errors": errors[:3]})
    offsets = [offset for _, offset in reports]
    check("offsets-contiguous", offsets == list(range(RECORDS)),
          {"first": offsets[0] if offsets else None, "last": offsets[-1] if offsets else None})
    delete_topic_quietly(admin, topic)


def produce_retry(bootstrap, _admin):
    """N records with idempotence to partition 0 of the existing topic COMPAT_TOPIC, through a network that loses
    answers (the test's proxy): every delivery succeeds at offsets 0..N-1. The caller reads the partition back
    to see each record stored exactly once; the topic is left for it."""
    topic = os.environ.get("COMPAT_TOPIC")
    if not topic:
        raise ValueError("produce-retry needs COMPAT_TOPIC")
    config = {"enable.idempotence": True, "acks": "all", "linger.ms": 5, "batch.num.messages": 10,
              "message.timeout.ms": TIMEOUT_S * 1000}
    # A short request timeout lets a test whose network holds an answer see the client give up and resend.
    # librdkafka times out a ProduceRequest locally after socket.timeout.ms; request.timeout.ms is what it asks
    # the broker to wait for acks.
    if os.environ.get("COMPAT_REQUEST_TIMEOUT_MS"):
        config["request.timeout.ms"] = int(os.environ["COMPAT_REQUEST_TIMEOUT_MS"])
        config["socket.timeout.ms"] = int(os.environ["COMPAT_REQUEST_TIMEOUT_MS"])
    producer = Producer(client_config(bootstrap, **config))
    reports = []

    def on_delivery(err, msg):
        reports.append((err, msg.offset() if err is None else None))

    for i in range(RECORDS):
        producer.produce(topic, key=f"k-{i}", value=f"v-{i}", partition=0, on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(TIMEOUT_S)
    errors = [str(err) for err, _ in reports if err is not None]
    check("all-delivered", left == 0 and len(reports) == RECORDS and not errors,
          {"reports": len(reports), "sent": RECORDS, "errors": errors[:3]})
    offsets = [offset for _, offset in reports]
    check("offsets-in-send-order", offsets == list(range(RECORDS)),
          {"first": offsets[0] if offsets else None, "last": offsets[-1] if offsets else None})


def consume(bootstrap, admin):
    """Produce N records, then read partition 0 from the beginning by assignment: exactly those, in order."""
    topic = f"py-consume-{RUN_ID}"
    create_topic(admin, topic, 1)
    producer = Producer(client_config(bootstrap))
    for i in range(RECORDS):
        producer.produce(topic, key=f"k-{i}", value=f"v-{i}", partition=0, headers=[("index", str(i).encode())])
    producer.flush(TIMEOUT_S)

    consumer = Consumer(client_config(bootstrap, **{"group.id": f"py-unused-{RUN_ID}", "enable.auto.commit": False}))
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        got = poll_until(consumer, RECORDS)
        check("read-all", len(got) == RECORDS, {"read": len(got), "produced": RECORDS})
        mismatch = None
        for i, msg in enumerate(got):
            if (msg.offset(), msg.key(), msg.value(), msg.headers()) != (i, f"k-{i}".encode(), f"v-{i}".encode(),
                                                                         [("index", str(i).encode())]):
                mismatch = f"offset {msg.offset()} key {msg.key()!r} value {msg.value()!r}"
                break
        check("records-match", mismatch is None and len(got) == RECORDS, mismatch or "in order")
        extra = poll_for(consumer, 1)
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), TIMEOUT_S)
        check("no-extra", not extra and high == RECORDS, {"extra": len(extra), "low": low, "high": high})
    finally:
        consumer.close()
    delete_topic_quietly(admin, topic)


def admin_round(bootstrap, admin):
    """AdminClient: create topics, list them, delete them, and see them gone."""
    topics = [f"py-admin-{RUN_ID}-{n}" for n in range(2)]
    futures = admin.create_topics([NewTopic(t, 2, RF) for t in topics], operation_timeout=TIMEOUT_S)
    created = [t for t, f in futures.items() if f.exception(TIMEOUT_S) is None]
    check("create-topics", sorted(created) == topics, {"created": created})

    metadata = admin.list_topics(timeout=TIMEOUT_S)
    listed = {t: len(metadata.topics[t].partitions) for t in topics if t in metadata.topics}
    check("list-topics", listed == {t: 2 for t in topics}, {"partitions": listed, "brokers": len(metadata.brokers)})

    futures = admin.delete_topics(topics, operation_timeout=TIMEOUT_S)
    deleted = [t for t, f in futures.items() if f.exception(TIMEOUT_S) is None]
    check("delete-topics", sorted(deleted) == topics, {"deleted": deleted})

    deadline = time.monotonic() + 10
    remaining = topics
    while remaining and time.monotonic() < deadline:
        remaining = [t for t in topics if t in admin.list_topics(timeout=TIMEOUT_S).topics]
        if remaining:
            time.sleep(0.2)
    check("topics-gone", not remaining, {"remaining": remaining})


def group(bootstrap, admin, protocol):
    """A group with the given group.protocol: one member consumes N and commits; a new member resumes after it."""
    topic = f"py-group-{protocol}-{RUN_ID}"
    group_id = topic
    partitions = 2
    create_topic(admin, topic, partitions)

    def produce(prefix, count):
        producer = Producer(client_config(bootstrap))
        for i in range(count):
            producer.produce(topic, key=f"k-{i}", value=f"{prefix}{i}", partition=i % partitions)
        producer.flush(TIMEOUT_S)

    def member():
        config = client_config(bootstrap, **{"group.id": group_id, "group.protocol": protocol,
                                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        if protocol == "classic":
            config["session.timeout.ms"] = 10000
        return Consumer(config)

    produce("first-", RECORDS)
    first = member()
    try:
        first.subscribe([topic])
        got = poll_until(first, RECORDS)
        values = sorted(m.value().decode() for m in got)
        check("first-member-reads-all", values == sorted(f"first-{i}" for i in range(RECORDS)),
              {"read": len(got), "distinct": len(set(values)), "produced": RECORDS})
        first.commit(asynchronous=False)
        committed = first.committed([TopicPartition(topic, p) for p in range(partitions)], TIMEOUT_S)
        total = sum(max(tp.offset, 0) for tp in committed)
        check("commit", total == RECORDS, {"committedTotal": total})
    finally:
        first.close()

    more = max(1, RECORDS // 2)
    produce("second-", more)
    second = member()
    try:
        second.subscribe([topic])
        # Each partition is read in order from the commit: a record re-read from before it would come before the
        # new ones of its partition, so once `more` records are in, a replay would be among them.
        got = poll_until(second, more)
        values = sorted(m.value().decode() for m in got)
        replayed = sum(1 for v in values if not v.startswith("second-"))
        check("second-member-resumes", values == sorted(f"second-{i}" for i in range(more)),
              {"read": len(got), "expected": more, "replayed": replayed})
        second.commit(asynchronous=False)
    finally:
        second.close()
    delete_topic_quietly(admin, topic)


SCENARIOS = {
    "produce-idempotent": produce_idempotent,
    "produce-retry": produce_retry,
    "consume": consume,
    "admin": admin_round,
    "group-classic": lambda b, a: group(b, a, "classic"),
    "group-consumer": lambda b, a: group(b, a, "consumer"),
}


def main(argv):
    if len(argv) != 3 or argv[2] not in SCENARIOS:
        print(f"usage: driver.py <bootstrap> <{'|'.join(SCENARIOS)}>", file=sys.stderr)
        return 2
    bootstrap, scenario = argv[1], argv[2]

    def on_timeout(*_):
        check(scenario, False, f"timed out after {SCENARIO_LIMIT_S}s")
        os._exit(1)

    # A scenario that hangs is a failure, not a stuck test run.
    signal.signal(signal.SIGALRM, on_timeout)
    signal.alarm(SCENARIO_LIMIT_S)
    admin = AdminClient(client_config(bootstrap))
    try:
        SCENARIOS[scenario](bootstrap, admin)
    except Exception as e:  # noqa: BLE001 - any crash is a failed scenario, reported as a check line
        where = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__][-1]
        check(scenario, False, f"exception: {type(e).__name__}: {e} (line {where.lineno}, in {where.name})")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
