/**
 * Shards read and changed through Automerge's core (src/model/shard-core.ts) must hold and show
 * exactly what Automerge's own documents do: the same writes through `changeLean` on a document
 * loaded lean as through A.change on one loaded whole, the same records read back, whether a few
 * records are read key by key or all of them at once.
 */
import * as A from "@automerge/automerge";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readRecords, writeRecord, type ShardDoc } from "../src/model/crdt-record.js";
import { changeLean, coreOf, loadLean, recordKeys } from "../src/model/shard-core.js";
import { applyBatch, edit, emptyShard, fillerRecords, IDS, MESSAGE, STAMP } from "./helpers/shard-edits.js";

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
    fc.assert(
      fc.property(fc.array(fc.array(edit, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }), (batches) => {
        const lean = loadLean(emptyShard());
        // Enough other records that one record's keys are read alone (src/model/record-keys.ts).
        changeLean(lean, { message: MESSAGE }, fillerRecords(0, 40));
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
    changeLean(lean, { message: MESSAGE }, fillerRecords(0, 40));
    expect(readRecords(coreOf(lean), new Set(["npm:other-1"])).get("npm:other-1")?.name).toBe("o1");
    changeLean(lean, { message: MESSAGE }, fillerRecords(40, 1_500));
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
