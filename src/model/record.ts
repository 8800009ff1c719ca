/**
 * The record model: what a catalog entry is, and the validation every write passes through.
 * Pure functions only; nothing here touches Automerge or SQLite.
 */
import { ShelfError } from "../errors.js";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type RecordKind = "package" | "file";
export const RECORD_KINDS: readonly RecordKind[] = ["package", "file"];

/** A record as users see it (`shelf show --json`) and as the SQLite view stores it. */
export interface CatalogRecord {
  id: string;
  kind: RecordKind;
  provider: string;
  name: string;
  version: string;
  summary: string;
  tags: string[];
  collections: string[];
  meta: Record<string, JsonValue>;
  deleted: boolean;
  deletedAt: string | null;
  deletedBy: string | null;
  updatedAt: string;
  updatedBy: string;
}

/**
 * One write to one record. Only the fields present are touched; a field whose value is already
 * the current one is skipped, so a patch that changes nothing produces no CRDT operation.
 */
export interface RecordPatch {
  kind?: RecordKind;
  name?: string;
  version?: string;
  summary?: string;
  /** meta keys to set; `undefined` as a value removes the key */
  meta?: Record<string, JsonValue | undefined>;
  addTags?: string[];
  removeTags?: string[];
  addCollections?: string[];
  removeCollections?: string[];
  deleted?: boolean;
}

/** Fields `shelf set` accepts as `field=value` (plus `meta.KEY`). */
export const SETTABLE_FIELDS = ["kind", "name", "version", "summary"] as const;

const LIMITS = { id: 512, name: 512, version: 128, summary: 4096, metaKey: 128, metaValue: 16384, label: 64 };

const PROVIDER_RE = /^[a-z][a-z0-9_-]{0,31}$/;
// Letters, digits, and a few separators; no spaces, so a tag is one word on the command line.
const LABEL_RE = /^[\p{L}\p{N}][\p{L}\p{N}._:+\/-]*$/u;
const META_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
// C0/C1 control characters and Unicode line/paragraph separators.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// Invisible format characters (zero-width, bidi overrides): allowed in text, never in ids, where
// they would make two ids that look the same.
const FORMAT_RE = /\p{Cf}/u;

function invalidField(message: string, hint: string): ShelfError {
  return new ShelfError("SHELF_E_INVALID_FIELD", message, hint);
}

/** `npm:react`, `npm:@types/node`, `file:sha256:<hex>`: a provider word, a colon, a name. */
export function validateId(id: string): { provider: string; localName: string } {
  const fail = (why: string) =>
    new ShelfError(
      "SHELF_E_INVALID_ID",
      `invalid record id ${JSON.stringify(id)}: ${why}`,
      "ids look like PROVIDER:NAME, for example npm:react, pypi:requests or file:sha256:<hex>",
    );
  if (typeof id !== "string" || id.length === 0) throw fail("it is empty");
  if (id.length > LIMITS.id) throw fail(`it is longer than ${LIMITS.id} characters`);
  if (CONTROL_RE.test(id) || /\s/u.test(id)) throw fail("it contains whitespace or control characters");
  if (FORMAT_RE.test(id)) throw fail("it contains invisible formatting characters (zero-width or bidi controls)");
  const colon = id.indexOf(":");
  if (colon < 0) throw fail("it has no provider prefix");
  const provider = id.slice(0, colon);
  const localName = id.slice(colon + 1);
  if (!PROVIDER_RE.test(provider)) throw fail(`the provider ${JSON.stringify(provider)} is not a lowercase word`);
  if (localName.length === 0) throw fail("the part after the provider is empty");
  if (localName.includes("\\")) throw fail("it contains a backslash");
  const segments = localName.split("/");
  if (segments.some((s) => s === "." || s === "..")) throw fail("it contains a '.' or '..' path segment");
  if (segments.some((s) => s === "")) throw fail("it has an empty path segment (a leading, trailing or doubled '/')");
  if (provider === "file" && !/^sha256:[0-9a-f]{64}$/.test(localName)) {
    throw fail("file ids are file:sha256:<64 lowercase hex digits>");
  }
  return { provider, localName };
}

export function validateText(field: string, value: unknown, max: number, allowEmpty: boolean): string {
  if (typeof value !== "string") throw invalidField(`${field} must be a string, got ${typeName(value)}`, `give ${field} as text`);
  if (!allowEmpty && value.trim().length === 0) {
    throw invalidField(`${field} must not be empty`, `give a ${field} with at least one visible character (to delete a record, use shelf rm)`);
  }
  if (value.length > max) throw invalidField(`${field} is longer than ${max} characters (${value.length})`, `shorten ${field} to at most ${max} characters`);
  if (CONTROL_RE.test(value)) throw invalidField(`${field} contains control characters`, "remove tabs, newlines and other control characters");
  return value;
}

export function validateLabel(field: "tag" | "collection", value: unknown): string {
  if (typeof value !== "string") throw invalidField(`${field} must be a string, got ${typeName(value)}`, `give the ${field} as text`);
  if (value.length === 0 || value.length > LIMITS.label || !LABEL_RE.test(value)) {
    throw invalidField(
      `invalid ${field} ${JSON.stringify(value)}`,
      `a ${field} is 1-${LIMITS.label} letters, digits or . _ : + / -, starting with a letter or digit`,
    );
  }
  return value;
}

export function validateKind(value: unknown): RecordKind {
  if (!RECORD_KINDS.includes(value as RecordKind)) {
    throw invalidField(`kind must be one of ${RECORD_KINDS.join(", ")}, got ${JSON.stringify(value)}`, `pick one of ${RECORD_KINDS.join(", ")}`);
  }
  return value as RecordKind;
}

export function validateMetaKey(key: string): string {
  if (key.length === 0 || key.length > LIMITS.metaKey || !META_KEY_RE.test(key)) {
    throw invalidField(`invalid meta key ${JSON.stringify(key)}`, "meta keys are letters, digits, _ . - and start with a letter or _");
  }
  return key;
}

export function validateMetaValue(key: string, value: unknown): JsonValue {
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(value);
  } catch {
    encoded = undefined;
  }
  if (encoded === undefined || containsNonFinite(value)) throw invalidField(`meta.${key} is not a JSON value`, "numbers must be finite; undefined, functions and NaN have no JSON form");
  if (encoded.length > LIMITS.metaValue) throw invalidField(`meta.${key} is larger than ${LIMITS.metaValue} bytes of JSON`, "keep large data outside the catalog and store a link or hash to it");
  return value as JsonValue;
}

/**
 * The tags the package manager gave a record (`meta.sourceTags`, written by importers): searchable
 * and shown apart from the record's own `tags`, which belong to the catalog's users. Records
 * imported before source tags had their own key keep them where they were (winget and choco
 * `meta.tags`, npm `meta.keywords`) until the next import moves them.
 */
export function sourceTagsOf(record: Pick<CatalogRecord, "provider" | "meta">): string[] {
  const key = sourceTagsKey(record);
  const value = key ? record.meta[key] : undefined;
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === "string") : [];
}

/** The meta key a record's source tags are read from, if it has any. */
export function sourceTagsKey(record: Pick<CatalogRecord, "provider" | "meta">): string | undefined {
  if (Array.isArray(record.meta.sourceTags)) return "sourceTags";
  const legacy = LEGACY_SOURCE_TAGS[record.provider];
  return legacy && Array.isArray(record.meta[legacy]) ? legacy : undefined;
}

/** Where each provider kept its tags before `meta.sourceTags` (see SEARCH_MIGRATION). */
export const LEGACY_SOURCE_TAGS: Readonly<Record<string, string>> = { winget: "tags", choco: "tags", npm: "keywords" };

/** Checks a patch field by field; throws on the first problem, naming the field. */
export function validatePatch(patch: RecordPatch): RecordPatch {
  const known = new Set(["kind", "name", "version", "summary", "meta", "addTags", "removeTags", "addCollections", "removeCollections", "deleted"]);
  for (const key of Object.keys(patch)) {
    if (!known.has(key)) throw invalidField(`unknown field ${JSON.stringify(key)}`, `fields are ${[...SETTABLE_FIELDS, "meta.KEY"].join(", ")}`);
  }
  if (patch.kind !== undefined) validateKind(patch.kind);
  if (patch.name !== undefined) validateText("name", patch.name, LIMITS.name, false);
  if (patch.version !== undefined) validateText("version", patch.version, LIMITS.version, true);
  if (patch.summary !== undefined) validateText("summary", patch.summary, LIMITS.summary, true);
  if (patch.meta !== undefined) {
    if (typeof patch.meta !== "object" || patch.meta === null || Array.isArray(patch.meta)) throw invalidField("meta must be an object", "give meta as a JSON object of keys and values");
    for (const [key, value] of Object.entries(patch.meta)) {
      validateMetaKey(key);
      if (value !== undefined) validateMetaValue(key, value);
    }
  }
  for (const t of [...(patch.addTags ?? []), ...(patch.removeTags ?? [])]) validateLabel("tag", t);
  for (const c of [...(patch.addCollections ?? []), ...(patch.removeCollections ?? [])]) validateLabel("collection", c);
  if (patch.deleted !== undefined && typeof patch.deleted !== "boolean") throw invalidField("deleted must be a boolean", "use shelf rm or shelf restore");
  return patch;
}

function containsNonFinite(value: unknown): boolean {
  if (typeof value === "number") return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(containsNonFinite);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsNonFinite);
  return false;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
