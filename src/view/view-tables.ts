/**
 * The view's tables, made again from nothing. Whatever state they are in (a table dropped, the
 * FTS index damaged, rows that disagree), `shelf rebuild` drops them and creates them as the schema
 * migrations leave them. Their definitions are read from a fresh in-memory database migrated with
 * the same scripts, so this module never falls out of step with a migration added later.
 */
import { newDatabase, type Db } from "../store/db.js";
import { markDirtyStatement } from "../store/crdt-storage.js";
import { encodeKey, upperBound } from "../store/sqlite-storage-adapter.js";
import { SCHEMA_MIGRATIONS } from "../store/schema.js";
import { damagedDatabase } from "../store/storage-errors.js";

/** Children first, so that dropping them in this order never trips a foreign key. */
export const VIEW_TABLES = ["records_fts", "record_conflicts", "record_collections", "record_tags", "records", "view_heads"] as const;

interface SchemaEntry {
  type: string;
  name: string;
  sql: string;
}

let reference: SchemaEntry[] | undefined;

/** The tables and indexes of the view, in creation order, as the migrations define them. */
export function viewSchema(): SchemaEntry[] {
  if (!reference) {
    const memory = newDatabase(":memory:");
    try {
      for (const script of SCHEMA_MIGRATIONS) memory.exec(script);
      const tables = VIEW_TABLES.map((t) => `'${t}'`).join(", ");
      reference = memory.prepare<[], SchemaEntry>(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN (${tables}) AND sql IS NOT NULL ORDER BY rowid`).all();
    } finally {
      memory.close();
    }
  }
  return reference;
}

/** The view tables this database lacks (dropped, or never made). */
export function missingViewTables(db: Db): string[] {
  const present = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));
  return VIEW_TABLES.filter((t) => !present.has(t));
}

/**
 * Drops every view table (whatever is left of it) and creates them all again, empty. Run inside a
 * transaction that also marks every document dirty, so the view is filled again from the CRDT.
 */
export function recreateViewTables(db: Db): void {
  for (const table of VIEW_TABLES) db.exec(`DROP TABLE IF EXISTS "${table}"`);
  for (const entry of viewSchema()) db.exec(entry.sql);
}

/**
 * Empties the whole view (the tables are shared by every catalog) and marks `documentIds` dirty,
 * in one transaction: a rebuild cut off half-way is finished by the next command.
 */
export function resetView(db: Db, documentIds: readonly string[]): void {
  try {
    db.transaction(() => {
      recreateViewTables(db);
      markDirty(db, documentIds);
    }).immediate();
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    salvageView(db.name, documentIds);
  }
}

/**
 * Removes one catalog's rows from the view and marks its stored documents dirty, so that whatever
 * registers them next materializes them afresh (inside the caller's transaction).
 */
export function forgetCatalogView(db: Db, catId: number, documentIds: readonly string[]): void {
  // the search index is contentless: its rows go by rowid, before the records they index
  db.prepare("DELETE FROM records_fts WHERE rowid IN (SELECT rid FROM records WHERE cat_id = ?)").run(catId);
  // tags, collections and conflicts go with their records (ON DELETE CASCADE)
  db.prepare("DELETE FROM records WHERE cat_id = ?").run(catId);
  db.prepare("DELETE FROM view_heads WHERE cat_id = ?").run(catId);
  const stored = db.prepare<[string, string]>("SELECT 1 FROM crdt_chunks WHERE key >= ? AND key < ? LIMIT 1");
  markDirty(
    db,
    documentIds.filter((id) => stored.get(encodeKey([id]), upperBound(encodeKey([id]))) !== undefined),
  );
}

const isCorrupt = (err: unknown) => String((err as { code?: unknown })?.code ?? "").startsWith("SQLITE_CORRUPT");

function markDirty(db: Db, documentIds: readonly string[]): void {
  const mark = markDirtyStatement(db);
  for (const id of documentIds) mark.run(id);
}

/**
 * Damaged pages keep a view table from being dropped (DROP TABLE reads what it frees). The view's
 * tables are then removed from the schema without reading them, created again, and the file is
 * compacted (VACUUM copies what is reachable, leaving the damaged pages behind). A connection of
 * its own does it: the one whose DROP failed keeps that failure's state. VACUUM fails when the
 * damage reaches the CRDT's tables too, which is then the error to report.
 */
function salvageView(path: string, documentIds: readonly string[]): void {
  const names = [...VIEW_TABLES, ...["data", "idx", "docsize", "config", "content"].map((s) => `records_fts_${s}`)];
  const db = newDatabase(path);
  try {
    db.pragma("busy_timeout = 10000");
    db.transaction(() => {
      db.unsafeMode(true);
      db.pragma("writable_schema = ON");
      db.prepare(`DELETE FROM sqlite_master WHERE tbl_name IN (${names.map(() => "?").join(", ")})`).run(...names);
      db.pragma("writable_schema = RESET");
      db.unsafeMode(false);
      for (const entry of viewSchema()) db.exec(entry.sql);
      markDirty(db, documentIds);
    }).immediate();
    try {
      db.exec("VACUUM");
    } catch (err) {
      throw isCorrupt(err) ? damagedDatabase(`the CRDT tables cannot be read: ${(err as Error).message}`) : err;
    }
  } finally {
    db.close();
  }
}
