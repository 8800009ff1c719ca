/**
 * Figure 6: the same rows written into catalogs of 64, 256 and 1024 shards, each count in a fresh
 * process (bench/shards-child.ts), side by side. docs/architecture.md cites this table for the
 * default of 256 shards.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Figure } from "./figures.js";
import { expectExit, parseJsonOutput, runChild } from "./proc.js";
import type { ShardRunResult } from "./shards-child.js";
import { fmtBytes, fmtInt, fmtMs, median, round } from "./util.js";

export const SHARD_COUNTS = [64, 256, 1024] as const;

export interface ShardOptions {
  /** dist/bench/shards-child.js */
  childScript: string;
  /** dist/src/cli/main.cjs */
  cli: string;
  file: string;
  records: number;
  scratch: string;
  keep: boolean;
  log: (message: string) => void;
}

export async function shardsFigure(options: ShardOptions): Promise<Figure> {
  const results: (ShardRunResult & { cliEditMs: number[] })[] = [];
  for (const shards of SHARD_COUNTS) {
    const home = join(options.scratch, `shards-${shards}`);
    mkdirSync(home, { recursive: true });
    options.log(`shards: ${shards} shards, up to ${options.records} records (fresh process)`);
    const run = expectExit(
      await runChild([process.execPath, options.childScript, "--file", options.file, "--records", String(options.records), "--shards", String(shards), "--home", home], { scratch: options.scratch }),
    );
    const result = parseJsonOutput<ShardRunResult>(run);
    // The same edit as figure 4, `shelf set` in a fresh process, on this shard count's catalog.
    const cliEditMs: number[] = [];
    for (const id of result.cliEditIds) {
      const edit = expectExit(await runChild([process.execPath, options.cli, "--home", home, "set", id, "summary=shelf bench cli edit", "--json"], { scratch: options.scratch }));
      if (parseJsonOutput<{ outcome: string }>(edit).outcome !== "updated") throw new Error(`shelf set ${id} did not update it`);
      cliEditMs.push(edit.wallMs);
    }
    results.push({ ...result, cliEditMs });
    if (!options.keep) rmSync(home, { recursive: true, force: true });
  }

  const col = (f: (r: ShardRunResult & { cliEditMs: number[] }) => string) => results.map(f);
  const med = (values: number[]) => median(values);
  const rows: [string, ...string[]][] = [
    ["records per shard: mean / max", ...col((r) => `${fmtInt(r.snapshots.meanRecords)} / ${fmtInt(r.snapshots.maxRecords)}`)],
    ["import: create + writeMany + close", ...col((r) => fmtMs(r.importMs))],
    ["  of which CatalogStore.create", ...col((r) => fmtMs(r.createMs))],
    ["  records/s", ...col((r) => fmtInt(r.records / (r.importMs / 1000)))],
    ["  peak RSS of the process", ...col((r) => fmtBytes(r.peakRssBytes))],
    ["CRDT chunks after import", ...col((r) => `${fmtBytes(r.afterImport.bytes)} / ${fmtInt(r.afterImport.chunks)}`)],
    ["database file after import", ...col((r) => fmtBytes(r.afterImport.fileBytes))],
    ["cold 1-record write (median of 3)", ...col((r) => fmtMs(med(r.coldWrites.map((w) => w.writeMs))))],
    ["  Instance.open + CatalogStore.open", ...col((r) => fmtMs(med(r.coldWrites.map((w) => w.openMs))))],
    ["warm 1-record write, shard loaded", ...col((r) => fmtMs(med(r.warmWriteMs)))],
    ["shelf set in a fresh process (median of 3)", ...col((r) => fmtMs(med(r.cliEditMs)))],
    ["CRDT bytes added by 1 edit", ...col((r) => fmtInt(med(r.coldWrites.map((w) => w.crdtBytesAdded))))],
    ["file bytes added by 1 edit", ...col((r) => fmtInt(med(r.coldWrites.map((w) => w.fileBytesAdded))))],
    ["largest shard snapshot (records)", ...col((r) => `${fmtBytes(r.snapshots.largestBytes)} (${fmtInt(r.snapshots.largestRecords)})`)],
    ["mean shard snapshot", ...col((r) => fmtBytes(r.snapshots.meanBytes))],
    ["all snapshots together", ...col((r) => fmtBytes(r.snapshots.totalBytes))],
    ["A.load(largest snapshot)", ...col((r) => fmtMs(r.snapshots.loadLargestMs))],
    ["A.loadIncremental(init, largest) (repo's way)", ...col((r) => fmtMs(r.snapshots.loadIncrementalLargestMs))],
  ];
  const notes = [
    "each shard count runs in its own fresh node process; the cold write opens a new Instance on the same home, so the shard document comes from SQLite (modules are already loaded in that process)",
    "cold write = repo creation + loading one shard from its chunks + the change + flush + materialize; warm write = the same for a record whose shard this process already loaded",
    "snapshot = Automerge.save of the shard after all edits; load times are the median of 5 in the (warm) child process; automerge-repo loads a stored document with loadIncremental into an empty document, which also computes patches",
    "shelf set = the CLI on this catalog, a fresh node process per edit, each record in a shard not touched since the import (wasm not warmed up, unlike the in-process cold write)",
  ];
  const dirty = results.filter((r) => r.afterImport.dirtyDocs > 0);
  if (dirty.length > 0) notes.push(`after import, crdt_dirty still listed documents (${dirty.map((r) => `${r.shards} shards: ${r.afterImport.dirtyDocs}`).join(", ")}): the next command will re-materialize them`);
  return {
    key: "shards",
    title: `6. shard-count comparison (in-process CatalogStore, first ${fmtInt(results[0]?.records ?? 0)} records)`,
    lines: [],
    table: { head: ["", ...SHARD_COUNTS.map((c) => `${c} shards`)], rows },
    notes,
    data: {
      records: options.records,
      runs: results.map((r) => ({
        ...r,
        createMs: round(r.createMs),
        writeManyMs: round(r.writeManyMs),
        closeMs: round(r.closeMs),
        importMs: round(r.importMs),
        coldWriteMedianMs: round(med(r.coldWrites.map((w) => w.writeMs))),
        warmWriteMedianMs: round(med(r.warmWriteMs)),
        cliEditMs: r.cliEditMs.map((v) => round(v)),
        cliEditMedianMs: round(med(r.cliEditMs)),
      })),
    },
  };
}
