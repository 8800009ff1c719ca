/**
 * The rows an import has read, kept in a temporary table on disk until the whole source is read
 * (nothing is written from a source that fails half-way). Memory then holds one batch of rows at
 * a time, not the source: a 227k-record import used to hold every row as a JavaScript object.
 *
 * Each row is kept with its shard, so the writes can go one group of whole shards at a time, and
 * with its patch (serialized by node:v8, which keeps a meta key set to undefined, meaning "remove
 * it") only when it would change the record (an unchanged row is kept by id alone, to
 * tell a later duplicate where it was first read).
 */
import { deserialize, serialize } from "node:v8";
import type { WriteItem } from "../catalog/catalog-store.js";
import type { RecordPatch } from "../model/record.js";
import type { Db } from "../store/db.js";

export class StagedRows {
  readonly #db: Db;
  readonly #shardOf: (id: string) => number;
  readonly #insert;
  readonly #whereOf;
  #changed = 0;

  constructor(db: Db, shardOf: (id: string) => number) {
    this.#db = db;
    this.#shardOf = shardOf;
    // better-sqlite3 keeps temporary tables in memory unless told otherwise
    db.pragma("temp_store = FILE");
    db.exec("DROP TABLE IF EXISTS temp.import_rows");
    db.exec("CREATE TEMP TABLE import_rows (shard INTEGER NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, patch BLOB, PRIMARY KEY (shard, id)) WITHOUT ROWID");
    this.#insert = db.prepare<[number, string, string, Buffer | null]>("INSERT INTO temp.import_rows (shard, id, source, patch) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
    this.#whereOf = db.prepare<[number, string], { source: string }>("SELECT source FROM temp.import_rows WHERE shard = ? AND id = ?");
  }

  /**
   * Keeps a row read at `where`, with the patch to write when it changes the record (null when
   * it does not). Returns where an earlier row with the same id was read, when one was: this one
   * is then not kept.
   */
  add(id: string, where: string, patch: RecordPatch | null): string | undefined {
    const shard = this.#shardOf(id);
    if (this.#insert.run(shard, id, where, patch === null ? null : serialize(patch)).changes === 0) return this.#whereOf.get(shard, id)!.source;
    if (patch !== null) this.#changed++;
    return undefined;
  }

  has(id: string): boolean {
    return this.#whereOf.get(this.#shardOf(id), id) !== undefined;
  }

  /** How many kept rows change their record. */
  get changed(): number {
    return this.#changed;
  }

  /**
   * The rows that change their record, in batches of whole shards of at least `size` rows (one
   * shard may hold more). Each batch is read whole before it is given, so the caller may write
   * to the database between batches.
   */
  *changedBatches(size: number): Generator<WriteItem[]> {
    const perShard = this.#db.prepare<[], { shard: number; n: number }>("SELECT shard, count(*) AS n FROM temp.import_rows WHERE patch IS NOT NULL GROUP BY shard ORDER BY shard").all();
    const range = this.#db.prepare<[number, number], { id: string; patch: Buffer }>("SELECT id, patch FROM temp.import_rows WHERE shard >= ? AND shard <= ? AND patch IS NOT NULL ORDER BY shard, id");
    let first = 0;
    let rows = 0;
    for (const [i, { shard, n }] of perShard.entries()) {
      if (rows === 0) first = shard;
      rows += n;
      if (rows < size && i < perShard.length - 1) continue;
      yield range.all(first, shard).map((r) => ({ id: r.id, patch: deserialize(r.patch) as RecordPatch }));
      rows = 0;
    }
  }

  drop(): void {
    this.#db.exec("DROP TABLE IF EXISTS temp.import_rows");
  }
}
