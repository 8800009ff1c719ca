/** daemon, serve and sync config: live sync with relays and peers, and the instance's sync settings. */
import { ShelfError } from "../errors.js";
import { Instance, resolveHome, type CatalogRow } from "../instance.js";
import { runDaemon } from "../sync/daemon.js";
import { checkServeOptions, createPeerServer } from "../sync/peer-server.js";
import { parseRemoteUrl } from "../sync/remote-url.js";
import { listRemotes } from "../sync/remotes.js";
import { servedHeads } from "../sync/served-heads.js";
import { listSchedules } from "../import/schedule.js";
import type { PeerServer } from "../sync/peer-server.js";
import { schedule } from "../sync/schedule.js";
import { formatInterval, parseInterval, readSyncConfig, writeSyncConfig, type SyncConfig } from "../sync/sync-config.js";
import type { GlobalOptions } from "./context.js";

export interface SyncConfigOptions extends GlobalOptions {
  enable?: boolean;
  disable?: boolean;
  every?: string;
}

/** Reads the sync configuration, changing it first when --enable, --disable or --every is given. */
export async function syncConfig(options: SyncConfigOptions): Promise<SyncConfig> {
  if (options.enable && options.disable) throw new ShelfError("SHELF_E_USAGE", "--enable and --disable cannot be given together", "give one of them");
  const everySeconds = options.every === undefined ? undefined : parseInterval(options.every);
  const instance = Instance.open(resolveHome(options.home));
  try {
    const enabled = options.enable ? true : options.disable ? false : undefined;
    if (enabled === undefined && everySeconds === undefined) return readSyncConfig(instance.db);
    return writeSyncConfig(instance.db, { enabled, everySeconds });
  } finally {
    await instance.close();
  }
}

export function describeSyncConfig(config: SyncConfig): string {
  return `sync ${config.enabled ? "enabled" : "disabled"}; scheduled syncs every ${formatInterval(config.everySeconds)} (relays are synced live by \`shelf daemon\`)`;
}

function scheduledSync(remote: string, options: GlobalOptions) {
  return {
    name: `scheduled sync with ${remote}`,
    async run() {
      const { sync } = await import("./sync.js");
      const [r] = (await sync(remote, options)).reports;
      const skipped = r && "skipped" in r && r.skipped.length > 0 ? `; skipped ${r.skipped.map((s) => `${s.file} (${s.reason})`).join(", ")}` : "";
      return r ? `${r.added} added, ${r.updated} updated, ${r.deleted} deleted, ${r.conflicts} in conflict (${r.durationMs} ms)${skipped}` : "nothing to do";
    },
  };
}

export interface DaemonResult {
  /** false when sync config says sync is disabled: the daemon did nothing */
  ran: boolean;
}

/**
 * Runs `fn` with an instance and a signal that aborts on SIGTERM or SIGINT, then closes the
 * instance (flushing every document) and logs "stopped".
 */
async function untilSignalled<T>(options: GlobalOptions, log: (line: string) => void, fn: (instance: Instance, signal: AbortSignal) => Promise<T>): Promise<T> {
  const instance = Instance.open(resolveHome(options.home));
  const stop = new AbortController();
  const onSignal = (name: string) => () => {
    if (!stop.signal.aborted) log(`received ${name}`);
    stop.abort();
  };
  const onTerm = onSignal("SIGTERM");
  const onInt = onSignal("SIGINT");
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  try {
    return await fn(instance, stop.signal);
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    await instance.close();
    log("stopped");
  }
}

/**
 * Runs the daemon until SIGTERM or SIGINT, then flushes, disconnects and closes the instance.
 * `log` receives one line per event.
 */
export interface LiveOptions extends GlobalOptions {
  /** seconds a shard stays in memory once idle and held by every peer (default 60) */
  unloadIdleAfter?: number;
}

export async function daemon(options: LiveOptions, log: (line: string) => void): Promise<DaemonResult> {
  return untilSignalled(options, log, async (instance, signal) => {
    const config = readSyncConfig(instance.db);
    if (!config.enabled) {
      log("sync is disabled for this instance; not starting (turn it on with `shelf sync config --enable`)");
      return { ran: false };
    }
    const catalog = instance.catalog(options.catalog);
    const remotes = listRemotes(instance.db);
    if (remotes.length === 0 && listSchedules(instance.db, catalog.url).length === 0) {
      throw new ShelfError(
        "SHELF_E_USAGE",
        "this instance has no remote to sync with, and no scheduled import to run",
        "add a remote with `shelf remote add NAME ws://HOST:PORT/sync [--token T]` or `shelf remote add NAME webdav+https://HOST/PATH`, or an import with `shelf import add NAME PROVIDER SOURCE --every daily`",
      );
    }
    log(`starting for catalog ${catalog.name} (${catalog.url}) in ${instance.home}`);
    await runLive(instance, catalog, signal, log, options);
    return { ran: true };
  });
}

/**
 * What the daemon and `shelf serve` keep doing until `signal` aborts: live sync with every relay
 * (and the peers of `server`), scheduled imports, and a `shelf sync` of every WebDAV folder at
 * start and then every `sync config --every`. With sync disabled, only the server and imports.
 */
async function runLive(instance: Instance, catalog: CatalogRow, signal: AbortSignal, log: (line: string) => void, options: LiveOptions, serving?: { server: PeerServer; onListening: (url: string) => void }): Promise<void> {
  const pollMs = pollMsFromEnv();
  const config = readSyncConfig(instance.db);
  const remotes = config.enabled ? listRemotes(instance.db) : [];
  // Relays are synced live; WebDAV folders by a scheduled `shelf sync`.
  const relays = remotes.filter((r) => parseRemoteUrl(r.url).kind === "relay");
  const folders = remotes.filter((r) => parseRemoteUrl(r.url).kind === "webdav");
  // Aborted by the caller's signal, or when the live part ends on its own.
  const live = new AbortController();
  const endLive = () => live.abort();
  signal.addEventListener("abort", endLive, { once: true });
  const scheduled = schedule(folders.map((r) => scheduledSync(r.name, { home: instance.home, catalog: catalog.name })), config.everySeconds * 1000, live.signal, log);
  try {
    if (relays.length > 0 || serving || listSchedules(instance.db, catalog.url).length > 0) {
      const unloadIdleMs = options.unloadIdleAfter === undefined ? undefined : options.unloadIdleAfter * 1000;
      await runDaemon(instance, catalog, relays, { signal, log, pollMs, unloadIdleMs, server: serving?.server, onListening: serving?.onListening });
    } else {
      await scheduled;
    }
  } finally {
    // The live part ended (stopped, or failed): end the scheduled syncs too.
    signal.removeEventListener("abort", endLive);
    live.abort();
    await scheduled;
  }
}

/** SHELF_DAEMON_POLL_MS: how often the daemon looks for local edits no command signalled. */
function pollMsFromEnv(): number | undefined {
  const raw = process.env.SHELF_DAEMON_POLL_MS;
  if (raw === undefined || raw === "") return undefined;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms < 100 || ms > 2_147_483_647) {
    throw new ShelfError("SHELF_E_USAGE", `SHELF_DAEMON_POLL_MS must be a whole number of milliseconds from 100 to 2147483647, got ${JSON.stringify(raw)}`);
  }
  return ms;
}

export interface ServeOptions extends LiveOptions {
  host: string;
  port: number;
  token?: string;
  maxConnectionsPerAddress?: number;
  /** seconds a request has to send its headers */
  headerTimeout?: number;
}

/**
 * `shelf serve`: accepts direct connections from peers until SIGTERM or SIGINT, applying what they
 * send as the daemon does; also stays live with the relay remotes while sync is enabled.
 * `onListening` receives the URL peers sync with.
 */
export async function serve(options: ServeOptions, log: (line: string) => void, onListening: (url: string) => void): Promise<void> {
  checkServeOptions(options.host, options.token);
  await untilSignalled(options, log, async (instance, signal) => {
    const catalog = instance.catalog(options.catalog);
    const server = createPeerServer({
      host: options.host,
      port: options.port,
      token: options.token,
      catalogUrl: catalog.url,
      heads: servedHeads(instance.db),
      log,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      headerTimeoutMs: options.headerTimeout === undefined ? undefined : options.headerTimeout * 1000,
    });
    log(`serving catalog ${catalog.name} (${catalog.url}) from ${instance.home}${options.token ? " to peers with the token" : " to this machine only"}`);
    await runLive(instance, catalog, signal, log, options, { server, onListening });
  });
}
