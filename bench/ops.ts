/**
 * Figure 15, operations per record: the dataset's rows written into 256 shards, in-process, by
 *   - the floor: raw Automerge, one change per shard that puts each record's values (the same flat
 *     keys and scalars shelf stores) without reading anything first;
 *   - the record model: one change per shard through writeRecord, as CatalogStore.writeMany makes it;
 *   - the whole write path: CatalogStore.writeMany into a fresh catalog (the change, the flush to
 *     SQLite and the materialized view);
 *   - the floor with updatedAt / updatedBy keys, as records were written before their last edit
 *     came from the change log (what the two keys cost).
 * Each is timed as CPU time (which the machine's other load distorts least) and wall time, with
 * its ratio to the floor of the same run. Operations are counted from the changes themselves.
 */
import * as A from "@automerge/automerge";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CatalogStore, type WriteItem } from "../src/catalog/catalog-store.js";
import { Instance } from "../src/instance.js";
import { changeMessage } from "../src/model/change-message.js";
import { DEFAULT_SHARD_COUNT, shardIndex } from "../src/model/catalog-doc.js";
import { fieldKey, writeRecord, type ShardDoc } from "../src/model/crdt-record.js";
import { scanLog } from "../src/model/record-log.js";
import type { Figure } from "./figures.js";
import { fmtBytes, fmtInt, fmtMs, round } from "./util.js";

export interface OpsOptions {
  scratch: string;
  rows: () => Promise<WriteItem[]>;
  log: (message: string) => void;
}

interface Run {
  cpuMs: number;
  wallMs: number;
  ops: number;
  bytes: number;
}

type ShardWriter = (doc: A.Doc<ShardDoc>, items: WriteItem[]) => A.Doc<ShardDoc>;

const STAMP = { at: "2026-11-30T12:00:00.000Z", by: "bench-3f9a2c" };
const OPTIONS = { message: changeMessage(STAMP, "import tsv") };
const imm = (s: string) => new A.ImmutableString(s);

/** The keys and values shelf stores for a row, written blindly (the rows only create records). */
function putValues(records: ShardDoc["records"], { id, patch }: WriteItem, stampKeys: boolean): void {
  records[fieldKey(id, "name")] = imm(patch.name!);
  if (patch.version !== undefined) records[fieldKey(id, "version")] = imm(patch.version);
  if (patch.summary !== undefined) records[fieldKey(id, "summary")] = imm(patch.summary);
  for (const [key, value] of Object.entries(patch.meta ?? {})) records[fieldKey(id, `meta.${key}`)] = imm(JSON.stringify(value));
  if (stampKeys) {
    records[fieldKey(id, "updatedAt")] = imm(STAMP.at);
    records[fieldKey(id, "updatedBy")] = imm(STAMP.by);
  }
}

const WRITERS: Record<"floor" | "model" | "stampKeys", ShardWriter> = {
  floor: (doc, items) => A.change(doc, OPTIONS, (d) => items.forEach((item) => putValues(d.records, item, false))),
  model: (doc, items) => A.change(doc, OPTIONS, (d) => items.forEach((item) => writeRecord(d, item.id, item.patch, STAMP, "allow"))),
  stampKeys: (doc, items) => A.change(doc, OPTIONS, (d) => items.forEach((item) => putValues(d.records, item, true))),
};

function byShard(items: WriteItem[]): WriteItem[][] {
  const shards: WriteItem[][] = Array.from({ length: DEFAULT_SHARD_COUNT }, () => []);
  for (const item of items) shards[shardIndex(item.id, DEFAULT_SHARD_COUNT)]!.push(item);
  return shards.filter((s) => s.length > 0);
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

type WriterName = keyof typeof WRITERS;

interface ShardRuns {
  runs: Record<WriterName, Run>;
  /** A.save of the floor's shards: the bytes a store has to write, beyond the change */
  saveCpuMs: number;
  /** loading the record model's shards, and scanning their logs for each record's last edit */
  loadCpuMs: number;
  scanCpuMs: number;
}

/**
 * Writes every shard, from the empty shard document CatalogStore.create makes, with every writer
 * in turn (the order rotating from shard to shard), so that a busy machine's ups and downs fall on
 * all of them alike. Operations and bytes are counted after the clock.
 */
function writeShards(shards: WriteItem[][]): ShardRuns {
  const empty = A.save(A.from<{ records: ShardDoc["records"] }>({ records: {} }));
  const names = Object.keys(WRITERS) as WriterName[];
  const runs = Object.fromEntries(names.map((name) => [name, { cpuMs: 0, wallMs: 0, ops: 0, bytes: 0 }])) as Record<WriterName, Run>;
  const extra = { saveCpuMs: 0, loadCpuMs: 0, scanCpuMs: 0 };
  const timed = (f: () => void) => {
    const cpu = process.cpuUsage();
    f();
    return cpuMsSince(cpu);
  };
  shards.forEach((items, i) => {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length]!;
      const base = A.load<ShardDoc>(empty);
      const cpu = process.cpuUsage();
      const t = performance.now();
      const doc = WRITERS[name](base, items);
      runs[name].wallMs += performance.now() - t;
      runs[name].cpuMs += cpuMsSince(cpu);
      runs[name].ops += A.decodeChange(A.getLastLocalChange(doc)!).ops.length;
      let saved: Uint8Array = new Uint8Array();
      const saveMs = timed(() => void (saved = A.save(doc)));
      runs[name].bytes += saved.length;
      if (name === "floor") extra.saveCpuMs += saveMs;
      if (name === "model") {
        extra.loadCpuMs += timed(() => A.free(A.load(saved)));
        extra.scanCpuMs += timed(() => void scanLog(A.getBackend(doc)));
      }
      A.free(doc);
    }
  });
  return { runs, ...extra };
}

async function writePath(home: string, items: WriteItem[]): Promise<Run> {
  mkdirSync(home, { recursive: true });
  const instance = Instance.open(home, { create: true });
  try {
    const store = await CatalogStore.create(instance, "bench-ops");
    const cpu = process.cpuUsage();
    const t = performance.now();
    await store.writeMany(items, "import tsv");
    await store.flush();
    return { cpuMs: cpuMsSince(cpu), wallMs: performance.now() - t, ops: NaN, bytes: NaN };
  } finally {
    await instance.close();
  }
}

export async function opsFigure(o: OpsOptions): Promise<Figure> {
  const items = await o.rows();
  const shards = byShard(items);
  // Warm-up: Automerge's WebAssembly and the JIT, on a few shards, so no writer is charged for them.
  writeShards(shards.slice(0, 8));

  o.log(`ops: ${items.length} records in ${shards.length} shards: raw Automerge (the floor), the record model, the floor with stamp keys`);
  const { runs, saveCpuMs, loadCpuMs, scanCpuMs } = writeShards(shards);
  const { floor, model, stampKeys } = runs;
  const floorSaved: Run = { cpuMs: floor.cpuMs + saveCpuMs, wallMs: NaN, ops: floor.ops, bytes: floor.bytes };
  o.log("ops: CatalogStore.writeMany into a fresh catalog");
  const path = await writePath(join(o.scratch, "ops-home"), items);

  const n = items.length;
  const usPer = (ms: number) => `${round((ms * 1000) / n, 1)} us`;
  const ratio = (r: Run, key: "cpuMs" | "wallMs") => (Number.isNaN(r[key]) ? "-" : `${round(r[key] / floor[key], 2)}x`);
  const row = (label: string, r: Run): string[] => [
    label,
    Number.isNaN(r.ops) ? "-" : round(r.ops / n, 2).toString(),
    `${fmtMs(r.cpuMs)} (${usPer(r.cpuMs)})`,
    ratio(r, "cpuMs"),
    Number.isNaN(r.wallMs) ? "-" : fmtMs(r.wallMs),
    ratio(r, "wallMs"),
    Number.isNaN(r.bytes) ? "-" : fmtBytes(r.bytes),
  ];
  const data = { records: n, shards: shards.length, floor, floorSaveCpuMs: saveCpuMs, model, stampKeys, writePath: path, logScanCpuMs: scanCpuMs, shardLoadCpuMs: loadCpuMs };
  return {
    key: "ops",
    title: `15. ops: operations per record and write cost against raw Automerge (${fmtInt(n)} records, ${shards.length} shards, in-process)`,
    lines: [
      ["record model / floor, CPU", ratio(model, "cpuMs")],
      ["whole write path / floor, CPU", ratio(path, "cpuMs")],
      ["whole write path / (floor + A.save), CPU", `${round(path.cpuMs / floorSaved.cpuMs, 2)}x`],
      ["last-edit log scan of every shard (full materialization)", `${fmtMs(scanCpuMs)} CPU, against ${fmtMs(loadCpuMs)} to load the same shards`],
    ],
    table: {
      head: ["writer", "ops/record", "CPU (per record)", "ratio", "wall", "ratio", "saved shards"],
      rows: [
        row("raw Automerge, one change per shard (floor)", floor),
        row("floor + A.save of each shard", floorSaved),
        row("record model: writeRecord", model),
        row("whole path: CatalogStore.writeMany", path),
        row("floor + updatedAt/updatedBy keys", stampKeys),
      ],
    },
    notes: ["CPU time is the process's (all its threads); wall time includes waiting for the CPU on a busy machine", "whole path: the change, flush to SQLite and materialized view, CatalogStore's store recycling included"],
    data,
  };
}
