/**
 * Runs the relay: builds it, listens, and prints one line on stdout once it does
 * (`shelf relay listening on ws://HOST:PORT/sync`, or `{"schemaVersion":1,"listening":"ws://HOST:PORT/sync"}` with
 * --json; tests and scripts read the port from it).
 * Logs go to stderr. On SIGTERM or SIGINT it stops accepting, closes every connection, writes
 * every document, closes the database and exits 0; a second signal ends it at once.
 */
import type { AddressInfo } from "node:net";
import { ShelfError } from "../src/errors.js";
import { tolerateRepoWaitTimeouts } from "../src/unhandled-waits.js";
import { buildRelay, type Relay, type RelayOptions } from "./app.js";

export interface StartRelayOptions extends RelayOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  /** where the "listening" line goes (default: process.stdout) */
  stdout?: NodeJS.WritableStream;
  /** the listening line as one JSON document, `{"schemaVersion": 1, "listening": URL}` (for --json) */
  json?: boolean;
  /** exit the process on SIGTERM / SIGINT after a clean shutdown (default: true) */
  handleSignals?: boolean;
}

export interface RunningRelay {
  relay: Relay;
  url: string;
  port: number;
  /** Shuts the relay down cleanly (what a signal does, without exiting). */
  stop(): Promise<void>;
  /** Resolves once the relay has shut down. */
  stopped: Promise<void>;
}

export async function startRelay(options: StartRelayOptions): Promise<RunningRelay> {
  const relay = await buildRelay({ ...options, logger: options.logger ?? true });
  tolerateRepoWaitTimeouts((message) => relay.app.log.warn(message));
  try {
    await relay.app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await relay.close();
    throw new ShelfError("SHELF_E_RELAY_LISTEN", `the relay cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`, "choose another --port (or --host), or stop the process that uses it");
  }
  const { port } = relay.app.server.address() as AddressInfo;
  const url = `ws://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}/sync`;

  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const stop = async (): Promise<void> => {
    await relay.close();
    markStopped();
  };

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals): void => {
      relay.app.log.info({ signal }, "relay shutting down");
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          relay.app.log.error({ err }, "relay shutdown failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  (options.stdout ?? process.stdout).write(options.json ? `${JSON.stringify({ schemaVersion: 1, listening: url })}\n` : `shelf relay listening on ${url}\n`);
  return { relay, url, port, stop, stopped };
}
