/**
 * `shelf import tsv FILE`: loads a package list in the datasets' TSV format. Good rows are
 * written (only what changed), bad rows are reported with their line and reason, and the exit
 * code says whether anything was rejected.
 */
import { ShelfError } from "../errors.js";
import type { Progress, WriteCounts, WriteItem } from "../catalog/catalog-store.js";
import { readTsvRecords } from "../import/tsv.js";
import { getRecord } from "../view/queries.js";
import type { CatalogRecord, RecordPatch } from "../model/record.js";
import type { WriteOutcome } from "../model/crdt-record.js";
import { withStore, type GlobalOptions } from "./context.js";

export const IMPORT_FORMATS = ["tsv"] as const;

export interface ImportResult extends WriteCounts {
  format: string;
  source: string;
  dryRun: boolean;
  rejected: number;
  /** the first rejected rows, with their line numbers */
  rejects: { line: number; reason: string }[];
  ms: number;
}

const MAX_REPORTED_REJECTS = 100;

export async function importSource(
  format: string,
  source: string,
  options: GlobalOptions & { dryRun?: boolean; provider?: string },
  onProgress?: Progress,
): Promise<ImportResult> {
  if (!(IMPORT_FORMATS as readonly string[]).includes(format)) {
    throw new ShelfError("SHELF_E_USAGE", `unknown import format ${JSON.stringify(format)}`, `formats: ${IMPORT_FORMATS.join(", ")}`);
  }
  const started = performance.now();
  return withStore(options, async ({ instance, catalog, store }) => {
    const items: WriteItem[] = [];
    const rejects: { line: number; reason: string }[] = [];
    let rejected = 0;
    for await (const row of readTsvRecords(source, { provider: options.provider })) {
      if (row.ok) items.push(row.item);
      else if (++rejected <= MAX_REPORTED_REJECTS) rejects.push({ line: row.line, reason: row.reason });
    }
    let counts: WriteCounts;
    if (options.dryRun) {
      counts = { created: 0, updated: 0, unchanged: 0 };
      for (const item of items) counts[predictOutcome(getRecord(instance.db, catalog.catId, item.id), item.patch)]++;
    } else {
      counts = await store.writeMany(items, `import ${format}`, onProgress);
    }
    return { format, source, dryRun: options.dryRun === true, ...counts, rejected, rejects, ms: Math.round(performance.now() - started) };
  });
}

/** What writing `patch` would do to `record` as the view shows it (for --dry-run). */
function predictOutcome(record: CatalogRecord | undefined, patch: RecordPatch): WriteOutcome {
  if (!record) return "created";
  const differs =
    (["name", "version", "summary", "kind"] as const).some((f) => patch[f] !== undefined && patch[f] !== record[f]) ||
    Object.entries(patch.meta ?? {}).some(([k, v]) => JSON.stringify(v) !== JSON.stringify(record.meta[k]));
  return differs ? "updated" : "unchanged";
}
