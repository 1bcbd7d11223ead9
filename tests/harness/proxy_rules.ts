/**
 * The decisions of the fault-injecting TCP proxy (`tcp_proxy.ts`), without sockets or clocks: which requests
 * a rule picks out, and what then happens to their answers.
 *
 * Requests are counted per API key across every connection of the proxy, 1-based, in the order the proxy
 * forwards them, so "the first Produce" means the first one any client sent through it.
 *
 * @module
 */

/** What happens to the answer of one forwarded request. */
export type AnswerFate =
  /** Passed to the client unchanged. */
  | { kind: "forward" }
  /** Passed on after `delayMs`; later answers on the connection wait behind it, so order is kept. */
  | { kind: "delay"; delayMs: number }
  /** Never delivered, nor any later answer on that connection: the client sees silence until it gives up. */
  | { kind: "drop" }
  /** Both sockets close when the answer comes back from the target: the request was served, its answer lost. */
  | { kind: "cut" };

/** Which requests a rule applies to. */
export interface RequestMatch {
  /** The Kafka API key (0 Produce, 1 Fetch, ...). */
  apiKey: number;
  /** The first matching request, 1-based, counted per API key over all connections. Default 1. */
  nth?: number;
  /** How many requests from `nth` on the rule applies to. Default 1; `Infinity` for every later one. */
  count?: number;
}

/** A rule that fired: the request it picked and what it did to the answer. */
export interface FiredRule {
  apiKey: number;
  /** The request's position among those of its API key. */
  nth: number;
  fate: AnswerFate;
}

interface Rule {
  apiKey: number;
  from: number;
  until: number;
  fate: AnswerFate;
}

/**
 * Counts the requests that pass through and decides each answer's fate. The first rule added that matches
 * a request wins.
 *
 * @example
 * ```ts
 * import { ProxyRuleBook } from "./proxy_rules.ts";
 * const rules = new ProxyRuleBook();
 * rules.add({ apiKey: 0, nth: 2 }, { kind: "cut" });
 * rules.onRequest(0).kind; // "forward": the first Produce
 * rules.onRequest(0).kind; // "cut": the second
 * rules.onRequest(0).kind; // "forward": rules apply to `count` requests, one by default
 * ```
 */
export class ProxyRuleBook {
  readonly #rules: Rule[] = [];
  readonly #seen = new Map<number, number>();
  readonly #fired: FiredRule[] = [];

  /** Adds a rule; it applies to requests not yet seen. */
  add(match: RequestMatch, fate: AnswerFate): void {
    const from = match.nth ?? 1;
    const count = match.count ?? 1;
    if (!Number.isInteger(from) || from < 1) throw new RangeError(`nth must be a positive integer, got ${from}`);
    if (!(count >= 1)) throw new RangeError(`count must be at least 1, got ${count}`);
    if (fate.kind === "delay" && !(fate.delayMs >= 0)) {
      throw new RangeError(`delayMs must not be negative, got ${fate.delayMs}`);
    }
    this.#rules.push({ apiKey: match.apiKey, from, until: from + count, fate });
  }

  /** Counts one forwarded request of `apiKey` and returns what to do with its answer. */
  onRequest(apiKey: number): AnswerFate {
    const nth = (this.#seen.get(apiKey) ?? 0) + 1;
    this.#seen.set(apiKey, nth);
    const rule = this.#rules.find((r) => r.apiKey === apiKey && nth >= r.from && nth < r.until);
    if (rule === undefined) return { kind: "forward" };
    this.#fired.push({ apiKey, nth, fate: rule.fate });
    return rule.fate;
  }

  /** How many requests of `apiKey` were forwarded so far. */
  requestCount(apiKey: number): number {
    return this.#seen.get(apiKey) ?? 0;
  }

  /** The rules that fired, in order. */
  fired(): readonly FiredRule[] {
    return this.#fired;
  }
}
