/**
 * One shard count of the shard-count comparison, in a process of its own so that every count
 * starts from the same state (no JIT warm-up, documents or garbage carried over from the last one).
 *
 *   node dist/bench/shards-child.js --file TSV --records N --shards C --home DIR
 *
 * Prints one JSON document (ShardRunResult) on stdout.
 */
import * as A from "@automerge/automerge";
import Database from "better-sqlite3";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { CatalogStore, documentIdOf } from "../src/catalog/catalog-store.js";
import { Instance } from "../src/instance.js";
import { shardIndex } from "../src/model/catalog-doc.js";
import { recordFields, type ShardDoc } from "../src/model/crdt-record.js";
import { readItems } from "./dataset.js";
import { chunkStatsOf, dbFileBytes, dbPathOf, median, type ChunkStats } from "./util.js";

export interface ColdWrite {
  id: string;
  shard: number;
  /** Instance.open + CatalogStore.open */
  openMs: number;
  /** the first write: creates the repo, loads the shard, changes it, flushes, materializes */
  writeMs: number;
  crdtBytesAdded: number;
  fileBytesAdded: number;
}

export interface ShardRunResult {
  shards: number;
  records: number;
  createMs: number;
  writeManyMs: number;
  closeMs: number;
  /** create + writeMany + close */
  importMs: number;
  peakRssBytes: number;
  /** dirtyDocs: documents the view has not caught up with (should be 0 after an import) */
  afterImport: ChunkStats & { fileBytes: number; dirtyDocs: number };
  coldWrites: ColdWrite[];
  /** a second and later write to an already loaded shard, for comparison with the cold one */
  warmWriteMs: number[];
  /** records in shards nobody wrote to since the import, for `shelf set` in a fresh process */
  cliEditIds: string[];
  snapshots: {
    largestBytes: number;
    largestRecords: number;
    meanBytes: number;
    totalBytes: number;
    maxRecords: number;
    meanRecords: number;
    /** A.load of the largest snapshot, median of 5 */
    loadLargestMs: number;
    /** A.loadIncremental(A.init(), largest snapshot), median of 5: how automerge-repo loads a document */
    loadIncrementalLargestMs: number;
  };
}

const COLD_WRITES = 3;
const WARM_WRITES = 3;
const CLI_EDITS = 3;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { file: { type: "string" }, records: { type: "string" }, shards: { type: "string" }, home: { type: "string" } },
    strict: true,
  });
  const file = values.file!;
  const limit = Number(values.records);
  const shardCount = Number(values.shards);
  const home = values.home!;
  if (!file || !home || !Number.isSafeInteger(limit) || !Number.isSafeInteger(shardCount)) throw new Error("usage: shards-child --file TSV --records N --shards C --home DIR");

  const { items } = await readItems(file, limit);

  // Import: create the catalog, write every row, close (which flushes what is left).
  const instance = Instance.open(home, { create: true });
  let t = performance.now();
  const store = await CatalogStore.create(instance, "bench", shardCount);
  const createMs = performance.now() - t;
  t = performance.now();
  await store.writeMany(items, "bench import");
  const writeManyMs = performance.now() - t;
  t = performance.now();
  await instance.close();
  const closeMs = performance.now() - t;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;

  const readOnly = () => new Database(dbPathOf(home), { readonly: true, fileMustExist: true });
  const ro = readOnly();
  const dirtyDocs = ro.prepare<[], { n: number }>("SELECT count(*) AS n FROM crdt_dirty").get()!.n;
  const afterImport = { ...chunkStatsOf(ro), fileBytes: dbFileBytes(home), dirtyDocs };
  ro.close();

  // Cold single-record writes: a fresh Instance each time, so the shard comes from storage.
  const coldWrites: ColdWrite[] = [];
  const usedShards = new Set<number>();
  for (let r = 0; r < COLD_WRITES && items.length > 0; r++) {
    // spread over the subset, each in a shard not loaded before
    let index = Math.floor(((r + 1) * items.length) / (COLD_WRITES + 1));
    while (index < items.length - 1 && usedShards.has(shardIndex(items[index]!.id, shardCount))) index++;
    const id = items[index]!.id;
    const shard = shardIndex(id, shardCount);
    usedShards.add(shard);
    const fileBefore = dbFileBytes(home);
    let t0 = performance.now();
    const inst = Instance.open(home);
    const st = await CatalogStore.open(inst, inst.catalog("bench"));
    const openMs = performance.now() - t0;
    const crdtBefore = chunkStatsOf(inst.db).bytes;
    t0 = performance.now();
    const outcome = await st.write(id, { summary: `shelf bench cold edit ${r} of ${id}` }, "forbid", "set");
    const writeMs = performance.now() - t0;
    if (outcome !== "updated") throw new Error(`cold write of ${id}: expected "updated", got ${outcome}`);
    const crdtBytesAdded = chunkStatsOf(inst.db).bytes - crdtBefore;
    await inst.close();
    coldWrites.push({ id, shard, openMs, writeMs, crdtBytesAdded, fileBytesAdded: dbFileBytes(home) - fileBefore });
  }

  // Warm writes: records that share a shard with one just written in the same process.
  const warmWriteMs: number[] = [];
  if (items.length > 1) {
    const first = items[0]!;
    const shard = shardIndex(first.id, shardCount);
    const sameShard = items.filter((it) => it.id !== first.id && shardIndex(it.id, shardCount) === shard).slice(0, WARM_WRITES);
    const inst = Instance.open(home);
    const st = await CatalogStore.open(inst, inst.catalog("bench"));
    await st.write(first.id, { summary: "shelf bench warm-up edit" }, "forbid", "set");
    for (const item of sameShard) {
      const t0 = performance.now();
      await st.write(item.id, { summary: "shelf bench warm edit" }, "forbid", "set");
      warmWriteMs.push(performance.now() - t0);
    }
    await inst.close();
  }

  const cliEditIds: string[] = [];
  if (items.length > 1) usedShards.add(shardIndex(items[0]!.id, shardCount));
  for (let r = 0; r < CLI_EDITS && items.length > 0; r++) {
    let index = Math.floor(((2 * r + 1) * items.length) / (2 * CLI_EDITS));
    while (index < items.length - 1 && usedShards.has(shardIndex(items[index]!.id, shardCount))) index++;
    usedShards.add(shardIndex(items[index]!.id, shardCount));
    cliEditIds.push(items[index]!.id);
  }

  // Every shard document, compacted: what a snapshot of each would weigh.
  const db = readOnly();
  const catalog = db.prepare<[], { shard_urls: string }>("SELECT shard_urls FROM catalogs WHERE name = 'bench'").get()!;
  const chunksOf = db.prepare<[string, string], { data: Buffer }>("SELECT data FROM crdt_chunks WHERE key >= ? AND key < ? ORDER BY rowid");
  let largest: Uint8Array = new Uint8Array();
  let largestRecords = 0;
  let totalBytes = 0;
  let maxRecords = 0;
  let totalRecords = 0;
  const urls = JSON.parse(catalog.shard_urls) as string[];
  for (const url of urls) {
    const prefix = encodeURIComponent(documentIdOf(url)) + "/";
    let doc = A.init<ShardDoc>();
    for (const chunk of chunksOf.all(prefix, prefix.slice(0, -1) + "0")) doc = A.loadIncremental(doc, chunk.data);
    const saved = A.save(doc);
    const records = recordFields(A.getBackend(doc)).size;
    totalBytes += saved.length;
    totalRecords += records;
    maxRecords = Math.max(maxRecords, records);
    if (saved.length > largest.length) {
      largest = saved;
      largestRecords = records;
    }
    A.free(doc);
  }
  db.close();
  const loads: number[] = [];
  const incrementalLoads: number[] = [];
  for (let i = 0; i < 5; i++) {
    let t0 = performance.now();
    const doc = A.load<ShardDoc>(largest);
    loads.push(performance.now() - t0);
    A.free(doc);
    t0 = performance.now();
    const viaRepo = A.loadIncremental(A.init<ShardDoc>(), largest);
    incrementalLoads.push(performance.now() - t0);
    A.free(viaRepo);
  }

  const result: ShardRunResult = {
    shards: shardCount,
    records: items.length,
    createMs,
    writeManyMs,
    closeMs,
    importMs: createMs + writeManyMs + closeMs,
    peakRssBytes,
    afterImport,
    coldWrites,
    warmWriteMs,
    cliEditIds,
    snapshots: {
      largestBytes: largest.length,
      largestRecords,
      meanBytes: totalBytes / urls.length,
      totalBytes,
      maxRecords,
      meanRecords: totalRecords / urls.length,
      loadLargestMs: median(loads),
      loadIncrementalLargestMs: median(incrementalLoads),
    },
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

try {
  await main();
} catch (err) {
  process.stderr.write(`shards-child: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
}
