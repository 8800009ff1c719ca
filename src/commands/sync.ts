/** remote, sync and join: configuring remotes and syncing catalogs with them. */
import { ShelfError } from "../errors.js";
import { Instance, resolveHome } from "../instance.js";
import type { Progress } from "../catalog/catalog-store.js";
import { addRemote, listRemotes, recordSyncRun, removeRemote, selectRemotes, syncHistory, syncStatus, validateRemoteUrl, type Remote, type RemoteSyncStatus, type SyncRun } from "../sync/remotes.js";
import { joinCatalog, syncCatalog, type SyncReport } from "../sync/sync-catalog.js";
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
  if (name === "status" || name === "history" || name === "config") {
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
  reports: SyncReport[];
  failures: { remote: string; error: ReturnType<ShelfError["toJSON"]> }[];
}

/**
 * Syncs the catalog with one remote or all of them. Every attempt, good or bad, is recorded for
 * `sync status` and `sync history`; one remote failing does not stop the others.
 */
export async function sync(remoteName: string | undefined, options: GlobalOptions & { timeoutMs?: number }, onProgress?: Progress): Promise<SyncResult> {
  return withCatalog(options, async ({ instance, catalog }) => {
    const result: SyncResult = { reports: [], failures: [] };
    for (const remote of selectRemotes(instance.db, remoteName)) {
      const startedAt = new Date().toISOString();
      const started = performance.now();
      try {
        const report = await syncCatalog(instance, catalog, remote, { timeoutMs: options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS, onProgress });
        recordSyncRun(instance.db, { ...report, remote: remote.name, catalogUrl: catalog.url, startedAt, ok: true, error: null });
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
export async function join(url: string, options: GlobalOptions & { relay?: string; token?: string; name?: string; remote?: string; timeoutMs?: number }, onProgress?: Progress): Promise<SyncReport & { url: string }> {
  if (!/^automerge:[1-9A-HJ-NP-Za-km-z]+$/.test(url)) {
    throw new ShelfError("SHELF_E_USAGE", `${JSON.stringify(url)} is not a catalog URL`, "a catalog URL looks like automerge:4NMgq... (`shelf status` prints it on an instance that holds the catalog)");
  }
  if (!options.relay) throw new ShelfError("SHELF_E_USAGE", "join needs a place to fetch the catalog from", "pass --relay ws://HOST:PORT/sync [--token T]");
  validateRemoteUrl(options.relay);
  const instance = Instance.open(resolveHome(options.home), { create: true });
  try {
    const remoteName = options.remote ?? "origin";
    const existing = listRemotes(instance.db).find((r) => r.name === remoteName);
    const remote = existing ?? { name: remoteName, url: options.relay, token: options.token ?? null, addedAt: new Date().toISOString() };
    if (existing && existing.url !== options.relay) {
      throw new ShelfError("SHELF_E_USAGE", `a remote named ${remoteName} already points to ${existing.url}`, "pass --remote NAME to keep this relay under another name");
    }
    const startedAt = new Date().toISOString();
    const report = await joinCatalog(instance, url, options.name ?? "main", remote, { timeoutMs: options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS, onProgress });
    if (!existing) addRemote(instance.db, remote.name, remote.url, remote.token ?? undefined);
    recordSyncRun(instance.db, { ...report, remote: remote.name, catalogUrl: url, startedAt, ok: true, error: null });
    return { ...report, url };
  } finally {
    await instance.close();
  }
}
