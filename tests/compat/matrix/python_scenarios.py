#!/usr/bin/env python3
"""The matrix's own scenarios for confluent-kafka (librdkafka), beside tests/compat/python/driver.py, which has no
compression or transaction scenario.

Usage: python_scenarios.py <bootstrap> produce-codec <none|gzip|snappy|lz4|zstd>
       python_scenarios.py <bootstrap> transactions
produce-codec: a non-idempotent producer with compression.type, then the records read back by assignment.
transactions: a committed and an aborted transaction; read_committed sees only the first, read_uncommitted both.
One JSON line per check, as the drivers print; exit 1 if a check failed, 2 on bad usage.
"""

import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TIMEOUT_S = 30
RECORDS = int(os.environ.get("COMPAT_RECORDS") or 100)
RUN_ID = format(int(time.time() * 1000), "x")
failures = 0


def check(name, ok, detail=None):
    global failures
    if not ok:
        failures += 1
    print(json.dumps({"check": name, "ok": bool(ok), "detail": detail}), flush=True)


def create_topic(admin, topic):
    admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=TIMEOUT_S)[topic].result(TIMEOUT_S)


def delete_topic_quietly(admin, topic):
    try:
        admin.delete_topics([topic], operation_timeout=TIMEOUT_S)[topic].result(TIMEOUT_S)
    except KafkaException as e:
        print(f"cleanup: could not delete {topic}: {e}", file=sys.stderr)


def read_all(bootstrap, topic, isolation, count):
    """Partition 0 from the beginning by assignment, until `count` records or 30 s, then 1 s more."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"py-matrix-unused-{RUN_ID}",
                         "enable.auto.commit": False, "isolation.level": isolation})
    got = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + TIMEOUT_S
        settle = None
        while time.monotonic() < deadline:
            if len(got) >= count:
                settle = settle or time.monotonic() + 1
                if time.monotonic() > settle:
                    break
            msg = consumer.poll(0.1)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == -191:  # _PARTITION_EOF, not an error
                    continue
                raise KafkaException(msg.error())
            got.append(msg)
    finally:
        consumer.close()
    return got


def value(codec, i):
    return f"{codec}-value-{i}-" + "x" * (i % 40)


def produce_codec(bootstrap, admin, codec):
    topic = f"py-matrix-{codec}-{RUN_ID}"
    create_topic(admin, topic)
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "enable.idempotence": False,
                         "acks": "all", "linger.ms": 5, "message.timeout.ms": TIMEOUT_S * 1000})
    reports = []
    for i in range(RECORDS):
        producer.produce(topic, key=f"k-{i}", value=value(codec, i), partition=0,
                         on_delivery=lambda err, msg: reports.append((err, None if err else msg.offset())))
        producer.poll(0)
    producer.flush(TIMEOUT_S)
    errors = [str(e) for e, _ in reports if e is not None]
    offsets = [o for _, o in reports]
    check("acked-in-order", offsets == list(range(RECORDS)), {"acked": len(reports), "errors": errors[:3]})
    got = read_all(bootstrap, topic, "read_uncommitted", RECORDS)
    mismatch = next((m.offset() for i, m in enumerate(got)
                     if (m.offset(), m.key(), m.value()) != (i, f"k-{i}".encode(), value(codec, i).encode())), None)
    check("read-back", len(got) == RECORDS and mismatch is None, {"read": len(got), "mismatchAt": mismatch})
    delete_topic_quietly(admin, topic)


def transactions(bootstrap, admin):
    topic = f"py-matrix-txn-{RUN_ID}"
    create_topic(admin, topic)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"py-matrix-txn-{RUN_ID}",
                        "message.timeout.ms": TIMEOUT_S * 1000})
    aborted = max(1, RECORDS // 2)
    producer.init_transactions(TIMEOUT_S)
    check("init-transactions", True)
    producer.begin_transaction()
    for i in range(RECORDS):
        producer.produce(topic, key=f"k-{i}", value=f"committed-{i}", partition=0)
    producer.commit_transaction(TIMEOUT_S)
    check("commit", True)
    producer.begin_transaction()
    for i in range(aborted):
        producer.produce(topic, key=f"k-{i}", value=f"aborted-{i}", partition=0)
    producer.flush(TIMEOUT_S)
    producer.abort_transaction(TIMEOUT_S)
    check("abort", True)
    got = read_all(bootstrap, topic, "read_committed", RECORDS)
    committed = sum(1 for m in got if m.value().startswith(b"committed-"))
    check("read-committed", len(got) == RECORDS and committed == RECORDS, {"read": len(got), "committed": committed})
    every = read_all(bootstrap, topic, "read_uncommitted", RECORDS + aborted)
    check("read-uncommitted", len(every) == RECORDS + aborted, {"read": len(every), "expected": RECORDS + aborted})
    delete_topic_quietly(admin, topic)


def main(argv):
    if len(argv) < 3 or argv[2] not in ("produce-codec", "transactions"):
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap, scenario = argv[1], argv[2]

    def on_timeout(*_):
        check(scenario, False, "timed out after 170s")
        os._exit(1)

    signal.signal(signal.SIGALRM, on_timeout)
    signal.alarm(170)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        if scenario == "produce-codec":
            produce_codec(bootstrap, admin, argv[3] if len(argv) > 3 else "none")
        else:
            transactions(bootstrap, admin)
    except Exception as e:  # noqa: BLE001 - any crash is a failed scenario, reported as a check line
        check(scenario, False, f"exception: {type(e).__name__}: {e}")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
