/**
 * Figure 7: conflicts on the catalog figure 1 imported. A second replica is made by copying the
 * home (with another instance id), the same field of the same records is written differently on
 * each side in-process, A's catalog is carried to B through a bundle with the real CLI, and then
 * the commands a person uses to look at conflicts are timed in fresh processes on B.
 */
import Database from "better-sqlite3";
import { cpSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CatalogStore, type WriteCounts, type WriteItem } from "../src/catalog/catalog-store.js";
import { DB_FILE, Instance } from "../src/instance.js";
import { shardIndex } from "../src/model/catalog-doc.js";
import type { BenchContext, Figure } from "./figures.js";
import { expectExit, parseJsonOutput, runChild } from "./proc.js";
import { dbFileBytes, dbPathOf, fmtBytes, fmtInt, fmtMs, median, pick, round, seededRandom } from "./util.js";

const CONFLICTS = 1000;
const entries = (n: number) => `${n} ${n === 1 ? "entry" : "entries"}`;
const RUNS = 5;
const REPLICA_B_ID = "bench-replica-b";

/**
 * Copies an instance's home: shelf.db and whichever of its -wal and -shm files exist. Only while
 * no process has the database open (the CLI commands before this have exited, and the in-process
 * figures closed their instances).
 */
function copyHome(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const suffix of ["", "-wal", "-shm"]) {
    const file = join(from, DB_FILE + suffix);
    if (existsSync(file)) cpSync(file, join(to, DB_FILE + suffix));
  }
}

/** One write per record, all in one writeMany, with the compiled modules in this process. */
async function writeVersions(home: string, ids: readonly string[], side: "a" | "b"): Promise<{ ms: number; counts: WriteCounts; instanceId: string; shards: number }> {
  const items: WriteItem[] = ids.map((id, n) => ({ id, patch: { version: `${side}-${n}` } }));
  const t = performance.now();
  const instance = Instance.open(home);
  let counts: WriteCounts;
  let shards: number;
  try {
    const store = await CatalogStore.open(instance, instance.catalog());
    shards = store.catalog.shardUrls.length;
    counts = await store.writeMany(items, "bench");
  } finally {
    await instance.close(); // flushes what is left: part of the cost
  }
  return { ms: performance.now() - t, counts, instanceId: instance.id, shards };
}

interface Timed {
  ms: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  stdoutBytes: number;
}

/** `runs` fresh processes of one command after one unreported run, so the file cache is warm. */
async function timeCommand(ctx: BenchContext, command: string[], runs: number, check: (stdout: string, run: Awaited<ReturnType<typeof runChild>>) => void): Promise<Timed> {
  expectExit(await runChild(command, { scratch: ctx.scratch }));
  const ms: number[] = [];
  let stdoutBytes = 0;
  for (let i = 0; i < runs; i++) {
    const run = expectExit(await runChild(command, { scratch: ctx.scratch }));
    check(run.stdout, run);
    ms.push(run.wallMs);
    stdoutBytes = Buffer.byteLength(run.stdout);
  }
  return { ms: ms.map((v) => round(v)), medianMs: round(median(ms)), minMs: round(Math.min(...ms)), maxMs: round(Math.max(...ms)), stdoutBytes };
}

interface ConflictsOutput {
  count: number;
  conflicts: { id: string; fields: { field: string; values: { value: unknown; by: string | null }[] }[] }[];
}

export async function conflictsFigure(ctx: BenchContext, wanted = CONFLICTS, runs = RUNS): Promise<Figure> {
  const homeA = ctx.home;
  const homeB = join(ctx.scratch, "replica-b");
  const bundle = join(ctx.scratch, "conflicts-a.bundle");
  const shelfAt = (home: string, ...args: string[]): string[] => [process.execPath, ctx.cli, "--home", home, ...args];

  // The records to conflict on: distinct ids drawn with a fixed seed, one left over for reference.
  const items = await ctx.rows();
  const allIds = [...new Set(items.map((it) => it.id))];
  const count = Math.min(wanted, allIds.length - 1);
  if (count < 1) throw new Error(`the catalog holds ${allIds.length} records: too few to make conflicts and keep one without`);
  const rand = seededRandom(0xc0f1);
  const chosen = new Set<string>();
  while (chosen.size < count) chosen.add(pick(rand, allIds));
  const ids = [...chosen];

  // 1. The second replica: the same instance file under another home and another instance id.
  ctx.log(`conflicts: copying ${homeA} to ${homeB}`);
  let t = performance.now();
  copyHome(homeA, homeB);
  const copyMs = performance.now() - t;
  const copiedBytes = dbFileBytes(homeB);
  const db = new Database(dbPathOf(homeB), { fileMustExist: true });
  try {
    const changed = db.prepare("UPDATE settings SET value = ? WHERE key = 'instance_id'").run(REPLICA_B_ID).changes;
    if (changed !== 1) throw new Error(`the copy at ${homeB} has no instance_id setting to change`);
  } finally {
    db.close();
  }

  // 2. The same field of the same records, written differently on each side.
  ctx.log(`conflicts: writing version of ${ids.length} records on A and on B (in-process writeMany)`);
  const writeA = await writeVersions(homeA, ids, "a");
  const writeB = await writeVersions(homeB, ids, "b");
  if (writeB.instanceId !== REPLICA_B_ID || writeA.instanceId === REPLICA_B_ID) throw new Error(`replica instance ids are ${writeA.instanceId} and ${writeB.instanceId}: they must differ`);
  for (const [side, w] of [["A", writeA], ["B", writeB]] as const) {
    if (w.counts.updated !== ids.length) throw new Error(`writeMany on ${side} updated ${w.counts.updated} of ${ids.length} records (created ${w.counts.created}, unchanged ${w.counts.unchanged})`);
  }

  // Exchange: A's catalog to B through a bundle, with the real CLI.
  ctx.log("conflicts: shelf export on A, shelf import-bundle on B");
  const exportRun = expectExit(await runChild(shelfAt(homeA, "export", bundle, "--json"), { scratch: ctx.scratch, rss: true }));
  const exported = parseJsonOutput<{ export: { documents: number; bytes: number } }>(exportRun).export;
  const bundleBytes = statSync(bundle).size;
  const importRun = expectExit(await runChild(shelfAt(homeB, "import-bundle", bundle, "--json"), { scratch: ctx.scratch, rss: true }));
  const imported = parseJsonOutput<{ importBundle: { newCatalog: boolean; documentsChanged: number; recordsChanged: number; records: number } }>(importRun).importBundle;
  if (imported.newCatalog) throw new Error("import-bundle on B added a new catalog instead of merging into the copied one");

  // 3. B must list exactly the chosen records, each with the two versions.
  const checkConflicts = (stdout: string) => {
    const out = JSON.parse(stdout) as ConflictsOutput;
    if (out.count !== ids.length || out.conflicts.length !== ids.length) throw new Error(`shelf conflicts on B lists ${out.count} records, expected ${ids.length}`);
    const stray = out.conflicts.filter((c) => !chosen.has(c.id));
    if (stray.length > 0) throw new Error(`shelf conflicts on B lists records that were not edited: ${stray.slice(0, 5).map((c) => c.id).join(", ")}`);
    const odd = out.conflicts.filter((c) => {
      const version = c.fields.find((f) => f.field === "version");
      return c.fields.length !== 1 || !version || version.values.length !== 2;
    });
    if (odd.length > 0) throw new Error(`${odd.length} conflicted records do not have exactly one conflicted field (version) with two values, e.g. ${JSON.stringify(odd[0])}`);
  };
  ctx.log(`conflicts: verifying and timing shelf conflicts --json on B (${runs} runs)`);
  const conflictsCmd = shelfAt(homeB, "conflicts", "--json");
  checkConflicts(expectExit(await runChild(conflictsCmd, { scratch: ctx.scratch })).stdout);

  // 4. The commands that show conflicts, in fresh processes on B.
  const conflicted = ids[0]!;
  const shard = shardIndex(conflicted, writeA.shards);
  // The reference record shares the conflicted one's shard, so history loads the same document.
  const reference = allIds.find((id) => !chosen.has(id) && shardIndex(id, writeA.shards) === shard) ?? allIds.find((id) => !chosen.has(id))!;
  const referenceSameShard = shardIndex(reference, writeA.shards) === shard;
  const historyEntries = { conflicted: 0, reference: 0 };
  const listing = await timeCommand(ctx, conflictsCmd, runs, (stdout) => checkConflicts(stdout));
  ctx.log(`conflicts: history and show of ${conflicted}, history of ${reference} (${runs} runs each)`);
  const historyConflicted = await timeCommand(ctx, shelfAt(homeB, "history", conflicted, "--json"), runs, (stdout) => {
    historyEntries.conflicted = (JSON.parse(stdout) as { count: number }).count;
  });
  let showConflictValues = 0;
  const show = await timeCommand(ctx, shelfAt(homeB, "show", conflicted, "--json"), runs, (stdout) => {
    const out = JSON.parse(stdout) as { conflicts: { fields: { values: unknown[] }[] } | null };
    showConflictValues = out.conflicts?.fields.reduce((s, f) => s + f.values.length, 0) ?? 0;
    if (showConflictValues !== 2) throw new Error(`shelf show ${conflicted} on B shows ${showConflictValues} competing values, expected 2`);
  });
  const historyReference = await timeCommand(ctx, shelfAt(homeB, "history", reference, "--json"), runs, (stdout) => {
    historyEntries.reference = (JSON.parse(stdout) as { count: number }).count;
  });
  const fileBytesB = dbFileBytes(homeB);
  rmSync(bundle, { force: true });

  const exchangeMs = exportRun.wallMs + importRun.wallMs;
  const timed = (label: string, d: Timed, extra = "") => [label, fmtMs(d.medianMs), fmtMs(d.minMs), fmtMs(d.maxMs), fmtBytes(d.stdoutBytes), extra];
  return {
    key: "conflicts",
    title: `7. conflicts (two replicas of the imported catalog, ${fmtInt(ids.length)} records with conflicting versions, exchanged by bundle)`,
    lines: [
      ["copy of the home (replica B)", `${fmtBytes(copiedBytes)} in ${fmtMs(copyMs)}`],
      ["in-process writeMany of version, A / B", `${fmtMs(writeA.ms)} / ${fmtMs(writeB.ms)} (${fmtInt(ids.length)} records each, open + write + close)`],
      ["exchange (CLI): export A + import-bundle B", `${fmtMs(exchangeMs)} (${fmtMs(exportRun.wallMs)} + ${fmtMs(importRun.wallMs)})`],
      ["  bundle", `${fmtBytes(bundleBytes)}, ${fmtInt(exported.documents)} documents`],
      ["  import-bundle on B", `${fmtInt(imported.documentsChanged)} documents and ${fmtInt(imported.recordsChanged)} records changed, ${fmtInt(imported.records)} in all`],
      ["  peak RSS: export / import-bundle", `${fmtBytes(exportRun.peakRssBytes)} / ${fmtBytes(importRun.peakRssBytes)} (${exportRun.rssMethod})`],
      ["shelf conflicts on B", `${fmtInt(ids.length)} records listed, as expected`],
      ["database B after the merge (shelf.db + -wal)", fmtBytes(fileBytesB)],
    ],
    table: {
      head: [`CLI on B, fresh process (median of ${runs})`, "median", "min", "max", "stdout", "result"],
      rows: [
        timed("shelf conflicts --json", listing, `${fmtInt(ids.length)} records`),
        timed("shelf history CONFLICTED --json", historyConflicted, entries(historyEntries.conflicted)),
        timed("shelf show CONFLICTED --json", show, `${showConflictValues} competing values`),
        timed("shelf history REFERENCE --json", historyReference, `${entries(historyEntries.reference)}, no conflict`),
      ],
    },
    notes: [
      `replica B is a file copy of A's home with instance_id set to ${REPLICA_B_ID}; each side wrote version = "a-<n>" / "b-<n>" to the same ${fmtInt(ids.length)} records (seeded choice), then A's catalog was merged into B with shelf export + shelf import-bundle`,
      `CONFLICTED = ${conflicted} (shard ${shard}); REFERENCE = ${reference}, a record without conflicts${referenceSameShard ? " in the same shard, so both histories read the same document" : " (no unconflicted record shares that shard)"}`,
      "each command had one unreported run first, so the OS file cache is equally warm for the measured runs",
      ...(ids.length < wanted ? [`the catalog holds ${fmtInt(allIds.length)} records, so ${fmtInt(ids.length)} conflicts were made instead of ${fmtInt(wanted)} (one record is kept without)`] : []),
    ],
    data: {
      records: ids.length,
      exchange: "cli",
      copy: { ms: round(copyMs), bytes: copiedBytes },
      writeA: { ms: round(writeA.ms), counts: writeA.counts, instanceId: writeA.instanceId },
      writeB: { ms: round(writeB.ms), counts: writeB.counts, instanceId: writeB.instanceId },
      exportMs: round(exportRun.wallMs),
      importBundleMs: round(importRun.wallMs),
      exchangeMs: round(exchangeMs),
      exportPeakRssBytes: exportRun.peakRssBytes,
      importBundlePeakRssBytes: importRun.peakRssBytes,
      bundleBytes,
      bundleDocuments: exported.documents,
      importBundle: imported,
      fileBytesB,
      conflictedId: conflicted,
      referenceId: reference,
      referenceSameShard,
      historyEntries,
      conflictsList: listing,
      historyConflicted,
      show,
      historyReference,
      sampleIds: ids.slice(0, 10),
    },
  };
}
