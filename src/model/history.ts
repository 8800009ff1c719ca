/**
 * A record's history, read from the CRDT itself: every change that touched one of the record's
 * keys, in causal order, with who made it, when, with which command, and each field's old and new
 * value. Nothing is kept on the side: the Automerge change log is the history.
 */
import * as A from "@automerge/automerge";
import type { JsonValue } from "./record.js";
import { recordsObjectId, type Core } from "./shard-core.js";
import { parseChangeMessage } from "./change-message.js";

export interface FieldChange {
  field: string;
  /** the value before, as this change's author last saw it; null when the field was unset */
  old: JsonValue;
  /** the value after; null when the change removed the field */
  new: JsonValue;
}

export interface HistoryEntry {
  change: string;
  at: string;
  by: string | null;
  op: string | null;
  fields: FieldChange[];
}

type DecodedOp = ReturnType<typeof A.decodeChange>["ops"][number];

function decodeValue(field: string, op: DecodedOp): JsonValue {
  if (op.action === "del") return null;
  const value = op.value ?? null;
  if (field.startsWith("meta.") && typeof value === "string") {
    try {
      return JSON.parse(value) as JsonValue;
    } catch {
      return value;
    }
  }
  return value;
}

export function recordHistory(core: Core, id: string): HistoryEntry[] {
  const recordsObj = recordsObjectId(core);
  const prefix = `${id} `;
  // The value each field had after each op, by op id, so "old" follows the op's own predecessors.
  const valueByOp = new Map<string, JsonValue>();
  const entries: HistoryEntry[] = [];
  for (const change of core.getChanges([])) {
    const decoded = A.decodeChange(change);
    const fields: FieldChange[] = [];
    decoded.ops.forEach((op, i) => {
      const opId = `${decoded.startOp + i}@${decoded.actor}`;
      if (op.obj !== recordsObj || typeof op.key !== "string" || !op.key.startsWith(prefix)) return;
      const field = op.key.slice(prefix.length);
      const value = decodeValue(field, op);
      valueByOp.set(opId, value);
      const olds = op.pred.map((p) => valueByOp.get(p) ?? null);
      const earlier = fields.find((f) => f.field === field);
      // Two writes of one field in one change (a forced write, see forcePut): one entry, first old, last new.
      if (earlier) earlier.new = value;
      else fields.push({ field, old: olds.length === 1 ? olds[0]! : olds.length === 0 ? null : (olds as JsonValue), new: value });
    });
    if (fields.length === 0) continue;
    const message = parseChangeMessage(decoded.message);
    entries.push({
      change: decoded.hash,
      at: message?.at || new Date(decoded.time * 1000).toISOString(),
      by: message?.by ?? null,
      op: message?.op ?? null,
      fields: fields.filter((f) => f.field !== "updatedAt" && f.field !== "updatedBy"),
    });
  }
  return entries;
}
