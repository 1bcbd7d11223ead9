/**
 * What `samsa start` tells an operator about settings it cannot use: an empty `log.dirs` and a log directory
 * the process may not touch stop it with one line naming the setting or the directory; keys it does not know
 * are warned about (with the key probably meant), as Kafka warns of supplied configurations it does not use.
 */
import assert from "node:assert/strict";

const MAIN = new URL("../../../main.ts", import.meta.url).pathname;

async function run(permissions: string[], sets: string[]): Promise<{ code: number; stderr: string }> {
  const args = ["run", ...permissions, MAIN, "start", "--set", "listeners=PLAINTEXT://127.0.0.1:0"];
  for (const s of sets) args.push("--set", s);
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped", env: { NO_COLOR: "1" } })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("`samsa start` with an empty log.dirs exits 1 with one line naming it", async () => {
  const { code, stderr } = await run(["-A"], ["log.dirs="]);
  assert.equal(code, 1);
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /level=error msg="invalid configuration" .*log\.dirs.*at least one log directory is needed/);
});

Deno.test("`samsa start` on a log dir Deno may not write names the dir and the cause, not Deno's hint", async () => {
  const allowed = await Deno.makeTempDir({ prefix: "samsa-allowed-" });
  const forbidden = await Deno.makeTempDir({ prefix: "samsa-forbidden-" });
  try {
    const permissions = [
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
      "--allow-read",
      `--allow-write=${allowed}`,
    ];
    const { code, stderr } = await run(permissions, [`log.dirs=${forbidden}/data`]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`msg="startup failed" error="log directory ${forbidden}/data cannot be used: `));
    assert.match(stderr, /--allow-write/);
    assert.doesNotMatch(stderr, /run again/i);
    assert.equal(stderr.trim().split("\n").filter((l) => l.includes("level=error")).length, 1, stderr);
  } finally {
    await Deno.remove(allowed, { recursive: true });
    await Deno.remove(forbidden, { recursive: true });
  }
});

Deno.test("`samsa start` warns of an unknown configuration key, with the key it probably meant", async () => {
  const dir = await Deno.makeTempDir({ prefix: "samsa-unknown-key-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "start",
      "--set",
      "listeners=PLAINTEXT://127.0.0.1:0",
      "--set",
      `log.dirs=${dir}`,
      "--set",
      "num.partition=3",
    ],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let partial = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
    }
  })();
  try {
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l.includes(`msg="broker started"`)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const warning = lines.find((l) => l.includes("unknown configuration key"));
    assert.ok(warning, lines.join("\n"));
    assert.match(warning, /level=warn .*key=num\.partition .*did_you_mean=num\.partitions/);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await reading;
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
