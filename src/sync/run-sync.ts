/**
 * One sync of one catalog with one remote through its transport, timed and recorded: every
 * attempt, good or bad, becomes a sync run for `sync status` and `sync history`.
 */
import { ShelfError } from "../errors.js";
import type { CatalogRow, Instance } from "../instance.js";
import { recordSyncRun, type Remote, type SyncRun } from "./remotes.js";
import type { SyncReport } from "./sync-report.js";
import { transportFor, type TransportOptions, type TransportReport } from "./transport.js";

/** Syncs and records the run; a failure is recorded, then thrown as a ShelfError. */
export async function runSync(instance: Instance, catalog: CatalogRow, remote: Remote, options: TransportOptions): Promise<TransportReport> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  try {
    const report = await (await transportFor(remote)).sync(instance, catalog, remote, options);
    recordSyncRun(instance.db, successfulRun(report, remote, catalog.url, startedAt));
    return report;
  } catch (err) {
    const error = err instanceof ShelfError ? err : new ShelfError("SHELF_E_INTERNAL", String((err as Error)?.stack ?? err));
    recordSyncRun(instance.db, { remote: remote.name, catalogUrl: catalog.url, startedAt, durationMs: Math.round(performance.now() - started), ok: false, error: error.message, documents: 0, added: 0, updated: 0, deleted: 0, conflicts: 0 });
    throw error;
  }
}

/** The run a successful sync (or join) records: the columns its report fills. */
export const successfulRun = (r: SyncReport, remote: Remote, catalogUrl: string, startedAt: string): SyncRun => ({
  remote: remote.name,
  catalogUrl,
  startedAt,
  durationMs: r.durationMs,
  ok: true,
  error: null,
  documents: r.documents,
  added: r.added,
  updated: r.updated,
  deleted: r.deleted,
  conflicts: r.conflicts,
});
