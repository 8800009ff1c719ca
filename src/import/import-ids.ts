/**
 * The ids an import deals with, kept in the instance database instead of in memory: those its
 * cursor holds from earlier runs (import_cursor_ids) and those this run reads (a temporary table).
 * Held in Sets and Maps, a 227k-record source's ids grew an import's peak by about 26 MiB (the
 * strings, a Set of those read, a Map of the cursor's ids and a Map of the list to save).
 */
import type { Db } from "../store/db.js";

const PENDING_IDS = 1_000;

/** What becomes of an earlier id this run did not read: kept, tombstoned (--prune), or dropped (--prune --as HOST). */
export type VanishedIds = "keep" | "tombstone" | "forget";

export class ImportIds {
  readonly #db: Db;
  readonly #cursorId: number | undefined;
  readonly #insertSeen;
  readonly #selectPruned;
  /** ids read but not yet stored: they go in one transaction per PENDING_IDS */
  readonly #pending = new Set<string>();

  /** `cursorId`: the cursor of this source's earlier runs; undefined for a first import. */
  constructor(db: Db, cursorId: number | undefined) {
    this.#db = db;
    this.#cursorId = cursorId;
    db.pragma("temp_store = FILE");
    db.exec("DROP TABLE IF EXISTS temp.import_seen");
    db.exec("CREATE TEMP TABLE import_seen (id TEXT PRIMARY KEY) WITHOUT ROWID");
    this.#insertSeen = db.prepare<[string]>("INSERT OR IGNORE INTO temp.import_seen (id) VALUES (?)");
    this.#selectPruned = db.prepare<[number, string], { pruned: number }>("SELECT pruned FROM import_cursor_ids WHERE cursor_id = ? AND id = ?");
  }

  /** Whether an earlier run of this source tombstoned the record (--prune). */
  wasPruned(id: string): boolean {
    return this.#cursorId !== undefined && this.#selectPruned.get(this.#cursorId, id)?.pruned === 1;
  }

  /** The ids earlier runs of this source produced and did not tombstone, in id order. */
  earlier(): string[] {
    if (this.#cursorId === undefined) return [];
    return this.#db.prepare<[number], string>("SELECT id FROM import_cursor_ids WHERE cursor_id = ? AND pruned = 0 ORDER BY id").pluck().all(this.#cursorId);
  }

  /** Notes that this run read the id (as a row, a kept record or a rejected one). */
  see(id: string): void {
    this.#pending.add(id);
    if (this.#pending.size >= PENDING_IDS) this.finish();
  }

  /** Stores the ids still pending; `vanished` and `save` count every id seen only after it. */
  finish(): void {
    this.#db.transaction(() => {
      for (const id of this.#pending) this.#insertSeen.run(id);
    })();
    this.#pending.clear();
  }

  /** The earlier ids, not tombstoned, that this run did not read, in id order. */
  vanished(): string[] {
    if (this.#cursorId === undefined) return [];
    return this.#db
      .prepare<[number], string>("SELECT id FROM import_cursor_ids WHERE cursor_id = ? AND pruned = 0 AND id NOT IN (SELECT id FROM temp.import_seen) ORDER BY id")
      .pluck()
      .all(this.#cursorId);
  }

  /**
   * Writes the cursor's id list for the next run, changing only the rows that change: every id
   * read is live, an earlier one tombstoned stays so, and an earlier live one not read is kept,
   * tombstoned or dropped as `vanished` says. Run it inside the transaction that saves the cursor.
   */
  save(cursorId: number, vanished: VanishedIds): void {
    if (vanished !== "keep") {
      const change = vanished === "tombstone" ? "UPDATE import_cursor_ids SET pruned = 1" : "DELETE FROM import_cursor_ids";
      this.#db.prepare(`${change} WHERE cursor_id = ? AND pruned = 0 AND id NOT IN (SELECT id FROM temp.import_seen)`).run(cursorId);
    }
    this.#db
      .prepare("INSERT INTO import_cursor_ids (cursor_id, id, pruned) SELECT ?, id, 0 FROM temp.import_seen WHERE true ON CONFLICT (cursor_id, id) DO UPDATE SET pruned = 0 WHERE pruned <> 0")
      .run(cursorId);
  }

  drop(): void {
    this.#db.exec("DROP TABLE IF EXISTS temp.import_seen");
  }
}
