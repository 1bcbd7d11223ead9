/**
 * `samsa cluster start --brokers N` (`deno task cluster`): a local cluster in one command. Starts N nodes on
 * 127.0.0.1, each broker and controller, with its own ports (client `base-port + i`, controller
 * `base-port + 10000 + i`) and data folder (`DATA_DIR/node-ID`, its log in `DATA_DIR/node-ID.log`), prints the
 * bootstrap string, and stops them all (SIGTERM, a clean shutdown each) on Ctrl-C. The cluster id is made on
 * the first start and kept in `DATA_DIR/cluster.id`, so a second start finds the same cluster.
 *
 * @module
 */

/** One node of a local cluster: its id, ports and `--set` settings. */
export interface LocalNode {
  id: number;
  clientPort: number;
  controllerPort: number;
  dataDir: string;
  settings: Record<string, string>;
}

/**
 * The nodes of a local cluster (pure: no files, no processes).
 *
 * @example
 * ```ts
 * import { localClusterPlan } from "./local_cluster.ts";
 * const nodes = localClusterPlan({ brokers: 3, basePort: 9092, dataDir: "data/cluster", clusterId: "x" });
 * nodes.map((n) => n.clientPort); // [9092, 9093, 9094]
 * ```
 */
export function localClusterPlan(
  options: { brokers: number; basePort: number; dataDir: string; clusterId: string },
): LocalNode[] {
  const { brokers, basePort, dataDir, clusterId } = options;
  const ids = Array.from({ length: brokers }, (_, i) => i + 1);
  const controllerPort = (id: number) => basePort + 10000 + id - 1;
  const voters = ids.map((id) => `${id}@127.0.0.1:${controllerPort(id)}`).join(",");
  return ids.map((id) => {
    const clientPort = basePort + id - 1;
    const nodeDir = `${dataDir}/node-${id}`;
    return {
      id,
      clientPort,
      controllerPort: controllerPort(id),
      dataDir: nodeDir,
      settings: {
        "node.id": String(id),
        "process.roles": "broker,controller",
        "cluster.id": clusterId,
        "listeners": `PLAINTEXT://127.0.0.1:${clientPort},CONTROLLER://127.0.0.1:${controllerPort(id)}`,
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": voters,
        "log.dirs": nodeDir,
        // Kafka's default of 3 is refused (no consumer group works) while fewer brokers exist.
        "offsets.topic.replication.factor": String(Math.min(3, brokers)),
      },
    };
  });
}

/** A new cluster id as Kafka makes them: 16 random bytes, URL-safe base64 without padding. */
function newClusterId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function clusterIdIn(dataDir: string): string {
  const path = `${dataDir}/cluster.id`;
  try {
    return Deno.readTextFileSync(path).trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const id = newClusterId();
  Deno.writeTextFileSync(path, `${id}\n`);
  return id;
}

/** How to run `samsa start`: this executable when compiled, `deno run main.ts` otherwise. */
function startCommand(): string[] {
  const exe = Deno.execPath();
  if (/(^|\/)deno(\.exe)?$/.test(exe)) {
    return ["run", "--allow-all", new URL("../main.ts", import.meta.url).pathname, "start"];
  }
  return ["start"];
}

async function waitForPort(port: number, timeoutMs: number, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited()) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

/**
 * Runs a local cluster until SIGINT or SIGTERM; returns the exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await runLocalCluster({ brokers: 3, basePort: 9092, dataDir: "./data/cluster" }));
 * ```
 */
export async function runLocalCluster(
  options: { brokers: number; basePort: number; dataDir: string },
): Promise<number> {
  Deno.mkdirSync(options.dataDir, { recursive: true });
  const nodes = localClusterPlan({ ...options, clusterId: clusterIdIn(options.dataDir) });
  let stopping = false;
  let stopRequested!: () => void;
  const stop = new Promise<void>((r) => stopRequested = r);
  const onSignal = () => {
    stopping = true;
    stopRequested();
  };
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);

  const children = nodes.map((node) => {
    const args = [...startCommand()];
    for (const [k, v] of Object.entries(node.settings)) args.push("--set", `${k}=${v}`);
    const log = Deno.openSync(`${options.dataDir}/node-${node.id}.log`, { append: true, create: true });
    const child = new Deno.Command(Deno.execPath(), { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    const state = { exited: false, shuttingDown: false };
    const drained = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of child.stderr) {
          log.writeSync(chunk);
          // Ctrl-C in a terminal signals the children too: a node already shutting down must not get a second
          // signal (which would make it exit at once, uncleanly).
          if (decoder.decode(chunk).includes('msg="shutting down"')) state.shuttingDown = true;
        }
      } finally {
        log.close();
      }
    })();
    const status = child.status.then((s) => {
      state.exited = true;
      return s;
    });
    return { node, child, status, drained, state, exited: () => state.exited };
  });

  const ready = await Promise.race([
    Promise.all(children.map((c) => waitForPort(c.node.clientPort, 60_000, c.exited))).then((r) => r.every(Boolean)),
    stop.then(() => false),
  ]);
  if (ready) {
    console.log(`samsa: a local cluster of ${nodes.length} brokers is up (data and logs in ${options.dataDir})`);
    console.log(`bootstrap: ${nodes.map((n) => `127.0.0.1:${n.clientPort}`).join(",")}`);
    console.log("Ctrl-C stops every node.");
    // A node that dies (a crash, a kill -9 to try failover) leaves the others running: partitions with replicas
    // on them carry on with a new leader. The cluster stops on Ctrl-C, or once every node is gone.
    for (const c of children) {
      void c.status.then((s) => {
        if (stopping) return;
        const how = s.signal ? `signal ${s.signal}` : `code ${s.code}`;
        console.error(`samsa: node ${c.node.id} exited (${how}); the others keep running`);
      });
    }
    await Promise.race([stop, Promise.all(children.map((c) => c.status))]);
    if (!stopping) console.error("samsa: every node exited");
  } else if (!stopping) {
    console.error(`samsa: the cluster did not start; see ${options.dataDir}/node-*.log`);
  }
  // Let a terminal's Ctrl-C reach the children first; signal only those that did not get it.
  await Promise.race([Promise.all(children.map((c) => c.status)), new Promise((r) => setTimeout(r, 500))]);
  for (const c of children) {
    if (!c.exited() && !c.state.shuttingDown) c.child.kill("SIGTERM");
  }
  const codes = await Promise.all(children.map(async (c) => (await c.status).code));
  await Promise.all(children.map((c) => c.drained));
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, onSignal);
  return ready && stopping && codes.every((c) => c === 0) ? 0 : 1;
}
