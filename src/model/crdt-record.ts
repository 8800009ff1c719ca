/**
 * How records are laid out inside an Automerge shard document, and the two ways across:
 * `writeRecord` applies a patch inside a change callback (touching only what differs), and
 * `readRecords` turns the stored form back into plain CatalogRecords.
 *
 * A shard is one flat map, `records`, with one key per field of each record: `"<id> <field>"`
 * (ids and field names never contain spaces). Flat keys, rather than a map per record, mean that
 * two instances creating the same id while apart merge field by field into one record, with a
 * conflict only where they wrote different values; they also make a record cheaper to write and a
 * shard several times faster to load.
 *
 *   "<id> name" | "version" | "summary" | "kind"   ImmutableString
 *   "<id> meta.<key>"                              ImmutableString holding JSON
 *   "<id> tag.<tag>", "<id> coll.<collection>"     true while a member (removal deletes the key)
 *   "<id> deleted"                                 boolean, with "deletedAt" / "deletedBy"
 *
 * Who edited a record last, and when, is not stored: it is the change that made the record's
 * newest operation, whose message names the instance, the command and the time (record-log.ts).
 * Records written before that carry "<id> updatedAt" / "updatedBy" keys, which are still read.
 *
 * Strings are ImmutableStrings: scalars whose concurrent writes are kept side by side as a
 * conflict, rather than collaborative text that would interleave two people's characters. A
 * concurrent put and delete of one key leaves the key present, so tags and collections are
 * add-wins sets. A record exists while its "name" key does; deletion is the "deleted" tombstone.
 */
import { ImmutableString } from "@automerge/automerge";
import type { CatalogRecord, JsonValue, RecordKind, RecordPatch } from "./record.js";
import { validateId } from "./record.js";
import { ShelfError } from "../errors.js";
import { lastEditOf, scanLog, type RecordOps } from "./record-log.js";
import { keysOfRecords } from "./record-keys.js";
import { recordsObjectId, shownValue, type Core } from "./shard-core.js";

export type StoredValue = ImmutableString | boolean | null;

export interface ShardDoc {
  records: Record<string, StoredValue>;
}

export interface EditStamp {
  /** ISO-8601 time of the edit */
  at: string;
  /** instance id of the editor */
  by: string;
}

export type WriteOutcome = "created" | "updated" | "unchanged";
/** Whether a write may create the record ("allow"), must find it ("forbid"), or must create it ("require"). */
export type WriteMode = "allow" | "forbid" | "require";

const SCALAR_FIELDS = ["kind", "name", "version", "summary"] as const;
const PREFIX = { meta: "meta.", tag: "tag.", collection: "coll." } as const;

const imm = (s: string) => new ImmutableString(s);

/** The key of one field of one record. */
export const fieldKey = (id: string, field: string): string => `${id} ${field}`;

/** The record id and field a key belongs to. */
export function splitKey(key: string): { id: string; field: string } {
  const space = key.indexOf(" ");
  return space < 0 ? { id: key, field: "" } : { id: key.slice(0, space), field: key.slice(space + 1) };
}

/** The plain string behind a stored scalar. */
export function plain(value: unknown): string {
  if (value instanceof ImmutableString) return value.val;
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  return String(value);
}

export function recordExists(doc: ShardDoc, id: string): boolean {
  return fieldKey(id, "name") in doc.records;
}

/**
 * Applies `patch` to record `id` of a shard document inside an Automerge change callback.
 * `mode` says whether the record may be created ("allow"), must exist ("forbid"), or must not
 * exist yet ("require").
 */
export function writeRecord(doc: ShardDoc, id: string, patch: RecordPatch, stamp: EditStamp, mode: WriteMode): WriteOutcome {
  const records = doc.records;
  const key = (field: string) => fieldKey(id, field);
  const exists = recordExists(doc, id);
  // A record that does not exist has no keys: its fields are written without reading them first.
  const has = exists ? (k: string) => k in records : () => false;
  if (!exists && mode === "forbid") {
    throw new ShelfError("SHELF_E_RECORD_NOT_FOUND", `no record ${id} in this catalog`, "run `shelf add` to create it, or `shelf search` to find the right id");
  }
  if (exists && mode === "require") {
    const deleted = records[key("deleted")] === true;
    throw new ShelfError("SHELF_E_RECORD_EXISTS", `record ${id} already exists${deleted ? " (deleted)" : ""}`, deleted ? `run \`shelf restore ${id}\`` : `run \`shelf set ${id} field=value\` to edit it`);
  }
  const { provider } = validateId(id);
  if (!exists && patch.name === undefined) {
    throw new ShelfError("SHELF_E_INVALID_FIELD", `a new record needs a name (${id})`, "pass --name NAME");
  }

  let changed = false;
  const put = (k: string, value: StoredValue) => {
    records[k] = value;
    changed = true;
  };
  const putText = (k: string, value: string) => {
    if (!has(k) || plain(records[k]) !== value) put(k, imm(value));
  };
  const isTrue = (k: string) => has(k) && records[k] === true;
  const remove = (k: string) => {
    if (has(k)) {
      delete records[k];
      changed = true;
    }
  };

  for (const field of SCALAR_FIELDS) {
    const value = patch[field];
    if (value === undefined) continue;
    // The provider's default kind is not stored: one operation fewer per record on imports.
    if (field === "kind" && !has(key("kind")) && value === defaultKind(provider)) continue;
    putText(key(field), value);
  }
  for (const [metaKey, value] of Object.entries(patch.meta ?? {})) {
    if (value === undefined) remove(key(PREFIX.meta + metaKey));
    else putText(key(PREFIX.meta + metaKey), JSON.stringify(value));
  }
  for (const tag of patch.addTags ?? []) if (!isTrue(key(PREFIX.tag + tag))) put(key(PREFIX.tag + tag), true);
  for (const tag of patch.removeTags ?? []) remove(key(PREFIX.tag + tag));
  for (const c of patch.addCollections ?? []) if (!isTrue(key(PREFIX.collection + c))) put(key(PREFIX.collection + c), true);
  for (const c of patch.removeCollections ?? []) remove(key(PREFIX.collection + c));
  if (patch.deleted !== undefined && isTrue(key("deleted")) !== patch.deleted) {
    put(key("deleted"), patch.deleted);
    put(key("deletedAt"), patch.deleted ? imm(stamp.at) : null);
    put(key("deletedBy"), patch.deleted ? imm(stamp.by) : null);
  }
  if (!changed) return "unchanged";
  return exists ? "updated" : "created";
}

function defaultKind(provider: string): RecordKind {
  return provider === "file" ? "file" : "package";
}

/**
 * Reads the records of a shard, all of them or only `ids`, in one pass over its keys.
 * Sets come out sorted, so output is deterministic.
 */
export function readRecords(core: Core, ids?: ReadonlySet<string>): Map<string, CatalogRecord> {
  const out = new Map<string, CatalogRecord>();
  const log = scanLog(core, ids).records;
  for (const [id, fields] of recordFields(core, ids)) out.set(id, toRecord(id, fields, log.get(id)));
  return out;
}

/** Fields any record may hold, whatever it shows: its scalars, its tombstone, the stamps of records written before stamps came from changes. */
const FIXED_FIELDS = [...SCALAR_FIELDS, "deleted", "deletedAt", "deletedBy", "updatedAt", "updatedBy"] as const;

/** What a record shows of its variable fields: its meta keys, tags and collections. */
export interface ShownFields {
  meta: Iterable<string>;
  tags: Iterable<string>;
  collections: Iterable<string>;
}

/**
 * The keys whose values make what record `id` shows, from what it shows. `toRecord` and
 * `findConflicts` read the fixed fields, meta keys, and tags and collections that are members; any
 * other key of the record holds nothing shown (a tag key whose value is not `true`, a field this
 * version does not know), so a record read from these keys alone is the record read from all.
 */
export function keysShown(id: string, shown: ShownFields): string[] {
  const keys: string[] = FIXED_FIELDS.map((field) => fieldKey(id, field));
  for (const key of shown.meta) keys.push(fieldKey(id, PREFIX.meta + key));
  for (const tag of shown.tags) keys.push(fieldKey(id, PREFIX.tag + tag));
  for (const collection of shown.collections) keys.push(fieldKey(id, PREFIX.collection + collection));
  return keys;
}

/**
 * The stored fields of each existing record (all, or only `ids`). A few records are read key by
 * key, from `keysOf` (keys that may hold their fields; a key that holds nothing is skipped) or else
 * from the shard's listed keys; all of them, or many, as one object built by the core.
 */
export function recordFields(core: Core, ids?: ReadonlySet<string>, keysOf?: () => string[] | undefined): Map<string, Map<string, StoredValue>> {
  const fieldsById = new Map<string, Map<string, StoredValue>>();
  const recordsObj = recordsObjectId(core);
  if (recordsObj === undefined) return fieldsById;
  const add = (key: string, value: unknown) => {
    const { id, field } = splitKey(key);
    let fields = fieldsById.get(id);
    if (!fields) fieldsById.set(id, (fields = new Map()));
    fields.set(field, value as StoredValue);
  };
  // A key read alone costs several times its share of reading the whole map at once; every record
  // has at least one key, so many records are read with the whole map without listing keys first.
  const total = ids ? core.length(recordsObj) : 0;
  const few = ids && ids.size * 4 < total ? ids : undefined;
  const wanted = few ? (keysOf?.() ?? keysOfRecords(core, recordsObj, few)) : [];
  if (few && wanted.length * 4 < total) {
    for (const key of wanted) {
      const entry = core.getWithType(recordsObj, key);
      if (entry) add(key, shownValue(core, entry as [string, unknown]));
    }
  } else {
    const records = core.materialize(recordsObj) as Record<string, unknown>;
    for (const key of Object.keys(records)) if (!ids || ids.has(splitKey(key).id)) add(key, records[key]);
  }
  for (const [id, fields] of fieldsById) if (!fields.has("name")) fieldsById.delete(id);
  return fieldsById;
}

/** One record of a shard, or undefined if it does not exist. */
export function readRecord(core: Core, id: string): CatalogRecord | undefined {
  return readRecords(core, new Set([id])).get(id);
}

/** A record from its stored fields and what the change log says about it (its last edit). */
export function toRecord(id: string, fields: Map<string, StoredValue>, log: RecordOps | undefined): CatalogRecord {
  const provider = id.slice(0, id.indexOf(":"));
  const text = (field: string) => plain(fields.get(field));
  const meta: Record<string, JsonValue> = {};
  const tags: string[] = [];
  const collections: string[] = [];
  for (const [field, value] of fields) {
    if (field.startsWith(PREFIX.meta)) meta[field.slice(PREFIX.meta.length)] = decodeMeta(plain(value));
    else if (field.startsWith(PREFIX.tag) && value === true) tags.push(field.slice(PREFIX.tag.length));
    else if (field.startsWith(PREFIX.collection) && value === true) collections.push(field.slice(PREFIX.collection.length));
  }
  const sortedMeta: Record<string, JsonValue> = {};
  for (const key of Object.keys(meta).sort()) sortedMeta[key] = meta[key]!;
  const deleted = fields.get("deleted") === true;
  const lastEdit = lastEditOf(log, { at: text("updatedAt"), by: text("updatedBy") });
  return {
    id,
    kind: fields.has("kind") ? (text("kind") as RecordKind) : defaultKind(provider),
    provider,
    name: text("name"),
    version: text("version"),
    summary: text("summary"),
    tags: tags.sort(),
    collections: collections.sort(),
    meta: sortedMeta,
    deleted,
    deletedAt: deleted ? text("deletedAt") || null : null,
    deletedBy: deleted ? text("deletedBy") || null : null,
    updatedAt: lastEdit.at,
    updatedBy: lastEdit.by,
  };
}

function decodeMeta(encoded: string): JsonValue {
  try {
    return JSON.parse(encoded) as JsonValue;
  } catch {
    // A peer that stored a raw string: show it as it is rather than hide it.
    return encoded;
  }
}

/**
 * Writes `value` to `key` as a new operation that supersedes every value the key holds. Automerge
 * skips a write of the value a key already shows, which would leave competing values in place (and
 * a concurrent write free to win later), so that case writes a placeholder first: the placeholder
 * supersedes everything, and the value, written right after in the same change, supersedes it.
 */
export function forcePut(records: ShardDoc["records"], key: string, value: StoredValue): void {
  const current = records[key];
  const same = key in records && (value instanceof ImmutableString ? plain(current) === value.val && current instanceof ImmutableString : current === value);
  if (same) records[key] = value === null ? false : null;
  records[key] = value;
}

/**
 * Settles a field: writes `value` even when it equals the value shown, because a write that has
 * seen every competing value supersedes them all. `deleted` settles an edited-while-deleted record.
 */
export function resolveField(doc: ShardDoc, id: string, field: string, value: JsonValue, stamp: EditStamp): void {
  if (!recordExists(doc, id)) {
    throw new ShelfError("SHELF_E_RECORD_NOT_FOUND", `no record ${id} in this catalog`, "`shelf conflicts` lists the records with conflicts");
  }
  const records = doc.records;
  const key = (f: string) => fieldKey(id, f);
  if (field === "deleted") {
    const deleted = value === true;
    forcePut(records, key("deleted"), deleted);
    forcePut(records, key("deletedAt"), deleted ? imm(stamp.at) : null);
    forcePut(records, key("deletedBy"), deleted ? imm(stamp.by) : null);
  } else if (field.startsWith(PREFIX.meta)) {
    forcePut(records, key(field), imm(JSON.stringify(value)));
  } else {
    forcePut(records, key(field), imm(String(value)));
  }
}
