/**
 * Summarizes a V8 `.cpuprofile` (what `deno run --cpu-prof` writes at exit): self time per function, heaviest first.
 *
 *   deno run -A tests/bench/report/profile_summary.ts FILE.cpuprofile [TOP]
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One function's share of the samples. */
export interface ProfileEntry {
  functionName: string;
  /** `path:line`, relative to the repository when it is ours. */
  location: string;
  selfMs: number;
  selfPct: number;
  /** Share of the busy (non-idle) samples. */
  busyPct: number;
}

const REPO = new URL("../../../", import.meta.url).href;

function where(frame: ProfileNode["callFrame"]): string {
  let url = frame.url;
  if (url.startsWith(REPO)) url = url.slice(REPO.length);
  else if (url.startsWith("file://")) url = url.slice(7);
  if (url === "") return "(native)";
  return `${url}:${frame.lineNumber + 1}`;
}

/**
 * Self time per function (summed over every node of the same function and place), heaviest first.
 *
 * @example
 * ```ts
 * const top = summarizeProfile(JSON.parse(Deno.readTextFileSync("x.cpuprofile")), 20);
 * ```
 */
export function summarizeProfile(
  profile: CpuProfile,
  top = 25,
): { totalMs: number; idlePct: number; entries: ProfileEntry[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const grouped = new Map<string, ProfileEntry>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const name = frame.functionName || "(anonymous)";
    if (name === "(idle)") idleUs += us;
    const location = where(frame);
    const key = `${name}@${location}`;
    const entry = grouped.get(key) ?? { functionName: name, location, selfMs: 0, selfPct: 0, busyPct: 0 };
    entry.selfMs += us / 1000;
    grouped.set(key, entry);
  }
  const entries = [...grouped.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  const busyUs = totalUs - idleUs;
  for (const e of entries) {
    e.selfPct = totalUs > 0 ? e.selfMs * 1000 / totalUs * 100 : 0;
    e.busyPct = busyUs > 0 && e.functionName !== "(idle)" ? e.selfMs * 1000 / busyUs * 100 : 0;
  }
  return { totalMs: totalUs / 1000, idlePct: totalUs > 0 ? idleUs / totalUs * 100 : 0, entries };
}

/** Markdown table of a summary. */
export function profileTable(summary: ReturnType<typeof summarizeProfile>): string {
  const rows = summary.entries.map((e) =>
    `| ${e.selfPct.toFixed(1)} | ${e.functionName === "(idle)" ? "-" : e.busyPct.toFixed(1)} | ${
      e.selfMs.toFixed(0)
    } | \`${e.functionName.replaceAll("|", "\\|")}\` | ${e.location} |`
  );
  return ["| self % | % of busy | self ms | function | where |", "| ---: | ---: | ---: | --- | --- |", ...rows].join(
    "\n",
  );
}

if (import.meta.main) {
  const [file, top] = Deno.args;
  if (!file) {
    console.error("usage: profile_summary.ts FILE.cpuprofile [TOP]");
    Deno.exit(2);
  }
  const summary = summarizeProfile(JSON.parse(await Deno.readTextFile(file)), Number(top ?? 25));
  console.log(`total ${summary.totalMs.toFixed(0)} ms, idle ${summary.idlePct.toFixed(1)} %`);
  console.log(profileTable(summary));
}
