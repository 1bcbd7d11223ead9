/**
 * PLACEHOLDER until the Kafka API handlers exist: `startBroker` binds the configured listeners and closes every
 * connection at its first request. The lead replaces this file with the real broker (storage, handlers).
 *
 * @module
 */

import type { BrokerConfig } from "./config.ts";
import { KafkaServer, serverOptionsFromConfig } from "./listener.ts";
import type { Logger } from "./logger.ts";

/** A running broker. */
export interface RunningBroker {
  /** Stops accepting, finishes requests in progress (within `shutdown.timeout.ms`), closes everything. */
  close(): Promise<void>;
}

/**
 * Starts the broker described by `config`. For now only the network shell runs: every request closes its
 * connection, since no Kafka API is wired yet.
 *
 * @example
 * ```ts ignore
 * import { BrokerConfig } from "./config.ts";
 * import { startBroker } from "./broker.ts";
 * import { createLogger } from "./logger.ts";
 * const broker = await startBroker(BrokerConfig.from([]), createLogger());
 * await broker.close();
 * ```
 */
export function startBroker(config: BrokerConfig, logger: Logger): Promise<RunningBroker> {
  logger.warn("the Kafka APIs are not wired yet: every request closes its connection");
  const server = KafkaServer.listen({
    ...serverOptionsFromConfig(config),
    logger,
    handler: {
      handle(_frame, conn) {
        conn.close("no Kafka API handlers yet");
        return null;
      },
    },
  });
  return Promise.resolve({ close: () => server.close({ timeoutMs: config.shutdownTimeoutMs }) });
}
