/**
 * What a shard's change log says about each record: the change that made its newest operation
 * (its last edit: who and when, shown as updatedAt / updatedBy) and every change that wrote to it.
 *
 * Records do not store their own edit stamp: every change already carries who made it, when and
 * with which command (its message), so two keys per record per write would only repeat it (a third
 * of the operations of an imported record). The newest operation is the greatest operation id
 * (counter, then actor) among every put and delete on the record's keys: counters are Lamport
 * clocks, so an edit made after another always counts higher, and concurrent edits are ordered the
 * same way on every replica, as Automerge orders a key's competing values.
 */
import { changeKeys } from "./change-columns.js";
import { parseChangeMessage } from "./change-message.js";
import { splitKey } from "./crdt-record.js";
import { recordsObjectId, type Core } from "./shard-core.js";

/** The last edit of a record, as the view and `shelf show` present it. */
export interface LastEdit {
  at: string;
  by: string;
}

interface ChangeRef {
  hash: string;
  message: string | null;
  time: number;
}

export interface RecordOps {
  /** the newest operation on the record's keys */
  counter: number;
  actor: string;
  change: ChangeRef;
  /** every change that wrote to the record's keys */
  changes: Set<string>;
}

export interface LogScan {
  /** per record id, the operations the scanned changes made on it */
  records: Map<string, RecordOps>;
  /** a scanned change wrote outside the `records` map (its creation, a reset, a foreign document) */
  touchedRoot: boolean;
  hashes: Set<string>;
  /** every key of the `records` map the scanned changes wrote (put or deleted), of the records scanned */
  keys: Set<string>;
}

/** Reads the operations of `changes` (binary Automerge changes of `doc`), record by record. */
export function scanChanges(core: Core, changes: Iterable<Uint8Array>, ids?: ReadonlySet<string>): LogScan {
  const recordsObj = recordsObjectId(core);
  const records = new Map<string, RecordOps>();
  const hashes = new Set<string>();
  const keys = new Set<string>();
  let touchedRoot = false;
  for (const binary of changes) {
    const change = changeKeys(binary, recordsObj);
    hashes.add(change.hash);
    const ref: ChangeRef = { hash: change.hash, message: change.message, time: change.time };
    change.keys.forEach((key, i) => {
      if (key === null) {
        touchedRoot = true;
        return;
      }
      const { id } = splitKey(key);
      if (ids && !ids.has(id)) return;
      keys.add(key);
      const counter = change.startOp + i;
      const seen = records.get(id);
      if (!seen) records.set(id, { counter, actor: change.actor, change: ref, changes: new Set([change.hash]) });
      else {
        seen.changes.add(change.hash);
        if (counter > seen.counter || (counter === seen.counter && change.actor > seen.actor)) Object.assign(seen, { counter, actor: change.actor, change: ref });
      }
    });
  }
  return { records, touchedRoot, hashes, keys };
}

/** The whole log of a shard, for the records `ids` (all when omitted). */
export function scanLog(core: Core, ids?: ReadonlySet<string>): LogScan {
  return scanChanges(core, core.getChanges([]), ids);
}

/**
 * Whether the newest operation `scan` found for each of `ids` is newer than every operation of
 * the changes it did not scan, so that it is the record's newest in the whole log. True when the
 * scanned changes were made on top of the rest (an edit, an import); false when an older,
 * concurrent change arrived (a merge), which needs the whole log.
 */
export function newestOfAll(core: Core, scan: LogScan, ids: Iterable<string>): boolean {
  let olderMax = 0;
  for (const meta of core.getChangesMeta([])) if (!scan.hashes.has(meta.hash)) olderMax = Math.max(olderMax, meta.maxOp);
  for (const id of ids) {
    const ops = scan.records.get(id);
    if (!ops || ops.counter <= olderMax) return false;
  }
  return true;
}

/**
 * Who made a record's last edit and when, from that change's message. A record written before
 * the stamp was derived keeps its `updatedAt` / `updatedBy` keys, and a message without a time
 * (older shelf) falls back to them, then to the change's own time (whole seconds).
 */
export function lastEditOf(ops: RecordOps | undefined, legacy: { at: string; by: string }): LastEdit {
  if (!ops) return legacy;
  const message = parseChangeMessage(ops.change.message);
  return {
    at: message?.at || legacy.at || new Date(ops.change.time * 1000).toISOString(),
    by: message?.by || legacy.by,
  };
}
