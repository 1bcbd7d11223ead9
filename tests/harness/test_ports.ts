/**
 * Ports for test processes that must be told their ports before they start: a cluster's nodes name each other's
 * controller ports in `controller.quorum.voters`, and a restarted node must come back where clients knew it.
 *
 * Such a port cannot come from binding port 0 (the child binds it, not us), and probing a port-0 listener and
 * closing it (`freePort()`) races: the kernel hands out that same ephemeral range to every other port-0 bind and
 * every outgoing connection of the suite running in parallel, so the port is often taken again before the child
 * binds it. These ports come from below the kernel's ephemeral range instead, where nothing is handed out
 * implicitly: only another test picking the same random port could take it, and a start that still loses the
 * race fails with "Address already in use", which `isAddressInUse` recognises so the caller can retry.
 *
 * @module
 */

/** An inclusive range of ports. */
export interface PortRange {
  low: number;
  high: number;
}

/** Linux's default ephemeral range, used when /proc cannot be read. */
const DEFAULT_EPHEMERAL: PortRange = { low: 32768, high: 60999 };
/** The lowest port handed out: below it live well-known services. */
const LOWEST_PORT = 10_000;
/** A range smaller than this makes collisions between parallel tests likely; then use the top of the space. */
const MIN_RANGE = 2_000;

/**
 * The range `/proc/sys/net/ipv4/ip_local_port_range` describes ("32768\t60999"), or null if it says nothing.
 *
 * @example
 * ```ts
 * import { parsePortRange } from "./test_ports.ts";
 * parsePortRange("32768\t60999\n"); // { low: 32768, high: 60999 }
 * ```
 */
export function parsePortRange(text: string): PortRange | null {
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!match) return null;
  const [low, high] = [Number(match[1]), Number(match[2])];
  return low > 0 && high >= low && high <= 65535 ? { low, high } : null;
}

/**
 * Where fixed test ports are drawn from, given the ephemeral range: below it if there is room, else above it.
 *
 * @example
 * ```ts
 * import { fixedPortRange } from "./test_ports.ts";
 * fixedPortRange({ low: 32768, high: 60999 }); // { low: 10000, high: 32767 }
 * ```
 */
export function fixedPortRange(ephemeral: PortRange): PortRange {
  if (ephemeral.low - 1 - LOWEST_PORT >= MIN_RANGE) return { low: LOWEST_PORT, high: ephemeral.low - 1 };
  if (65535 - (ephemeral.high + 1) >= MIN_RANGE) return { low: ephemeral.high + 1, high: 65535 };
  return { low: LOWEST_PORT, high: 65535 }; // no quiet range: still random, and the start retries on a collision
}

function ephemeralRange(): PortRange {
  try {
    return parsePortRange(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range")) ?? DEFAULT_EPHEMERAL;
  } catch {
    return DEFAULT_EPHEMERAL;
  }
}

function isFreeNow(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * `count` distinct ports on 127.0.0.1, free now, drawn at random from outside the ephemeral range.
 *
 * @example
 * ```ts ignore
 * const [clientPort, controllerPort] = fixedPorts(2);
 * ```
 */
export function fixedPorts(count: number, random: () => number = Math.random): number[] {
  const range = fixedPortRange(ephemeralRange());
  const chosen = new Set<number>();
  for (let attempt = 0; chosen.size < count; attempt++) {
    if (attempt >= 100 * count) throw new Error(`no ${count} free ports found in ${range.low}..${range.high}`);
    const port = range.low + Math.floor(random() * (range.high - range.low + 1));
    if (!chosen.has(port) && isFreeNow(port)) chosen.add(port);
  }
  return [...chosen];
}

/**
 * Whether a process's log (or an error carrying it) says it could not bind its port.
 *
 * @example
 * ```ts
 * import { isAddressInUse } from "./test_ports.ts";
 * isAddressInUse('msg="startup failed" error="... Address already in use (os error 98)"'); // true
 * ```
 */
export function isAddressInUse(text: string): boolean {
  return /Address already in use|EADDRINUSE|AddrInUse/.test(text);
}
