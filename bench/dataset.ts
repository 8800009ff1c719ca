/**
 * The benchmark's input: the shared npm dataset when it is present, else the committed sample;
 * cut to its first N rows on request, and read into the same write items `shelf import tsv` makes.
 */
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { once } from "node:events";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import type { WriteItem } from "../src/catalog/catalog-store.js";
import { readTsvRecords } from "../src/import/tsv.js";

export interface DatasetChoice {
  /** the file as found (may be gzip) */
  path: string;
  kind: "full" | "sample" | "explicit";
  /** why this file was chosen, for the report */
  note: string;
}

/**
 * --dataset FILE, else $SHELF_BENCH_DATASET, else the shared dataset (beside the project as CI lays
 * it out, or at /work/shared), else fixtures/npm-sample.tsv.
 */
export function chooseDataset(root: string, explicit?: string): DatasetChoice {
  if (explicit) return { path: resolve(explicit), kind: "explicit", note: "given with --dataset" };
  if (process.env.SHELF_BENCH_DATASET) return { path: resolve(process.env.SHELF_BENCH_DATASET), kind: "explicit", note: "given by $SHELF_BENCH_DATASET" };
  const candidates = [join(dirname(root), "shared", "datasets", "npm-packages.tsv.gz"), "/work/shared/datasets/npm-packages.tsv.gz"];
  for (const path of candidates) {
    if (existsSync(path)) return { path, kind: "full", note: "the shared npm dataset" };
  }
  return { path: join(root, "fixtures", "npm-sample.tsv"), kind: "sample", note: `the shared dataset is absent (looked at ${candidates.join(", ")}); using the committed 300-row sample` };
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Writes the header and the first `rows` data lines of `source` to `target`, byte for byte
 * (lines are split on \n only, so the importer sees exactly what it would in the original).
 * Returns the number of data lines written (fewer when the file is shorter).
 */
export async function cutDataset(source: string, target: string, rows: number): Promise<number> {
  const file = createReadStream(source);
  const input: Readable = (await isGzip(source)) ? file.pipe(createGunzip()) : file;
  const output = createWriteStream(target);
  const wanted = rows + 1; // the header line
  let lines = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      while (lines < wanted) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl === -1 ? chunk.length : nl + 1;
        if (!output.write(chunk.subarray(start, end))) await once(output, "drain");
        if (nl === -1) break;
        lines++;
        start = end;
      }
      if (lines >= wanted) break;
    }
  } finally {
    input.destroy();
    file.destroy();
    output.end();
    await once(output, "finish");
  }
  return Math.max(0, lines - 1);
}

export interface DatasetRows {
  items: WriteItem[];
  rejected: number;
}

/** The accepted rows of a TSV as the importer parses them (at most `limit`). */
export async function readItems(path: string, limit = Infinity): Promise<DatasetRows> {
  const items: WriteItem[] = [];
  let rejected = 0;
  if (limit <= 0) return { items, rejected };
  for await (const row of readTsvRecords(path)) {
    if (row.ok) {
      items.push(row.item);
      if (items.length >= limit) break;
    } else rejected++;
  }
  return { items, rejected };
}
