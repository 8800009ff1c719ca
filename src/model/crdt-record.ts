/**
 * How a record is laid out inside an Automerge shard document, and the two ways across:
 * `writeRecord` applies a patch inside a change callback (touching only what differs), and
 * `readRecord` turns the stored form back into a plain CatalogRecord.
 *
 * Every string is an ImmutableString: a scalar whose concurrent writes are kept side by side as
 * a conflict, rather than collaborative text that would interleave two people's characters.
 * Tags and collections are maps used as sets (key -> true): a concurrent add and remove of the
 * same key leaves the key present, which is add-wins.
 */
import { ImmutableString } from "@automerge/automerge";
import type { CatalogRecord, JsonValue, RecordKind, RecordPatch } from "./record.js";
import { validateId } from "./record.js";
import { ShelfError } from "../errors.js";

export interface StoredRecord {
  /** absent while it is the provider's default (`file` for file:, else `package`) */
  kind?: ImmutableString;
  name: ImmutableString;
  version: ImmutableString;
  summary: ImmutableString;
  tags: Record<string, true>;
  collections: Record<string, true>;
  /** JSON-encoded values, so that every meta key is one scalar with one conflict set */
  meta: Record<string, ImmutableString>;
  /** absent until the record is first deleted (fewer operations per record on bulk imports) */
  deleted?: boolean;
  deletedAt?: ImmutableString | null;
  deletedBy?: ImmutableString | null;
  updatedAt: ImmutableString;
  updatedBy: ImmutableString;
}

export interface ShardDoc {
  records: Record<string, StoredRecord>;
}

export interface EditStamp {
  /** ISO-8601 time of the edit */
  at: string;
  /** instance id of the editor */
  by: string;
}

export type WriteOutcome = "created" | "updated" | "unchanged";

const imm = (s: string) => new ImmutableString(s);

/** The plain string behind a stored scalar (ImmutableString, or a plain string from older writers). */
export function plain(value: unknown): string {
  if (value instanceof ImmutableString) return value.val;
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  return String(value);
}

/**
 * Applies `patch` to record `id` of a shard document inside an Automerge change callback.
 * `create` says what to do when the record does not exist yet.
 */
export function writeRecord(
  doc: ShardDoc,
  id: string,
  patch: RecordPatch,
  stamp: EditStamp,
  create: "allow" | "forbid" | "require",
): WriteOutcome {
  const existing = doc.records[id];
  if (!existing) {
    if (create === "forbid") {
      throw new ShelfError("SHELF_E_RECORD_NOT_FOUND", `no record ${id} in this catalog`, "run `shelf add` to create it, or `shelf search` to find the right id");
    }
    doc.records[id] = newStoredRecord(id, patch, stamp);
    return "created";
  }
  if (create === "require") {
    throw new ShelfError("SHELF_E_RECORD_EXISTS", `record ${id} already exists${existing.deleted ? " (deleted)" : ""}`, existing.deleted ? `run \`shelf restore ${id}\`` : `run \`shelf set ${id} field=value\` to edit it`);
  }
  let changed = false;
  const current = { kind: kindOf(id, existing), name: plain(existing.name), version: plain(existing.version), summary: plain(existing.summary) };
  for (const field of ["kind", "name", "version", "summary"] as const) {
    const value = patch[field];
    if (value !== undefined && current[field] !== value) {
      existing[field] = imm(value);
      changed = true;
    }
  }
  for (const [key, value] of Object.entries(patch.meta ?? {})) {
    if (value === undefined) {
      if (key in existing.meta) {
        delete existing.meta[key];
        changed = true;
      }
      continue;
    }
    const encoded = JSON.stringify(value);
    if (plain(existing.meta[key]) !== encoded || !(key in existing.meta)) {
      existing.meta[key] = imm(encoded);
      changed = true;
    }
  }
  changed = updateSet(existing.tags, patch.addTags, patch.removeTags) || changed;
  changed = updateSet(existing.collections, patch.addCollections, patch.removeCollections) || changed;
  if (patch.deleted !== undefined && (existing.deleted === true) !== patch.deleted) {
    existing.deleted = patch.deleted;
    existing.deletedAt = patch.deleted ? imm(stamp.at) : null;
    existing.deletedBy = patch.deleted ? imm(stamp.by) : null;
    changed = true;
  }
  if (!changed) return "unchanged";
  existing.updatedAt = imm(stamp.at);
  existing.updatedBy = imm(stamp.by);
  return "updated";
}

function updateSet(set: Record<string, true>, add: string[] | undefined, remove: string[] | undefined): boolean {
  let changed = false;
  for (const item of add ?? []) {
    if (set[item] !== true) {
      set[item] = true;
      changed = true;
    }
  }
  for (const item of remove ?? []) {
    if (item in set) {
      delete set[item];
      changed = true;
    }
  }
  return changed;
}

function newStoredRecord(id: string, patch: RecordPatch, stamp: EditStamp): StoredRecord {
  const { provider } = validateId(id);
  if (patch.name === undefined) {
    throw new ShelfError("SHELF_E_INVALID_FIELD", `a new record needs a name (${id})`, "pass --name NAME");
  }
  const meta: Record<string, ImmutableString> = {};
  for (const [key, value] of Object.entries(patch.meta ?? {})) {
    if (value !== undefined) meta[key] = imm(JSON.stringify(value));
  }
  const asSet = (items: string[] | undefined) => Object.fromEntries((items ?? []).map((t) => [t, true as const]));
  // Fields derivable from the id are not stored: fewer operations per record on bulk imports.
  const record: StoredRecord = {
    ...(patch.kind !== undefined && patch.kind !== defaultKind(provider) ? { kind: imm(patch.kind) } : {}),
    name: imm(patch.name),
    version: imm(patch.version ?? ""),
    summary: imm(patch.summary ?? ""),
    tags: asSet(patch.addTags),
    collections: asSet(patch.addCollections),
    meta,
    updatedAt: imm(stamp.at),
    updatedBy: imm(stamp.by),
  };
  if (patch.deleted === true) Object.assign(record, { deleted: true, deletedAt: imm(stamp.at), deletedBy: imm(stamp.by) });
  return record;
}

function defaultKind(provider: string): RecordKind {
  return provider === "file" ? "file" : "package";
}

function providerOf(id: string): string {
  return id.slice(0, id.indexOf(":"));
}

function kindOf(id: string, stored: StoredRecord): RecordKind {
  return stored.kind === undefined ? defaultKind(providerOf(id)) : (plain(stored.kind) as RecordKind);
}

/** The stored record as a plain CatalogRecord, with sets sorted so output is deterministic. */
export function readRecord(id: string, stored: StoredRecord): CatalogRecord {
  const meta: Record<string, JsonValue> = {};
  for (const key of Object.keys(stored.meta ?? {}).sort()) {
    meta[key] = decodeMeta(plain(stored.meta[key]));
  }
  const deletedAt = plain(stored.deletedAt);
  const deletedBy = plain(stored.deletedBy);
  return {
    id,
    kind: kindOf(id, stored),
    provider: providerOf(id),
    name: plain(stored.name),
    version: plain(stored.version),
    summary: plain(stored.summary),
    tags: Object.keys(stored.tags ?? {}).sort(),
    collections: Object.keys(stored.collections ?? {}).sort(),
    meta,
    deleted: stored.deleted === true,
    deletedAt: deletedAt === "" ? null : deletedAt,
    deletedBy: deletedBy === "" ? null : deletedBy,
    updatedAt: plain(stored.updatedAt),
    updatedBy: plain(stored.updatedBy),
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
