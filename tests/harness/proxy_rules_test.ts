import assert from "node:assert/strict";
import { ProxyRuleBook } from "./proxy_rules.ts";

const PRODUCE = 0;
const FETCH = 1;

Deno.test("without rules every answer is forwarded and requests are counted per API key", () => {
  const rules = new ProxyRuleBook();
  assert.deepEqual([rules.onRequest(PRODUCE), rules.onRequest(FETCH), rules.onRequest(PRODUCE)], [
    { kind: "forward" },
    { kind: "forward" },
    { kind: "forward" },
  ]);
  assert.equal(rules.requestCount(PRODUCE), 2);
  assert.equal(rules.requestCount(FETCH), 1);
  assert.equal(rules.requestCount(3), 0);
  assert.deepEqual(rules.fired(), []);
});

Deno.test("a rule picks the nth request of its API key only, once by default", () => {
  const rules = new ProxyRuleBook();
  rules.add({ apiKey: PRODUCE, nth: 2 }, { kind: "cut" });
  const kinds = [PRODUCE, FETCH, PRODUCE, FETCH, PRODUCE].map((key) => rules.onRequest(key).kind);
  assert.deepEqual(kinds, ["forward", "forward", "cut", "forward", "forward"]);
  assert.deepEqual(rules.fired(), [{ apiKey: PRODUCE, nth: 2, fate: { kind: "cut" } }]);
});

Deno.test("a rule with a count applies to that many requests from nth on; Infinity to all later ones", () => {
  const rules = new ProxyRuleBook();
  rules.add({ apiKey: FETCH, nth: 2, count: 2 }, { kind: "delay", delayMs: 50 });
  rules.add({ apiKey: PRODUCE, count: Infinity }, { kind: "drop" });
  assert.deepEqual([1, 2, 3, 4].map(() => rules.onRequest(FETCH).kind), ["forward", "delay", "delay", "forward"]);
  assert.deepEqual([1, 2, 3].map(() => rules.onRequest(PRODUCE).kind), ["drop", "drop", "drop"]);
});

Deno.test("the first matching rule wins", () => {
  const rules = new ProxyRuleBook();
  rules.add({ apiKey: PRODUCE }, { kind: "cut" });
  rules.add({ apiKey: PRODUCE }, { kind: "drop" });
  assert.equal(rules.onRequest(PRODUCE).kind, "cut");
});

Deno.test("nonsense rules are refused", () => {
  const rules = new ProxyRuleBook();
  assert.throws(() => rules.add({ apiKey: PRODUCE, nth: 0 }, { kind: "cut" }), RangeError);
  assert.throws(() => rules.add({ apiKey: PRODUCE, nth: 1.5 }, { kind: "cut" }), RangeError);
  assert.throws(() => rules.add({ apiKey: PRODUCE, count: 0 }, { kind: "cut" }), RangeError);
  assert.throws(() => rules.add({ apiKey: PRODUCE }, { kind: "delay", delayMs: -1 }), RangeError);
});
