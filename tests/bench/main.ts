/**
 * Benchmark entry point: `deno task bench <name>` runs one benchmark by name.
 *
 * Each benchmark lives in its own module under tests/bench/ and joins by adding one entry to `BENCHES`;
 * modules are imported only when their benchmark is chosen, so one benchmark's dependencies never slow
 * another's start.
 *
 * @module
 */

/** A runnable benchmark: what it measures, and how to load and start it. */
interface Bench {
  description: string;
  run: () => Promise<void>;
}

const BENCHES: Record<string, Bench> = {
  log: {
    description: "partition log: group commit of 1 KiB batches (1/4/16 writers) vs raw write+fdatasync",
    run: async () => {
      await (await import("./log.ts")).runLogBench();
    },
  },
  yield: {
    description: "pauses between slices of work: which lets other connections be served (work_slices.ts)",
    run: async () => (await import("./yield.ts")).runYieldBench(),
  },
  stalls: {
    description: "a bystander client's p99 and slowest round trip while one large request is handled",
    run: async () => (await import("./stalls.ts")).runStallsBench(),
  },
  restart: {
    description: "broker restart after kill -9 and after a clean stop with 1k/5k/20k partitions (or the counts given)",
    run: async () => (await import("./restart.ts")).runRestartBench(Deno.args.slice(1)),
  },
  "idle-replicated": {
    description: "idle CPU, failover and restart of three brokers with 3000 partitions at RF=3 (or the count given)",
    run: async () => (await import("./idle_replicated.ts")).runIdleReplicatedBench(Deno.args.slice(1)),
  },
  codec: {
    description: "CRC-32C, batch header parse/stamp, batch build/decode, record validation, compression codecs",
    run: async () => (await import("./codec.ts")).runCodecBench(),
  },
};

function usage(): string {
  const names = Object.keys(BENCHES);
  const lines = names.map((name) => `  ${name.padEnd(12)} ${BENCHES[name].description}`);
  return `usage: deno task bench <${names.join("|")}>\n${lines.join("\n")}`;
}

if (import.meta.main) {
  const name = Deno.args[0];
  const bench = name === undefined ? undefined : BENCHES[name];
  if (bench === undefined) {
    if (name !== undefined) console.error(`unknown benchmark "${name}"`);
    console.error(usage());
    Deno.exit(2);
  }
  await bench.run();
}
