/**
 * Fixed test ports come from outside the kernel's ephemeral range (where port-0 binds and outgoing connections
 * of parallel tests take theirs), are distinct and free, and a lost race is recognised from the broker's log.
 */
import assert from "node:assert/strict";
import { fixedPortRange, fixedPorts, isAddressInUse, parsePortRange } from "./test_ports.ts";

Deno.test("the ephemeral range is read from /proc's format and fixed ports avoid it", () => {
  assert.deepEqual(parsePortRange("32768\t60999\n"), { low: 32768, high: 60999 });
  assert.equal(parsePortRange("garbage"), null);
  assert.equal(parsePortRange("60999 32768"), null);
  assert.deepEqual(fixedPortRange({ low: 32768, high: 60999 }), { low: 10000, high: 32767 });
  assert.deepEqual(fixedPortRange({ low: 1024, high: 50000 }), { low: 50001, high: 65535 });
  assert.deepEqual(fixedPortRange({ low: 1024, high: 65000 }), { low: 10000, high: 65535 });
});

Deno.test("fixed ports are distinct, free, and outside the ephemeral range", () => {
  const ports = fixedPorts(12);
  assert.equal(new Set(ports).size, 12);
  const ephemeral = parsePortRange(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range"))!;
  for (const port of ports) {
    assert.ok(port < ephemeral.low || port > ephemeral.high, `${port} inside ${JSON.stringify(ephemeral)}`);
    Deno.listen({ hostname: "127.0.0.1", port }).close(); // free: binding it works
  }
});

Deno.test("a port taken in the meantime is skipped", () => {
  const [taken] = fixedPorts(1);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: taken });
  try {
    // A "random" source that proposes the taken port first, then others.
    const range = fixedPortRange(parsePortRange(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range"))!);
    const proposals = [taken, taken, taken + 1 <= range.high ? taken + 1 : taken - 1];
    const random = () => {
      const port = proposals.shift() ?? range.low + 7;
      return (port - range.low + 0.5) / (range.high - range.low + 1);
    };
    const [port] = fixedPorts(1, random);
    assert.notEqual(port, taken);
  } finally {
    listener.close();
  }
});

Deno.test("a broker that lost the race for its port is recognised from its log", () => {
  assert.ok(isAddressInUse(
    'level=error msg="startup failed" error="cannot listen on PLAINTEXT://127.0.0.1:23456: Address already in use (os error 98)"',
  ));
  assert.ok(!isAddressInUse('level=info msg="listening" address="127.0.0.1:23456"'));
});
