"""Drivers for the brokers Samsa is compared with beyond Kafka: NATS JetStream (nats-py) and Redis Streams (redis-py).

  others_client.py nats-pub URL COUNT SIZE WINDOW        JetStream publishes with acks, WINDOW unacknowledged at most
  others_client.py nats-e2e URL RATE SECONDS SIZE        paced JetStream publishes, push consumer (own process and
                                                         connection), receive - send time
  others_client.py redis-e2e HOST PORT RATE SECONDS SIZE paced XADD (pipelined), XREAD BLOCK consumer

Redis throughput (W1) uses redis-benchmark (C) instead. Every command prints one JSON object on stdout.
"""

import asyncio
import json
import struct
import sys
import threading
import time


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def latency_summary(latencies, sent, received, elapsed):
    latencies.sort()
    return {
        "sent": sent, "received": received, "seconds": elapsed, "measured": len(latencies),
        "rate_achieved": received / elapsed if elapsed > 0 else 0,
        "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
        "p999_ms": percentile(latencies, 0.999), "max_ms": latencies[-1] if latencies else None,
    }


async def nats_stream(js, name, subject):
    from nats.js.api import StorageType
    try:
        await js.delete_stream(name)
    except Exception:
        pass
    await js.add_stream(name=name, subjects=[subject], storage=StorageType.FILE)


async def nats_pub(url, count, size, window):
    import nats
    nc = await nats.connect(url)
    js = nc.jetstream()
    await nats_stream(js, "W1", "w1")
    payload = b"x" * size
    state = {"sent": 0, "acks": 0, "errors": 0}
    room = asyncio.Event()

    async def on_ack(msg):
        state["acks"] += 1
        if b'"error"' in msg.data:
            state["errors"] += 1
        if state["sent"] - state["acks"] <= window // 2:
            room.set()

    inbox = nc.new_inbox()
    await nc.subscribe(inbox, cb=on_ack)
    start = time.monotonic()
    while state["sent"] < count:
        if state["sent"] - state["acks"] >= window:
            room.clear()
            await room.wait()
            continue
        await nc.publish("w1", payload, reply=inbox)
        state["sent"] += 1
    await nc.flush()
    deadline = time.monotonic() + 60
    while state["acks"] < count and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    elapsed = time.monotonic() - start
    await nc.close()
    return {"records": state["acks"], "errors": state["errors"], "seconds": elapsed,
            "records_per_s": state["acks"] / elapsed}


async def nats_e2e(url, rate, seconds, size):
    """The consumer runs in its own process with its own connection (nats-e2e-consumer): in one asyncio process the
    paced publishing loop and its acks starve the ordered consumer's callbacks, which then fall seconds behind."""
    import nats
    nc = await nats.connect(url)
    js = nc.jetstream()
    await nats_stream(js, "W4", "w4")
    total = int(rate * seconds)
    consumer = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "nats-e2e-consumer", url, str(total), str(seconds), str(min(2.0, seconds / 4)),
        stdout=asyncio.subprocess.PIPE)
    ready = await asyncio.wait_for(consumer.stdout.readline(), 30)
    if ready.strip() != b"ready":
        raise SystemExit(f"nats-e2e-consumer did not start: {ready!r}")
    pad = b"x" * (size - 8)
    state = {"acks": 0}

    async def on_ack(_msg):
        state["acks"] += 1

    inbox = nc.new_inbox()
    await nc.subscribe(inbox, cb=on_ack)
    sent = 0
    started = time.monotonic()
    while sent < total:
        due = min(total, int((time.monotonic() - started) * rate) + 1)
        while sent < due:
            await nc.publish("w4", struct.pack(">q", time.monotonic_ns()) + pad, reply=inbox)
            sent += 1
        await asyncio.sleep(0.0005)
    await nc.flush()
    out, _ = await asyncio.wait_for(consumer.communicate(), seconds + 60)
    elapsed = time.monotonic() - started
    await nc.close()
    result = json.loads(out.decode().strip().split("\n")[-1])
    latencies = result.pop("latencies")
    summary = latency_summary(latencies, sent, result["received"], elapsed)
    summary["acks"] = state["acks"]
    return summary


async def nats_e2e_consumer(url, total, seconds, warmup_s):
    """Ordered push consumer of W4 on its own connection; prints `ready`, then one JSON object with the latencies of
    records sent after the warm-up (from the first record's send time)."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    nc = await nats.connect(url)
    js = nc.jetstream()
    latencies = []
    state = {"received": 0, "cutoff": None}
    done = asyncio.Event()

    async def on_msg(msg):
        now = time.monotonic_ns()
        sent_ns = struct.unpack(">q", msg.data[:8])[0]
        if state["cutoff"] is None:
            state["cutoff"] = sent_ns + int(warmup_s * 1e9)
        state["received"] += 1
        if sent_ns >= state["cutoff"]:
            latencies.append((now - sent_ns) / 1e6)
        if state["received"] >= total:
            done.set()

    # A plain push consumer without acks or flow control: nats-py's ordered consumer (flow control, heartbeats,
    # resets) stalled for good when the server fell behind, while the stream kept growing.
    await js.subscribe("w4", cb=on_msg, deliver_policy=DeliverPolicy.NEW, pending_msgs_limit=-1,
                       pending_bytes_limit=-1,
                       config=ConsumerConfig(ack_policy=AckPolicy.NONE, flow_control=False, max_ack_pending=-1))
    await nc.flush()
    print("ready", flush=True)
    try:
        await asyncio.wait_for(done.wait(), seconds + 15)
    except asyncio.TimeoutError:
        pass
    await nc.close()
    print(json.dumps({"received": state["received"], "latencies": latencies}), flush=True)


def redis_e2e(host, port, rate, seconds, size):
    """The producer speaks RESP on a raw socket (redis-py costs ~50 us a command, too much at 20k/s)."""
    import socket
    import redis
    consumer = redis.Redis(host=host, port=port)
    consumer.delete("w4")
    pad = b"x" * (size - 8)
    warmup_s = min(2.0, seconds / 4)
    total = int(rate * seconds)
    sent = [0]
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head = b"*5\r\n$4\r\nXADD\r\n$2\r\nw4\r\n$1\r\n*\r\n$1\r\nd\r\n$" + str(size).encode() + b"\r\n"

    def drain():
        # Each XADD reply is one bulk string: "$N\r\n<id>\r\n", two lines.
        lines = 0
        while lines < 2 * total:
            chunk = sock.recv(1 << 16)
            if not chunk:
                return
            lines += chunk.count(b"\r\n")

    def produce():
        start = time.monotonic()
        while sent[0] < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            if due > sent[0]:
                parts = []
                for _ in range(due - sent[0]):
                    parts.append(head + struct.pack(">q", time.monotonic_ns()) + pad + b"\r\n")
                sock.sendall(b"".join(parts))
                sent[0] = due
            time.sleep(0.0005)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    latencies = []
    received = 0
    last_id = b"0-0"
    thread = threading.Thread(target=produce)
    started = time.monotonic()
    thread.start()
    deadline = started + seconds + 15
    while received < total and time.monotonic() < deadline:
        reply = consumer.xread({"w4": last_id}, count=1000, block=1000)
        now = time.monotonic_ns()
        for _stream, entries in reply:
            for entry_id, fields in entries:
                last_id = entry_id
                sent_ns = struct.unpack(">q", fields[b"d"][:8])[0]
                received += 1
                if sent_ns / 1e9 - started >= warmup_s:
                    latencies.append((now - sent_ns) / 1e6)
    elapsed = time.monotonic() - started
    thread.join()
    sock.close()
    consumer.delete("w4")
    return latency_summary(latencies, sent[0], received, elapsed)


def main(argv):
    cmd = argv[1]
    if cmd == "nats-pub":
        out = asyncio.run(nats_pub(argv[2], int(argv[3]), int(argv[4]), int(argv[5])))
    elif cmd == "nats-e2e":
        out = asyncio.run(nats_e2e(argv[2], float(argv[3]), float(argv[4]), int(argv[5])))
    elif cmd == "nats-e2e-consumer":
        asyncio.run(nats_e2e_consumer(argv[2], int(argv[3]), float(argv[4]), float(argv[5])))
        return
    elif cmd == "redis-e2e":
        out = redis_e2e(argv[2], int(argv[3]), float(argv[4]), float(argv[5]), int(argv[6]))
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
