/**
 * What an import remembers between runs, in the instance database: one cursor per catalog,
 * provider, source and host (the provider's state, such as ETags or file states; the ids this
 * source produced, and which of them it tombstoned), and one row per run for `shelf import history`.
 */
import type { Db } from "../store/db.js";
import type { ProviderState } from "./types.js";

export interface CursorKey {
  catalogUrl: string;
  provider: string;
  source: string;
  /** "" unless --as HOST */
  host: string;
}

export interface Cursor {
  /** the cursor's row (its ids are in import_cursor_ids: import-ids.ts); undefined before a first import */
  cursorId?: number;
  state: ProviderState;
  lastSyncAt: string | null;
}

export function loadCursor(db: Db, key: CursorKey): Cursor {
  const row = db
    .prepare<[string, string, string, string], { cursor_id: number; state: string; last_sync_at: string | null }>(
      "SELECT cursor_id, state, last_sync_at FROM import_cursors WHERE catalog_url = ? AND provider = ? AND source = ? AND host = ?",
    )
    .get(key.catalogUrl, key.provider, key.source, key.host);
  if (!row) return { state: {}, lastSyncAt: null };
  return { cursorId: row.cursor_id, state: JSON.parse(row.state) as ProviderState, lastSyncAt: row.last_sync_at };
}

/** Saves a cursor, and with `saveIds` its id list, in one transaction. */
export function saveCursor(db: Db, key: CursorKey, cursor: Omit<Cursor, "cursorId">, saveIds: (cursorId: number) => void): void {
  db.transaction(() => {
    const { cursor_id } = db
      .prepare<[string, string, string, string, string, string | null], { cursor_id: number }>(
        `INSERT INTO import_cursors (catalog_url, provider, source, host, state, last_sync_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (catalog_url, provider, source, host) DO UPDATE SET state = excluded.state, last_sync_at = excluded.last_sync_at
         RETURNING cursor_id`,
      )
      .get(key.catalogUrl, key.provider, key.source, key.host, JSON.stringify(cursor.state), cursor.lastSyncAt)!;
    saveIds(cursor_id);
  })();
}

export type RunStatus = "success" | "partial" | "failed";

export interface ImportRun {
  schedule: string | null;
  catalogUrl: string;
  provider: string;
  source: string;
  host: string | null;
  startedAt: string;
  durationMs: number;
  status: RunStatus;
  error: string | null;
  added: number;
  updated: number;
  unchanged: number;
  tombstoned: number;
  vanished: number;
  rejected: number;
}

export function recordImportRun(db: Db, run: ImportRun): void {
  db.prepare(
    `INSERT INTO import_runs (schedule, catalog_url, provider, source, host, started_at, duration_ms, status, error, added, updated, unchanged, tombstoned, vanished, rejected)
     VALUES (@schedule, @catalogUrl, @provider, @source, @host, @startedAt, @durationMs, @status, @error, @added, @updated, @unchanged, @tombstoned, @vanished, @rejected)`,
  ).run(run);
}

interface RunRow {
  schedule: string | null;
  catalog_url: string;
  provider: string;
  source: string;
  host: string | null;
  started_at: string;
  duration_ms: number;
  status: RunStatus;
  error: string | null;
  added: number;
  updated: number;
  unchanged: number;
  tombstoned: number;
  vanished: number;
  rejected: number;
}

const toRun = (r: RunRow): ImportRun => ({
  schedule: r.schedule,
  catalogUrl: r.catalog_url,
  provider: r.provider,
  source: r.source,
  host: r.host,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  status: r.status,
  error: r.error,
  added: r.added,
  updated: r.updated,
  unchanged: r.unchanged,
  tombstoned: r.tombstoned,
  vanished: r.vanished,
  rejected: r.rejected,
});

/** The most recent runs, newest first; only one schedule's when `schedule` is given. */
export function listImportRuns(db: Db, options: { limit: number; schedule?: string }): ImportRun[] {
  const where = options.schedule !== undefined ? "WHERE schedule = ?" : "";
  const params: unknown[] = options.schedule !== undefined ? [options.schedule, options.limit] : [options.limit];
  return db.prepare<unknown[], RunRow>(`SELECT * FROM import_runs ${where} ORDER BY run_id DESC LIMIT ?`).all(...params).map(toRun);
}

export function lastImportRun(db: Db, schedule: string): ImportRun | undefined {
  return listImportRuns(db, { limit: 1, schedule })[0];
}
