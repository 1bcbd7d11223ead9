/**
 * GroupClock with scripted groups: which groups tick, when they quiesce and wake, which liveness messages go out, and
 * how a peer's death wakes the followers it led with their election clocks caught up.
 */
import assert from "node:assert/strict";
import { type ClockedGroup, GroupClock, ISR_REFRESH_TICKS } from "../../../broker/replication/group_clock.ts";
import {
  LEADER_QUIESCE_TICKS,
  LIVENESS_TIMEOUT_TICKS,
  type Quiescence,
} from "../../../broker/replication/quiescence.ts";

/** A group whose quiescence answer the test sets; it counts its ticks and ISR refreshes. */
class ScriptedGroup implements ClockedGroup {
  ticks = 0;
  isrRefreshes = 0;
  constructor(
    public leaderId: number,
    public quiet: "leader" | "follower" | "tick",
    readonly replicas: readonly number[] = [1, 2, 3],
  ) {}
  tick(): void {
    this.ticks++;
  }
  quiescence(isLive: (broker: number) => boolean): Quiescence {
    // A follower is quiet only while its leader is live, as `quiescenceOf` decides.
    if (this.quiet === "follower") return isLive(this.leaderId) ? "follower" : "tick";
    return this.quiet;
  }
  keepLiveFollowersInSync(): void {
    this.isrRefreshes++;
  }
}

function clockOf(nodeId = 1) {
  const sent: number[] = [];
  const clock = new GroupClock<ScriptedGroup>({ nodeId, sendLiveness: (to) => sent.push(to) });
  return { clock, sent };
}

/** Ticks `n` times, with peers in `heard` heard on every tick. */
function run(clock: GroupClock<ScriptedGroup>, n: number, heard: number[] = []): void {
  for (let i = 0; i < n; i++) {
    for (const id of heard) clock.heard(id);
    clock.tick();
  }
}

Deno.test("a quiet leader stops ticking after LEADER_QUIESCE_TICKS checks, and is never ticked after that", () => {
  const { clock } = clockOf();
  const group = new ScriptedGroup(1, "leader");
  clock.add(group);
  run(clock, LEADER_QUIESCE_TICKS, [2, 3]);
  // Checked before each tick: the last check quiesces it without a tick (no heartbeat whose answer would wake it).
  assert.deepEqual(group.ticks, LEADER_QUIESCE_TICKS - 1);
  assert.ok(clock.isQuiesced(group));
  assert.deepEqual(group.isrRefreshes, 1, "its live followers are counted in sync when it quiesces");
  run(clock, 100, [2, 3]);
  assert.deepEqual(group.ticks, LEADER_QUIESCE_TICKS - 1);
  assert.deepEqual(clock.counts, { ticking: 0, quiesced: 1 });
});

Deno.test("a busy group keeps ticking; a wake puts a quiesced group back on the clock", () => {
  const { clock } = clockOf();
  const group = new ScriptedGroup(1, "tick");
  clock.add(group);
  run(clock, 10, [2, 3]);
  assert.deepEqual(group.ticks, 10);
  group.quiet = "leader";
  run(clock, LEADER_QUIESCE_TICKS, [2, 3]);
  assert.ok(clock.isQuiesced(group));
  const ticks = group.ticks;
  clock.wake(group);
  assert.ok(!clock.isQuiesced(group));
  run(clock, 1, [2, 3]);
  assert.deepEqual(group.ticks, ticks + 1);
});

Deno.test("a follower quiesces at once while its leader's broker is live, and ticks while it is not", () => {
  const { clock } = clockOf();
  const group = new ScriptedGroup(2, "follower");
  clock.add(group);
  run(clock, 5); // broker 2 never heard
  assert.deepEqual(group.ticks, 5);
  run(clock, 1, [2]);
  assert.ok(clock.isQuiesced(group));
});

Deno.test("one liveness message per peer every other tick, none to a peer just sent something", () => {
  const { clock, sent } = clockOf();
  clock.add(new ScriptedGroup(1, "leader", [1, 2, 3]));
  clock.add(new ScriptedGroup(2, "follower", [1, 2, 4]));
  run(clock, 20, [2, 3, 4]);
  // 10 rounds to each of the three peers, whatever the number of groups.
  assert.deepEqual(sent.filter((id) => id === 2).length, 10);
  assert.deepEqual(sent.filter((id) => id === 3).length, 10);
  assert.deepEqual(sent.filter((id) => id === 4).length, 10);
  sent.length = 0;
  for (let i = 0; i < 20; i++) {
    clock.sent(3); // partition messages to broker 3 on every tick: it needs no liveness message
    clock.tick();
  }
  assert.deepEqual(sent.filter((id) => id === 3).length, 0);
  assert.deepEqual(sent.filter((id) => id === 2).length, 10);
});

Deno.test("when a leader's broker dies its quiesced followers wake with their election clocks caught up", () => {
  const { clock } = clockOf();
  const ledBy2 = new ScriptedGroup(2, "follower");
  const ledBy3 = new ScriptedGroup(3, "follower");
  const ledHere = new ScriptedGroup(1, "leader");
  for (const g of [ledBy2, ledBy3, ledHere]) clock.add(g);
  run(clock, LEADER_QUIESCE_TICKS + 2, [2, 3]);
  assert.deepEqual(clock.counts, { ticking: 0, quiesced: 3 });
  const before = { ledBy2: ledBy2.ticks, ledBy3: ledBy3.ticks, ledHere: ledHere.ticks };
  // Broker 2 falls silent; broker 3 is still heard.
  let ticks = 0;
  while (clock.isQuiesced(ledBy2) && ticks < 50) {
    run(clock, 1, [3]);
    ticks++;
  }
  assert.ok(!clock.isQuiesced(ledBy2), "the follower of the dead leader ticks again");
  assert.ok(ticks >= LIVENESS_TIMEOUT_TICKS && ticks <= LIVENESS_TIMEOUT_TICKS + 2, `noticed after ${ticks} ticks`);
  // The ticks it missed since broker 2 was last heard, at once: its election timeout runs from then, as unquiesced.
  assert.ok(ledBy2.ticks - before.ledBy2 >= LIVENESS_TIMEOUT_TICKS);
  assert.ok(clock.isQuiesced(ledBy3), "a follower of a live leader stays quiet");
  assert.ok(!clock.isQuiesced(ledHere), "this broker's leader of a group with broker 2 wakes (check-quorum, ISR)");
});

Deno.test("quiesced leaders refresh their in-sync followers every ISR_REFRESH_TICKS; removed groups are forgotten", () => {
  const { clock, sent } = clockOf();
  const group = new ScriptedGroup(1, "leader");
  clock.add(group);
  run(clock, ISR_REFRESH_TICKS * 3, [2, 3]);
  assert.ok(group.isrRefreshes >= 3);
  clock.remove(group);
  assert.deepEqual(clock.counts, { ticking: 0, quiesced: 0 });
  sent.length = 0;
  run(clock, 10);
  assert.deepEqual(sent, [], "no peer shares a group any more: no liveness messages");
});
