/**
 * The materializer reads which record keys a change wrote from the change's columns
 * (src/model/change-columns.ts) instead of decoding every operation with A.decodeChange. Over
 * random edits on several replicas, merged in random orders, with changes outside the records map
 * (the root, another map, another replica's records map made apart) and empty ones among them,
 * both readings must agree on every change; bytes it does not expect must give undefined (the
 * caller then decodes them with Automerge).
 */
import * as A from "@automerge/automerge";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeChangeKeys, parseObjectId, readChangeKeys, type ObjectId } from "../src/model/change-columns.js";
import { writeRecord } from "../src/model/crdt-record.js";
import { changeLean, coreOf, loadLean, recordsObjectId } from "../src/model/shard-core.js";
import { applyBatch, edit, emptyShard, fillerRecords, MESSAGE, STAMP } from "./helpers/shard-edits.js";

const step = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("edit" as const), replica: fc.nat(2), batch: fc.array(edit, { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("merge" as const), into: fc.nat(2), from: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("root" as const), replica: fc.nat(2), value: fc.string({ maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("empty" as const), replica: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("filler" as const), replica: fc.nat(2), from: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stranger" as const), replica: fc.nat(2) }) },
);

/** A shard made apart by another actor: its own records map, with the same counter as the shared one's. */
const strangerShard = (() => {
  const actor = "e".repeat(32);
  const doc = loadLean(A.save(A.from({ records: {} }, { actor })), { actor });
  changeLean(doc, { message: MESSAGE }, fillerRecords(0, 2));
  return A.save(doc);
})();

function objectIdOf(doc: A.Doc<unknown>): { id: string | undefined; obj: ObjectId | undefined } {
  const id = recordsObjectId(coreOf(doc));
  return { id, obj: id === undefined ? undefined : parseObjectId(id) };
}

function expectSameReading(doc: A.Doc<unknown>): void {
  const { id, obj } = objectIdOf(doc);
  for (const change of A.getAllChanges(doc)) {
    const read = readChangeKeys(change, obj);
    expect(read).toBeDefined();
    expect(read).toEqual(decodeChangeKeys(change, id));
  }
}

describe("reading a change's record keys from its columns", () => {
  it("agrees with Automerge's decoder on every change of randomly edited and merged replicas", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
        const base = emptyShard();
        const replicas = [0, 1, 2].map((i) => loadLean(base, { actor: `${"a".repeat(31)}${i}` }));
        for (const s of steps) {
          switch (s.kind) {
            case "edit":
              changeLean(replicas[s.replica]!, { message: MESSAGE }, (d) => void applyBatch(d, s.batch));
              break;
            case "merge":
              if (s.into !== s.from) replicas[s.into] = A.merge(replicas[s.into]!, replicas[s.from]!);
              break;
            case "root":
              // operations outside the records map: on the root, and on a map of its own
              replicas[s.replica] = A.change(replicas[s.replica]! as A.Doc<{ note?: string; extra?: Record<string, string> }>, (d) => {
                d.note = s.value;
                d.extra ??= {};
                d.extra[`k${s.value}`] = s.value;
              });
              break;
            case "stranger": {
              const stranger = loadLean(strangerShard);
              replicas[s.replica] = A.merge(replicas[s.replica]!, stranger);
              A.free(stranger);
              break;
            }
            case "empty":
              replicas[s.replica] = A.emptyChange(replicas[s.replica]!, MESSAGE);
              break;
            case "filler":
              changeLean(replicas[s.replica]!, { message: MESSAGE }, fillerRecords(s.from, 30));
              break;
          }
        }
        for (const replica of replicas) expectSameReading(replica);
        replicas.forEach((r) => A.free(r));
      }),
      { numRuns: 120 },
    );
  });

  it("reads keys and messages beyond ASCII, and a document whose records map another actor made", () => {
    const made = loadLean(emptyShard());
    const other = A.merge(loadLean(emptyShard(), { actor: "c".repeat(32) }), made);
    changeLean(other, { message: "édité ✓" }, (d) => {
      writeRecord(d, "npm:ünïcode-😀", { name: "名前", addTags: ["ß", "😀"] }, STAMP, "allow");
      writeRecord(d, "npm:plain", { name: "p", removeTags: ["ß"] }, STAMP, "allow");
    });
    changeLean(other, { message: MESSAGE }, (d) => void writeRecord(d, "npm:ünïcode-😀", { removeTags: ["😀"] }, STAMP, "allow"));
    expectSameReading(other);
    const keys = A.getAllChanges(other).flatMap((c) => readChangeKeys(c, objectIdOf(other).obj)?.keys ?? []);
    expect(keys).toContain("npm:ünïcode-😀 tag.😀");
    // the records map made by the actor that writes to it
    const actor = "d".repeat(32);
    const own = loadLean(A.save(A.from({ records: {} }, { actor })), { actor });
    changeLean(own, { message: MESSAGE }, fillerRecords(0, 3));
    // and another map of that actor's, written in the same change as the records
    const both = A.change(own as A.Doc<{ records: Record<string, unknown>; extra?: Record<string, string> }>, (d) => {
      d.extra = { k: "v" };
      d.records["npm:other-0 summary"] = new A.ImmutableString("changed");
    });
    expectSameReading(both);
    const last = readChangeKeys(A.getAllChanges(both).at(-1)!, objectIdOf(both).obj)!.keys;
    expect(last.filter((k) => k !== null)).toEqual(["npm:other-0 summary"]);
    expect(last.length).toBeGreaterThan(1);
    [made, other, both].forEach((d) => A.free(d));
  });

  it("gives undefined for bytes it does not expect, so that Automerge decodes them", () => {
    const doc = loadLean(emptyShard());
    changeLean(doc, { message: MESSAGE }, fillerRecords(0, 5));
    const { obj } = objectIdOf(doc);
    const change = A.getAllChanges(doc).at(-1)!;
    expect(readChangeKeys(change, obj)?.keys).toHaveLength(10);

    const flipped = Uint8Array.from(change);
    flipped[flipped.length - 3]! ^= 0xff; // no longer matches its checksum
    expect(readChangeKeys(flipped, obj)).toBeUndefined();
    expect(readChangeKeys(change.subarray(0, change.length - 1), obj)).toBeUndefined();
    expect(readChangeKeys(A.save(doc), obj)).toBeUndefined(); // a document chunk, not a change
    expect(readChangeKeys(new Uint8Array(0), obj)).toBeUndefined();
    A.free(doc);
  });
});
