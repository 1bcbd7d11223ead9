/**
 * kcat (librdkafka) as a matrix driver: one scenario per run, one JSON check line per check on stdout, exit 1 if
 * a check failed, 2 on bad usage, like the Java and Python drivers.
 *
 * ```sh
 * deno run -A tests/compat/matrix/kcat_driver.ts <bootstrap> <scenario> [codec]
 * ```
 *
 * Scenarios: `produce` (keyed records with headers; `-L` lists the topic, `-Q` finds the end offset),
 * `consume` (read back byte-exact from the beginning and from an offset), `produce-codec <codec>` (`-z codec`,
 * read back), `idempotence` (`enable.idempotence=true`, each record exactly once), `group-classic` (`-G`: a
 * member reads everything and commits on close; a second run of the group reads only what came after).
 *
 * @module
 */

import { kcat } from "../kcat/kcat.ts";

const RECORDS = Number(Deno.env.get("COMPAT_RECORDS") ?? 100);
const RUN_ID = Date.now().toString(36);
let failures = 0;

function check(name: string, ok: boolean, detail: unknown = null) {
  if (!ok) failures++;
  console.log(JSON.stringify({ check: name, ok, detail }));
}

function lines(count: number, tag: string): string[] {
  return Array.from({ length: count }, (_, i) => `k-${i}:${tag}-${i}-${"x".repeat(i % 40)}`);
}

async function produce(bootstrap: string, topic: string, records: string[], extra: string[] = []) {
  const r = await kcat(
    ["-b", bootstrap, "-P", "-t", topic, "-p", "0", "-K:", "-H", "origin=kcat", ...extra],
    records.join("\n") + "\n",
  );
  if (r.code !== 0) throw new Error(`kcat -P exit ${r.code}: ${r.stderr.slice(-500)}`);
}

async function consume(bootstrap: string, topic: string, offset: string, extra: string[] = []): Promise<string[]> {
  const r = await kcat([
    "-b",
    bootstrap,
    "-C",
    "-t",
    topic,
    "-p",
    "0",
    "-o",
    offset,
    "-e",
    "-q",
    "-f",
    "%k:%s|%h\n",
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`kcat -C exit ${r.code}: ${r.stderr.slice(-500)}`);
  return r.stdout.split("\n").filter((l) => l.length > 0);
}

function firstDifference(got: string[], want: string[]): number | null {
  for (let i = 0; i < Math.max(got.length, want.length); i++) if (got[i] !== want[i]) return i;
  return null;
}

async function endOffset(bootstrap: string, topic: string): Promise<number | null> {
  // -Q with timestamp -1 asks ListOffsets for the latest offset.
  const r = await kcat(["-b", bootstrap, "-Q", "-t", `${topic}:0:-1`]);
  const m = / offset (-?\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : null;
}

const SCENARIOS: Record<string, (bootstrap: string, arg?: string) => Promise<void>> = {
  async produce(bootstrap) {
    const topic = `kcat-produce-${RUN_ID}`;
    await produce(bootstrap, topic, lines(RECORDS, "plain"));
    check("produced", true, { records: RECORDS });
    const listed = await kcat(["-b", bootstrap, "-L", "-t", topic]);
    check("metadata-lists-topic", listed.code === 0 && listed.stdout.includes(`topic "${topic}" with 1 partitions`), {
      stdout: listed.stdout.slice(0, 300),
    });
    const end = await endOffset(bootstrap, topic);
    check("end-offset", end === RECORDS, { endOffset: end, produced: RECORDS });
  },
  async consume(bootstrap) {
    const topic = `kcat-consume-${RUN_ID}`;
    const want = lines(RECORDS, "plain").map((l) => `${l}|origin=kcat`);
    await produce(bootstrap, topic, lines(RECORDS, "plain"));
    const all = await consume(bootstrap, topic, "beginning");
    check("read-all", all.length === RECORDS, { read: all.length, produced: RECORDS });
    check("records-match", firstDifference(all, want) === null, { firstDifference: firstDifference(all, want) });
    const from = Math.floor(RECORDS / 3);
    const tail = await consume(bootstrap, topic, String(from));
    check("from-offset", firstDifference(tail, want.slice(from)) === null, { from, read: tail.length });
  },
  async "produce-codec"(bootstrap, codec = "none") {
    const topic = `kcat-${codec}-${RUN_ID}`;
    const records = lines(RECORDS, codec);
    await produce(bootstrap, topic, records, ["-z", codec]);
    const all = await consume(bootstrap, topic, "beginning");
    const want = records.map((l) => `${l}|origin=kcat`);
    check("read-back", firstDifference(all, want) === null, {
      read: all.length,
      firstDifference: firstDifference(all, want),
    });
  },
  async idempotence(bootstrap) {
    const topic = `kcat-idempotent-${RUN_ID}`;
    const records = lines(RECORDS, "idem");
    await produce(bootstrap, topic, records, ["-X", "enable.idempotence=true", "-X", "acks=all"]);
    const all = await consume(bootstrap, topic, "beginning");
    const want = records.map((l) => `${l}|origin=kcat`);
    check("exactly-once", firstDifference(all, want) === null, {
      read: all.length,
      firstDifference: firstDifference(all, want),
    });
  },
  async "group-classic"(bootstrap) {
    const topic = `kcat-group-${RUN_ID}`;
    const group = topic;
    await produce(bootstrap, topic, lines(RECORDS, "first"));
    const member = async (count: number) => {
      // -c: exit after `count` messages; the offsets are committed when the consumer closes.
      const r = await kcat(
        [
          "-b",
          bootstrap,
          "-G",
          group,
          "-X",
          "auto.offset.reset=earliest",
          "-c",
          String(count),
          "-q",
          "-f",
          "%s\n",
          topic,
        ],
        undefined,
        60_000,
      );
      return { ...r, values: r.stdout.split("\n").filter((l) => l.length > 0) };
    };
    const first = await member(RECORDS);
    check("first-member-reads-all", first.code === 0 && first.values.length === RECORDS, {
      code: first.code,
      read: first.values.length,
      stderr: first.stderr.slice(-300),
    });
    const more = Math.max(1, Math.floor(RECORDS / 2));
    await produce(bootstrap, topic, lines(more, "second"));
    const second = await member(more);
    const replayed = second.values.filter((v) => !v.startsWith("second-")).length;
    check("second-member-resumes", second.code === 0 && second.values.length === more && replayed === 0, {
      code: second.code,
      read: second.values.length,
      expected: more,
      replayed,
      stderr: second.stderr.slice(-300),
    });
  },
};

if (import.meta.main) {
  const [bootstrap, scenario, arg] = Deno.args;
  if (!bootstrap || !(scenario in SCENARIOS)) {
    console.error(`usage: kcat_driver.ts <bootstrap> <${Object.keys(SCENARIOS).join("|")}> [codec]`);
    Deno.exit(2);
  }
  const timer = setTimeout(() => {
    check(scenario, false, "timed out after 170 s");
    Deno.exit(1);
  }, 170_000);
  try {
    await SCENARIOS[scenario](bootstrap, arg);
  } catch (e) {
    check(scenario, false, `exception: ${(e as Error).message}`);
  }
  clearTimeout(timer);
  Deno.exit(failures === 0 ? 0 : 1);
}
