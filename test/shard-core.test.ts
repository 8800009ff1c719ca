/**
 * Shards read and changed through Automerge's core (src/model/shard-core.ts) must hold and show
 * exactly what Automerge's own documents do: the same writes through `changeLean` on a document
 * loaded lean as through A.change on one loaded whole, the same records read back, whether a few
 * records are read key by key or all of them at once.
 */
import * as A from "@automerge/automerge";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readRecords, resolveField, writeRecord, type EditStamp, type ShardDoc, type WriteOutcome } from "../src/model/crdt-record.js";
import type { JsonValue, RecordPatch } from "../src/model/record.js";
import { changeMessage } from "../src/model/change-message.js";
import { changeLean, coreOf, loadLean, recordKeys } from "../src/model/shard-core.js";

const STAMP: EditStamp = { at: "2026-12-01T00:00:00.000Z", by: "b".repeat(32) };
const MESSAGE = changeMessage(STAMP, "set");
const IDS = ["npm:a", "npm:b", "npm:c", "pypi:d"];

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
type Edit = { kind: "write"; id: string; patch: RecordPatch } | { kind: "resolve"; id: string; field: string; value: JsonValue };
const edit: fc.Arbitrary<Edit> = fc.oneof(
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
function applyBatch(records: ShardDoc, batch: Edit[]): string[] {
  return batch.map((e) => {
    try {
      if (e.kind === "resolve") return String(resolveField(records, e.id, e.field, e.value, STAMP));
      return writeRecord(records, e.id, e.patch, STAMP, "allow") satisfies WriteOutcome;
    } catch (err) {
      return (err as Error).message;
    }
  });
}

const emptyShard = () => A.save(A.from<{ records: ShardDoc["records"] }>({ records: {} }));

describe("a shard changed through its core", () => {
  it("holds and shows what the same edits make through A.change, read a few records or all", () => {
    fc.assert(
      fc.property(fc.array(fc.array(edit, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }), (batches) => {
        let whole = A.load<ShardDoc>(emptyShard());
        let lean = loadLean(emptyShard());
        for (const batch of batches) {
          let expected: string[] = [];
          whole = A.change(whole, { message: MESSAGE }, (d) => void (expected = applyBatch(d, batch)));
          let got: string[] = [];
          changeLean(lean, { message: MESSAGE }, (d) => void (got = applyBatch(d, batch)));
          expect(got).toEqual(expected);
          // Saved and loaded again, the lean document holds what the whole one does.
          const reloaded = A.load<ShardDoc>(A.save(lean));
          expect(A.toJS(reloaded)).toEqual(A.toJS(whole));
          A.free(reloaded);
        }
        const all = readRecords(coreOf(whole));
        expect(readRecords(coreOf(lean))).toEqual(all);
        for (const id of IDS) expect(readRecords(coreOf(lean), new Set([id])).get(id)).toEqual(all.get(id));
        A.free(whole);
        A.free(lean);
      }),
      { numRuns: 150 },
    );
  });

  it("reads a few records key by key from the keys it listed once and followed since, as a whole read shows them", () => {
    // Enough other records that one record's keys are read alone (src/model/record-keys.ts).
    const others = (from: number, count: number) => (d: ShardDoc) => {
      for (let i = from; i < from + count; i++) writeRecord(d, `npm:other-${i}`, { name: `o${i}`, summary: "filler text ".repeat(4) }, STAMP, "allow");
    };
    fc.assert(
      fc.property(fc.array(fc.array(edit, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }), (batches) => {
        const lean = loadLean(emptyShard());
        changeLean(lean, { message: MESSAGE }, others(0, 40));
        const core = coreOf(lean);
        for (const batch of batches) {
          changeLean(lean, { message: MESSAGE }, (d) => void applyBatch(d, batch));
          const all = readRecords(core);
          for (const id of IDS) expect(readRecords(core, new Set([id])).get(id)).toEqual(all.get(id));
        }
        A.free(lean);
      }),
      { numRuns: 60 },
    );
    // After a change too large to follow, whose keys are listed again, reads are still right.
    const lean = loadLean(emptyShard());
    changeLean(lean, { message: MESSAGE }, others(0, 40));
    expect(readRecords(coreOf(lean), new Set(["npm:other-1"])).get("npm:other-1")?.name).toBe("o1");
    changeLean(lean, { message: MESSAGE }, others(40, 1_500));
    expect(A.getLastLocalChange(lean)!.byteLength).toBeGreaterThan(64 * 1024);
    expect(readRecords(coreOf(lean), new Set(["npm:other-1500"])).get("npm:other-1500")?.name).toBe("o1500");
    A.free(lean);
  });

  it("undoes the whole change when the edit throws, and takes the next one", () => {
    const lean = loadLean(emptyShard());
    const heads = A.getHeads(lean);
    expect(() =>
      changeLean(lean, { message: MESSAGE }, (d) => {
        writeRecord(d, "npm:a", { name: "a" }, STAMP, "allow");
        writeRecord(d, "npm:missing", { summary: "s" }, STAMP, "forbid");
      }),
    ).toThrow(/no record npm:missing/);
    expect(A.getHeads(lean)).toEqual(heads);
    expect(recordKeys(coreOf(lean))).toEqual([]);
    expect(changeLean(lean, { message: MESSAGE }, (d) => void writeRecord(d, "npm:a", { name: "a" }, STAMP, "allow"))).toBe(true);
    expect(recordKeys(coreOf(lean))).toEqual(["npm:a name"]);
    expect(changeLean(lean, { message: MESSAGE }, (d) => void writeRecord(d, "npm:a", { name: "a" }, STAMP, "allow"))).toBe(false);
  });

  it("keeps aside changes whose dependencies are missing, until they arrive", () => {
    let doc = A.from<{ records: ShardDoc["records"] }>({ records: {} });
    doc = A.change(doc, (d) => void (d.records["npm:a name"] = new A.ImmutableString("a")));
    const [first, second] = A.getAllChanges(doc);
    const lean = loadLean(second!);
    expect(A.getHeads(lean)).toEqual([]);
    expect(coreOf(lean).getMissingDeps().length).toBeGreaterThan(0);
    coreOf(lean).loadIncremental(first!);
    expect(A.getHeads(lean)).toEqual(A.getHeads(doc));
    expect(readRecords(coreOf(lean)).get("npm:a")?.name).toBe("a");
  });
});
