/**
 * Documents read and changed through Automerge's core (its operations, in WebAssembly) without
 * the JavaScript object Automerge builds from them. Building that object for a whole shard is
 * most of the cost of loading one (270 ms of a cold first load at 227k records, against 105 ms
 * for the core alone), and applying each change's patches to it is an eighth of an import. A
 * write of a few records, or a view of the records a change touched, needs neither.
 *
 * `getBackend` is Automerge's own handle on that core (undocumented; the version is pinned). The
 * core of a document Automerge did build (a Repo's) is the same thing, so readers take a core and
 * serve both.
 */
import * as A from "@automerge/automerge";
import type { ShardDoc } from "./crdt-record.js";

export type Core = ReturnType<typeof A.getBackend>;

/** The core behind a document. */
export const coreOf = (doc: A.Doc<unknown>): Core => A.getBackend(doc);

/**
 * A document whose core holds `data` and whose JavaScript object is never built: read it through
 * its core, or whole with A.toJS. Automerge's functions that take a document all work on it; those
 * that change it (A.change, A.receiveSyncMessage) patch its object with the new changes alone,
 * into an object that stays empty of everything loaded, so nothing may read that object.
 */
export function loadLean(data: Uint8Array, options: { actor?: A.ActorId } = {}): A.Doc<unknown> {
  const doc = A.init<unknown>(options);
  const core = coreOf(doc);
  // A chunk whose dependencies are missing is kept aside until they arrive, as A.load does with allowMissingChanges.
  core.loadIncremental(data);
  // The object counts as up to date: without this, the next change would build all of it.
  core.updateDiffCursor();
  return doc;
}

/**
 * A.change for a document loaded lean: `fn` edits the shard through its core and the change is
 * committed with Automerge's own time stamp, but no JavaScript object is updated (none is built).
 * Returns whether a change was made.
 */
export function changeLean(doc: A.Doc<unknown>, options: { message?: string }, fn: (doc: ShardDoc) => void): boolean {
  const core = coreOf(doc);
  try {
    fn({ records: recordsProxy(core) });
  } catch (err) {
    core.rollback();
    throw err;
  }
  if (core.pendingOps() === 0) return false;
  core.commit(options.message ?? null, Math.floor(Date.now() / 1000));
  return true;
}

/** The id of the shard's `records` map, if it has one. */
export function recordsObjectId(core: Core): string | undefined {
  const entry = core.getWithType("_root", "records");
  return entry?.[0] === "map" ? String(entry[1]) : undefined;
}

/** The keys of the shard's `records` map, in Automerge's (sorted) order. */
export function recordKeys(core: Core): string[] {
  const records = recordsObjectId(core);
  return records === undefined ? [] : core.keys(records);
}

/**
 * A value as Automerge's document object shows it, from its core's `[datatype, value]`: scalar
 * strings as ImmutableStrings, text and nested objects as their content, other scalars as they are.
 */
export function shownValue(core: Core, [datatype, value]: [string, unknown, ...unknown[]]): unknown {
  switch (datatype) {
    case "str":
      return new A.ImmutableString(String(value));
    case "text":
      return core.text(String(value));
    case "map":
    case "list":
      return core.materialize(String(value));
    case "counter":
      return new A.Counter(Number(value));
    case "timestamp":
      return new Date(Number(value));
    default:
      return value;
  }
}

/**
 * The shard's `records` map as an object that reads and writes the core, the way Automerge's own
 * change proxies do: the record model's writers (writeRecord, resolveField) run on either.
 */
function recordsProxy(core: Core): ShardDoc["records"] {
  const records = recordsObjectId(core);
  if (records === undefined) throw new Error("the shard document has no records map");
  return new Proxy({} as ShardDoc["records"], {
    get: (_, key) => {
      const entry = typeof key === "string" ? core.getWithType(records, key) : null;
      return entry ? shownValue(core, entry as [string, unknown]) : undefined;
    },
    has: (_, key) => typeof key === "string" && core.get(records, key) !== undefined,
    set: (_, key, value: unknown) => {
      if (typeof key !== "string") return false;
      if (value instanceof A.ImmutableString) core.put(records, key, value.val, "str");
      else if (typeof value === "boolean" || value === null) core.put(records, key, value);
      else throw new TypeError(`a shard stores strings, booleans and null, not ${typeof value}`);
      return true;
    },
    deleteProperty: (_, key) => {
      if (typeof key === "string") core.delete(records, key);
      return true;
    },
  });
}
