/**
 * Runs Apache Kafka's own command-line tools (TopicCommand, MetadataQuorumCommand, ConfigCommand,
 * FeatureCommand, ClusterTool, LeaderElectionCommand) on the jars `deno task kafka fetch` caches, through `kafka.sh run`.
 *
 * Nothing is skipped silently: `requireKafkaJars` fails, saying what to install, when Java or the jars are
 * missing (CI installs them with tests/install_clients.sh and `deno task kafka fetch`).
 *
 * @module
 */
const KAFKA_SH = new URL("./kafka.sh", import.meta.url).pathname;

/** What a tool printed, and its exit code. */
export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function kafkaSh(args: string[]): Promise<ToolRun> {
  const out = await new Deno.Command("bash", { args: [KAFKA_SH, ...args], stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Throws, saying how to get them, unless Kafka's jars are cached and a Java 17+ runs them. */
export async function requireKafkaJars(): Promise<void> {
  const classpath = (await kafkaSh(["classpath"])).stdout.trim();
  const libs = classpath.replace(/\/\*$/, "");
  let jars = 0;
  try {
    for (const entry of Deno.readDirSync(libs)) if (entry.name.endsWith(".jar")) jars++;
  } catch {
    // no folder: no jars
  }
  if (jars === 0) {
    throw new Error(`Apache Kafka's jars are not in ${libs}: run \`deno task kafka fetch\` (needs Maven and Java 17+)`);
  }
  const probe = await kafkaTool("org.apache.kafka.tools.ClusterTool", ["--help"]);
  if (/no Java \d+\+ found/.test(probe.stderr)) {
    throw new Error(`Kafka's tools need Java 17+: install it (bash tests/install_clients.sh). ${probe.stderr.trim()}`);
  }
}

/** Runs Kafka main class `mainClass` with `args`. */
export function kafkaTool(mainClass: string, args: string[]): Promise<ToolRun> {
  return kafkaSh(["run", mainClass, ...args]);
}

/** The Kafka main classes of the admin scripts (`bin/kafka-topics.sh` and friends) in Kafka 4.x. */
export const KafkaTools = {
  topics: "org.apache.kafka.tools.TopicCommand",
  metadataQuorum: "org.apache.kafka.tools.MetadataQuorumCommand",
  configs: "kafka.admin.ConfigCommand",
  features: "org.apache.kafka.tools.FeatureCommand",
  cluster: "org.apache.kafka.tools.ClusterTool",
  reassignPartitions: "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
  leaderElection: "org.apache.kafka.tools.LeaderElectionCommand",
} as const;
