/**
 * Reads from the materialized view. Nothing here loads Automerge: a search is one SQLite query.
 */
import type { Db } from "../store/db.js";
import type { CatalogRecord, JsonValue, RecordKind } from "../model/record.js";
import type { FieldConflict, RecordConflicts } from "../model/conflicts.js";

export interface RecordFilter {
  provider?: string;
  kind?: string;
  tag?: string;
  collection?: string;
  includeDeleted?: boolean;
  limit?: number;
}

interface RecordRow {
  rid: number;
  id: string;
  kind: string;
  provider: string;
  name: string;
  version: string;
  summary: string;
  meta: string;
  deleted: number;
  deleted_at: string | null;
  deleted_by: string | null;
  updated_at: string;
  updated_by: string;
  tags: string | null;
  collections: string | null;
}

const RECORD_COLUMNS = `r.rid, r.id, r.kind, r.provider, r.name, r.version, r.summary, r.meta, r.deleted, r.deleted_at, r.deleted_by, r.updated_at, r.updated_by,
  (SELECT json_group_array(tag) FROM (SELECT tag FROM record_tags WHERE rid = r.rid ORDER BY tag)) AS tags,
  (SELECT json_group_array(collection) FROM (SELECT collection FROM record_collections WHERE rid = r.rid ORDER BY collection)) AS collections`;

/**
 * Turns any user string into a safe FTS5 query: the words (letters and digits) are quoted, so FTS
 * syntax, quotes and SQL in the input are only ever searched for, never interpreted; every word
 * must match, and the last one also matches as a prefix ("reac" finds react).
 */
export function toFtsQuery(input: string): string | undefined {
  const words = input.normalize("NFKC").match(/[\p{L}\p{N}]+/gu);
  if (!words || words.length === 0) return undefined;
  return words.map((w, i) => `"${w}"${i === words.length - 1 ? "*" : ""}`).join(" ");
}

function filterSql(catId: number, filter: RecordFilter): { where: string; params: unknown[] } {
  const clauses = ["r.cat_id = ?"];
  const params: unknown[] = [catId];
  if (!filter.includeDeleted) clauses.push("r.deleted = 0");
  if (filter.provider) {
    clauses.push("r.provider = ?");
    params.push(filter.provider);
  }
  if (filter.kind) {
    clauses.push("r.kind = ?");
    params.push(filter.kind);
  }
  if (filter.tag) {
    clauses.push("EXISTS (SELECT 1 FROM record_tags t WHERE t.rid = r.rid AND t.tag = ?)");
    params.push(filter.tag);
  }
  if (filter.collection) {
    clauses.push("EXISTS (SELECT 1 FROM record_collections c WHERE c.rid = r.rid AND c.collection = ?)");
    params.push(filter.collection);
  }
  return { where: clauses.join(" AND "), params };
}

/** Full-text search over name, summary, tags and source tags, best first: exact name, then BM25. */
export function searchRecords(db: Db, catId: number, query: string, filter: RecordFilter = {}): CatalogRecord[] {
  const fts = toFtsQuery(query);
  if (!fts) return [];
  const { where, params } = filterSql(catId, filter);
  const rows = db
    .prepare<unknown[], RecordRow>(
      `SELECT ${RECORD_COLUMNS}
       FROM records_fts f JOIN records r ON r.rid = f.rowid
       WHERE records_fts MATCH ? AND ${where}
       ORDER BY (lower(r.name) = lower(?)) DESC, bm25(records_fts, 10.0, 1.0, 4.0, 2.0), r.id
       LIMIT ?`,
    )
    .all(fts, ...params, query.normalize("NFKC").trim(), filter.limit ?? 20);
  return rows.map(toRecord);
}

export function listRecords(db: Db, catId: number, filter: RecordFilter = {}): CatalogRecord[] {
  const { where, params } = filterSql(catId, filter);
  const limit = filter.limit ?? -1;
  return db.prepare<unknown[], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM records r WHERE ${where} ORDER BY r.id LIMIT ?`).all(...params, limit).map(toRecord);
}

/** getRecord with the statement prepared once, for many lookups (imports compare every row). */
export function recordReader(db: Db, catId: number): (id: string) => CatalogRecord | undefined {
  const statement = db.prepare<[number, string], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM records r WHERE r.cat_id = ? AND r.id = ?`);
  return (id) => {
    const row = statement.get(catId, id);
    return row ? toRecord(row) : undefined;
  };
}

export function getRecord(db: Db, catId: number, id: string): CatalogRecord | undefined {
  const row = db.prepare<[number, string], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM records r WHERE r.cat_id = ? AND r.id = ?`).get(catId, id);
  return row ? toRecord(row) : undefined;
}

export interface CatalogCounts {
  records: number;
  live: number;
  deleted: number;
  byProvider: Record<string, number>;
}

export function countRecords(db: Db, catId: number): CatalogCounts {
  const totals = db.prepare<[number], { total: number; deleted: number | null }>("SELECT count(*) AS total, sum(deleted) AS deleted FROM records WHERE cat_id = ?").get(catId)!;
  const byProvider: Record<string, number> = {};
  for (const row of db.prepare<[number], { provider: string; n: number }>("SELECT provider, count(*) AS n FROM records WHERE cat_id = ? AND deleted = 0 GROUP BY provider ORDER BY provider").all(catId)) {
    byProvider[row.provider] = row.n;
  }
  const deleted = totals.deleted ?? 0;
  return { records: totals.total, live: totals.total - deleted, deleted, byProvider };
}

function toRecord(row: RecordRow): CatalogRecord {
  return {
    id: row.id,
    kind: row.kind as RecordKind,
    provider: row.provider,
    name: row.name,
    version: row.version,
    summary: row.summary,
    tags: JSON.parse(row.tags ?? "[]") as string[],
    collections: JSON.parse(row.collections ?? "[]") as string[],
    meta: JSON.parse(row.meta) as Record<string, JsonValue>,
    deleted: row.deleted === 1,
    deletedAt: row.deleted_at,
    deletedBy: row.deleted_by,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

export interface ConflictedRecord extends RecordConflicts {
  id: string;
  name: string;
  deleted: boolean;
}

/** The conflicts of one record as the view holds them, or undefined when it has none. */
export function getRecordConflicts(db: Db, catId: number, id: string): RecordConflicts | undefined {
  return listConflicts(db, catId, id)[0];
}

/** Every record with a conflicted field or an edit made while it was deleted, ordered by id. */
export function listConflicts(db: Db, catId: number, onlyId?: string): ConflictedRecord[] {
  const records = db
    .prepare<unknown[], { rid: number; id: string; name: string; deleted: number; edited_while_deleted: number }>(
      `SELECT rid, id, name, deleted, edited_while_deleted FROM records r
       WHERE cat_id = ? ${onlyId !== undefined ? "AND id = ?" : ""}
         AND (edited_while_deleted = 1 OR EXISTS (SELECT 1 FROM record_conflicts c WHERE c.rid = r.rid))
       ORDER BY id`,
    )
    .all(...(onlyId !== undefined ? [catId, onlyId] : [catId]));
  const valuesOf = db.prepare<[number], { field: string; n: number; value: string; winner: number; written_by: string | null; written_at: string | null }>(
    "SELECT field, n, value, winner, written_by, written_at FROM record_conflicts WHERE rid = ? ORDER BY field, n",
  );
  return records.map((r) => {
    const fields: FieldConflict[] = [];
    for (const v of valuesOf.all(r.rid)) {
      let field = fields.at(-1);
      if (field?.field !== v.field) fields.push((field = { field: v.field, values: [] }));
      field.values.push({ n: v.n, value: JSON.parse(v.value) as JsonValue, winner: v.winner === 1, by: v.written_by, at: v.written_at });
    }
    return { id: r.id, name: r.name, deleted: r.deleted === 1, editedWhileDeleted: r.edited_while_deleted === 1, fields };
  });
}
