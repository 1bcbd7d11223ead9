/**
 * The `samsa` executable.
 *
 * ```sh
 * samsa start [--config FILE] [--set key=value]... [--log-level LEVEL]   # run the broker (the default command)
 * samsa cluster start [--brokers N] [--base-port PORT] [--data-dir DIR]   # a local cluster of N nodes
 * samsa version
 * samsa help
 * ```
 *
 * Configuration precedence: built-in defaults < `--config` file < `SAMSA_*` environment variables < `--set`.
 * SIGINT or SIGTERM shuts down cleanly (exit 0); a second one exits at once (exit 1).
 *
 * @module
 */

import { parseArgs } from "node:util";
import denoJson from "./deno.json" with { type: "json" };
import { clusterSettings } from "./broker/metadata/cluster_config.ts";
import { runLocalCluster } from "./cli/local_cluster.ts";
import { startBroker } from "./broker/broker.ts";
import { tuneAllocator } from "./broker/allocator_tuning.ts";
import {
  type BrokerConfig,
  ConfigError,
  describeSource,
  type ListenerConfig,
  loadBrokerConfig,
  suggestBrokerKey,
} from "./broker/config.ts";
import { createLogger, parseLogLevel } from "./broker/logger.ts";

/** The version this executable reports. */
export const VERSION: string = denoJson.version;

const USAGE = `samsa ${VERSION}: a Kafka-compatible broker

Usage:
  samsa start [options]   run the broker (the default command)
  samsa cluster start     run a local cluster: --brokers N (3), --base-port PORT (9092), --data-dir DIR
                          (./data/cluster); prints the bootstrap string, Ctrl-C stops every node
  samsa version           print the version
  samsa help              print this help

Options of start:
  --config FILE        a Java properties file of broker configuration (Kafka's server.properties format)
  --set KEY=VALUE      set one configuration key; repeatable; wins over the file and the environment
  --log-level LEVEL    error, warn, info or debug; wins over log.level

Environment: SAMSA_<KEY> sets <key> with '_' read as '.', e.g. SAMSA_LOG_DIRS=/var/lib/samsa sets log.dirs.
Precedence: defaults < --config file < SAMSA_* variables < --set. See docs/OPERATIONS.md.
`;

/**
 * Runs the command line `args` and returns the exit code. `start` returns only after a signal has shut the
 * broker down.
 */
export async function main(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        set: { type: "string", multiple: true, short: "s" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
        brokers: { type: "string" },
        "base-port": { type: "string" },
        "data-dir": { type: "string" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (e) {
    console.error(`samsa: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = values.help ? "help" : values.version ? "version" : positionals[0] ?? "start";
  if (command === "cluster") return await cluster(positionals.slice(1), values);
  if (positionals.length > 1) {
    console.error(`samsa: unexpected argument '${positionals[1]}'\n\n${USAGE}`);
    return 2;
  }
  switch (command) {
    case "help":
      console.log(USAGE);
      return 0;
    case "version":
      console.log(`samsa ${VERSION} (deno ${Deno.version.deno})`);
      return 0;
    case "start":
      return await start(values.config, values.set ?? [], values["log-level"]);
    default:
      console.error(`samsa: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

async function cluster(
  positionals: string[],
  values: { brokers?: string; "base-port"?: string; "data-dir"?: string },
): Promise<number> {
  if (positionals.length !== 1 || positionals[0] !== "start") {
    console.error(`samsa: expected 'samsa cluster start'\n\n${USAGE}`);
    return 2;
  }
  const brokers = Number(values.brokers ?? 3);
  const basePort = Number(values["base-port"] ?? 9092);
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 9) {
    console.error(`samsa: --brokers '${values.brokers}' is not a number from 1 to 9`);
    return 2;
  }
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + 10000 + brokers > 65535) {
    console.error(`samsa: --base-port '${values["base-port"]}' leaves no room for the ports of ${brokers} nodes`);
    return 2;
  }
  return await runLocalCluster({ brokers, basePort, dataDir: values["data-dir"] ?? "./data/cluster" });
}

async function start(configFile: string | undefined, sets: readonly string[], logLevelFlag?: string): Promise<number> {
  const flagLevel = logLevelFlag === undefined ? undefined : parseLogLevel(logLevelFlag);
  if (logLevelFlag !== undefined && flagLevel === undefined) {
    console.error(`samsa: --log-level '${logLevelFlag}' is not one of error, warn, info, debug`);
    return 2;
  }
  let config: BrokerConfig;
  try {
    config = await loadBrokerConfig({ configFile, sets, env: readEnv() });
    clusterSettings(config); // the cluster settings must fit together before anything starts
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    createLogger({ level: flagLevel ?? "info" }).error("invalid configuration", { error: e.message });
    return 1;
  }
  const logger = createLogger({ level: flagLevel ?? config.logLevel, format: config.logFormat });
  // As Kafka warns of supplied configurations it does not know: a misspelt key must not pass silently.
  for (const key of config.unknownKeys()) {
    logger.warn("unknown configuration key, not used by the broker", {
      key,
      source: describeSource(config.source(key)),
      did_you_mean: suggestBrokerKey(key),
    });
  }
  logger.info("starting samsa", {
    version: VERSION,
    node_id: config.nodeId,
    listeners: config.listeners.map(listenerText).join(","),
    advertised_listeners: config.advertisedListeners.map(listenerText).join(","),
    log_dirs: config.logDirs.join(","),
    config_file: configFile,
  });

  // Signals are watched from the start so that one arriving during startup still stops the broker cleanly.
  let stopRequested!: (signal: string) => void;
  const stop = new Promise<string>((r) => stopRequested = r);
  let stopping = false;
  const onSignal = (signal: Deno.Signal) => () => {
    if (stopping) {
      logger.warn("second signal: exiting without a clean shutdown", { signal });
      Deno.exit(1);
    }
    stopping = true;
    stopRequested(signal);
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);

  const tuning = tuneAllocator();
  if (tuning.applied) logger.debug("malloc tuned for large request buffers");
  else logger.debug("malloc left as it is", { reason: tuning.reason });

  let broker;
  try {
    // A cluster node waits at startup for an active controller, possibly for ever: a signal must still stop it.
    // A startup that does finish within shutdown.timeout.ms of the signal is then shut down cleanly.
    const starting = startBroker(config, logger);
    const notStarted = (p: Promise<unknown>) => p.then(() => undefined);
    let started = await Promise.race([starting, notStarted(stop)]);
    if (started === undefined) {
      const grace = new Promise((r) => setTimeout(r, config.shutdownTimeoutMs));
      started = await Promise.race([starting, notStarted(grace)]);
    }
    if (started === undefined) {
      logger.warn("stopped before startup completed", { node_id: config.nodeId });
      return 1;
    }
    broker = started;
  } catch (e) {
    logger.error("startup failed", { error: e });
    return 1;
  }

  const signal = await stop;
  logger.info("shutting down", { signal });
  await broker.close();
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  return 0;
}

function listenerText(l: ListenerConfig): string {
  const host = l.host.includes(":") ? `[${l.host}]` : l.host;
  return `${l.name}://${host}:${l.port}`;
}

function readEnv(): Record<string, string> {
  try {
    return Deno.env.toObject();
  } catch {
    // Without --allow-env the environment simply contributes nothing.
    return {};
  }
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main(Deno.args);
  } catch (e) {
    console.error("samsa: fatal error:", e);
  }
  // Exit explicitly: timers or sockets left by a component must not keep a stopped broker alive.
  Deno.exit(code);
}
