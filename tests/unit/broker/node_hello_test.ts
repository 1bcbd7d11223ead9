/**
 * The node hello on a Kafka client listener: no Kafka request is ever taken for it, and a hello is read back
 * exactly or refused with a reason.
 */
import assert from "node:assert/strict";
import { claimsNodeProtocol, encodeListenerHello, parseListenerHello } from "../../../broker/node_hello.ts";
import { encodeRequest } from "../../../protocol/messages.ts";

const HELLO = { clusterId: "cmVwbGljYXRpb24tdGVzdA", nodeId: 3, purpose: "replication" } as const;

Deno.test("no Kafka request header is claimed by the node protocol, whatever its api key and version", () => {
  for (let apiKey = 0; apiKey <= 0x7fff; apiKey++) {
    for (const version of [0, 1, 0x7fff, -1]) {
      const frame = new Uint8Array(8);
      const view = new DataView(frame.buffer);
      view.setInt16(0, apiKey);
      view.setInt16(2, version);
      assert.equal(claimsNodeProtocol(frame), false, `api key ${apiKey} v${version}`);
    }
  }
});

Deno.test("a real ApiVersions request, the first request of most clients, is left to the Kafka path", () => {
  const frame = encodeRequest(
    { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: "rdkafka" },
    { clientSoftwareName: "librdkafka", clientSoftwareVersion: "2.3.0" },
  );
  assert.equal(claimsNodeProtocol(frame), false);
});

Deno.test("the node hello is claimed, and read back exactly", () => {
  const frame = encodeListenerHello(HELLO);
  assert.equal(new DataView(frame.buffer).getInt32(0), frame.length - 4);
  const body = frame.subarray(4);
  assert.equal(new DataView(body.buffer, body.byteOffset).getInt16(0), -1, "starts with api key -1");
  assert.equal(claimsNodeProtocol(body), true);
  assert.deepEqual(parseListenerHello(body), { ok: true, hello: HELLO });
});

Deno.test("frames with a negative api key that are not a hello are refused with a reason", () => {
  const good = encodeListenerHello(HELLO).subarray(4);
  const cases: [string, Uint8Array, RegExp][] = [
    ["too short", Uint8Array.of(0xff, 0xff), /no node hello/],
    ["another negative key", Uint8Array.of(0x80, 0x00, ...good.subarray(2)), /no node hello/],
    ["bad magic", Uint8Array.of(...good.subarray(0, 2), 0x41, ...good.subarray(3)), /bad magic/],
    ["other version", Uint8Array.of(...good.subarray(0, 12), 9, ...good.subarray(13)), /version 9 unsupported/],
    ["not JSON", Uint8Array.of(...good.subarray(0, 13), 0x7b), /not JSON/],
    ["no node id", Uint8Array.of(...good.subarray(0, 13), ...new TextEncoder().encode('{"clusterId":"x"}')), /lacks/],
  ];
  for (const [what, frame, reason] of cases) {
    assert.equal(claimsNodeProtocol(frame), true, what);
    const parsed = parseListenerHello(frame);
    assert.equal(parsed.ok, false, what);
    if (!parsed.ok) assert.match(parsed.reason, reason, what);
  }
});
