/**
 * What writing a patch would do to a record as the view shows it, without Automerge: an import
 * stages only the rows that would change their record, and an edit that would change nothing is
 * answered from the view. It compares what `writeRecord` (crdt-record.ts) compares.
 */
import type { WriteOutcome } from "./crdt-record.js";
import type { CatalogRecord, RecordPatch } from "./record.js";

export function predictOutcome(record: CatalogRecord | undefined, patch: RecordPatch): WriteOutcome {
  if (!record) return "created";
  const has = (list: readonly string[], wanted: readonly string[] | undefined, present: boolean) => (wanted ?? []).every((label) => list.includes(label) === present);
  const same =
    (["name", "version", "summary", "kind"] as const).every((f) => patch[f] === undefined || patch[f] === record[f]) &&
    Object.entries(patch.meta ?? {}).every(([k, v]) => (v === undefined ? !(k in record.meta) : JSON.stringify(v) === JSON.stringify(record.meta[k]))) &&
    (patch.deleted === undefined || patch.deleted === record.deleted) &&
    has(record.tags, patch.addTags, true) &&
    has(record.tags, patch.removeTags, false) &&
    has(record.collections, patch.addCollections, true) &&
    has(record.collections, patch.removeCollections, false);
  return same ? "unchanged" : "updated";
}
