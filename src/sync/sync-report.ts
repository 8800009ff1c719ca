/** What a sync of one catalog with one remote reports, whatever the transport. */
import type { Progress } from "../catalog/catalog-store.js";
import type { CatalogRow, Instance } from "../instance.js";
import { addCounts, NO_COUNT_CHANGE, type CountChange } from "../view/count-change.js";
import { countConflicted } from "../view/queries.js";
import type { Remote } from "./remotes.js";

export interface SyncReport {
  remote: string;
  catalog: string;
  /** documents of the catalog exchanged (root and shards) */
  documents: number;
  /** documents this instance loaded into Automerge for the sync (0 when nothing changed) */
  loaded: number;
  /** loads of those documents: more than `loaded` when one was loaded twice */
  loads: number;
  added: number;
  updated: number;
  deleted: number;
  /** records with a conflict after the sync */
  conflicts: number;
  durationMs: number;
  /** the remote takes no changes from this instance (a read-only token): local edits stay here */
  readOnly: boolean;
}

/** What a transport materialized itself before the report: ids written, and how the counts moved. */
export interface Materialized {
  changed: number;
  counts: CountChange;
}

/**
 * Materializes what a sync brought and reports it; shared by every transport. `earlier`: what the
 * transport materialized along the way; `readOnly`, a remote that took nothing; `documents`, how
 * many documents were exchanged (default: all of the catalog's). Added and deleted records come
 * from what the materializer wrote, so no report counts the catalog.
 */
export async function syncReport(
  instance: Instance,
  catalog: CatalogRow,
  remote: Remote,
  options: { onProgress?: Progress },
  started: number,
  extra: { earlier?: Materialized; readOnly?: boolean; documents?: number } = {},
): Promise<SyncReport> {
  let { changed, counts } = extra.earlier ?? { changed: 0, counts: NO_COUNT_CHANGE };
  if (instance.hasDirtyDocuments(catalog)) {
    // Only then is Automerge loaded: a sync that brought nothing never loads it.
    const { CatalogStore } = await import("../catalog/catalog-store.js");
    const caughtUp = await (await CatalogStore.open(instance, catalog)).catchUp(options.onProgress);
    changed += caughtUp.records;
    counts = addCounts(counts, caughtUp.counts);
  }
  return {
    remote: remote.name,
    catalog: catalog.name,
    documents: extra.documents ?? catalog.shardUrls.length + 1,
    loaded: instance.documentsLoaded.size,
    loads: instance.documentLoads,
    added: counts.records,
    updated: Math.max(0, changed - counts.records),
    deleted: counts.deleted,
    conflicts: countConflicted(instance.db, catalog.catId),
    durationMs: Math.round(performance.now() - started),
    readOnly: extra.readOnly ?? false,
  };
}
