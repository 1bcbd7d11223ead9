/**
 * The pieces of the Java failover tests that are not the chaos workload itself: a consumer that follows a topic
 * with the Java client (`ChaosWorkload tail`), and records written for it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { kcat } from "../compat/kcat/kcat.ts";
import type { Read } from "./checker.ts";
import { readLines, workloadCommand } from "./workload.ts";

/**
 * Writes `values` to `topic` (to `partition`, or spread by kcat) with an idempotent acks=all producer (kcat), each
 * acknowledged: the records a Java consumer then reads.
 */
export async function produceWithKcat(
  bootstrap: string,
  topic: string,
  values: string[],
  partition?: number,
): Promise<void> {
  const args = ["-b", bootstrap, "-P", "-t", topic, "-X", "acks=all", "-X", "enable.idempotence=true"];
  if (partition !== undefined) args.push("-p", String(partition));
  const result = await kcat(args, values.join("\n") + "\n");
  assert.equal(result.code, 0, result.stderr);
}

/**
 * A Java consumer following every partition of a topic from the beginning (no group, no commits), its reads gathered
 * as they come; its stderr holds the client's debug log of position validation (KIP-320).
 */
export class JavaTail {
  readonly reads: Read[] = [];
  #stderr = "";
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;

  constructor(bootstrap: string, topic: string, partitions = 1) {
    const run = workloadCommand("java", ["tail", bootstrap, topic, String(partitions), "--max-seconds", "300"]);
    this.#child = new Deno.Command(run.command, { args: run.args, stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
    this.#reading = Promise.all([
      readLines(this.#child.stdout, (line) => {
        if (line.type === "read") {
          this.reads.push({ partition: line.partition, offset: line.offset, value: line.value });
        }
      }, (text) => this.#stderr += `${text}\n`),
      readLines(this.#child.stderr, () => {}, (text) => this.#stderr += `${text}\n`),
    ]).then(() => {});
  }

  /** The client's log (debug for the consumer internals). */
  get stderr(): string {
    return this.#stderr;
  }

  /** The client's log lines about validating its position after a leader change (KIP-320). */
  validationLog(): string[] {
    return this.#stderr.split("\n").filter((l) => /OffsetsForLeaderEpoch|position will be validated|validat/i.test(l));
  }

  /** Closes stdin: the consumer closes and exits; killed after `timeoutMs`. Safe to call twice. */
  async stop(timeoutMs = 15_000): Promise<void> {
    try {
      await this.#child.stdin.close();
    } catch { /* closed already, or exited */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, timeoutMs);
    try {
      await this.#child.status;
      await this.#reading;
    } finally {
      clearTimeout(timer);
    }
  }
}
