/** daemon and sync config: live sync with every relay remote, and the instance's sync settings. */
import { ShelfError } from "../errors.js";
import { Instance, resolveHome } from "../instance.js";
import { runDaemon, isRelay } from "../sync/daemon.js";
import { listRemotes } from "../sync/remotes.js";
import { schedule } from "../sync/schedule.js";
import { isWebdavUrl } from "../sync/webdav/remote-url.js";
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
 * Runs the daemon until SIGTERM or SIGINT, then flushes, disconnects and closes the instance.
 * `log` receives one line per event.
 */
export async function daemon(options: GlobalOptions, log: (line: string) => void): Promise<DaemonResult> {
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
    const config = readSyncConfig(instance.db);
    if (!config.enabled) {
      log("sync is disabled for this instance; not starting (turn it on with `shelf sync config --enable`)");
      return { ran: false };
    }
    const catalog = instance.catalog(options.catalog);
    const relays = listRemotes(instance.db).filter(isRelay);
    const folders = listRemotes(instance.db).filter((r) => isWebdavUrl(r.url));
    if (relays.length === 0 && folders.length === 0) {
      throw new ShelfError("SHELF_E_USAGE", "this instance has no remote to sync with", "add one with `shelf remote add NAME ws://HOST:PORT/sync [--token T]` or `shelf remote add NAME webdav+https://HOST/PATH`");
    }
    log(`starting for catalog ${catalog.name} (${catalog.url}) in ${instance.home}`);
    // WebDAV folders are synced on the schedule of `sync config --every`, each run a `shelf sync`.
    const scheduled = schedule(folders.map((r) => scheduledSync(r.name, { home: instance.home, catalog: catalog.name })), config.everySeconds * 1000, stop.signal, log);
    try {
      if (relays.length > 0) await runDaemon(instance, catalog, relays, { signal: stop.signal, log });
      else await scheduled;
    } finally {
      // The relay side ended (stopped, or failed): end the scheduled syncs too.
      stop.abort();
      await scheduled;
    }
    return { ran: true };
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    await instance.close();
    log("stopped");
  }
}
