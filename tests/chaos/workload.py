#!/usr/bin/env python3
"""The chaos workload's real client: confluent-kafka (librdkafka), as a user would run it.

Usage:
  workload.py produce <bootstrap> <topic> <partitions> [--max-records N] [--max-seconds S] [--interval-ms I]
                      [--message-timeout-ms M] [--flush-seconds F]
  workload.py consume <bootstrap> <topic> <partitions> [--max-seconds S]
  workload.py group <bootstrap> <topic> <group> [--group-protocol classic|consumer] [--max-seconds S]

produce: an idempotent acks=all producer sends the values 0, 1, 2, ... (decimal text), value v to partition
v % partitions, one every I ms, until stdin closes (the harness's "stop"), N values were sent or S seconds passed;
then it flushes for at most F seconds. Each delivery report is one JSON line on stdout, as it arrives:
  {"type": "ack", "value": v, "partition": p, "offset": o, "atMs": t}
  {"type": "fail", "value": v, "error": "...", "atMs": t}
then {"type": "done", "sent": n, "unflushed": k}. Client errors (a broker down) are {"type": "error", ...} lines.

consume: reads every partition from the beginning to the high watermark it finds at the start (retrying while a
partition has no leader), within S seconds, and prints {"type": "read", "partition": p, "offset": o, "value": "..."}
per record, then {"type": "done", "highWatermarks": {p: hw}, "complete": true|false}.

group: a member of consumer group <group> (subscribe; the classic protocol or KIP-848's `consumer`), auto-committing
every 100 ms, printing a read line per record until stdin closes or S seconds passed; then it commits and leaves the
group (close) and prints {"type": "done"}.

Every loop is bounded in time; the exit code is 0 unless the arguments are wrong (2).
"""

import argparse
import json
import signal
import sys
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition


def emit(line):
    print(json.dumps(line), flush=True)


def now_ms():
    return int(time.time() * 1000)


def common_config(bootstrap):
    """Reconnects and metadata refreshes fast enough that a failover is noticed within about a second."""
    return {
        "bootstrap.servers": bootstrap,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000,
        "socket.connection.setup.timeout.ms": 3000,
        "error_cb": lambda err: emit({"type": "error", "error": str(err), "atMs": now_ms()}),
    }


def produce(args):
    stop = threading.Event()

    def watch_stdin():
        sys.stdin.read()  # returns at EOF: the harness closed our stdin
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    producer = Producer({
        **common_config(args.bootstrap),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "request.timeout.ms": 3000,
        "message.timeout.ms": args.message_timeout_ms,
        "retry.backoff.ms": 50,
        "retry.backoff.max.ms": 500,
    })

    def on_delivery(err, msg):
        value = int(msg.value().decode())
        if err is None:
            emit({"type": "ack", "value": value, "partition": msg.partition(), "offset": msg.offset(),
                  "atMs": now_ms()})
        else:
            emit({"type": "fail", "value": value, "error": str(err), "atMs": now_ms()})

    deadline = time.monotonic() + args.max_seconds
    sent = 0
    left = 0
    try:
        while not stop.is_set() and sent < args.max_records and time.monotonic() < deadline:
            try:
                producer.produce(args.topic, value=str(sent).encode(), partition=sent % args.partitions,
                                 on_delivery=on_delivery)
                sent += 1
            except BufferError:
                producer.poll(0.05)
                continue
            except KafkaException as e:  # a fatal error (the idempotent producer's guarantee is gone): stop sending
                emit({"type": "error", "error": f"produce: {e}", "atMs": now_ms()})
                break
            producer.poll(args.interval_ms / 1000)
        flush_deadline = time.monotonic() + args.flush_seconds
        left = len(producer)
        while left > 0 and time.monotonic() < flush_deadline:
            left = producer.flush(min(1.0, max(0.0, flush_deadline - time.monotonic())))
    finally:
        emit({"type": "done", "sent": sent, "unflushed": left})


def consume(args):
    deadline = time.monotonic() + args.max_seconds
    consumer = Consumer({
        **common_config(args.bootstrap),
        "group.id": f"chaos-reader-{now_ms()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 100,
    })
    high = {}
    try:
        for p in range(args.partitions):
            while p not in high and time.monotonic() < deadline:
                try:
                    _, high[p] = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=2, cached=False)
                except KafkaException as e:
                    emit({"type": "error", "error": f"watermarks of partition {p}: {e}", "atMs": now_ms()})
                    time.sleep(0.2)
        consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in high])
        position = {p: 0 for p in high}
        while time.monotonic() < deadline and any(position[p] < high[p] for p in high):
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    emit({"type": "error", "error": str(msg.error()), "atMs": now_ms()})
                continue
            position[msg.partition()] = msg.offset() + 1
            value = msg.value()
            emit({"type": "read", "partition": msg.partition(), "offset": msg.offset(),
                  "value": None if value is None else value.decode(errors="replace")})
        complete = len(high) == args.partitions and all(position[p] >= high[p] for p in high)
        emit({"type": "done", "highWatermarks": high, "complete": complete})
    finally:
        consumer.close()


def group(args):
    stop = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = {
        **common_config(args.bootstrap),
        "group.id": args.group,
        "group.protocol": args.group_protocol,
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 100,
        "auto.offset.reset": "earliest",
    }
    if args.group_protocol == "classic":
        config["session.timeout.ms"] = 6000
    consumer = Consumer(config)
    consumer.subscribe([args.topic])
    deadline = time.monotonic() + args.max_seconds
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            msg = consumer.poll(0.1)
            if msg is None:
                continue
            if msg.error():
                emit({"type": "error", "error": str(msg.error()), "atMs": now_ms()})
                continue
            value = msg.value()
            emit({"type": "read", "partition": msg.partition(), "offset": msg.offset(),
                  "value": None if value is None else value.decode(errors="replace")})
    finally:
        consumer.close()
    emit({"type": "done"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["produce", "consume", "group"])
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    if sys.argv[1:2] == ["group"]:
        parser.add_argument("group")
        parser.add_argument("--group-protocol", choices=["classic", "consumer"], default="classic")
    else:
        parser.add_argument("partitions", type=int)
    parser.add_argument("--max-records", type=int, default=1_000_000)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--interval-ms", type=float, default=2)
    parser.add_argument("--message-timeout-ms", type=int, default=30_000)
    parser.add_argument("--flush-seconds", type=float, default=30)
    args = parser.parse_args()
    {"produce": produce, "consume": consume, "group": group}[args.mode](args)


if __name__ == "__main__":
    main()
