/**
 * One randomized simulation run, fully determined by its seed: a cluster of 3 or 5 nodes, a fault phase
 * (delays, loss, duplication, reordering, partitions that heal, crashes and restarts, proposals, and on some
 * seeds membership changes, compaction with snapshots and leadership transfers), then a calm phase that
 * must elect a leader and commit a proposal within a bounded number of ticks.
 *
 * @module
 */
import { randomInt, seededRandom } from "../../raft/prng.ts";
import type { NodeId } from "../../raft/types.ts";
import { SafetyViolation } from "./checker.ts";
import { Cluster, type ClusterOptions } from "./cluster.ts";

/** The outcome of one seed. */
export interface RunResult {
  seed: number;
  ok: boolean;
  /** What broke, when not ok. */
  error?: string;
  /** The last events before the failure. */
  events?: string[];
  ticks: number;
  nodes: number;
  features: string[];
  committed: number;
  leaders: number;
  messages: number;
  crashes: number;
}

/** Ticks the calm phase may take to elect a leader and commit a proposal. */
export const LIVENESS_BOUND_TICKS = 300;

/** Runs seed `seed`; `verbose` prints every event as it happens. */
export function runSeed(seed: number, verbose = false): RunResult {
  const rnd = seededRandom(seed * 2654435761);
  const size = rnd() < 0.5 ? 3 : 5;
  const ids: NodeId[] = Array.from({ length: size }, (_, i) => i + 1);
  const opts: ClusterOptions = {
    electionTick: 10,
    heartbeatTick: rnd() < 0.7 ? 1 : 2,
    preVote: rnd() < 0.8,
    checkQuorum: rnd() < 0.8,
    // Some seeds send one entry per append, so a new leader's old entries and its own travel separately.
    maxSizePerMsg: rnd() < 0.3 ? 1 : randomInt(rnd, 16, 1024),
    maxInflightMsgs: randomInt(rnd, 1, 8),
    maxInflightBytes: randomInt(rnd, 64, 4096),
  };
  // Drawn apart from the seed's main sequence, so every other choice of a seed stays what it was.
  opts.skipLeaderEntryWhenCommitted = seededRandom(seed * 40503 + 17)() < 0.5;
  const features: string[] = [];
  if (opts.skipLeaderEntryWhenCommitted) features.push("skip-leader-entry");
  const membership = rnd() < 0.3;
  // Without pre-vote, a removed node that never learns of its removal disrupts elections forever (Raft
  // dissertation §4.2.3), and it cannot simply be shut down: the remaining voters may still need its vote
  // until they learn that the removal committed. Membership changes therefore run with pre-vote.
  if (membership) opts.preVote = true;
  const snapshots = rnd() < 0.4;
  const transfers = rnd() < 0.3;
  const crashes = rnd() < 0.7;
  const partitions = rnd() < 0.7;
  const leaderCrashRate = !crashes ? 0 : rnd() < 0.3 ? 0.05 : 0.005;
  if (membership) features.push("membership");
  if (snapshots) features.push("snapshots");
  if (transfers) features.push("transfer");
  if (crashes) features.push(leaderCrashRate > 0.01 ? "crashes,leader-crashes" : "crashes");
  if (partitions) features.push("partitions");
  if (!opts.preVote) features.push("no-prevote");
  if (!opts.checkQuorum) features.push("no-checkquorum");

  const c = new Cluster(seed, ids, opts);
  c.verbose = verbose;
  // Some seeds step messages between ready() and advance(), as a caller with asynchronous storage does.
  if (rnd() < 0.3) {
    c.interleave = 0.3;
    features.push("interleave");
  }
  // A "flaky" profile: lossy links and frequent short partitions, so leaders often win and then fail to
  // replicate; this is what produces Figure 8 histories (several leaders with divergent unreplicated tails).
  const flaky = rnd() < 0.3;
  if (flaky) features.push("flaky");
  c.net.faults = { loss: rnd() * (flaky ? 0.4 : 0.15), duplicate: rnd() * 0.1, maxDelay: randomInt(rnd, 0, 4) };
  const partitionRate = flaky ? 0.1 : 0.02;
  const faultTicks = randomInt(rnd, 150, 500);
  // Observers, as the metadata quorum has them: brokers that join late, with empty logs, as learners only,
  // after the leader compacted its log, so they catch up from a snapshot; then they must follow the log.
  // (Drawn after the other choices, so seeds without observers replay as before.)
  const observers = !membership && rnd() < 0.3;
  if (observers) features.push("observers");
  const observerIds: NodeId[] = [];
  let joining: NodeId | undefined;
  const observerJoinTicks = [randomInt(rnd, 10, faultTicks - 10), randomInt(rnd, 10, faultTicks - 10)].sort((a, b) =>
    a - b
  );
  const downUntil = new Map<NodeId, number>();
  let healAt = -1;
  let nextId = size + 1;
  let proposals = 0;
  let crashCount = 0;
  const result: RunResult = {
    seed,
    ok: true,
    ticks: 0,
    nodes: size,
    features,
    committed: -1,
    leaders: 0,
    messages: 0,
    crashes: 0,
  };

  const propose = (at: NodeId) => {
    const count = randomInt(rnd, 1, 4);
    const body = `s${seed}p${proposals++}:${"x".repeat(randomInt(rnd, 0, 40))}`;
    const r = c.propose(at, count, body);
    if (r.ok) c.log(`propose at ${at}: ${r.index}..${r.lastIndex} (count ${count})`);
  };

  const step = () => {
    c.net.now++;
    c.tickAll();
    c.deliverDue();
    c.processAll();
  };

  try {
    for (let t = 0; t < faultTicks; t++) {
      const all = [...c.nodes.keys()];
      const up = all.filter((id) => c.get(id).up);
      // Partitions come and go.
      if (partitions && healAt < 0 && rnd() < partitionRate) {
        const shuffled = [...all];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = randomInt(rnd, 0, i);
          [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
        }
        const cut = randomInt(rnd, 1, Math.max(1, shuffled.length - 1));
        const a = shuffled.slice(0, cut);
        const b = shuffled.slice(cut);
        if (rnd() < 0.3) {
          for (const x of a) for (const y of b) c.net.block(x, y);
          c.log(`one-way partition ${a.join(" ")} -> ${b.join(" ")} cut`);
        } else {
          c.net.partition([a, b]);
          c.log(`partition ${a.join(" ")} | ${b.join(" ")}`);
        }
        healAt = t + (flaky ? randomInt(rnd, 2, 25) : randomInt(rnd, 10, 80));
      }
      if (healAt >= 0 && t >= healAt) {
        c.net.heal();
        healAt = -1;
        c.log("heal");
      }
      // Crashes: lose what was not persisted. Some land between delivery and processing.
      if (crashes && rnd() < 0.015 && up.length > 0) {
        const id = up[randomInt(rnd, 0, up.length - 1)];
        const how = rnd();
        if (how < 0.5) {
          // Between accepting messages and persisting what they changed.
          c.net.now++;
          c.tickAll();
          c.deliverDue();
          if (how < 0.25) c.crashTorn(id);
          else c.crash(id);
          c.processAll();
        } else c.crash(id);
        crashCount++;
        downUntil.set(id, t + randomInt(rnd, 5, 60));
      }
      // Leaders crash too, some seeds often: a new leader's unreplicated tail is how Figure 8 histories start.
      const current = c.leader();
      if (current && rnd() < leaderCrashRate) {
        c.crash(current.id);
        crashCount++;
        downUntil.set(current.id, t + randomInt(rnd, 1, 30));
      }
      for (const [id, until] of downUntil) {
        if (t >= until) {
          downUntil.delete(id);
          c.restart(id);
        }
      }
      const leader = c.leader();
      // Proposals at the leader (or at a random node, which refuses unless it leads).
      if (rnd() < 0.3) {
        const at = leader && rnd() < 0.9 ? leader.id : all[randomInt(rnd, 0, all.length - 1)];
        propose(at);
      }
      if (membership && leader && rnd() < 0.02) {
        const conf = leader.node!.raft.config;
        const roll = rnd();
        let change: { type: "add_voter" | "add_learner" | "remove"; node: NodeId } | undefined;
        if (roll < 0.3 && conf.voters.length + conf.learners.length < 7) {
          const id = nextId++;
          c.addNode(id);
          change = { type: rnd() < 0.5 ? "add_learner" : "add_voter", node: id };
        } else if (roll < 0.55 && conf.learners.length > 0) {
          change = { type: "add_voter", node: conf.learners[0] };
        } else if (roll < 0.8 && conf.voters.length > 1) {
          const members = [...conf.voters, ...conf.learners];
          change = { type: "remove", node: members[randomInt(rnd, 0, members.length - 1)] };
        } else if (conf.voters.length > 1) {
          change = { type: "add_learner", node: conf.voters[randomInt(rnd, 0, conf.voters.length - 1)] };
        }
        if (change) {
          const r = c.proposeConfChange(leader.id, change);
          c.log(`conf change at ${leader.id}: ${change.type} ${change.node} -> ${r.ok ? "proposed" : r.error}`);
        }
      }
      if (observers && leader && observerIds.length < observerJoinTicks.length) {
        if (joining === undefined && t >= observerJoinTicks[observerIds.length]) {
          c.compact(leader.id);
          joining = nextId++;
          c.addNode(joining);
        }
        if (joining !== undefined) {
          const r = c.proposeConfChange(leader.id, { type: "add_learner", node: joining });
          if (r.ok) {
            c.log(`observer ${joining} joins as a learner at ${leader.id}`);
            observerIds.push(joining);
            joining = undefined;
          }
        }
      }
      if (snapshots && rnd() < 0.03 && up.length > 0) c.compact(up[randomInt(rnd, 0, up.length - 1)]);
      if (transfers && leader && rnd() < 0.01) {
        const voters = leader.node!.raft.config.voters.filter((id) => id !== leader.id);
        if (voters.length > 0) {
          const to = voters[randomInt(rnd, 0, voters.length - 1)];
          c.log(`transfer leadership ${leader.id} -> ${to}: ${leader.node!.transferLeadership(to)}`);
        }
      }
      step();
    }

    // Calm: heal, restart everyone, stop losing messages; a leader must emerge and commit a proposal.
    c.net.heal();
    c.net.faults = { loss: 0, duplicate: 0, maxDelay: Math.min(c.net.faults.maxDelay, 2) };
    for (const id of c.nodes.keys()) c.restart(id);
    c.log("faults stop");
    // The calm-phase proposal: its last index and term; it may be lost with a leader and proposed again.
    let target = -1;
    let targetTerm = -1;
    let committedAt = -1;
    for (let t = 0; t < LIVENESS_BOUND_TICKS; t++) {
      const applied = target >= 0 ? c.checker.appliedAt(target) : undefined;
      if (applied && applied.term === targetTerm) {
        committedAt = t;
        break;
      }
      const leader = c.leader();
      if (leader && leader.node!.raft.config.voters.includes(leader.id)) {
        const r = leader.node!.raft;
        // Propose (again) unless our proposal is still in this leader's log.
        if (target < 0 || r.log.term(target) !== targetTerm || applied) {
          const p = c.propose(leader.id, randomInt(rnd, 1, 4), `s${seed}final`);
          if (p.ok) {
            target = p.lastIndex;
            targetTerm = p.term;
          }
        }
      }
      step();
    }
    // Observers that joined follow the log: each applies the calm-phase proposal too.
    const members = () => {
      const l = c.leader();
      return l ? [...l.node!.raft.config.learners] : [];
    };
    if (committedAt >= 0 && observerIds.length > 0) {
      let caughtUp = false;
      for (let t = 0; t < LIVENESS_BOUND_TICKS && !caughtUp; t++) {
        const learners = members();
        caughtUp = observerIds.filter((id) => learners.includes(id)).every((id) => c.get(id).sm.applied >= target);
        if (!caughtUp) step();
      }
      if (!caughtUp) {
        throw new SafetyViolation(
          `liveness: observers ${
            observerIds.join(",")
          } did not apply ${target} within ${LIVENESS_BOUND_TICKS} ticks\n` +
            c.describe(),
        );
      }
      if (observerIds.some((id) => (c.snapshotInstalls.get(id) ?? 0) > 0)) features.push("observer-snapshot");
    }
    if (committedAt < 0) {
      throw new SafetyViolation(
        `liveness: no proposal committed within ${LIVENESS_BOUND_TICKS} ticks after faults stopped` +
          ` (leader: ${c.leader()?.id ?? "none"}, target ${target})\n` + c.describe(),
      );
    }
    result.ticks = faultTicks + committedAt;
  } catch (e) {
    if (!(e instanceof SafetyViolation) && !(e instanceof Error)) throw e;
    result.ok = false;
    result.error = e instanceof SafetyViolation ? e.message : `crash: ${(e as Error).stack}`;
    result.events = [...c.events];
  }
  result.committed = c.checker.maxApplied;
  result.leaders = c.checker.leaders.size;
  result.messages = c.net.stats.sent;
  result.crashes = crashCount;
  return result;
}
