/**
 * Which pause lets a client be served while a large request runs in slices (broker/work_slices.ts): the
 * process works in 10 ms slices for 3 s, pausing between slices with each candidate, while a client on a
 * loopback connection to an echo server in the same process measures its round trips. Prints, per pause:
 * its average cost, how many round trips the client got, their median and slowest.
 *
 * @module
 */
import { setImmediate } from "node:timers";

const SLICE_MS = 10;
const RUN_MS = 3000;

function messageChannelPause(): { pause: () => Promise<void>; close: () => void } {
  const channel = new MessageChannel();
  let wake: (() => void) | null = null;
  channel.port1.onmessage = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  return {
    pause: () => new Promise<void>((resolve) => (wake = resolve, channel.port2.postMessage(0))),
    close: () => channel.port1.close(),
  };
}

async function measure(name: string, pause: () => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echo = (async () => {
    for await (const conn of listener) {
      void (async () => {
        const buf = new Uint8Array(16);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            await conn.write(buf.subarray(0, n));
          }
        } catch {
          // closed at the end of the run
        }
        conn.close();
      })();
    }
  })();
  let busy = true;
  let slices = 0;
  let pausedMs = 0;
  const work = (async () => {
    const end = performance.now() + RUN_MS;
    while (performance.now() < end) {
      const start = performance.now();
      while (performance.now() - start < SLICE_MS) { /* a slice of work */ }
      slices++;
      const before = performance.now();
      await pause();
      pausedMs += performance.now() - before;
    }
    busy = false;
  })();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port });
  const rtts: number[] = [];
  const buf = new Uint8Array(16);
  while (busy) {
    const start = performance.now();
    await client.write(new Uint8Array([1]));
    if (await client.read(buf) === null) break;
    rtts.push(performance.now() - start);
  }
  await work;
  client.close();
  listener.close();
  await echo;
  rtts.sort((a, b) => a - b);
  const median = rtts.length > 0 ? rtts[rtts.length >> 1].toFixed(2) : "-";
  const slowest = rtts.length > 0 ? rtts[rtts.length - 1].toFixed(1) : "-";
  console.log(
    `${name.padEnd(16)} pause ${(pausedMs / slices).toFixed(3)} ms  round trips in ${RUN_MS} ms: ${
      String(rtts.length).padStart(5)
    }  median ${median} ms  slowest ${slowest} ms`,
  );
}

/** Runs the comparison and prints one line per pause. */
export async function runYieldBench(): Promise<void> {
  console.log(`work in ${SLICE_MS} ms slices for ${RUN_MS} ms; a loopback client measures its round trips`);
  await measure("setTimeout(0)", () => new Promise<void>((r) => setTimeout(r, 0)));
  await measure("setImmediate", () => new Promise<void>((r) => setImmediate(r)));
  const channel = messageChannelPause();
  await measure("MessageChannel", channel.pause);
  channel.close();
}

if (import.meta.main) await runYieldBench();
