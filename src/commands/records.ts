/**
 * Record edits: add, set, tag, collect, rm, restore. Each parses its arguments into a RecordPatch
 * and hands it to the catalog store; the store validates it and skips what would change nothing.
 * An edit the view shows would change nothing loads no shard at all.
 * When a daemon runs on the home, the edit is handed to it instead (src/sync/daemon-write.ts): it
 * holds Automerge and the connections already, so the command loads neither.
 */
import { ShelfError } from "../errors.js";
import { SETTABLE_FIELDS, validateId, validatePatch, type JsonValue, type RecordKind, type RecordPatch } from "../model/record.js";
import type { WriteOutcome } from "../model/crdt-record.js";
import { getRecord } from "../view/queries.js";
import { unchangedInView } from "../view/unchanged-edit.js";
import type { CatalogRecord } from "../model/record.js";
import { resolveHome } from "../instance.js";
import type { Db } from "../store/db.js";
import { withCatalog, withStore, type GlobalOptions } from "./context.js";

export interface EditResult {
  id: string;
  outcome: WriteOutcome;
  record: CatalogRecord;
}

export interface AddOptions extends GlobalOptions {
  name: string;
  kind?: string;
  version?: string;
  summary?: string;
  tag?: string[];
  collection?: string[];
  meta?: string[];
}

export async function addRecord(id: string, options: AddOptions): Promise<EditResult> {
  validateId(id);
  const meta: Record<string, JsonValue> = {};
  for (const assignment of options.meta ?? []) {
    const { key, value, json } = parseAssignment(assignment, "--meta");
    meta[key] = json ? parseJson(key, value) : value;
  }
  const patch: RecordPatch = {
    name: options.name,
    ...(options.kind !== undefined ? { kind: options.kind as RecordKind } : {}),
    ...(options.version !== undefined ? { version: options.version } : {}),
    ...(options.summary !== undefined ? { summary: options.summary } : {}),
    ...(options.tag ? { addTags: options.tag } : {}),
    ...(options.collection ? { addCollections: options.collection } : {}),
    ...(options.meta ? { meta } : {}),
  };
  return edit(id, patch, "require", "add", options);
}

/** `field=value` assignments; `meta.KEY=text` sets a string, `meta.KEY:=JSON` any JSON value. */
export function parseSetAssignments(assignments: string[]): RecordPatch {
  if (assignments.length === 0) throw new ShelfError("SHELF_E_USAGE", "nothing to set", "pass one or more field=value, e.g. `shelf set npm:react version=19.0.0`");
  const patch: RecordPatch = {};
  for (const assignment of assignments) {
    const { key, value, json } = parseAssignment(assignment, "set");
    if (key.startsWith("meta.")) {
      const metaKey = key.slice("meta.".length);
      patch.meta = { ...patch.meta, [metaKey]: json ? parseJson(metaKey, value) : value };
    } else if ((SETTABLE_FIELDS as readonly string[]).includes(key) && !json) {
      (patch as Record<string, string>)[key] = value;
    } else {
      throw new ShelfError("SHELF_E_INVALID_FIELD", `cannot set ${JSON.stringify(key)}`, `settable fields: ${SETTABLE_FIELDS.join(", ")}, meta.KEY=text, meta.KEY:=JSON; tags with \`shelf tag\`, deletion with \`shelf rm\``);
    }
  }
  return patch;
}

export async function setFields(id: string, assignments: string[], options: GlobalOptions): Promise<EditResult> {
  validateId(id);
  return edit(id, parseSetAssignments(assignments), "forbid", "set", options);
}

/** `+name` adds, `-name` removes; a bare name adds. */
export function parseLabelChanges(changes: string[], what: string): { add: string[]; remove: string[] } {
  if (changes.length === 0) throw new ShelfError("SHELF_E_USAGE", `no ${what} changes given`, `pass +${what} to add and -${what} to remove, e.g. \`+cli -old\``);
  const add: string[] = [];
  const remove: string[] = [];
  for (const change of changes) {
    if (change.startsWith("-")) remove.push(change.slice(1));
    else add.push(change.startsWith("+") ? change.slice(1) : change);
  }
  return { add, remove };
}

export async function changeTags(id: string, changes: string[], options: GlobalOptions): Promise<EditResult> {
  validateId(id);
  const { add, remove } = parseLabelChanges(changes, "tag");
  return edit(id, { addTags: add, removeTags: remove }, "forbid", "tag", options);
}

export async function changeCollections(id: string, changes: string[], options: GlobalOptions): Promise<EditResult> {
  validateId(id);
  const { add, remove } = parseLabelChanges(changes, "collection");
  return edit(id, { addCollections: add, removeCollections: remove }, "forbid", "collect", options);
}

export async function removeRecord(id: string, options: GlobalOptions): Promise<EditResult> {
  validateId(id);
  return edit(id, { deleted: true }, "forbid", "rm", options);
}

export async function restoreRecord(id: string, options: GlobalOptions): Promise<EditResult> {
  validateId(id);
  return edit(id, { deleted: false }, "forbid", "restore", options);
}

async function edit(id: string, patch: RecordPatch, mode: "forbid" | "require", op: string, options: GlobalOptions): Promise<EditResult> {
  validatePatch(patch);
  const handed = await editThroughDaemon(id, patch, mode, op, options);
  if (handed) return handed;
  // An edit that changes nothing is answered from the view, without loading Automerge.
  const unchanged = mode === "forbid" ? await withCatalog(options, ({ instance, catalog }) => unchangedInView(instance.db, catalog, id, patch)) : undefined;
  if (unchanged) return { id, outcome: "unchanged", record: unchanged };
  return withStore(options, async ({ instance, catalog, store }) => {
    const outcome = await store.write(id, patch, mode, op);
    return { id, outcome, record: writtenRecord(instance.db, catalog.catId, id) };
  });
}

/** The edit as the daemon running on the home made it, or undefined when none took it. */
async function editThroughDaemon(id: string, patch: RecordPatch, mode: "forbid" | "require", op: string, options: GlobalOptions): Promise<EditResult | undefined> {
  const home = resolveHome(options.home);
  // Loaded only by edits: node:net, and a readdir that finds no daemon on most homes.
  const { hasListeners } = await import("../sync/home-signal.js");
  if (!(await hasListeners(home))) return undefined;
  const { writeThroughDaemon } = await import("../sync/daemon-write.js");
  return withCatalog(options, async ({ instance, catalog }) => {
    const outcome = await writeThroughDaemon(instance.home, { catalog: catalog.url, id, patch, mode, op });
    // The daemon answered once the edit was stored and in the view, which this read sees.
    return outcome && { id, outcome, record: writtenRecord(instance.db, catalog.catId, id) };
  });
}

function writtenRecord(db: Db, catId: number, id: string): CatalogRecord {
  const record = getRecord(db, catId, id);
  if (!record) throw new ShelfError("SHELF_E_INTERNAL", `record ${id} was written but is missing from the view`);
  return record;
}

function parseAssignment(text: string, where: string): { key: string; value: string; json: boolean } {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new ShelfError("SHELF_E_USAGE", `${where}: expected field=value, got ${JSON.stringify(text)}`, "write field=value, e.g. version=1.2.3 or meta.license=MIT");
  const json = text[eq - 1] === ":";
  return { key: text.slice(0, json ? eq - 1 : eq), value: text.slice(eq + 1), json };
}

function parseJson(key: string, value: string): JsonValue {
  try {
    return JSON.parse(value) as JsonValue;
  } catch {
    throw new ShelfError("SHELF_E_INVALID_FIELD", `meta.${key}: ${JSON.stringify(value)} is not valid JSON`, "use meta.KEY=text for a plain string");
  }
}
