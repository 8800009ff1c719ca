/**
 * The rows an import has read, kept in a temporary table on disk until the whole source is read
 * (nothing is written from a source that fails half-way). Memory then holds one batch of rows at
 * a time, not the source: a 227k-record import used to hold every row as a JavaScript object.
 *
 * Each row is kept with its shard, so the writes can go one group of whole shards at a time, and
 * with its patch only when the view says it would change the record (an unchanged row is kept by
 * id alone, to tell a later duplicate where it was first read). Patches are kept as JSON text,
 * which comes back as a string on V8's heap: node:v8's serialize and SQLite's blobs each made a
 * Buffer outside it, and a 10k-record import's malloc heap grew 20 MiB with them before the
 * garbage collector freed any.
 */
import type { WriteItem } from "../catalog/catalog-store.js";
import type { WriteOutcome } from "../model/crdt-record.js";
import type { RecordPatch } from "../model/record.js";
import type { Db } from "../store/db.js";

const PENDING_ROWS = 1_000;
/** SQLite's page cache for the staging table, in KiB */
const STAGING_PAGE_CACHE_KIB = 1024;

export class StagedRows {
  readonly #db: Db;
  readonly #shardOf: (id: string) => number;
  readonly #insert;
  readonly #selectSource;
  readonly #predict: (id: string, patch: RecordPatch) => WriteOutcome;
  /** rows not yet stored: they go in one transaction per PENDING_ROWS, not one each */
  readonly #pending = new Map<string, { where: string; patch: RecordPatch }>();
  /** what writing each stored row would do, as the view tells it */
  readonly predicted: Record<WriteOutcome, number> = { created: 0, updated: 0, unchanged: 0 };

  /** `predict` tells, from the view, what writing a row would do to its record. */
  constructor(db: Db, shardOf: (id: string) => number, predict: (id: string, patch: RecordPatch) => WriteOutcome) {
    this.#db = db;
    this.#shardOf = shardOf;
    this.#predict = predict;
    // better-sqlite3 keeps temporary tables in memory unless told otherwise
    db.pragma("temp_store = FILE");
    db.exec("DROP TABLE IF EXISTS temp.import_rows");
    db.exec("CREATE TEMP TABLE import_rows (shard INTEGER NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, patch TEXT, PRIMARY KEY (shard, id)) WITHOUT ROWID");
    // Its pages are written once and read back once, in order: a page cache of the default size
    // (16 MB) only kept most of a 50k-record source's rows in memory after all.
    db.pragma(`temp.cache_size = -${STAGING_PAGE_CACHE_KIB}`);
    this.#insert = db.prepare<[number, string, string, string | null]>("INSERT INTO temp.import_rows (shard, id, source, patch) VALUES (?, ?, ?, ?)");
    this.#selectSource = db.prepare<[number, string], { source: string }>("SELECT source FROM temp.import_rows WHERE shard = ? AND id = ?");
  }

  /**
   * Keeps a row read at `where`, unless one with the same id was kept before: then returns where
   * that one was read.
   */
  add(id: string, where: string, patch: RecordPatch): string | undefined {
    const earlier = this.#earlierSource(id);
    if (earlier !== undefined) return earlier;
    this.#pending.set(id, { where, patch });
    if (this.#pending.size >= PENDING_ROWS) this.#flush();
    return undefined;
  }

  has(id: string): boolean {
    return this.#earlierSource(id) !== undefined;
  }

  /** Stores the rows still pending, so that `predicted` counts every row kept. */
  finish(): void {
    this.#flush();
  }

  #earlierSource(id: string): string | undefined {
    return this.#pending.get(id)?.where ?? this.#selectSource.get(this.#shardOf(id), id)?.source;
  }

  /** One transaction: the view's lookups share one read of it, the inserts one commit. */
  #flush(): void {
    this.#db.transaction(() => {
      for (const [id, { where, patch }] of this.#pending) {
        const outcome = this.#predict(id, patch);
        this.predicted[outcome]++;
        this.#insert.run(this.#shardOf(id), id, where, outcome === "unchanged" ? null : patchToJson(patch));
      }
    })();
    this.#pending.clear();
  }

  /**
   * The rows that change their record, in batches of whole shards of at least `size` rows (one
   * shard may hold more). Each batch is read whole before it is given, so the caller may write
   * to the database between batches.
   */
  *changedBatches(size: number): Generator<WriteItem[]> {
    const perShard = this.#db.prepare<[], { shard: number; n: number }>("SELECT shard, count(*) AS n FROM temp.import_rows WHERE patch IS NOT NULL GROUP BY shard ORDER BY shard").all();
    const range = this.#db.prepare<[number, number], { id: string; patch: string }>("SELECT id, patch FROM temp.import_rows WHERE shard >= ? AND shard <= ? AND patch IS NOT NULL ORDER BY shard, id");
    let first = 0;
    let rows = 0;
    for (const [i, { shard, n }] of perShard.entries()) {
      if (rows === 0) first = shard;
      rows += n;
      if (rows < size && i < perShard.length - 1) continue;
      // row by row: a batch's JSON texts then die young, instead of all outliving the read
      const batch: WriteItem[] = [];
      for (const r of range.iterate(first, shard)) batch.push({ id: r.id, patch: patchFromJson(r.patch) });
      yield batch;
      rows = 0;
    }
  }

  drop(): void {
    this.#db.exec("DROP TABLE IF EXISTS temp.import_rows");
  }
}

/** JSON drops a key whose value is undefined; a meta key set to undefined means "remove it". */
export function patchToJson(patch: RecordPatch): string {
  const removed = Object.keys(patch.meta ?? {}).filter((key) => patch.meta![key] === undefined);
  return JSON.stringify(removed.length > 0 ? [patch, removed] : [patch]);
}

export function patchFromJson(text: string): RecordPatch {
  const [patch, removed = []] = JSON.parse(text) as [RecordPatch, string[]?];
  for (const key of removed) patch.meta![key] = undefined;
  return patch;
}
