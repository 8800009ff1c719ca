/**
 * The materializer keeps the SQLite view equal to the CRDT. For each shard document it stores the
 * heads it last materialized; catching up means diffing from those heads to the current ones,
 * rewriting the rows of the records the diff touched, and storing the new heads, all in one
 * transaction. A shard never seen before (or whose stored heads are unusable) is rewritten whole.
 */
import * as A from "@automerge/automerge";
import { fitPageCache, type Db } from "../store/db.js";
import type { Core } from "../model/shard-core.js";
import { keysShown, recordFields, toRecord } from "../model/crdt-record.js";
import { newestOfAll, scanChanges, scanLog, type RecordOps } from "../model/record-log.js";
import { findConflicts, type RecordConflicts } from "../model/conflicts.js";
import { sourceTagsOf, type CatalogRecord } from "../model/record.js";
import { sameHeads } from "../protocol/heads-summary.js";
import { addCounts, NO_COUNT_CHANGE, type CountChange } from "./count-change.js";

export { sameHeads };

export interface MaterializeResult {
  /** ids whose rows were written (created, updated or deleted) */
  changedIds: number;
  full: boolean;
  /** how the view's counts moved: records (tombstones included) and tombstones */
  counts: CountChange;
}

export class Materializer {
  readonly #db: Db;
  readonly #stmts;

  constructor(db: Db) {
    this.#db = db;
    this.#stmts = {
      heads: db.prepare<[string], { heads: string }>("SELECT heads FROM view_heads WHERE doc_id = ?"),
      saveHeads: db.prepare<[string, number, string, number]>(
        "INSERT INTO view_heads (doc_id, cat_id, heads, seq) VALUES (?, ?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET heads = excluded.heads, cat_id = excluded.cat_id, seq = excluded.seq",
      ),
      // Read, then written: an UPDATE ... RETURNING runs as a trigger, so SQLite opens a statement
      // journal for it, and FTS5 writes its pending terms to disk at each (a segment per shard).
      seq: db.prepare<[], { value: number }>("SELECT CAST(value AS INTEGER) AS value FROM settings WHERE key = 'view_seq'"),
      setSeq: db.prepare<[number]>("UPDATE settings SET value = ? WHERE key = 'view_seq'"),
      dirtySeq: db.prepare<[string], { seq: number }>("SELECT seq FROM crdt_dirty WHERE doc_id = ?"),
      clearDirty: db.prepare<[string, number]>("DELETE FROM crdt_dirty WHERE doc_id = ? AND seq <= ?"),
      row: db.prepare<[number, string], { rid: number; deleted: number }>("SELECT rid, deleted FROM records WHERE cat_id = ? AND id = ?"),
      shownRow: db.prepare<[number, string], { rid: number; meta: string }>("SELECT rid, meta FROM records WHERE cat_id = ? AND id = ?"),
      tags: db.prepare<[number], string>("SELECT tag FROM record_tags WHERE rid = ?").pluck(),
      collections: db.prepare<[number], string>("SELECT collection FROM record_collections WHERE rid = ?").pluck(),
      insert: db.prepare(
        `INSERT INTO records (cat_id, id, shard, kind, provider, name, version, summary, meta, deleted, deleted_at, deleted_by, updated_at, updated_by, edited_while_deleted)
         VALUES (@catId, @id, @shard, @kind, @provider, @name, @version, @summary, @meta, @deleted, @deletedAt, @deletedBy, @updatedAt, @updatedBy, @editedWhileDeleted)`,
      ),
      update: db.prepare(
        `UPDATE records SET shard = @shard, kind = @kind, provider = @provider, name = @name, version = @version, summary = @summary,
           meta = @meta, deleted = @deleted, deleted_at = @deletedAt, deleted_by = @deletedBy, updated_at = @updatedAt, updated_by = @updatedBy,
           edited_while_deleted = @editedWhileDeleted
         WHERE rid = @rid`,
      ),
      deleteRecord: db.prepare<[number]>("DELETE FROM records WHERE rid = ?"),
      deleteTags: db.prepare<[number]>("DELETE FROM record_tags WHERE rid = ?"),
      deleteCollections: db.prepare<[number]>("DELETE FROM record_collections WHERE rid = ?"),
      insertTag: db.prepare<[number, string]>("INSERT INTO record_tags (rid, tag) VALUES (?, ?)"),
      insertCollection: db.prepare<[number, string]>("INSERT INTO record_collections (rid, collection) VALUES (?, ?)"),
      deleteConflicts: db.prepare<[number]>("DELETE FROM record_conflicts WHERE rid = ?"),
      insertConflict: db.prepare<[number, string, number, string, number, string | null, string | null]>(
        "INSERT INTO record_conflicts (rid, field, n, value, winner, written_by, written_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      deleteFts: db.prepare<[number]>("DELETE FROM records_fts WHERE rowid = ?"),
      insertFts: db.prepare<[number, string, string, string, string]>("INSERT INTO records_fts (rowid, name, summary, tags, source_tags) VALUES (?, ?, ?, ?, ?)"),
      shardRows: db.prepare<[number, number], { rid: number; deleted: number }>("SELECT rid, deleted FROM records WHERE cat_id = ? AND shard = ?"),
    };
  }

  /** The heads the view of this document was last materialized at, if ever. */
  storedHeads(documentId: string): A.Heads | undefined {
    const row = this.#stmts.heads.get(documentId);
    return row ? (JSON.parse(row.heads) as A.Heads) : undefined;
  }

  /**
   * Brings the rows of one shard document up to `core`'s heads. `core` must hold every chunk stored
   * for the document (CatalogStore merges the ones it lacks in the same transaction): the stored
   * heads and the dirty mark are read and written under the write lock, so another process's
   * materialization cannot slip in between and be undone.
   */
  materializeShard(catId: number, shard: number, documentId: string, core: Core): MaterializeResult {
    // bulk work writes shard after shard: its page cache grows with the view it writes
    fitPageCache(this.#db);
    return this.#underWriteLock((): MaterializeResult => {
      const heads = core.getHeads();
      const stored = this.#stmts.heads.get(documentId);
      const fromHeads = stored ? (JSON.parse(stored.heads) as string[]) : [];
      const dirtySeq = this.#stmts.dirtySeq.get(documentId)?.seq ?? 0;
      if (stored && sameHeads(fromHeads, heads)) {
        this.#stmts.clearDirty.run(documentId, dirtySeq);
        return { changedIds: 0, full: false, counts: NO_COUNT_CHANGE };
      }
      // Stored heads this copy lacks, although it holds every stored chunk, were written from
      // changes that never reached storage (a process cut off between the two): the view is
      // rewritten whole from what is stored rather than trusted.
      const incremental = fromHeads.length > 0 && fromHeads.every((hash) => Boolean(core.getChangeByHash(hash)));
      // The records the new changes touched, read from their operations rather than from a diff
      // of what is shown: a write that loses to the value already shown changes nothing visible,
      // yet adds a competing value to show as a conflict.
      const recent = incremental ? scanChanges(core, core.getChanges(fromHeads)) : undefined;
      const touched = recent && !recent.touchedRoot ? new Set(recent.records.keys()) : "all";
      const ids = touched === "all" ? undefined : touched;
      const fields = recordFields(core, ids, recent && ids && (() => this.#keysToRead(catId, ids, recent.keys)));
      let whole: Map<string, RecordOps> | undefined;
      const wholeLog = () => (whole ??= scanLog(core, ids).records);
      // Each record's last edit: among the new changes when they were made on top of the rest
      // (an edit, an import); a merge of older concurrent changes needs the whole log.
      const log = recent && touched !== "all" && newestOfAll(core, recent, touched) ? recent.records : wholeLog();
      const conflicts = findConflicts(core, fields, (id) => wholeLog().get(id));
      const view = (id: string): MaterializedRecord | undefined => {
        const f = fields.get(id);
        return f && { record: toRecord(id, f, log.get(id)), conflicts: conflicts.get(id) };
      };
      // The counts move by what was written here, so a sync reports what it added and deleted
      // without counting the catalog.
      let counts = NO_COUNT_CHANGE;
      const written = (after: MaterializedRecord | undefined) => (counts = addCounts(counts, countOf(after?.record)));
      const removed = (before: { deleted: number } | undefined) => {
        if (before) counts = addCounts(counts, { records: -1, deleted: -before.deleted });
      };
      let changedIds: number;
      if (touched === "all") {
        for (const row of this.#clearShard(catId, shard)) removed(row);
        for (const id of fields.keys()) {
          const record = view(id)!;
          this.#insert(catId, shard, record);
          written(record);
        }
        changedIds = fields.size;
      } else {
        for (const id of touched) {
          const record = view(id);
          removed(this.#upsert(catId, shard, id, record));
          written(record);
        }
        changedIds = touched.size;
      }
      this.#saveHeads(documentId, catId, heads);
      this.#stmts.clearDirty.run(documentId, dirtySeq);
      return { changedIds, full: touched === "all", counts };
    });
  }

  /** Records that a non-shard document (the catalog root) is materialized at these heads. */
  markDocument(catId: number, documentId: string, doc: A.Doc<unknown>): void {
    this.#underWriteLock(() => {
      const dirtySeq = this.#stmts.dirtySeq.get(documentId)?.seq ?? 0;
      const heads = A.getHeads(doc);
      const stored = this.storedHeads(documentId);
      if (!stored || !sameHeads(stored, heads)) this.#saveHeads(documentId, catId, heads);
      this.#stmts.clearDirty.run(documentId, dirtySeq);
    });
  }

  /**
   * Runs `work` in a write transaction, or in the caller's. Not nested: FTS5 writes its pending
   * terms to disk at every savepoint, so bulk work that materializes a batch of shards in one
   * transaction would otherwise write a search index segment per shard and merge them all.
   */
  #underWriteLock<R>(work: () => R): R {
    return this.#db.inTransaction ? work() : this.#db.transaction(work).immediate();
  }

  /** Stores a document's view heads with the next view sequence number (inside a transaction). */
  #saveHeads(documentId: string, catId: number, heads: A.Heads): void {
    const seq = this.#stmts.seq.get()!.value + 1;
    this.#stmts.setSeq.run(seq);
    this.#stmts.saveHeads.run(documentId, catId, JSON.stringify(heads), seq);
  }

  /**
   * The keys that may hold the fields of `ids` now, without listing the shard's keys (2 µs a key,
   * and a 227k-record shard has 3,500 of them): those each row shows, and every key the new changes
   * wrote. A key no new change wrote holds what it held when the row was written, so what it
   * showed, or that it showed nothing, still holds. Undefined when an id has no row (a record new
   * here, or one whose keys a peer wrote without its name): the shard's keys are listed then.
   */
  #keysToRead(catId: number, ids: ReadonlySet<string>, written: ReadonlySet<string>): string[] | undefined {
    const keys = new Set(written);
    for (const id of ids) {
      const row = this.#stmts.shownRow.get(catId, id);
      if (!row) return undefined;
      const shown = { meta: Object.keys(JSON.parse(row.meta) as object), tags: this.#stmts.tags.all(row.rid), collections: this.#stmts.collections.all(row.rid) };
      for (const key of keysShown(id, shown)) keys.add(key);
    }
    return [...keys];
  }

  /** Deletes the shard's rows; returns them as they were. */
  #clearShard(catId: number, shard: number): { rid: number; deleted: number }[] {
    const rows = this.#stmts.shardRows.all(catId, shard);
    for (const { rid } of rows) this.#delete(rid);
    return rows;
  }

  #delete(rid: number): void {
    this.#deleteChildren(rid);
    this.#stmts.deleteRecord.run(rid);
  }

  /** Writes (or removes) one record's row; returns the row as it was, if there was one. */
  #upsert(catId: number, shard: number, id: string, view: MaterializedRecord | undefined): { deleted: number } | undefined {
    const existing = this.#stmts.row.get(catId, id);
    if (!view) {
      // Records are tombstoned, never removed; a missing key means the shard was reset.
      if (existing) this.#delete(existing.rid);
      return existing;
    }
    if (!existing) {
      this.#insert(catId, shard, view);
      return undefined;
    }
    const rid = existing.rid;
    this.#stmts.update.run({ ...rowValues(catId, shard, view), rid });
    this.#deleteChildren(rid);
    this.#writeChildren(rid, view);
    return existing;
  }

  #insert(catId: number, shard: number, view: MaterializedRecord): void {
    const rid = Number(this.#stmts.insert.run(rowValues(catId, shard, view)).lastInsertRowid);
    this.#writeChildren(rid, view);
  }

  #deleteChildren(rid: number): void {
    this.#stmts.deleteFts.run(rid);
    this.#stmts.deleteTags.run(rid);
    this.#stmts.deleteCollections.run(rid);
    this.#stmts.deleteConflicts.run(rid);
  }

  #writeChildren(rid: number, { record, conflicts }: MaterializedRecord): void {
    for (const tag of record.tags) this.#stmts.insertTag.run(rid, tag);
    for (const collection of record.collections) this.#stmts.insertCollection.run(rid, collection);
    for (const { field, values } of conflicts?.fields ?? []) {
      for (const v of values) this.#stmts.insertConflict.run(rid, field, v.n, JSON.stringify(v.value), v.winner ? 1 : 0, v.by, v.at);
    }
    this.#stmts.insertFts.run(rid, record.name, record.summary, record.tags.join(" "), sourceTagsOf(record).join(" "));
  }
}

const countOf = (record: CatalogRecord | undefined): CountChange => (record ? { records: 1, deleted: record.deleted ? 1 : 0 } : NO_COUNT_CHANGE);

interface MaterializedRecord {
  record: CatalogRecord;
  conflicts: RecordConflicts | undefined;
}

function rowValues(catId: number, shard: number, { record: r, conflicts }: MaterializedRecord) {
  return {
    editedWhileDeleted: conflicts?.editedWhileDeleted ? 1 : 0,
    catId,
    id: r.id,
    shard,
    kind: r.kind,
    provider: r.provider,
    name: r.name,
    version: r.version,
    summary: r.summary,
    meta: JSON.stringify(r.meta),
    deleted: r.deleted ? 1 : 0,
    deletedAt: r.deletedAt,
    deletedBy: r.deletedBy,
    updatedAt: r.updatedAt,
    updatedBy: r.updatedBy,
  };
}
