/**
 * The keys of a shard's `records` map, grouped by record, kept for each document core while it is
 * in use. Finding one record's fields means knowing its keys, and Automerge can only list them all:
 * 2 µs a key, 7 to 30 ms for the 3,500 keys of a 227k-record shard (30 to 55 ms in a fresh
 * process). The view knows the keys of the records it shows (src/view/materializer.ts); these are
 * for the others: a record new to this instance, a read without a view. A document a live process
 * holds (the daemon's, `shelf serve`'s) is listed once; each later look follows only the changes
 * made since, whose operations name the keys they wrote.
 *
 * The index may hold keys since deleted (a removed tag): readers get the key's value, absent for
 * those, and skip it. It is keyed by the core, which Automerge keeps across a document's changes,
 * and goes with it.
 */
import * as A from "@automerge/automerge";
import { sameHeads } from "../protocol/heads-summary.js";
import { changeKeys } from "./change-columns.js";
import { splitKey } from "./crdt-record.js";
import type { Core } from "./shard-core.js";

interface KeyIndex {
  records: string;
  heads: A.Heads;
  byId: Map<string, string[]>;
}

/** Past this many bytes of new changes the keys are listed again rather than followed. */
const MAX_FOLLOWED_BYTES = 64 * 1024;

const indexes = new WeakMap<Core, KeyIndex>();

/** The keys of the given records (and of keys since deleted, maybe). */
export function keysOfRecords(core: Core, records: string, ids: ReadonlySet<string>): string[] {
  const index = currentIndex(core, records);
  const keys: string[] = [];
  for (const id of ids) keys.push(...(index.byId.get(id) ?? []));
  return keys;
}

function currentIndex(core: Core, records: string): KeyIndex {
  const heads = core.getHeads();
  const known = indexes.get(core);
  if (known && known.records === records) {
    if (sameHeads(known.heads, heads)) return known;
    const changes = core.getChanges(known.heads);
    if (changes.reduce((bytes, change) => bytes + change.byteLength, 0) <= MAX_FOLLOWED_BYTES) {
      for (const change of changes) {
        for (const key of changeKeys(change, records).keys) if (key !== null) add(known, key);
      }
      known.heads = heads;
      return known;
    }
  }
  const index: KeyIndex = { records, heads, byId: new Map() };
  for (const key of core.keys(records)) add(index, key);
  indexes.set(core, index);
  return index;
}

function add(index: KeyIndex, key: string): void {
  const { id } = splitKey(key);
  const keys = index.byId.get(id);
  if (!keys) index.byId.set(id, [key]);
  else if (!keys.includes(key)) keys.push(key);
}
