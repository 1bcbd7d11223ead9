/**
 * `samsa cluster start` (what `deno task cluster` runs): three nodes up, the bootstrap string printed, and a
 * clean stop of every node on a signal.
 */
import assert from "node:assert/strict";
import { clusterView, waitFor } from "./cluster_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function portsFree(ports: number[]): boolean {
  const bound: Deno.Listener[] = [];
  try {
    for (const port of ports) bound.push(Deno.listen({ hostname: "127.0.0.1", port }));
    return true;
  } catch {
    return false;
  } finally {
    for (const l of bound) l.close();
  }
}

/** A base port whose three client and three controller ports are free now. */
function freeBasePort(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    if (portsFree([0, 1, 2, 10000, 10001, 10002].map((d) => base + d))) return base;
  }
  throw new Error("no free port range found");
}

Deno.test({
  name: "samsa cluster start runs three brokers, prints the bootstrap string and stops them all on a signal",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "samsa-local-cluster-" });
    const basePort = freeBasePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        MAIN,
        "cluster",
        "start",
        "--brokers",
        "3",
        "--base-port",
        String(basePort),
        "--data-dir",
        dataDir,
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    let stdout = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) stdout += decoder.decode(chunk, { stream: true });
    })();
    const stderr = new Response(child.stderr).text();
    try {
      await waitFor("the bootstrap string", () => Promise.resolve(stdout.includes("bootstrap:")), 60_000);
      const bootstrap = stdout.match(/bootstrap: (\S+)/)![1];
      assert.equal(bootstrap, [0, 1, 2].map((d) => `127.0.0.1:${basePort + d}`).join(","));
      for (const address of bootstrap.split(",")) {
        await waitFor(
          `three brokers seen through ${address}`,
          async () => (await clusterView(address)).brokers.length === 3,
        );
      }
    } finally {
      child.kill("SIGTERM");
    }
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0, await stderr);
    for (const id of [1, 2, 3]) {
      assert.match(await Deno.readTextFile(`${dataDir}/node-${id}.log`), /msg="broker stopped"/);
    }
    await Deno.remove(dataDir, { recursive: true });
  },
});
