/**
 * remote, sync and join: configuring remotes and syncing catalogs with them. The sync machinery
 * (Automerge, WebSocket, WebDAV) is imported only by the commands that sync, so `remote list`,
 * `sync status` and `sync history` read SQLite alone.
 */
import { ShelfError } from "../errors.js";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join as joinPath } from "node:path";
import { DB_FILE, Instance, resolveHome } from "../instance.js";
import type { Progress } from "../catalog/catalog-store.js";
import { addRemote, listRemotes, recordSyncRun, removeRemote, selectRemotes, syncHistory, syncStatus, type Remote, type RemoteSyncStatus, type SyncRun } from "../sync/remotes.js";
import type { SyncReport } from "../sync/sync-catalog.js";
import { remoteKind } from "../sync/remote-url.js";
import { runSync, successfulRun } from "../sync/run-sync.js";
import { transportFor } from "../sync/transport.js";
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
    if (options.compact && (await Promise.all(remotes.map(transportFor))).some((t) => !t.compacts)) {
      throw new ShelfError("SHELF_E_USAGE", `${remoteName} is not a WebDAV remote; only WebDAV folders are compacted`, "a relay keeps its own storage compact");
    }
    const syncOptions = { timeoutMs: options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS, onProgress, compact: options.compact };
    for (const remote of remotes) {
      try {
        result.reports.push(await runSync(instance, catalog, remote, syncOptions));
      } catch (err) {
        const error = err as ShelfError;
        result.failures.push({ remote: remote.name, error: error.toJSON() });
        if (remoteName !== undefined) throw error;
      }
    }
    return result;
  });
}

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
  if (options.webdav && remoteKind(options.webdav) !== "webdav") throw new ShelfError("SHELF_E_USAGE", `--webdav takes a webdav+https:// URL, got ${JSON.stringify(options.webdav)}`, "e.g. --webdav webdav+https://cloud.example/remote.php/dav/files/alice/shelf");
  if (options.relay && remoteKind(options.relay) === "webdav") throw new ShelfError("SHELF_E_USAGE", "that is a WebDAV URL", "pass it with --webdav");
  if (options.webdav && options.token !== undefined) throw new ShelfError("SHELF_E_USAGE", "a WebDAV remote takes no --token", "give its credentials in SHELF_WEBDAV_USER / SHELF_WEBDAV_PASSWORD or <home>/webdav-credentials.yaml");
  const transport = await transportFor({ url: source });
  const home = resolveHome(options.home);
  const before = existsSync(joinPath(home, DB_FILE)) ? undefined : entriesOf(home);
  const instance = Instance.open(home, { create: true, bulkWork: true });
  let joined = false;
  try {
    const remoteName = options.remote ?? "origin";
    const existing = listRemotes(instance.db).find((r) => r.name === remoteName);
    const remote = existing ?? { name: remoteName, url: source, token: options.token ?? null, addedAt: new Date().toISOString() };
    if (existing && existing.url !== source) {
      throw new ShelfError("SHELF_E_USAGE", `a remote named ${remoteName} already points to ${existing.url}`, "pass --remote NAME to keep this remote under another name");
    }
    const startedAt = new Date().toISOString();
    const joinOptions = { timeoutMs: options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS, onProgress };
    const report = await transport.join(instance, url, options.name ?? "main", remote, joinOptions);
    if (!existing) addRemote(instance.db, remote.name, remote.url, remote.token ?? undefined);
    recordSyncRun(instance.db, successfulRun(report, remote, url, startedAt));
    joined = true;
    return { ...report, url };
  } finally {
    await instance.close();
    // A join that made this home and failed (a wrong token, nothing at that URL) takes back what
    // it made, so the next attempt starts from the same place and no empty instance is left.
    if (!joined && before !== undefined) removeAllBut(home, before);
  }
}

/** The names in a directory, or null when there is no such directory. */
function entriesOf(dir: string): ReadonlySet<string> | null {
  return existsSync(dir) ? new Set(readdirSync(dir)) : null;
}

/** Removes what was added to `dir` since `before` was taken (the directory itself if it was new). */
function removeAllBut(dir: string, before: ReadonlySet<string> | null): void {
  if (before === null) return rmSync(dir, { recursive: true, force: true });
  for (const name of readdirSync(dir)) if (!before.has(name)) rmSync(joinPath(dir, name), { recursive: true, force: true });
}
