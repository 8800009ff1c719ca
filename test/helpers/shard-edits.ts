/**
 * Random edits of a shard's records for property tests: writes (scalars, meta set and removed, tags
 * and collections added and removed, deletes and restores) and conflict resolutions, applied through
 * the record model to any shard document.
 */
import * as A from "@automerge/automerge";
import fc from "fast-check";
import { resolveField, writeRecord, type EditStamp, type ShardDoc, type WriteOutcome } from "../../src/model/crdt-record.js";
import type { JsonValue, RecordPatch } from "../../src/model/record.js";
import { changeMessage } from "../../src/model/change-message.js";

export const STAMP: EditStamp = { at: "2026-12-01T00:00:00.000Z", by: "b".repeat(32) };
export const MESSAGE = changeMessage(STAMP, "set");
export const IDS = ["npm:a", "npm:b", "npm:c", "pypi:d"];

const text = fc.constantFrom("x", "y", "");
const label = fc.constantFrom("t1", "t2");
const json: fc.Arbitrary<JsonValue> = fc.constantFrom<JsonValue>("MIT", 2, false, null, ["l"], { k: "v" });
const patch: fc.Arbitrary<RecordPatch> = fc.record(
  {
    name: text.map((t) => `n${t}`),
    version: text,
    summary: text,
    meta: fc.dictionary(fc.constantFrom("license", "homepage"), fc.option(json, { nil: undefined }), { minKeys: 1 }),
    addTags: fc.array(label, { maxLength: 2 }),
    removeTags: fc.array(label, { maxLength: 2 }),
    addCollections: fc.array(label, { maxLength: 2 }),
    deleted: fc.boolean(),
  },
  { requiredKeys: [] },
);
export type Edit = { kind: "write"; id: string; patch: RecordPatch } | { kind: "resolve"; id: string; field: string; value: JsonValue };
export const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("write" as const), id: fc.constantFrom(...IDS), patch }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("resolve" as const),
      id: fc.constantFrom(...IDS),
      field: fc.constantFrom("summary", "deleted", "meta.license"),
      value: fc.constantFrom<JsonValue>("x", true, false, "MIT"),
    }),
  },
);

/** Applies one batch of edits; returns each edit's outcome, or the error it threw. */
export function applyBatch(records: ShardDoc, batch: Edit[]): string[] {
  return batch.map((e) => {
    try {
      if (e.kind === "resolve") return String(resolveField(records, e.id, e.field, e.value, STAMP));
      return writeRecord(records, e.id, e.patch, STAMP, "allow") satisfies WriteOutcome;
    } catch (err) {
      return (err as Error).message;
    }
  });
}

export const emptyShard = () => A.save(A.from<{ records: ShardDoc["records"] }>({ records: {} }));

/** Writes records `npm:other-<from>` onwards, `count` of them, beside the edited ones. */
export const fillerRecords = (from: number, count: number) => (d: ShardDoc) => {
  for (let i = from; i < from + count; i++) writeRecord(d, `npm:other-${i}`, { name: `o${i}`, summary: "filler text ".repeat(4) }, STAMP, "allow");
};
