/**
 * Small helpers shared by the benchmark modules: statistics, a seeded random generator, number
 * formatting, and read-only looks into an instance's SQLite file.
 */
import Database from "better-sqlite3";
import { statSync } from "node:fs";
import { join } from "node:path";

/** The value at quantile q (0..1) of `values`, by the nearest-rank method. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const mean = (values: readonly number[]): number => (values.length === 0 ? NaN : values.reduce((s, v) => s + v, 0) / values.length);

/** mulberry32: a tiny, fast, seeded generator, so query sets are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

export const round = (value: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function fmtBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "n/a";
  const sign = bytes < 0 ? "-" : "";
  const b = Math.abs(bytes);
  if (b < 1024) return `${sign}${Math.round(b)} B`;
  if (b < 1024 ** 2) return `${sign}${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${sign}${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${sign}${(b / 1024 ** 3).toFixed(2)} GiB`;
}

export const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");

/** Where the instance's database lives in a shelf home (src/instance.ts: DB_FILE). */
export const dbPathOf = (home: string): string => join(home, "shelf.db");

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** shelf.db plus its -wal file: what the instance occupies on disk (the -shm index is excluded). */
export function dbFileBytes(home: string): number {
  const db = dbPathOf(home);
  return fileSize(db) + fileSize(`${db}-wal`);
}

export interface ChunkStats {
  /** sum(length(data)) over crdt_chunks */
  bytes: number;
  chunks: number;
  snapshots: number;
  incrementals: number;
}

/** CRDT chunk totals of an instance, read through a read-only connection that is closed again. */
export function chunkStats(home: string): ChunkStats {
  const db = new Database(dbPathOf(home), { readonly: true, fileMustExist: true });
  try {
    return chunkStatsOf(db);
  } finally {
    db.close();
  }
}

export function chunkStatsOf(db: Database.Database): ChunkStats {
  // Keys are "<documentId>/<snapshot|incremental>/<hash>/" (src/store/sqlite-storage-adapter.ts).
  const row = db
    .prepare<[], { bytes: number | null; chunks: number; snapshots: number | null; incrementals: number | null }>(
      `SELECT sum(length(data)) AS bytes, count(*) AS chunks,
              sum(key LIKE '%/snapshot/%') AS snapshots, sum(key LIKE '%/incremental/%') AS incrementals
       FROM crdt_chunks`,
    )
    .get()!;
  return { bytes: row.bytes ?? 0, chunks: row.chunks, snapshots: row.snapshots ?? 0, incrementals: row.incrementals ?? 0 };
}
