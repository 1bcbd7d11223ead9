/**
 * `deno task fuzz [--seconds N] [--seed S]`: mutates captured real-client requests against a live broker for
 * N seconds (default 60) and prints requests sent, connections closed, crashes and the seed to replay with.
 * Exits 1 when anything crashed.
 *
 * @module
 */
import { runFuzz } from "./run.ts";

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  if (i >= 0) return Deno.args[i + 1];
  return Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const seconds = Number(flag("seconds") ?? 60);
const seed = Number(flag("seed") ?? Math.floor(Math.random() * 2 ** 31));
if (!(seconds > 0) || !Number.isInteger(seed)) {
  console.error("usage: deno task fuzz [--seconds N] [--seed S]");
  Deno.exit(2);
}
console.log(`fuzzing for ${seconds} s with seed ${seed} (replay: deno task fuzz --seconds ${seconds} --seed ${seed})`);
const report = await runFuzz({ seconds, seed, log: (line) => console.log(line) });
console.log(
  [
    `requests sent:      ${report.requestsSent} in ${report.bursts} bursts (${report.seconds.toFixed(1)} s)`,
    `responses:          ${report.responses}`,
    `connections closed: ${report.connectionsClosed}`,
    `peak broker RSS:    ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    `broker log lines:   ${report.brokerLogLines}`,
    `broker errors:      ${report.brokerErrors.length}`,
    ...report.brokerErrors.slice(0, 10).map((l) => `  ${l.slice(0, 400)}`),
    `crashes:            ${report.crashes.length}`,
    ...report.crashes.map((c) => `  burst ${c.burst}: ${c.reason} (saved in ${c.savedTo})`),
    `seed:               ${report.seed}`,
  ].join("\n"),
);
Deno.exit(report.crashes.length === 0 ? 0 : 1);
