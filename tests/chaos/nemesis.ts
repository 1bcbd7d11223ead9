/**
 * The faults a chaos scenario injects into a running `TestCluster` (the nemeses), each with its healing: kill -9
 * of a partition's leader (found from Metadata) or of a follower, SIGSTOP of the leader, kill -9 of the active
 * controller of the metadata quorum, kill -9 of every node at once (power loss as far as the processes can tell), and a rolling restart (each node in turn stopped cleanly
 * and started again, as an operator upgrades a cluster). Healing restarts or resumes what the fault took.
 *
 * @module
 */
import { clusterView, type TestCluster } from "../integration/cluster_process.ts";

/** The names of the faults, as `deno task chaos --nemesis` takes them. */
export const NEMESES = [
  "kill-leader",
  "pause-leader",
  "kill-follower",
  "kill-controller",
  "kill-all",
  "rolling-restart",
] as const;

/** One of them. */
export type NemesisName = typeof NEMESES[number];

/** A fault in place, to be healed. */
export interface InjectedFault {
  /** What was done, for the history and messages ("kill -9 of leader 2 of chaos/0"). */
  description: string;
  /**
   * Wall-clock time of the fault, taken once it is in place (a killed process has exited): an answer the
   * client receives after it was sent before the fault.
   */
  atMs: number;
  /** Whether a majority of the replicas still runs, so the cluster must keep acknowledging before healing. */
  majoritySurvives: boolean;
  /**
   * Whether it concerns every partition (all nodes down, the controller) rather than the one partition it aimed
   * at: then acknowledgements of any partition count as the cluster's answer to it.
   */
  partitionWide: boolean;
  /** Undoes the fault: restarts or resumes the nodes it took. */
  heal(): Promise<void>;
  /**
   * The node frozen by SIGSTOP, if that is the fault. A frozen broker keeps its connections open, so how soon a
   * client gives up on it is the client's affair (librdkafka waited 3-20 s); what the cluster owes is a new leader
   * named by the metadata, which the scenario checks instead of the client's next acknowledgement.
   */
  frozen?: number;
}

/** The ids of the nodes running now. */
export function runningNodes(cluster: TestCluster): number[] {
  return [...cluster.nodes.keys()].sort((a, b) => a - b);
}

/**
 * The leader and replicas of `topic`/`partition` as a running node's Metadata names them, asking each running
 * node in turn until one names a leader that is running (within `timeoutMs`).
 */
export async function partitionLeadership(
  cluster: TestCluster,
  topic: string,
  partition: number,
  timeoutMs = 10_000,
): Promise<{ leader: number; replicas: number[] }> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    for (const id of runningNodes(cluster)) {
      try {
        const view = await clusterView(cluster.bootstrap(id));
        const p = view.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partition === partition);
        // A leader that is not running is one the metadata has not replaced yet: ask again.
        if (p && p.leader >= 0 && cluster.nodes.has(p.leader)) return { leader: p.leader, replicas: p.replicas };
        last = !p
          ? `broker ${id} does not know ${topic}/${partition}`
          : p.leader < 0
          ? `broker ${id} knows no leader`
          : `broker ${id} names leader ${p.leader}, which is not running`;
      } catch (e) {
        last = `broker ${id}: ${e}`;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no leader of ${topic}/${partition} within ${timeoutMs} ms (${last})`);
}

/** Injects the fault `name` on `topic`/`partition` of `cluster`. */
export async function inject(
  name: NemesisName,
  cluster: TestCluster,
  topic: string,
  partition: number,
): Promise<InjectedFault> {
  const where = `${topic}/${partition}`;
  if (name === "kill-all") {
    const ids = runningNodes(cluster);
    await Promise.all(ids.map((id) => cluster.nodes.get(id)!.kill()));
    const atMs = Date.now();
    for (const id of ids) cluster.nodes.delete(id);
    return {
      description: `kill -9 of every node (${ids.join(", ")})`,
      atMs,
      majoritySurvives: false,
      partitionWide: true,
      heal: async () => {
        await Promise.all(ids.map((id) => cluster.startNode(id)));
      },
    };
  }
  if (name === "rolling-restart") {
    const ids = runningNodes(cluster);
    const atMs = Date.now();
    for (const id of ids) {
      await cluster.nodes.get(id)!.stop();
      cluster.nodes.delete(id);
      await cluster.startNode(id);
    }
    return {
      description: `rolling restart of ${ids.join(", ")} (SIGTERM, start, one at a time)`,
      atMs,
      majoritySurvives: true,
      partitionWide: false,
      heal: () => Promise.resolve(),
    };
  }
  if (name === "kill-controller") {
    const controller = (await clusterView(cluster.bootstrap(runningNodes(cluster)[0]))).controllerId;
    const node = cluster.nodes.get(controller);
    if (node === undefined) throw new Error(`the active controller ${controller} is not a running node`);
    await node.kill();
    cluster.nodes.delete(controller);
    return {
      description: `kill -9 of the active controller ${controller}`,
      atMs: Date.now(),
      majoritySurvives: true,
      // Not aimed at a partition: every partition's acknowledgements count.
      partitionWide: true,
      heal: async () => {
        await cluster.startNode(controller);
      },
    };
  }
  const { leader, replicas } = await partitionLeadership(cluster, topic, partition);
  if (name === "pause-leader") {
    const node = cluster.nodes.get(leader)!;
    const atMs = Date.now();
    node.signal("SIGSTOP");
    return {
      description: `SIGSTOP of leader ${leader} of ${where}`,
      atMs,
      majoritySurvives: true,
      partitionWide: false,
      heal: () => Promise.resolve(node.signal("SIGCONT")),
      frozen: leader,
    };
  }
  const target = name === "kill-leader" ? leader : replicas.find((r) => r !== leader && cluster.nodes.has(r));
  if (target === undefined) throw new Error(`${where} has no running follower to kill (replicas ${replicas})`);
  await cluster.nodes.get(target)!.kill();
  const atMs = Date.now();
  cluster.nodes.delete(target);
  return {
    description: `kill -9 of ${name === "kill-leader" ? "leader" : "follower"} ${target} of ${where}`,
    atMs,
    majoritySurvives: true,
    partitionWide: false,
    heal: async () => {
      await cluster.startNode(target);
    },
  };
}
