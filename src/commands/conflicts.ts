/**
 * resolve and history: settling what merging produced, and reading a record's changes. Both open
 * the CRDT store. (`shelf conflicts` reads the view alone: it lives in read.ts.)
 */
import { ShelfError } from "../errors.js";
import { isConflictField } from "../model/conflicts.js";
import { recordHistory, type HistoryEntry } from "../model/history.js";
import { validateId, validatePatch, type JsonValue, type RecordPatch } from "../model/record.js";
import { getRecord, getRecordConflicts } from "../view/queries.js";
import type { CatalogRecord } from "../model/record.js";
import type { RecordConflicts } from "../model/conflicts.js";
import { withStore, type GlobalOptions } from "./context.js";

export interface ResolveOptions extends GlobalOptions {
  pick?: number;
  value?: string;
  restore?: boolean;
}

export interface ResolveResult {
  id: string;
  field: string;
  value: JsonValue;
  record: CatalogRecord;
  conflicts: RecordConflicts | undefined;
}

/**
 * Settles one field with one of its competing values (--pick N) or a new one (--value V), or an
 * edited-while-deleted record by restoring it (--restore).
 */
export async function resolve(id: string, field: string | undefined, options: ResolveOptions): Promise<ResolveResult> {
  validateId(id);
  const given = [options.pick !== undefined, options.value !== undefined, options.restore === true].filter(Boolean).length;
  if (given !== 1) throw new ShelfError("SHELF_E_USAGE", "say how to settle it: --pick N, --value V, or --restore", "`shelf show ID` lists the competing values and their numbers");
  if (options.restore) {
    if (field !== undefined && field !== "deleted") throw new ShelfError("SHELF_E_USAGE", "--restore settles the record, not a field", `run \`shelf resolve ${id} --restore\``);
    field = "deleted";
  }
  if (field === undefined) throw new ShelfError("SHELF_E_USAGE", "which field? `shelf resolve ID FIELD --pick N | --value V`", "`shelf conflicts` lists the conflicted fields");
  if (!isConflictField(field)) throw new ShelfError("SHELF_E_INVALID_FIELD", `${JSON.stringify(field)} is not a field that can conflict`, "fields: name, version, summary, kind, deleted, meta.KEY");
  const chosenField = field;
  return withStore(options, async ({ instance, catalog, store }) => {
    const current = getRecordConflicts(instance.db, catalog.catId, id);
    let value: JsonValue;
    if (options.restore) value = false;
    else if (options.pick !== undefined) {
      const candidates = current?.fields.find((f) => f.field === chosenField)?.values ?? [];
      const picked = candidates.find((v) => v.n === options.pick);
      if (!picked) {
        throw new ShelfError("SHELF_E_USAGE", candidates.length ? `${chosenField} of ${id} has no value number ${options.pick} (it has 1-${candidates.length})` : `${chosenField} of ${id} has no conflict to pick from`, "`shelf show ID` lists the competing values; --value V writes a new one");
      }
      value = picked.value;
    } else value = parseValue(chosenField, options.value!);
    await store.resolve(id, chosenField, value);
    const record = getRecord(instance.db, catalog.catId, id);
    if (!record) throw new ShelfError("SHELF_E_INTERNAL", `record ${id} was resolved but is missing from the view`);
    return { id, field: chosenField, value, record, conflicts: getRecordConflicts(instance.db, catalog.catId, id) };
  });
}

/** A value typed for a field: validated like any edit; "true"/"false" for deleted. */
function parseValue(field: string, text: string): JsonValue {
  if (field === "deleted") {
    if (text !== "true" && text !== "false") throw new ShelfError("SHELF_E_INVALID_FIELD", `deleted must be true or false, got ${JSON.stringify(text)}`);
    return text === "true";
  }
  const patch: RecordPatch = field.startsWith("meta.") ? { meta: { [field.slice(5)]: text } } : { [field]: text };
  validatePatch(patch);
  return text;
}

export interface HistoryResult {
  id: string;
  entries: HistoryEntry[];
}

export async function history(id: string, options: GlobalOptions): Promise<HistoryResult> {
  validateId(id);
  return withStore(options, async ({ instance, catalog, store }) => {
    if (!getRecord(instance.db, catalog.catId, id)) {
      throw new ShelfError("SHELF_E_RECORD_NOT_FOUND", `no record ${id} in catalog ${catalog.name}`, "`shelf search WORDS` finds records by name and summary");
    }
    return { id, entries: await store.readShard(id, (core) => recordHistory(core, id)) };
  });
}
