#!/usr/bin/env python3
"""KIP-392 with confluent-kafka (librdkafka): a consumer with client.rack reads from the follower in its rack.

Usage: follower_fetch.py <bootstrap> <records>
Creates a topic of one partition, replication factor 3; produces <records> records with acks=all; finds the
leader and the brokers' racks in the metadata; picks a follower and consumes the whole partition with
client.rack set to that follower's rack. Prints check lines (see ../client_driver.ts) and, last, a
{"check": "follower", ...} line naming the follower the consumer should have read from.
"""

import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TIMEOUT_S = 60


def check(name, ok, detail=None):
    print(json.dumps({"check": name, "ok": bool(ok), "detail": detail}), flush=True)
    return ok


def main(bootstrap, records):
    topic = f"follower-fetch-{int(time.time() * 1000):x}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 3)])[topic].result(TIMEOUT_S)

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    delivered = []
    for i in range(records):
        producer.produce(topic, value=f"v{i}".encode(), on_delivery=lambda err, _m: delivered.append(err))
        producer.poll(0)
    producer.flush(TIMEOUT_S)
    errors = [str(e) for e in delivered if e is not None]
    check("produce", len(delivered) == records and not errors, {"delivered": len(delivered), "errors": errors[:3]})

    metadata = admin.list_topics(topic, timeout=TIMEOUT_S)
    leader = metadata.topics[topic].partitions[0].leader
    replicas = metadata.topics[topic].partitions[0].replicas
    follower = next(r for r in sorted(replicas) if r != leader)
    # confluent-kafka's BrokerMetadata has no rack: the test names the racks rack-<id>.
    rack = f"rack-{follower}"
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"follower-fetch-{topic}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "client.rack": rack,
        "fetch.wait.max.ms": 100,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    deadline = time.time() + TIMEOUT_S
    while len(values) < records and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            check("consume error", False, str(msg.error()))
            continue
        values.append(msg.value().decode())
    consumer.close()
    check("consume everything in order", values == [f"v{i}" for i in range(records)],
          {"read": len(values), "expected": records})
    # DeleteRecords answers once every in-sync replica followed the new log start.
    cut = records // 2
    started = time.time()
    deleted = admin.delete_records([TopicPartition(topic, 0, cut)])
    low = next(iter(deleted.values())).result(TIMEOUT_S).low_watermark
    check("delete records: the low watermark is the new log start", low == cut,
          {"low_watermark": low, "expected": cut, "seconds": round(time.time() - started, 3)})
    check("follower", True, {"leader": leader, "follower": follower, "rack": rack, "topic": topic})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
