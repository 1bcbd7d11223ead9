import assert from "node:assert/strict";
import { decodeMessageBatch, encodeMessageBatch } from "../../../raft/message_codec.ts";
import { message } from "../../../raft/types.ts";

Deno.test("a message's log start offset crosses the wire; a message without one arrives without one", () => {
  const withStart = message("heartbeat", 1, 2, 4, { commit: 9, logStartOffset: 7 });
  const without = message("heartbeat_resp", 1, 2, 4);
  const decoded = decodeMessageBatch(encodeMessageBatch({
    from: 1,
    to: 2,
    messages: [{ group: "t:0", message: withStart }, { group: "t:0", message: without }],
  }));
  assert.deepEqual(decoded.messages[0].message.logStartOffset, 7);
  assert.deepEqual(decoded.messages[0].message.commit, 9);
  assert.deepEqual(decoded.messages[1].message.logStartOffset, undefined);
  assert.deepEqual(decoded.messages[1].message, without);
});
