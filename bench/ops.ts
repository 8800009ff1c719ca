/**
 * Figure 13, operations per record: the dataset's rows written into 256 shards, in-process, by
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

/** Writes every shard from the empty shard document CatalogStore.create makes; counts ops and bytes after the clock. */
function writeShards(shards: WriteItem[][], write: ShardWriter, onDoc?: (doc: A.Doc<ShardDoc>) => void): Run {
  const empty = A.save(A.from<{ records: ShardDoc["records"] }>({ records: {} }));
  let cpuMs = 0;
  let wallMs = 0;
  let ops = 0;
  let bytes = 0;
  for (const items of shards) {
    const base = A.load<ShardDoc>(empty);
    const cpu = process.cpuUsage();
    const t = performance.now();
    const doc = write(base, items);
    wallMs += performance.now() - t;
    cpuMs += cpuMsSince(cpu);
    ops += A.decodeChange(A.getLastLocalChange(doc)!).ops.length;
    bytes += A.save(doc).length;
    onDoc?.(doc);
    A.free(doc);
  }
  return { cpuMs, wallMs, ops, bytes };
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
  // Warm-up: Automerge's WebAssembly and the JIT, on a few shards, so the first runner is not charged for them.
  for (const write of Object.values(WRITERS)) writeShards(shards.slice(0, 8), write);

  o.log(`ops: ${items.length} records in ${shards.length} shards: raw Automerge (the floor)`);
  const floor = writeShards(shards, WRITERS.floor);
  o.log("ops: the record model (writeRecord)");
  // The log scan a whole-shard materialization adds for each record's last edit, timed on the model's shards.
  const scan = { cpuMs: 0, loadCpuMs: 0 };
  const model = writeShards(shards, WRITERS.model, (doc) => {
    let cpu = process.cpuUsage();
    A.free(A.load(A.save(doc)));
    scan.loadCpuMs += cpuMsSince(cpu);
    cpu = process.cpuUsage();
    scanLog(doc);
    scan.cpuMs += cpuMsSince(cpu);
  });
  o.log("ops: the floor with updatedAt / updatedBy keys");
  const stampKeys = writeShards(shards, WRITERS.stampKeys);
  o.log("ops: CatalogStore.writeMany into a fresh catalog");
  const path = await writePath(join(o.scratch, "ops-home"), items);

  const n = items.length;
  const usPer = (ms: number) => `${round((ms * 1000) / n, 1)} us`;
  const ratio = (r: Run, key: "cpuMs" | "wallMs") => `${round(r[key] / floor[key], 2)}x`;
  const row = (label: string, r: Run): string[] => [
    label,
    Number.isNaN(r.ops) ? "-" : round(r.ops / n, 2).toString(),
    `${fmtMs(r.cpuMs)} (${usPer(r.cpuMs)})`,
    ratio(r, "cpuMs"),
    fmtMs(r.wallMs),
    ratio(r, "wallMs"),
    Number.isNaN(r.bytes) ? "-" : fmtBytes(r.bytes),
  ];
  const data = { records: n, shards: shards.length, floor, model, stampKeys, writePath: path, logScanCpuMs: scan.cpuMs, shardLoadCpuMs: scan.loadCpuMs };
  return {
    key: "ops",
    title: `13. ops: operations per record and write cost against raw Automerge (${fmtInt(n)} records, ${shards.length} shards, in-process)`,
    lines: [
      ["record model / floor, CPU", ratio(model, "cpuMs")],
      ["whole write path / floor, CPU", ratio(path, "cpuMs")],
      ["last-edit log scan of every shard (full materialization)", `${fmtMs(scan.cpuMs)} CPU, against ${fmtMs(scan.loadCpuMs)} to load the same shards`],
    ],
    table: {
      head: ["writer", "ops/record", "CPU (per record)", "ratio", "wall", "ratio", "saved shards"],
      rows: [
        row("raw Automerge, one change per shard (floor)", floor),
        row("record model: writeRecord", model),
        row("whole path: CatalogStore.writeMany", path),
        row("floor + updatedAt/updatedBy keys", stampKeys),
      ],
    },
    notes: ["CPU time is the process's (all its threads); wall time includes waiting for the CPU on a busy machine", "whole path: the change, flush to SQLite and materialized view, CatalogStore's store recycling included"],
    data,
  };
}
