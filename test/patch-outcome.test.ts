/**
 * Telling from the view what a write would do (src/model/patch-outcome.ts): an import stages only
 * the rows it says would change their record, and an edit it says changes nothing is answered
 * without loading the shard. So it must agree with what writing the patch into the shard document
 * does (`writeRecord`), for any record and any patch.
 */
import * as A from "@automerge/automerge";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readRecord, writeRecord, type EditStamp, type ShardDoc } from "../src/model/crdt-record.js";
import { predictOutcome } from "../src/model/patch-outcome.js";
import type { JsonValue, RecordPatch } from "../src/model/record.js";
import { coreOf } from "../src/model/shard-core.js";

const ID = "npm:left-pad";
const STAMP: EditStamp = { at: "2026-12-01T00:00:00.000Z", by: "a".repeat(32) };

// Few values each, so that a patch often sets what the record already holds.
const text = fc.constantFrom("a", "b", "");
const label = fc.constantFrom("x", "y", "z");
const json: fc.Arbitrary<JsonValue> = fc.constantFrom<JsonValue>("MIT", 1, true, null, ["a"], { k: "v" });
/** A patch of one to three fields: a short patch often changes nothing. */
const patch: fc.Arbitrary<RecordPatch> = fc
  .array(
    fc.oneof(
      fc.record({ kind: fc.constantFrom("package" as const, "file" as const) }),
      fc.record({ name: text.map((t) => `n${t}`) }),
      fc.record({ version: text }),
      fc.record({ summary: text }),
      fc.record({ meta: fc.dictionary(fc.constantFrom("license", "homepage"), fc.option(json, { nil: undefined }), { minKeys: 1 }) }),
      fc.record({ addTags: fc.array(label, { minLength: 1, maxLength: 2 }) }),
      fc.record({ removeTags: fc.array(label, { minLength: 1, maxLength: 2 }) }),
      fc.record({ addCollections: fc.array(label, { minLength: 1, maxLength: 2 }) }),
      fc.record({ removeCollections: fc.array(label, { minLength: 1, maxLength: 2 }) }),
      fc.record({ deleted: fc.boolean() }),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((parts): RecordPatch => Object.assign({}, ...parts));

describe("predictOutcome", () => {
  it("calls unchanged every patch the shard would skip, and no patch that changes what the record shows", () => {
    fc.assert(
      fc.property(fc.array(patch, { minLength: 1, maxLength: 4 }), patch, (history, next) => {
        // the record as earlier writes left it
        let doc: A.Doc<ShardDoc> = A.from<{ records: ShardDoc["records"] }>({ records: {} });
        doc = A.change(doc, (d) => void writeRecord(d, ID, { ...history[0], name: history[0]!.name ?? "first" }, STAMP, "allow"));
        for (const earlier of history.slice(1)) doc = A.change(doc, (d) => void writeRecord(d, ID, earlier, STAMP, "allow"));
        const before = readRecord(coreOf(doc), ID)!;
        let written: string | undefined;
        const after = readRecord(
          coreOf(A.change(doc, (d) => void (written = writeRecord(d, ID, next, STAMP, "forbid")))),
          ID,
        )!;
        // Who edited last comes from the change itself, which the view does not compare.
        const shown = ({ updatedAt: _at, updatedBy: _by, ...rest }: typeof before) => rest;
        const predicted = predictOutcome(before, next);
        // Skipping a write the view calls unchanged loses nothing anyone sees...
        if (predicted === "unchanged") expect(shown(after)).toEqual(shown(before));
        // ... and a write the shard would skip, the view skips too.
        if (written === "unchanged") expect(predicted).toBe("unchanged");
      }),
      { numRuns: 300 },
    );
  });

  it("says a record the view lacks would be created", () => {
    expect(predictOutcome(undefined, { name: "left-pad" })).toBe("created");
  });
});
