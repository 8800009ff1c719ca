/**
 * Read commands: show, search, list, conflicts, status. They only query the SQLite view, and load
 * neither Automerge nor the importers (test/lean-reads.test.ts checks it).
 */
import { statSync } from "node:fs";
import { ShelfError } from "../errors.js";
import { validateId, type CatalogRecord } from "../model/record.js";
import { countRecords, getRecord, getRecordConflicts, listConflicts, listRecords, searchRecords, type CatalogCounts, type ConflictedRecord, type RecordFilter } from "../view/queries.js";
import type { RecordConflicts } from "../model/conflicts.js";
import { syncStatus, type RemoteSyncStatus } from "../sync/remotes.js";
import { Instance, resolveHome } from "../instance.js";
import { withCatalog, type GlobalOptions } from "./context.js";

export async function showRecord(id: string, options: GlobalOptions): Promise<{ record: CatalogRecord; conflicts: RecordConflicts | null }> {
  validateId(id);
  return withCatalog(options, ({ instance, catalog }) => {
    const record = getRecord(instance.db, catalog.catId, id);
    if (!record) throw new ShelfError("SHELF_E_RECORD_NOT_FOUND", `no record ${id} in catalog ${catalog.name}`, "`shelf search WORDS` finds records by name and summary");
    return { record, conflicts: getRecordConflicts(instance.db, catalog.catId, id) ?? null };
  });
}

export async function search(query: string, filter: RecordFilter, options: GlobalOptions): Promise<CatalogRecord[]> {
  return withCatalog(options, ({ instance, catalog }) => searchRecords(instance.db, catalog.catId, query, filter));
}

export async function list(filter: RecordFilter, options: GlobalOptions): Promise<CatalogRecord[]> {
  return withCatalog(options, ({ instance, catalog }) => listRecords(instance.db, catalog.catId, filter));
}

/** Every record with a conflicted field or an edit made while it was deleted. */
export async function conflicts(options: GlobalOptions): Promise<ConflictedRecord[]> {
  return withCatalog(options, ({ instance, catalog }) => listConflicts(instance.db, catalog.catId));
}

export interface InstanceStatus {
  instanceId: string;
  home: string;
  dbPath: string;
  dbBytes: number;
  /** documents of this instance's catalogs that the view has not caught up with */
  pendingDocuments: number;
  /** documents stored by a join that did not finish, kept so that joining again starts from them */
  keptDocuments: number;
  catalogs: (CatalogCounts & { name: string; url: string; default: boolean; shards: number })[];
  remotes: RemoteSyncStatus[];
}

export async function status(options: GlobalOptions): Promise<InstanceStatus> {
  const instance = Instance.open(resolveHome(options.home));
  try {
    const dbBytes = ["", "-wal"].reduce((sum, suffix) => sum + fileSize(instance.dbPath + suffix), 0);
    const dirty = instance.dirtyDocuments();
    return {
      instanceId: instance.id,
      home: instance.home,
      dbPath: instance.dbPath,
      dbBytes,
      pendingDocuments: dirty.held,
      keptDocuments: dirty.kept,
      catalogs: instance.catalogs().map((c) => ({ name: c.name, url: c.url, default: c.isDefault, shards: c.shardUrls.length, ...countRecords(instance.db, c.catId) })),
      remotes: syncStatus(instance.db),
    };
  } finally {
    await instance.close();
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
