/**
 * Reads from the materialized view. Nothing here loads Automerge: a search is one SQLite query.
 */
import type { Statement } from "better-sqlite3";
import type { Db } from "../store/db.js";
import type { CatalogRecord, JsonValue, RecordKind } from "../model/record.js";
import type { FieldConflict, RecordConflicts } from "../model/conflicts.js";

export interface RecordFilter {
  provider?: string;
  kind?: string;
  tag?: string;
  collection?: string;
  includeDeleted?: boolean;
  /** only tombstones (implies includeDeleted) */
  onlyDeleted?: boolean;
  limit?: number;
  /** records to skip first, in listRecords' order (for paging) */
  offset?: number;
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
 * Turns any user string into safe FTS5 phrases: the words (letters and digits) are quoted, so FTS
 * syntax, quotes and SQL in the input are only ever searched for, never interpreted; every word
 * must match, and the last one also matches as a prefix ("reac" finds react).
 */
export function toFtsPhrases(input: string): string[] {
  const words = input.normalize("NFKC").match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.map((w, i) => `"${w}"${i === words.length - 1 ? "*" : ""}`);
}

function filterSql(catId: number, filter: RecordFilter): { where: string; params: unknown[] } {
  const clauses = ["r.cat_id = ?"];
  const params: unknown[] = [catId];
  if (filter.onlyDeleted) clauses.push("r.deleted = 1");
  else if (!filter.includeDeleted) clauses.push("r.deleted = 0");
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

/**
 * Ranking by BM25 reads every record each word of the query matches (for its weight), not only
 * the records that match them all, so it is used when that is cheap: at most this many matches for
 * the query, and for each of its words. Past either, the query is broad (a letter or two, a word
 * found in thousands of summaries) and is ordered from bounded work instead (see searchRecords).
 */
export const EXACT_RANKING_MAX_MATCHES = 500;
export const EXACT_RANKING_MAX_WORD_MATCHES = 5000;

/**
 * Full-text search over name, summary, tags and source tags, best first, in time bounded by what
 * it returns, not by the catalog's size (docs/architecture.md, "Search in bounded time").
 *
 * A narrow query is ranked exactly: the record whose name is the query first (whatever the case),
 * then BM25 (name weighs 10, tags 4, source tags 2, summary 1). A broad one, which a user typing
 * has not finished, lists the exact name, then the names that begin with what was typed
 * (alphabetically, as a completion list does), then records whose name holds every word, then any
 * other match, shortest name first, from the first EXACT_RANKING_MAX_MATCHES matches of each kind.
 */
export function searchRecords(db: Db, catId: number, query: string, filter: RecordFilter = {}): CatalogRecord[] {
  const phrases = toFtsPhrases(query);
  if (phrases.length === 0) return [];
  const fts = phrases.join(" ");
  const typed = query.normalize("NFKC").trim();
  const limit = filter.limit ?? 20;
  const { where, params } = filterSql(catId, filter);
  // CROSS JOIN keeps the full-text matches as the outer loop: SQLite would otherwise scan the
  // catalog's records and probe the matches for each. Only ids are sorted; the rows' columns are
  // read for the few that are returned.
  const fromMatches = (match: string, score: string, order: string, orderParams: unknown[], n: number): number[] =>
    cachedStatement(
      db,
      `WITH hits AS (SELECT rowid AS rid, ${score} AS score FROM records_fts WHERE records_fts MATCH ? LIMIT ?)
         SELECT r.rid FROM hits h CROSS JOIN records r ON r.rid = h.rid
         WHERE ${where} ORDER BY ${order}, r.id LIMIT ?`,
    )
      .pluck()
      .all(match, EXACT_RANKING_MAX_MATCHES, ...params, ...orderParams, n) as number[];
  const rowsOf = (rids: Iterable<number>): CatalogRecord[] => {
    const read = cachedStatement(db, `SELECT ${RECORD_COLUMNS} FROM records r WHERE r.rid = ?`);
    return [...rids].map((rid) => toRecord(read.get(rid) as RecordRow));
  };

  if (isNarrowQuery(db, phrases)) {
    return rowsOf(fromMatches(fts, "bm25(records_fts, 10.0, 1.0, 4.0, 2.0)", "(lower(r.name) = lower(?)) DESC, h.score", [typed], limit));
  }

  const found = new Set<number>();
  const add = (rids: number[]) => {
    for (const rid of rids) if (found.size < limit) found.add(rid);
  };
  const byName = (condition: string, typedTimes: number): number[] =>
    cachedStatement(db, `SELECT r.rid FROM records r WHERE ${condition} AND ${where} ORDER BY lower(r.name), r.id LIMIT ?`)
      .pluck()
      .all(...Array<string>(typedTimes).fill(typed), ...params, limit) as number[];
  add(byName("lower(r.name) = lower(?)", 1));
  if (found.size < limit) add(byName("lower(r.name) > lower(?) AND lower(r.name) < lower(?) || char(1114111)", 2));
  const shortestName = "length(r.name), lower(r.name)";
  if (found.size < limit) add(fromMatches(`{name} : (${fts})`, "0", shortestName, [], limit + found.size));
  if (found.size < limit) add(fromMatches(fts, "0", shortestName, [], limit + found.size));
  return rowsOf(found);
}

/** Whether a query's phrases match few enough records to rank by BM25 (see EXACT_RANKING_MAX_MATCHES). */
export function isNarrowQuery(db: Db, phrases: readonly string[]): boolean {
  return (
    countMatches(db, phrases.join(" "), EXACT_RANKING_MAX_MATCHES) <= EXACT_RANKING_MAX_MATCHES &&
    (phrases.length === 1 || phrases.every((phrase) => countMatches(db, phrase, EXACT_RANKING_MAX_WORD_MATCHES) <= EXACT_RANKING_MAX_WORD_MATCHES))
  );
}

const statements = new WeakMap<Db, Map<string, Statement>>();

/** A statement prepared once per connection: a search runs several, and preparing is a good part of a fast one. */
function cachedStatement(db: Db, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = db.prepare(sql)));
  return statement;
}

/** How many records a full-text query matches, counted only as far as `cap` + 1. */
function countMatches(db: Db, fts: string, cap: number): number {
  const counted = cachedStatement(db, "SELECT count(*) AS n FROM (SELECT 1 FROM records_fts WHERE records_fts MATCH ? LIMIT ?)").get(fts, cap + 1);
  return (counted as { n: number }).n;
}

export function listRecords(db: Db, catId: number, filter: RecordFilter = {}): CatalogRecord[] {
  const { where, params } = filterSql(catId, filter);
  const limit = filter.limit ?? -1;
  return db.prepare<unknown[], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM records r WHERE ${where} ORDER BY r.id LIMIT ? OFFSET ?`).all(...params, limit, filter.offset ?? 0).map(toRecord);
}

/** How many records listRecords would return without a limit. */
export function countListed(db: Db, catId: number, filter: RecordFilter = {}): number {
  const { where, params } = filterSql(catId, filter);
  return (cachedStatement(db, `SELECT count(*) AS n FROM records r WHERE ${where}`).get(...params) as { n: number }).n;
}

/**
 * How many records searchRecords could return for `query` and `filter`, counted only as far as
 * `cap` + 1, so that a broad query costs no more than a narrow one.
 */
export function countSearched(db: Db, catId: number, query: string, filter: RecordFilter, cap: number): number {
  const phrases = toFtsPhrases(query);
  if (phrases.length === 0) return 0;
  const { where, params } = filterSql(catId, filter);
  const counted = cachedStatement(
    db,
    `SELECT count(*) AS n FROM (SELECT 1 FROM records_fts f CROSS JOIN records r ON r.rid = f.rowid WHERE records_fts MATCH ? AND ${where} LIMIT ?)`,
  ).get(phrases.join(" "), ...params, cap + 1);
  return (counted as { n: number }).n;
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
  // All records by provider (the provider index), less the deleted ones (a partial index over them
  // alone): neither reads the records themselves.
  const count = (sql: string) => new Map(cachedStatement(db, sql).all(catId).map((row) => [(row as { provider: string }).provider, (row as { n: number }).n]));
  const all = count("SELECT provider, count(*) AS n FROM records WHERE cat_id = ? GROUP BY provider");
  const deletedOf = count("SELECT provider, count(*) AS n FROM records WHERE cat_id = ? AND deleted = 1 GROUP BY provider");
  const byProvider: Record<string, number> = {};
  let records = 0;
  let deleted = 0;
  for (const provider of [...all.keys()].sort()) {
    const n = all.get(provider)!;
    const gone = deletedOf.get(provider) ?? 0;
    records += n;
    deleted += gone;
    if (n > gone) byProvider[provider] = n - gone;
  }
  return { records, live: records - deleted, deleted, byProvider };
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

/** The labels (tags or collections) live records carry, most used first, with how many carry each. */
export function labelCounts(db: Db, catId: number, kind: "tag" | "collection", limit: number): { label: string; n: number }[] {
  const table = kind === "tag" ? "record_tags" : "record_collections";
  return cachedStatement(
    db,
    `SELECT l.${kind} AS label, count(*) AS n FROM ${table} l JOIN records r ON r.rid = l.rid WHERE r.cat_id = ? AND r.deleted = 0 GROUP BY l.${kind} ORDER BY n DESC, label LIMIT ?`,
  ).all(catId, limit) as { label: string; n: number }[];
}

/**
 * How many records listConflicts would return: those with a conflicting field, and those edited
 * while deleted. Read from the conflicts table and an index, not from every record, so a sync's
 * report and the web app's badge cost the same at any catalog size.
 */
export function countConflicted(db: Db, catId: number): number {
  return (
    cachedStatement(
      db,
      `SELECT (SELECT count(DISTINCT c.rid) FROM record_conflicts c CROSS JOIN records r ON r.rid = c.rid WHERE r.cat_id = $catId AND r.edited_while_deleted = 0)
            + (SELECT count(*) FROM records WHERE cat_id = $catId AND edited_while_deleted = 1) AS n`,
    ).get({ catId }) as { n: number }
  ).n;
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
