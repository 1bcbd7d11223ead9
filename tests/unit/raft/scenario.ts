/**
 * Interpreter of the scenario scripts in `testdata/*.txt`: a few words per line that drive a simulated
 * cluster on an instantaneous network and state what must hold, so each file reads as a specification.
 *
 * Commands (ids are node ids; `all` ticks every running node):
 *
 *     options preVote=false checkQuorum=false maxInflightMsgs=2 maxSizePerMsg=10 ...   (before `nodes`)
 *     nodes 1 2 3                 start a group with these voters
 *     join 4                      start node 4 with an empty log and no configuration (a new member)
 *     tick 1 x10 | tick all x3    tick (each tick is followed by persisting, no delivery)
 *     run x5                      tick every node then deliver everything, five times
 *     campaign 1                  node 1 starts an election now
 *     deliver                     deliver messages (and the ones they cause) until the network is quiet
 *     deliver once                deliver only the messages in flight now (one round trip leg)
 *     reset-counts                forget the message counters
 *     drop                        lose every message in flight
 *     partition 1 | 2 3           cut the groups apart (both directions)
 *     cut 1 -> 2 3                cut one direction only
 *     heal                        remove all cuts
 *     propose 1 "data" [count 3] [-> error]     propose at 1; expects success unless an error is named
 *     conf 1 add_voter 4 [-> error]             propose a membership change at 1
 *     transfer 1 2                node 1 (the leader) hands leadership to 2
 *     crash 2 | restart 2         stop (losing what was not persisted) / start from storage
 *     compact 2                   snapshot node 2 at its applied index and drop the log prefix
 *     expect leader 2 term 3      the highest-term leader among running nodes is 2, in term 3
 *     expect no-leader            no running node leads
 *     expect role 1 follower      also: term, commit, applied, last, first, vote, lead
 *     expect commit 1 = 5
 *     expect log 1 = 0+1@1 1+3@1  node 1's log entries, as index+count@term, after its snapshot
 *     expect applied-data 1 = a b c
 *     expect config 1 voters 1 2 learners 3
 *     expect progress 1 2 replicate match 5     the leader's view of a follower
 *     expect progress 1 2 replicate inflight 2  ... and its in-flight appends
 *     expect sent app_resp-reject 1 -> 2 = 1    messages of a type sent since the last reset-counts
 *
 * @module
 */
import { SafetyViolation } from "../../sim/checker.ts";
import { Cluster, type ClusterOptions, DEFAULT_CLUSTER_OPTIONS } from "../../sim/cluster.ts";
import type { ConfChange } from "../../../raft/conf_change.ts";

/** A failed expectation or a malformed line, with its location. */
export class ScenarioError extends Error {
  constructor(file: string, line: number, text: string, why: string) {
    super(`${file}:${line}: ${text}\n  ${why}`);
    this.name = "ScenarioError";
  }
}

function ids(words: string[]): number[] {
  return words.map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`not a node id: ${w}`);
    return n;
  });
}

function times(words: string[]): number {
  const w = words.find((x) => /^x\d+$/.test(x));
  return w ? Number(w.slice(1)) : 1;
}

/** Splits a line into words, keeping "quoted strings" whole. */
function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] ?? m[2]);
  return out;
}

/** Runs a scenario script; throws {@linkcode ScenarioError} at the first failing line. */
export function runScenario(file: string, text: string): { lines: number; expectations: number } {
  let cluster: Cluster | undefined;
  const opts: ClusterOptions = { ...DEFAULT_CLUSTER_OPTIONS };
  let seed = 1;
  let expectations = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const words = tokenize(line);
    const fail = (why: string): never => {
      throw new ScenarioError(file, i + 1, raw.trim(), why);
    };
    const c = (): Cluster => cluster ?? fail("no cluster yet: start with `nodes`");
    try {
      const [cmd, ...args] = words;
      switch (cmd) {
        case "options":
          for (const a of args) {
            const [k, v] = a.split("=");
            if (k === "seed") seed = Number(v);
            else if (k in opts) {
              (opts as unknown as Record<string, unknown>)[k] = v === "true" || v === "false"
                ? v === "true"
                : Number(v);
            } else fail(`unknown option ${k}`);
          }
          break;
        case "nodes":
          cluster = new Cluster(seed, ids(args), opts);
          break;
        case "join":
          for (const id of ids(args)) c().addNode(id);
          break;
        case "tick": {
          const n = times(args);
          const who = args.filter((a) => !a.startsWith("x"));
          for (let k = 0; k < n; k++) {
            if (who[0] === "all") c().tickAll();
            else for (const id of ids(who)) c().tick(id);
            c().processAll();
          }
          break;
        }
        case "run":
          for (let k = 0; k < times(args); k++) {
            c().tickAll();
            c().deliverAll();
          }
          break;
        case "campaign":
          for (const id of ids(args)) c().get(id).node?.campaign();
          c().processAll();
          break;
        case "deliver":
          if (args[0] === "once") c().deliverOnce();
          else c().deliverAll();
          break;
        case "reset-counts":
          c().sent.clear();
          break;
        case "drop":
          c().net.clear();
          break;
        case "partition": {
          const groups: number[][] = [[]];
          for (const a of args) {
            if (a === "|") groups.push([]);
            else groups[groups.length - 1].push(...ids([a]));
          }
          c().net.partition(groups);
          break;
        }
        case "cut": {
          const arrow = args.indexOf("->");
          for (const a of ids(args.slice(0, arrow))) for (const b of ids(args.slice(arrow + 1))) c().net.block(a, b);
          break;
        }
        case "heal":
          c().net.heal();
          break;
        case "propose": {
          const [id, data, ...rest] = args;
          const ci = rest.indexOf("count");
          const count = ci >= 0 ? Number(rest[ci + 1]) : 1;
          const ai = rest.indexOf("->");
          const r = c().propose(ids([id])[0], count, data);
          c().processAll();
          const want = ai >= 0 ? rest[ai + 1] : "ok";
          const got = r.ok ? "ok" : r.error;
          if (got !== want) fail(`proposal: expected ${want}, got ${got}`);
          break;
        }
        case "conf": {
          const [id, type, node, arrow, want = "ok"] = args;
          const change = { type, node: Number(node) } as ConfChange;
          const r = c().proposeConfChange(ids([id])[0], change);
          c().processAll();
          const got = r.ok ? "ok" : r.error;
          if (got !== (arrow === "->" ? want : "ok")) fail(`conf change: expected ${want}, got ${got}`);
          break;
        }
        case "transfer": {
          const [from, to] = ids(args);
          if (!c().get(from).node?.transferLeadership(to)) fail(`node ${from} refused to transfer leadership`);
          c().processAll();
          break;
        }
        case "crash":
          for (const id of ids(args)) c().crash(id);
          break;
        case "restart":
          for (const id of ids(args)) c().restart(id);
          c().processAll();
          break;
        case "compact":
          for (const id of ids(args)) if (!c().compact(id)) fail(`node ${id} had nothing to compact`);
          break;
        case "expect":
          expectations++;
          expect(c(), args, (why) => fail(`${why}\n${c().describe()}`));
          break;
        default:
          fail(`unknown command ${cmd}`);
      }
    } catch (e) {
      if (e instanceof ScenarioError) throw e;
      if (e instanceof SafetyViolation) fail(`safety violation: ${e.message}`);
      fail(`error: ${(e as Error).message}`);
    }
  }
  return { lines: lines.length, expectations };
}

function expect(c: Cluster, args: string[], fail: (why: string) => never): void {
  const [what, ...rest] = args;
  const node = (w: string) => {
    const n = c.get(Number(w)).node;
    if (!n) fail(`node ${w} is down`);
    return n!.raft;
  };
  const eq = (got: unknown, want: string) => {
    if (String(got) !== want) fail(`expected ${want}, got ${got}`);
  };
  switch (what) {
    case "leader": {
      const l = c.leader();
      if (!l) fail("no leader");
      eq(l!.id, rest[0]);
      if (rest[1] === "term") eq(l!.node!.raft.term, rest[2]);
      break;
    }
    case "no-leader": {
      const l = c.leader();
      if (l) fail(`node ${l.id} leads term ${l.node!.raft.term}`);
      break;
    }
    case "role":
      eq(node(rest[0]).role, rest[1]);
      break;
    case "term":
    case "commit":
    case "applied":
    case "last":
    case "first":
    case "vote":
    case "lead": {
      const r = node(rest[0]);
      const v = {
        term: r.term,
        commit: r.log.committed,
        applied: r.log.applied,
        last: r.log.lastIndex(),
        first: r.log.firstIndex(),
        vote: r.vote,
        lead: r.lead,
      }[what];
      eq(v, rest[2] ?? rest[1]);
      break;
    }
    case "log": {
      const r = node(rest[0]);
      const want = rest.slice(2).join(" ");
      const got = r.log.slice(r.log.firstIndex(), r.log.lastIndex() + 1, Infinity)
        .map((e) => `${e.index}+${e.count}@${e.term}`).join(" ");
      eq(got, want);
      break;
    }
    case "applied-data": {
      const n = c.get(Number(rest[0]));
      eq(n.appliedData.filter((d) => d !== "" && !d.startsWith("{")).join(" "), rest.slice(2).join(" "));
      break;
    }
    case "config": {
      const r = node(rest[0]);
      const li = rest.indexOf("learners");
      const voters = rest.slice(2, li >= 0 ? li : undefined).join(" ");
      const learners = li >= 0 ? rest.slice(li + 1).join(" ") : "";
      eq(
        `voters ${r.config.voters.join(" ")} learners ${r.config.learners.join(" ")}`.trim(),
        `voters ${voters} learners ${learners}`.trim(),
      );
      break;
    }
    case "progress": {
      const r = node(rest[0]);
      const p = r.status().progress.get(Number(rest[1]));
      if (!p) fail(`node ${rest[0]} tracks no progress for ${rest[1]}`);
      eq(p!.state, rest[2]);
      for (let k = 3; k + 1 < rest.length; k += 2) {
        const key = rest[k] as "match" | "next" | "inflight";
        if (!["match", "next", "inflight"].includes(key)) fail(`unknown progress field ${key}`);
        eq(p![key], rest[k + 1]);
      }
      break;
    }
    case "sent": {
      const [type, from, arrow, to, op, want] = rest;
      if (arrow !== "->" || op !== "=") fail("expected: sent TYPE FROM -> TO = N");
      eq(c.sent.get(`${type} ${from}->${to}`) ?? 0, want);
      break;
    }
    default:
      fail(`unknown expectation ${what}`);
  }
}
