/**
 * remote, sync and join: configuring remotes and syncing catalogs with them. The sync machinery
 * (Automerge, WebSocket, WebDAV) is imported only by the commands that sync, so `remote list`,
 * `sync status` and `sync history` read SQLite alone.
 */
import { ShelfError } from "../errors.js";
import { Instance, resolveHome } from "../instance.js";
import type { Progress } from "../catalog/catalog-store.js";
import { addRemote, listRemotes, recordSyncRun, removeRemote, selectRemotes, syncHistory, syncStatus, validateRemoteUrl, type Remote, type RemoteSyncStatus, type SyncRun } from "../sync/remotes.js";
import type { SyncReport } from "../sync/sync-catalog.js";
import { isWebdavUrl } from "../sync/webdav/remote-url.js";
import type { WebdavReport } from "../sync/webdav/sync.js";
import type { GlobalOptions } from "./context.js";
import { withCatalog } from "./context.js";

export const DEFAULT_SYNC_TIMEOUT_MS = 300_000;

/** What `remote list` shows: never the token itself. */
export type RemoteView = Omit<Remote, "token"> & { hasToken: boolean };
const view = (r: Remote): RemoteView => ({ name: r.name, url: r.url, addedAt: r.addedAt, hasToken: r.token !== null });

async function withInstance<T>(options: GlobalOptions, fn: (instance: Instance) => T | Promise<T>): Promise<T> {
  const instance = Instance.open(resolveHome(options.home));
  try {
    return await fn(instance);
  } finally {
    await instance.close();
  }
}

export async function remoteAdd(name: string, url: string, options: GlobalOptions & { token?: string }): Promise<RemoteView> {
  if (name === "status" || name === "history" || name === "config" || name === "compact") {
    throw new ShelfError("SHELF_E_USAGE", `${name} cannot name a remote`, "it would read as `shelf sync " + name + "`; choose another name");
  }
  return withInstance(options, (instance) => view(addRemote(instance.db, name, url, options.token)));
}

export async function remoteList(options: GlobalOptions): Promise<RemoteView[]> {
  return withInstance(options, (instance) => listRemotes(instance.db).map(view));
}

export async function remoteRm(name: string, options: GlobalOptions): Promise<void> {
  await withInstance(options, (instance) => removeRemote(instance.db, name));
}

export interface SyncResult {
  /** WebDAV remotes add `skipped` (files not merged, with why) and `webdav` (requests, bytes, files) */
  reports: (SyncReport | WebdavReport)[];
  failures: { remote: string; error: ReturnType<ShelfError["toJSON"]> }[];
}

/**
 * Syncs the catalog with one remote or all of them. Every attempt, good or bad, is recorded for
 * `sync status` and `sync history`; one remote failing does not stop the others.
 */
export async function sync(remoteName: string | undefined, options: GlobalOptions & { timeoutMs?: number; compact?: boolean }, onProgress?: Progress): Promise<SyncResult> {
  return withCatalog(options, async ({ instance, catalog }) => {
    const result: SyncResult = { reports: [], failures: [] };
    const remotes = selectRemotes(instance.db, remoteName);
    if (options.compact && remotes.some((r) => !isWebdavUrl(r.url))) {
      throw new ShelfError("SHELF_E_USAGE", `${remoteName} is not a WebDAV remote; only WebDAV folders are compacted`, "a relay keeps its own storage compact");
    }
    for (const remote of remotes) {
      const startedAt = new Date().toISOString();
      const started = performance.now();
      try {
        const syncOptions = { timeoutMs: options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS, onProgress };
        const report = isWebdavUrl(remote.url)
          ? await (await import("../sync/webdav/sync.js")).syncWebdav(instance, catalog, remote, { ...syncOptions, compact: options.compact })
          : await (await import("../sync/sync-catalog.js")).syncCatalog(instance, catalog, remote, syncOptions);
        recordSyncRun(instance.db, { ...pickRun(report), remote: remote.name, catalogUrl: catalog.url, startedAt, ok: true, error: null });
        result.reports.push(report);
      } catch (err) {
        const error = err instanceof ShelfError ? err : new ShelfError("SHELF_E_INTERNAL", String((err as Error)?.stack ?? err));
        recordSyncRun(instance.db, { remote: remote.name, catalogUrl: catalog.url, startedAt, durationMs: Math.round(performance.now() - started), ok: false, error: error.message, documents: 0, added: 0, updated: 0, deleted: 0, conflicts: 0 });
        result.failures.push({ remote: remote.name, error: error.toJSON() });
        if (remoteName !== undefined) throw error;
      }
    }
    return result;
  });
}

/** The columns of a sync run a report fills (a WebDAV report carries more). */
const pickRun = (r: SyncReport) => ({ durationMs: r.durationMs, documents: r.documents, added: r.added, updated: r.updated, deleted: r.deleted, conflicts: r.conflicts });

/** `shelf sync compact NAME`: a sync that ends by replacing this instance's files with one snapshot. */
export async function compact(remoteName: string, options: GlobalOptions & { timeoutMs?: number }, onProgress?: Progress): Promise<SyncResult> {
  return sync(remoteName, { ...options, compact: true }, onProgress);
}

export async function status(options: GlobalOptions): Promise<RemoteSyncStatus[]> {
  return withInstance(options, (instance) => syncStatus(instance.db));
}

export async function history(options: GlobalOptions & { limit?: number }): Promise<SyncRun[]> {
  return withInstance(options, (instance) => syncHistory(instance.db, options.limit ?? 20));
}

/**
 * Starts holding an existing catalog: fetches it whole from a relay, keeps the relay as a remote
 * named `origin` (or --remote NAME), and makes the catalog the default if it is the first here.
 */
export async function join(url: string, options: GlobalOptions & { relay?: string; webdav?: string; token?: string; name?: string; remote?: string; timeoutMs?: number }, onProgress?: Progress): Promise<(SyncReport | WebdavReport) & { url: string }> {
  if (!/^automerge:[1-9A-HJ-NP-Za-km-z]+$/.test(url)) {
    throw new ShelfError("SHELF_E_USAGE", `${JSON.stringify(url)} is not a catalog URL`, "a catalog URL looks like automerge:4NMgq... (`shelf status` prints it on an instance that holds the catalog)");
  }
  if (options.relay && options.webdav) throw new ShelfError("SHELF_E_USAGE", "give --relay or --webdav, not both", "join through one of them; add the other with `shelf remote add` afterwards");
  const source = options.relay ?? options.webdav;
  if (!source) throw new ShelfError("SHELF_E_USAGE", "join needs a place to fetch the catalog from", "pass --relay ws://HOST:PORT/sync [--token T] or --webdav webdav+https://HOST/PATH");
  if (options.webdav && !isWebdavUrl(options.webdav)) throw new ShelfError("SHELF_E_USAGE", `--webdav takes a webdav+https:// URL, got ${JSON.stringify(options.webdav)}`, "e.g. --webdav webdav+https://cloud.example/remote.php/dav/files/alice/shelf");
  if (options.relay && isWebdavUrl(options.relay)) throw new ShelfError("SHELF_E_USAGE", "that is a WebDAV URL", "pass it with --webdav");
  if (options.webdav && options.token !== undefined) throw new ShelfError("SHELF_E_USAGE", "a WebDAV remote takes no --token", "give its credentials in SHELF_WEBDAV_USER / SHELF_WEBDAV_PASSWORD or <home>/webdav-credentials.yaml");
  validateRemoteUrl(source);
  const instance = Instance.open(resolveHome(options.home), { create: true });
  try {
    const remoteName = options.remote ?? "origin";
    const existing = listRemotes(instance.db).find((r) => r.name === remoteName);
    const remote = existing ?? { name: remoteName, url: source, token: options.token ?? null, addedAt: new Date().toISOString() };
    if (existing && existing.url !== source) {
      throw new ShelfError("SHELF_E_USAGE", `a remote named ${remoteName} already points to ${existing.url}`, "pass --remote NAME to keep this remote under another name");
    }
    const startedAt = new Date().toISOString();
    const joinOptions = { timeoutMs: options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS, onProgress };
    const report = options.webdav
      ? await (await import("../sync/webdav/sync.js")).joinWebdav(instance, url, options.name ?? "main", remote, joinOptions)
      : await (await import("../sync/sync-catalog.js")).joinCatalog(instance, url, options.name ?? "main", remote, joinOptions);
    if (!existing) addRemote(instance.db, remote.name, remote.url, remote.token ?? undefined);
    recordSyncRun(instance.db, { ...pickRun(report), remote: remote.name, catalogUrl: url, startedAt, ok: true, error: null });
    return { ...report, url };
  } finally {
    await instance.close();
  }
}
