/** What a sync of one catalog with one remote reports, whatever the transport. */
import type { Progress } from "../catalog/catalog-store.js";
import type { CatalogRow, Instance } from "../instance.js";
import { countConflicted, countRecords } from "../view/queries.js";
import type { Remote } from "./remotes.js";

export interface SyncReport {
  remote: string;
  catalog: string;
  /** documents of the catalog exchanged (root and shards) */
  documents: number;
  /** documents this instance loaded into Automerge for the sync (0 when nothing changed) */
  loaded: number;
  added: number;
  updated: number;
  deleted: number;
  /** records with a conflict after the sync */
  conflicts: number;
  durationMs: number;
  /** the remote takes no changes from this instance (a read-only token): local edits stay here */
  readOnly: boolean;
}

export interface ViewCounts {
  records: number;
  deleted: number;
}

/**
 * Materializes what a sync brought and reports it; shared by every transport. `before`: the view's
 * counts before the sync changed it, or undefined when nothing has changed it yet (they are then
 * read here, only if there is something to catch up with: a sync that brought nothing reads no
 * counts). `changedEarlier` counts records a transport materialized along the way; `readOnly`, a
 * remote that took nothing; `documents`, how many documents were exchanged (default: all of the
 * catalog's).
 */
export async function syncReport(
  instance: Instance,
  catalog: CatalogRow,
  remote: Remote,
  before: ViewCounts | undefined,
  options: { onProgress?: Progress },
  started: number,
  extra: { changedEarlier?: number; readOnly?: boolean; documents?: number } = {},
): Promise<SyncReport> {
  let records = 0;
  const dirty = instance.hasDirtyDocuments();
  const counted = before ?? (dirty ? countRecords(instance.db, catalog.catId) : undefined);
  if (dirty) {
    // Only then is Automerge loaded: a sync that brought nothing never loads it.
    const { CatalogStore } = await import("../catalog/catalog-store.js");
    records = (await (await CatalogStore.open(instance, catalog)).catchUp(options.onProgress)).records;
  }
  const changed = (extra.changedEarlier ?? 0) + records;
  const after = counted ? countRecords(instance.db, catalog.catId) : undefined;
  const added = counted && after ? after.records - counted.records : 0;
  return {
    remote: remote.name,
    catalog: catalog.name,
    documents: extra.documents ?? catalog.shardUrls.length + 1,
    loaded: instance.documentsLoaded.size,
    added,
    updated: Math.max(0, changed - added),
    deleted: counted && after ? after.deleted - counted.deleted : 0,
    conflicts: countConflicted(instance.db, catalog.catId),
    durationMs: Math.round(performance.now() - started),
    readOnly: extra.readOnly ?? false,
  };
}
