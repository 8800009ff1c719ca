/** The remotes an instance syncs with, and the record of every sync, kept in the instance database. */
import { ShelfError } from "../errors.js";
import type { Db } from "../store/db.js";
import { forgetRemote } from "./checkpoints.js";
import { parseRemoteUrl } from "./remote-url.js";

export interface Remote {
  name: string;
  url: string;
  token: string | null;
  addedAt: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function addRemote(db: Db, name: string, url: string, token: string | undefined): Remote {
  if (!NAME_RE.test(name)) throw new ShelfError("SHELF_E_USAGE", `invalid remote name ${JSON.stringify(name)}`, "a name is letters, digits, . _ - (at most 64)");
  if (parseRemoteUrl(url).kind === "webdav" && token !== undefined) {
    throw new ShelfError("SHELF_E_USAGE", "a WebDAV remote takes no --token", "give its user and password in SHELF_WEBDAV_USER / SHELF_WEBDAV_PASSWORD or <home>/webdav-credentials.yaml (docs/webdav-layout.md)");
  }
  const addedAt = new Date().toISOString();
  const info = db.prepare("INSERT INTO remotes (name, url, token, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING").run(name, url, token ?? null, addedAt);
  if (info.changes === 0) throw new ShelfError("SHELF_E_USAGE", `a remote named ${name} exists already`, `remove it first with \`shelf remote rm ${name}\``);
  return { name, url, token: token ?? null, addedAt };
}

export function listRemotes(db: Db): Remote[] {
  return db
    .prepare<[], { name: string; url: string; token: string | null; added_at: string }>("SELECT name, url, token, added_at FROM remotes ORDER BY name")
    .all()
    .map((r) => ({ name: r.name, url: r.url, token: r.token, addedAt: r.added_at }));
}

export function removeRemote(db: Db, name: string): void {
  db.transaction(() => {
    if (db.prepare("DELETE FROM remotes WHERE name = ?").run(name).changes === 0) {
      throw new ShelfError("SHELF_E_USAGE", `no remote named ${name}`, "`shelf remote list` shows the remotes");
    }
    forgetRemote(db, name);
  })();
}

/** The remote named `name`, or every remote when no name is given. */
export function selectRemotes(db: Db, name: string | undefined): Remote[] {
  const all = listRemotes(db);
  if (name === undefined) {
    if (all.length === 0) throw new ShelfError("SHELF_E_USAGE", "this instance has no remote to sync with", "add one with `shelf remote add NAME ws://HOST:PORT/sync [--token T]` or `shelf remote add NAME webdav+https://HOST/PATH`");
    return all;
  }
  const found = all.find((r) => r.name === name);
  if (!found) throw new ShelfError("SHELF_E_USAGE", `no remote named ${name}`, `remotes: ${all.map((r) => r.name).join(", ") || "none"}`);
  return [found];
}

export interface SyncRun {
  remote: string;
  catalogUrl: string;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  error: string | null;
  documents: number;
  added: number;
  updated: number;
  deleted: number;
  conflicts: number;
}

export function recordSyncRun(db: Db, run: SyncRun): void {
  db.prepare(
    `INSERT INTO sync_runs (remote, catalog_url, started_at, duration_ms, ok, error, documents, added, updated, deleted, conflicts)
     VALUES (@remote, @catalogUrl, @startedAt, @durationMs, @ok, @error, @documents, @added, @updated, @deleted, @conflicts)`,
  ).run({ ...run, ok: run.ok ? 1 : 0 });
}

// The columns under the names SyncRun uses; only `ok` (0/1) needs converting.
const RUN_COLUMNS = `remote, catalog_url AS catalogUrl, started_at AS startedAt, duration_ms AS durationMs, ok, error,
  documents, added, updated, deleted, conflicts`;
type SyncRunRow = Omit<SyncRun, "ok"> & { ok: number };
const toRun = (r: SyncRunRow): SyncRun => ({ ...r, ok: r.ok === 1 });

export function syncHistory(db: Db, limit: number): SyncRun[] {
  return db.prepare<[number], SyncRunRow>(`SELECT ${RUN_COLUMNS} FROM sync_runs ORDER BY run_id DESC LIMIT ?`).all(limit).map(toRun);
}

export interface RemoteSyncStatus {
  remote: string;
  url: string;
  lastRun: SyncRun | null;
  lastSuccess: SyncRun | null;
  lastError: SyncRun | null;
  runs: number;
}

export function syncStatus(db: Db): RemoteSyncStatus[] {
  const last = (name: string, where: string) => db.prepare<[string], SyncRunRow>(`SELECT ${RUN_COLUMNS} FROM sync_runs WHERE remote = ? ${where} ORDER BY run_id DESC LIMIT 1`).get(name);
  return listRemotes(db).map((r) => {
    const run = last(r.name, "");
    const success = last(r.name, "AND ok = 1");
    const failure = last(r.name, "AND ok = 0");
    const runs = db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM sync_runs WHERE remote = ?").get(r.name)!.n;
    return { remote: r.name, url: r.url, lastRun: run ? toRun(run) : null, lastSuccess: success ? toRun(success) : null, lastError: failure ? toRun(failure) : null, runs };
  });
}
