/**
 * Figures 1-5: import, search latency, cold start, edit cost and rebuild, all on one catalog that
 * the real CLI imported. Each figure returns its numbers (for --json) and the lines to print.
 */
import { performance } from "node:perf_hooks";
import type { WriteItem } from "../src/catalog/catalog-store.js";
import type { ImportSummary } from "../src/import/run-import.js";
import { Instance } from "../src/instance.js";
import { isNarrowQuery, searchRecords, toFtsPhrases } from "../src/view/queries.js";
import type { Db } from "../src/store/db.js";
import { expectExit, parseJsonOutput, runChild, type ChildRun } from "./proc.js";
import { chunkStats, dbFileBytes, fmtBytes, fmtInt, fmtMs, mean, median, pick, quantile, round, seededRandom } from "./util.js";

export interface Figure {
  key: string;
  title: string;
  /** label / value pairs */
  lines: [string, string][];
  /** an optional table under the lines */
  table?: { head: string[]; rows: string[][] };
  notes: string[];
  data: Record<string, unknown>;
}

export interface BenchContext {
  /** the project root (where dist/ is) */
  root: string;
  /** dist/src/cli/main.cjs */
  cli: string;
  /** scratch directory for GNU time's reports and the like */
  scratch: string;
  /** the instance home the CLI imports into */
  home: string;
  /** the TSV the CLI imports (the dataset, or its first --records rows) */
  datasetFile: string;
  /** the catalog's shard count (--shards), or shelf's default */
  shards?: number;
  /** the accepted rows of datasetFile, read on first use */
  rows: () => Promise<WriteItem[]>;
  log: (message: string) => void;
}

const shelf = (ctx: BenchContext, ...args: string[]): string[] => [process.execPath, ctx.cli, "--home", ctx.home, ...args];

// ---------------------------------------------------------------------------------------------
// 1. import

export interface ImportFigureData {
  initMs: number;
  wallMs: number;
  records: number;
  recordsPerSecond: number;
  result: Omit<ImportSummary, "rejects">;
  peakRssBytes?: number;
  rssMethod?: string;
  dbBytes: number;
  crdt: ReturnType<typeof chunkStats>;
}

export async function runImport(ctx: BenchContext): Promise<ImportFigureData> {
  ctx.log(`init: ${ctx.home}`);
  const init = expectExit(await runChild(shelf(ctx, "init", ...(ctx.shards !== undefined ? ["--shards", String(ctx.shards)] : []), "--json"), { scratch: ctx.scratch }));
  ctx.log(`import tsv ${ctx.datasetFile} (the whole dataset takes minutes)`);
  const run = await runChild(shelf(ctx, "import", "tsv", ctx.datasetFile, "--json"), { scratch: ctx.scratch, rss: true });
  // exit 1 with a result means some rows were rejected: still a completed import
  expectExit(run, [0, 1]);
  const { import: result } = parseJsonOutput<{ import: ImportSummary }>(run);
  const { rejects: _rejects, ...rest } = result;
  const records = result.added + result.updated + result.unchanged;
  return {
    initMs: init.wallMs,
    wallMs: run.wallMs,
    records,
    recordsPerSecond: records / (run.wallMs / 1000),
    result: rest,
    peakRssBytes: run.peakRssBytes,
    rssMethod: run.rssMethod,
    dbBytes: dbFileBytes(ctx.home),
    crdt: chunkStats(ctx.home),
  };
}

export function importFigure(d: ImportFigureData): Figure {
  const notes: string[] = [];
  if (d.result.rejected > 0) notes.push(`${d.result.rejected} rows were rejected by the importer and are not in the catalog`);
  return {
    key: "import",
    title: "1. import (CLI: shelf import tsv, fresh process, empty catalog)",
    lines: [
      ["records imported", `${fmtInt(d.records)} (added ${fmtInt(d.result.added)}, rejected ${fmtInt(d.result.rejected)})`],
      ["wall time", fmtMs(d.wallMs)],
      ["  of which inside the command (its own ms)", fmtMs(d.result.ms)],
      ["records/s (wall)", fmtInt(d.recordsPerSecond)],
      ["peak RSS of the import process", `${fmtBytes(d.peakRssBytes)} (${d.rssMethod})`],
      ["database after import (shelf.db + -wal)", fmtBytes(d.dbBytes)],
      ["  CRDT chunks", `${fmtBytes(d.crdt.bytes)} in ${fmtInt(d.crdt.chunks)} chunks (${d.crdt.snapshots} snapshots, ${d.crdt.incrementals} incrementals)`],
      ["  view and the rest", fmtBytes(d.dbBytes - d.crdt.bytes)],
      ["shelf init (for reference)", fmtMs(d.initMs)],
    ],
    notes,
    data: { ...d },
  };
}

// ---------------------------------------------------------------------------------------------
// 2. search latency, in-process

type QueryKind = "name" | "prefix" | "frequent" | "word" | "2-word" | "3-word";
const QUERY_KINDS: QueryKind[] = ["name", "prefix", "frequent", "word", "2-word", "3-word"];

interface Query {
  kind: QueryKind;
  text: string;
}

const words = (text: string | undefined): string[] => (text ?? "").normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** The `n` words that occur in the most summaries: the queries that match the most records. */
function frequentSummaryWords(items: readonly WriteItem[], n: number): string[] {
  const counts = new Map<string, number>();
  for (const item of items) for (const w of new Set(words(item.patch.summary))) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([w]) => w);
}

/**
 * `count` queries drawn from random rows with a fixed seed, the kinds in turn: name: a real
 * package name; prefix: the first 1-4 letters of a name or summary word (what a user has typed so
 * far); frequent: one of the 100 words found in most summaries; word: any summary word; 2-word and
 * 3-word: neighbouring words of a summary.
 */
export function makeQueries(items: readonly WriteItem[], count: number, seed: number): Query[] {
  const rand = seededRandom(seed);
  const frequent = frequentSummaryWords(items, 100);
  const queries: Query[] = [];
  const neighbours = (summary: string[], n: number): string | undefined => {
    if (summary.length < n) return undefined;
    const j = Math.floor(rand() * (summary.length - n + 1));
    return summary.slice(j, j + n).join(" ");
  };
  for (let i = 0; i < count; i++) {
    const kind = QUERY_KINDS[i % QUERY_KINDS.length]!;
    let text: string | undefined;
    for (let attempt = 0; attempt < 10_000 && text === undefined; attempt++) {
      const item = pick(rand, items);
      const summary = words(item.patch.summary);
      if (kind === "name") text = item.patch.name;
      else if (kind === "prefix") {
        const pool = [...words(item.patch.name), ...summary];
        if (pool.length > 0) {
          const w = pick(rand, pool);
          text = w.slice(0, 1 + Math.floor(rand() * Math.min(4, w.length)));
        }
      } else if (kind === "frequent") text = pick(rand, frequent);
      else if (kind === "word") text = summary.length > 0 ? pick(rand, summary) : undefined;
      else text = neighbours(summary, kind === "2-word" ? 2 : 3);
    }
    if (text === undefined) throw new Error(`could not draw a ${kind} query from the dataset`);
    queries.push({ kind, text });
  }
  return queries;
}

interface LatencySummary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  meanHits: number;
  zeroHits: number;
}

const summarize = (ms: number[], hits: number[]): LatencySummary => ({
  n: ms.length,
  p50: round(quantile(ms, 0.5), 3),
  p95: round(quantile(ms, 0.95), 3),
  p99: round(quantile(ms, 0.99), 3),
  max: round(Math.max(...ms), 3),
  mean: round(mean(ms), 3),
  meanHits: round(mean(hits), 1),
  zeroHits: hits.filter((h) => h === 0).length,
});

/**
 * The baseline: every match ranked by BM25 in one query, exact name first, as search did before it
 * was bounded. Its order is what narrow queries must keep.
 */
function rankEveryMatch(db: Db, catId: number, query: string): string[] {
  const phrases = toFtsPhrases(query);
  if (phrases.length === 0) return [];
  return db
    .prepare<unknown[], string>(
      `SELECT r.id FROM records_fts f JOIN records r ON r.rid = f.rowid
       WHERE records_fts MATCH ? AND r.cat_id = ? AND r.deleted = 0
       ORDER BY (lower(r.name) = lower(?)) DESC, bm25(records_fts, 10.0, 1.0, 4.0, 2.0), r.id LIMIT 20`,
    )
    .pluck()
    .all(phrases.join(" "), catId, query.normalize("NFKC").trim());
}

export async function searchFigure(ctx: BenchContext, count = 1000): Promise<Figure> {
  const items = await ctx.rows();
  const queries = makeQueries(items, count, 0x5eed);
  const warmups = makeQueries(items, 30, 0xbeef);
  ctx.log(`search: ${queries.length} queries in-process`);
  const instance = Instance.open(ctx.home);
  try {
    const catId = instance.catalog().catId;
    const time = (q: Query) => {
      const t = performance.now();
      const hits = searchRecords(instance.db, catId, q.text).length;
      return { ms: performance.now() - t, hits };
    };
    const first = time(warmups[0]!);
    for (const q of warmups.slice(1)) time(q);
    const ms: number[] = [];
    const hits: number[] = [];
    const byKind = new Map<QueryKind, { ms: number[]; hits: number[] }>(QUERY_KINDS.map((k) => [k, { ms: [], hits: [] }]));
    const slowest: { text: string; kind: QueryKind; ms: number; hits: number }[] = [];
    for (const q of queries) {
      const r = time(q);
      ms.push(r.ms);
      hits.push(r.hits);
      byKind.get(q.kind)!.ms.push(r.ms);
      byKind.get(q.kind)!.hits.push(r.hits);
      slowest.push({ text: q.text, kind: q.kind, ms: round(r.ms, 3), hits: r.hits });
    }
    slowest.sort((a, b) => b.ms - a.ms);
    const all = summarize(ms, hits);
    ctx.log("search: the same queries, every match ranked (the baseline)");
    const baselineMs: number[] = [];
    let narrow = 0;
    let sameOrder = 0;
    for (const q of queries) {
      const t = performance.now();
      const expected = rankEveryMatch(instance.db, catId, q.text);
      baselineMs.push(performance.now() - t);
      if (!isNarrowQuery(instance.db, toFtsPhrases(q.text))) continue;
      narrow++;
      if (JSON.stringify(searchRecords(instance.db, catId, q.text).map((r) => r.id)) === JSON.stringify(expected)) sameOrder++;
    }
    const baseline = summarize(baselineMs, hits);
    const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`;
    const kinds = Object.fromEntries(QUERY_KINDS.map((k) => [k, summarize(byKind.get(k)!.ms, byKind.get(k)!.hits)]));
    const row = (label: string, s: LatencySummary) => [label, String(s.n), fmtMs(s.p50), fmtMs(s.p95), fmtMs(s.p99), fmtMs(s.max), String(s.meanHits), String(s.zeroHits)];
    return {
      key: "search",
      title: `2. search latency (in-process searchRecords, limit 20, ${count} queries)`,
      lines: [
        ["p50 / p95 / p99 / max", `${fmtMs(all.p50)} / ${fmtMs(all.p95)} / ${fmtMs(all.p99)} / ${fmtMs(all.max)}`],
        [
          "baseline: every match ranked, p50 / p99 / max",
          `${fmtMs(baseline.p50)} / ${fmtMs(baseline.p99)} / ${fmtMs(baseline.max)} (bounded search: ${ratio(all.p50, baseline.p50)} / ${ratio(all.p99, baseline.p99)} / ${ratio(all.max, baseline.max)} of it)`,
        ],
        ["narrow queries (ranked by BM25)", `${narrow} of ${queries.length}; ${sameOrder} in the baseline's order`],
        ["first query after open (not counted)", fmtMs(first.ms)],
        ["slowest queries", slowest.slice(0, 3).map((s) => `${JSON.stringify(s.text)} ${fmtMs(s.ms)}`).join(", ")],
      ],
      table: { head: ["queries", "n", "p50", "p95", "p99", "max", "mean hits", "no hits"], rows: [...QUERY_KINDS.map((k) => row(k, kinds[k]!)), row("all", all)] },
      notes: [
        "every query goes through toFtsPhrases, which makes the last word a prefix match, as when a user types; prefix queries are a word's first 1-4 letters, frequent ones are among the 100 words found in most summaries",
        `${warmups.length} warm-up queries (another seed) ran first; times include statement preparation and row decoding`,
      ],
      data: { all, baseline, narrow, narrowInBaselineOrder: sameOrder, byKind: kinds, firstQueryMs: round(first.ms, 3), slowest: slowest.slice(0, 10), sample: QUERY_KINDS.map((k) => queries.filter((q) => q.kind === k).slice(0, 5)) },
    };
  } finally {
    await instance.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. cold start

export async function coldStartFigure(ctx: BenchContext, runs = 5): Promise<Figure> {
  ctx.log(`cold start: ${runs} runs each of shelf search and node -e 0`);
  const search = shelf(ctx, "search", "react", "--json");
  const bare = [process.execPath, "-e", "0"];
  // one unreported run each first, so the OS file cache is equally warm for all measured runs
  expectExit(await runChild(search, { scratch: ctx.scratch }));
  expectExit(await runChild(bare, { scratch: ctx.scratch }));
  const searchMs: number[] = [];
  const bareMs: number[] = [];
  let results = 0;
  for (let i = 0; i < runs; i++) {
    const s = expectExit(await runChild(search, { scratch: ctx.scratch }));
    results = parseJsonOutput<{ count: number }>(s).count;
    searchMs.push(s.wallMs);
    bareMs.push(expectExit(await runChild(bare, { scratch: ctx.scratch })).wallMs);
  }
  const rss = await runChild(search, { scratch: ctx.scratch, rss: true });
  const m = median(searchMs);
  const b = median(bareMs);
  return {
    key: "coldstart",
    title: `3. cold start (fresh process, median of ${runs})`,
    lines: [
      ["shelf search react --json", `${fmtMs(m)} (min ${fmtMs(Math.min(...searchMs))}, max ${fmtMs(Math.max(...searchMs))}; ${results} results)`],
      ["node -e 0", `${fmtMs(b)} (min ${fmtMs(Math.min(...bareMs))}, max ${fmtMs(Math.max(...bareMs))})`],
      ["shelf's own share", fmtMs(m - b)],
      ["peak RSS of shelf search", `${fmtBytes(rss.peakRssBytes)} (${rss.rssMethod})`],
    ],
    notes: ["runs alternate between the two commands; one unreported run of each came first"],
    data: { searchMs: searchMs.map((v) => round(v)), nodeMs: bareMs.map((v) => round(v)), searchMedianMs: round(m), nodeMedianMs: round(b), results, searchPeakRssBytes: rss.peakRssBytes },
  };
}

// ---------------------------------------------------------------------------------------------
// 4. edit cost

export async function editFigure(ctx: BenchContext, edits = 5): Promise<Figure> {
  const items = await ctx.rows();
  const rand = seededRandom(0xed17);
  const chosen = new Set<WriteItem>();
  while (chosen.size < Math.min(edits, items.length)) chosen.add(pick(rand, items));
  ctx.log(`edit: shelf set on ${chosen.size} records`);
  const rows: { id: string; wallMs: number; crdtBytesAdded: number; chunksAdded: number; fileBytesAdded: number; outcome: string }[] = [];
  let i = 0;
  // A value of this run's own: a home copied from an earlier run holds that run's values already.
  const runTag = Date.now().toString(36);
  const setSummary = async (id: string, summary: string) => {
    const before = chunkStats(ctx.home);
    const fileBefore = dbFileBytes(ctx.home);
    const run: ChildRun = expectExit(await runChild(shelf(ctx, "set", id, `summary=${summary}`, "--json"), { scratch: ctx.scratch }));
    const { outcome } = parseJsonOutput<{ outcome: string }>(run);
    const after = chunkStats(ctx.home);
    return { id, wallMs: round(run.wallMs), crdtBytesAdded: after.bytes - before.bytes, chunksAdded: after.chunks - before.chunks, fileBytesAdded: dbFileBytes(ctx.home) - fileBefore, outcome };
  };
  const summaries = new Map<string, string>();
  for (const item of chosen) {
    summaries.set(item.id, `shelf bench edit ${i++} of run ${runTag} (${item.id})`);
    rows.push(await setSummary(item.id, summaries.get(item.id)!));
  }
  // The same edits again: each changes nothing, and is answered from the view.
  const again = [];
  for (const [id, summary] of summaries) again.push(await setSummary(id, summary));
  const notes: string[] = [];
  const unexpected = [...rows.filter((r) => r.outcome !== "updated"), ...again.filter((r) => r.outcome !== "unchanged" || r.crdtBytesAdded !== 0)];
  if (unexpected.length > 0) notes.push(`unexpected outcomes: ${unexpected.map((r) => `${r.id}: ${r.outcome}, ${r.crdtBytesAdded} CRDT bytes`).join("; ")}`);
  notes.push("the database grows in whole pages and WAL checkpoints, so file growth per edit is lumpy; CRDT bytes are the edit's own cost");
  return {
    key: "edit",
    title: `4. edit cost (CLI: shelf set ID summary=..., ${rows.length} different records)`,
    lines: [
      ["wall time, median", fmtMs(median(rows.map((r) => r.wallMs)))],
      ["CRDT bytes added, median", fmtBytes(median(rows.map((r) => r.crdtBytesAdded)))],
      ["database file bytes added, median", fmtBytes(median(rows.map((r) => r.fileBytesAdded)))],
      ["the same edit again (changes nothing), wall median", fmtMs(median(again.map((r) => r.wallMs)))],
    ],
    table: { head: ["record", "wall", "CRDT +bytes", "chunks +", "file +bytes"], rows: rows.map((r) => [r.id, fmtMs(r.wallMs), fmtInt(r.crdtBytesAdded), String(r.chunksAdded), fmtInt(r.fileBytesAdded)]) },
    notes,
    data: {
      edits: rows,
      medianWallMs: median(rows.map((r) => r.wallMs)),
      medianCrdtBytesAdded: median(rows.map((r) => r.crdtBytesAdded)),
      medianFileBytesAdded: median(rows.map((r) => r.fileBytesAdded)),
      unchangedAgain: again,
      medianUnchangedWallMs: median(again.map((r) => r.wallMs)),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 5. rebuild

export async function rebuildFigure(ctx: BenchContext): Promise<Figure> {
  ctx.log("rebuild");
  const crdtBefore = chunkStats(ctx.home);
  const fileBefore = dbFileBytes(ctx.home);
  const run = expectExit(await runChild(shelf(ctx, "rebuild", "--json"), { scratch: ctx.scratch, rss: true }));
  const { rebuild } = parseJsonOutput<{ rebuild: { ms: number; records: number; deleted: number } }>(run);
  const crdtAfter = chunkStats(ctx.home);
  const notes: string[] = [];
  if (crdtAfter.bytes !== crdtBefore.bytes || crdtAfter.chunks !== crdtBefore.chunks) {
    notes.push(`rebuild changed the CRDT chunks (${fmtBytes(crdtBefore.bytes)} in ${crdtBefore.chunks} -> ${fmtBytes(crdtAfter.bytes)} in ${crdtAfter.chunks}); it should only read them`);
  }
  return {
    key: "rebuild",
    title: "5. rebuild (CLI: shelf rebuild)",
    lines: [
      ["wall time", fmtMs(run.wallMs)],
      ["  of which the rebuild itself (its own ms)", fmtMs(rebuild.ms)],
      ["records", fmtInt(rebuild.records)],
      ["records/s (wall)", fmtInt(rebuild.records / (run.wallMs / 1000))],
      ["peak RSS", `${fmtBytes(run.peakRssBytes)} (${run.rssMethod})`],
      ["database file change", fmtBytes(dbFileBytes(ctx.home) - fileBefore)],
    ],
    notes,
    data: { wallMs: round(run.wallMs), ms: rebuild.ms, records: rebuild.records, peakRssBytes: run.peakRssBytes, crdtBefore, crdtAfter, fileBytesBefore: fileBefore, fileBytesAfter: dbFileBytes(ctx.home) },
  };
}
