/**
 * Conflicts as a user meets them: concurrent edits on replicas of one catalog, exchanged the way
 * bundles exchange them, and what `conflicts`, `show`, `resolve` and `history` then report.
 *
 * Each test builds its own replicas in temporary homes: one instance creates a small catalog
 * (4 shards), the others take it from a bundle (import-bundle), and changes travel by exporting
 * every document of one replica and merging it into another. Every test checks that replicas
 * which exchanged everything agree: identical `listConflicts` and identical `listRecords` (with
 * deleted records).
 *
 * The last block runs the real, built CLI (`npm run build` first; `npm test` does it).
 *
 * Run by hand with: npm run build && npx vitest run test/conflicts.test.ts
 */
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { readBundle } from "../src/bundle/bundle-file.js";
import { writeBundle } from "../src/bundle/write-bundle.js";
import { CatalogStore, documentIdOf } from "../src/catalog/catalog-store.js";
import { importBundle } from "../src/commands/bundle.js";
import { Instance } from "../src/instance.js";
import { recordHistory, type HistoryEntry } from "../src/model/history.js";
import type { CatalogRecord, RecordPatch } from "../src/model/record.js";
import { countConflicted, countRecords, getRecord, getRecordConflicts, listConflicts, listRecords, type ConflictedRecord } from "../src/view/queries.js";
import { tempDir } from "./helpers/temp-home.js";
import { expectExit, parseJson, shelf, shelfJson } from "./helpers/cli.js";

// ---------------------------------------------------------------------------------------------
// Replicas

/** `count` instances holding one catalog: the first created it, the others took it from a bundle. */
async function replicas(count: number): Promise<CatalogStore[]> {
  const dir = tempDir("shelf-conflicts-");
  const first = Instance.open(join(dir, "r0"), { create: true });
  onTestFinished(() => first.close());
  const origin = await CatalogStore.create(first, "t", 4);
  const seed = join(dir, "seed.bundle");
  writeBundle(seed, { url: origin.catalog.url, name: origin.catalog.name }, first.id, await origin.exportDocuments());
  const stores = [origin];
  for (let i = 1; i < count; i++) {
    const home = join(dir, `r${i}`);
    await importBundle(seed, { home });
    const instance = Instance.open(home);
    onTestFinished(() => instance.close());
    stores.push(await CatalogStore.open(instance, instance.catalog()));
  }
  return stores;
}

/** Carries every change `from` holds to `to`, as importing a bundle would. */
async function send(from: CatalogStore, to: CatalogStore): Promise<void> {
  for (const doc of await from.exportDocuments()) await to.mergeDocument(documentIdOf(doc.documentId), doc.data);
  await to.flush();
  await to.catchUp();
}

/** Both ways: afterwards a and b hold the same changes. */
async function exchange(a: CatalogStore, b: CatalogStore): Promise<void> {
  await send(a, b);
  await send(b, a);
}

/** Every replica ends up with every change (a ring pass, twice). */
async function exchangeAll(stores: CatalogStore[]): Promise<void> {
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < stores.length; i++) await send(stores[i]!, stores[(i + 1) % stores.length]!);
  }
}

const conflictsOf = (s: CatalogStore): ConflictedRecord[] => listConflicts(s.instance.db, s.catalog.catId);
const conflictsOfRecord = (s: CatalogStore, id: string) => getRecordConflicts(s.instance.db, s.catalog.catId, id);
const recordOf = (s: CatalogStore, id: string): CatalogRecord => {
  const record = getRecord(s.instance.db, s.catalog.catId, id);
  expect(record, `record ${id} on ${s.instance.id}`).toBeDefined();
  return record!;
};
const allRecords = (s: CatalogStore) => listRecords(s.instance.db, s.catalog.catId, { includeDeleted: true });
const historyOf = async (s: CatalogStore, id: string): Promise<HistoryEntry[]> => s.readShard(id, (core) => recordHistory(core, id));

/** Replicas that exchanged everything show the same conflicts and the same records, byte for byte. */
function expectAgreement(stores: CatalogStore[]): void {
  const conflicts = stores.map((s) => JSON.stringify(conflictsOf(s)));
  const records = stores.map((s) => JSON.stringify(allRecords(s)));
  for (let i = 1; i < stores.length; i++) {
    expect(conflicts[i], `conflicts of replica ${i} vs replica 0`).toBe(conflicts[0]);
    expect(records[i], `records of replica ${i} vs replica 0`).toBe(records[0]);
  }
  // What a sync reports, read from indexes, says the same as the records themselves.
  for (const s of stores) {
    const all = allRecords(s);
    expect(countConflicted(s.instance.db, s.catalog.catId)).toBe(conflictsOf(s).length);
    expect(countRecords(s.instance.db, s.catalog.catId)).toMatchObject({ records: all.length, deleted: all.filter((r) => r.deleted).length });
  }
}

/** Writes, and returns the record as the writer sees it right after (its updatedAt is the edit time). */
async function edit(s: CatalogStore, id: string, patch: RecordPatch, mode: "allow" | "forbid" | "require" = "forbid", op = "set"): Promise<CatalogRecord> {
  await s.write(id, patch, mode, op);
  return recordOf(s, id);
}

/** A record created on the first replica and carried to all the others before any test edit. */
async function seeded(stores: CatalogStore[], id: string, patch: RecordPatch): Promise<void> {
  await edit(stores[0]!, id, patch, "require", "add");
  await exchangeAll(stores);
}

const ID = "npm:left-pad";

// ---------------------------------------------------------------------------------------------

describe("concurrent writes of the same scalar field", () => {
  it("version set to different values on two replicas: both listed, one winner, the one shown", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", version: "1.0.0" });

    const onA = await edit(a!, ID, { version: "2.0.0" });
    const onB = await edit(b!, ID, { version: "3.0.0" });
    await exchange(a!, b!);
    expectAgreement([a!, b!]);

    const conflicts = conflictsOf(a!);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ id: ID, name: "left-pad", deleted: false, editedWhileDeleted: false });
    expect(conflicts[0]!.fields.map((f) => f.field)).toEqual(["version"]); // updatedAt/updatedBy are bookkeeping
    const values = conflicts[0]!.fields[0]!.values;
    expect(values.map((v) => v.n)).toEqual([1, 2]);
    expect(values.map((v) => v.value).sort()).toEqual(["2.0.0", "3.0.0"]);
    // who wrote each value, and when: the writer's instance id and its edit time
    expect(values.find((v) => v.value === "2.0.0")).toMatchObject({ by: a!.instance.id, at: onA.updatedAt });
    expect(values.find((v) => v.value === "3.0.0")).toMatchObject({ by: b!.instance.id, at: onB.updatedAt });
    // exactly one winner, and it is what every replica shows
    const winners = values.filter((v) => v.winner);
    expect(winners).toHaveLength(1);
    for (const s of [a!, b!]) expect(recordOf(s, ID).version).toBe(winners[0]!.value);
    // the same through the per-record query `show` uses
    expect(conflictsOfRecord(b!, ID)).toEqual(conflicts[0]);
  });

  it("a meta key set to different values on two replicas is a conflict of its own, JSON values kept", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", meta: { license: "MIT", stars: 1 } });

    const onA = await edit(a!, ID, { meta: { license: "ISC" } });
    const onB = await edit(b!, ID, { meta: { license: { spdx: "WTFPL" } } });
    await exchange(a!, b!);
    expectAgreement([a!, b!]);

    const conflicts = conflictsOf(b!);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.fields.map((f) => f.field)).toEqual(["meta.license"]);
    const values = conflicts[0]!.fields[0]!.values;
    expect(values.map((v) => v.n)).toEqual([1, 2]);
    expect(values.find((v) => v.value === "ISC")).toMatchObject({ by: a!.instance.id, at: onA.updatedAt });
    expect(values.find((v) => JSON.stringify(v.value) === JSON.stringify({ spdx: "WTFPL" }))).toMatchObject({ by: b!.instance.id, at: onB.updatedAt });
    const winners = values.filter((v) => v.winner);
    expect(winners).toHaveLength(1);
    for (const s of [a!, b!]) {
      expect(recordOf(s, ID).meta.license).toEqual(winners[0]!.value);
      expect(recordOf(s, ID).meta.stars).toBe(1); // the other meta key is untouched
    }
  });

  it("three replicas writing three values: all three listed, numbered 1..3 alike everywhere", async () => {
    const stores = await replicas(3);
    await seeded(stores, ID, { name: "left-pad", summary: "pads" });
    const written = await Promise.all(stores.map(async (s, i) => ({ by: s.instance.id, at: (await edit(s, ID, { summary: `summary ${i}` })).updatedAt, value: `summary ${i}` })));
    await exchangeAll(stores);
    expectAgreement(stores);

    const [record] = conflictsOf(stores[2]!);
    const values = record!.fields[0]!.values;
    expect(record!.fields[0]!.field).toBe("summary");
    expect(values.map((v) => v.n)).toEqual([1, 2, 3]);
    for (const w of written) expect(values.find((v) => v.value === w.value)).toMatchObject({ by: w.by, at: w.at });
    expect(values.filter((v) => v.winner)).toHaveLength(1);
    expect(recordOf(stores[0]!, ID).summary).toBe(values.find((v) => v.winner)!.value);
  });

  it("after concurrent edits, updatedAt and updatedBy name the same edit", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", version: "1.0.0" }); // A is the last editor
    // A edits twice (its operations now count higher, so its updatedAt is the one shown)...
    await edit(a!, ID, { version: "1.5.0" });
    const onA = await edit(a!, ID, { version: "2.0.0" });
    // ...while B edits once
    const onB = await edit(b!, ID, { version: "3.0.0" });
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    const { updatedAt, updatedBy } = recordOf(a!, ID);
    expect([
      [onA.updatedAt, onA.updatedBy],
      [onB.updatedAt, onB.updatedBy],
    ]).toContainEqual([updatedAt, updatedBy]);
  });

  it("two replicas writing the same value concurrently is not a conflict", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", version: "1.0.0" });
    await edit(a!, ID, { version: "2.0.0", meta: { license: "MIT" } });
    await edit(b!, ID, { version: "2.0.0", meta: { license: "MIT" } });
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(conflictsOf(a!)).toEqual([]);
    expect(conflictsOfRecord(a!, ID)).toBeUndefined();
    expect(recordOf(a!, ID)).toMatchObject({ version: "2.0.0", meta: { license: "MIT" } });
  });
});

describe("tags and collections are sets: add-wins, never a conflict", () => {
  it("a tag added on one side while removed on the other stays present", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", addTags: ["cli", "util"], addCollections: ["work"] });
    // B removes the tag; A, concurrently, removes it and adds it back (its last word is an add)
    await edit(b!, ID, { removeTags: ["cli"], removeCollections: ["work"] }, "forbid", "tag");
    await edit(a!, ID, { removeTags: ["cli"], removeCollections: ["work"] }, "forbid", "tag");
    await edit(a!, ID, { addTags: ["cli"], addCollections: ["work"] }, "forbid", "tag");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(recordOf(a!, ID).tags).toEqual(["cli", "util"]);
    expect(recordOf(a!, ID).collections).toEqual(["work"]);
    expect(conflictsOf(a!)).toEqual([]);
  });

  it("adding a tag that is already there changes nothing, so a concurrent removal of it wins", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", addTags: ["cli"] });
    expect(await a!.write(ID, { addTags: ["cli"] }, "forbid", "tag")).toBe("unchanged");
    await edit(b!, ID, { removeTags: ["cli"] }, "forbid", "tag");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(recordOf(a!, ID).tags).toEqual([]);
    expect(conflictsOf(a!)).toEqual([]);
  });

  it("a tag the other side did not touch is removed by the side that removed it", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", addTags: ["cli", "util"] });
    await edit(b!, ID, { removeTags: ["cli"] }, "forbid", "tag");
    await edit(a!, ID, { addTags: ["other"] }, "forbid", "tag");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(recordOf(b!, ID).tags).toEqual(["other", "util"]);
    expect(conflictsOf(a!)).toEqual([]);
  });

  it("two different tags added concurrently are both present", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad" });
    await edit(a!, ID, { addTags: ["from-a"], addCollections: ["ca"] }, "forbid", "tag");
    await edit(b!, ID, { addTags: ["from-b"], addCollections: ["cb"] }, "forbid", "tag");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(recordOf(a!, ID).tags).toEqual(["from-a", "from-b"]);
    expect(recordOf(a!, ID).collections).toEqual(["ca", "cb"]);
    expect(conflictsOf(a!)).toEqual([]);
  });
});

describe("delete vs edit", () => {
  /** A deletes the record while B, concurrently, edits its summary; then they exchange. */
  async function deleteVsEdit() {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", summary: "old summary" });
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await edit(b!, ID, { summary: "new summary" });
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    return { a: a!, b: b! };
  }

  it("a delete concurrent with an edit: tombstoned, the edit kept, editedWhileDeleted", async () => {
    const { a, b } = await deleteVsEdit();
    const record = recordOf(b, ID);
    expect(record).toMatchObject({ deleted: true, deletedBy: a.instance.id, summary: "new summary" });
    expect(conflictsOf(a)).toEqual([{ id: ID, name: "left-pad", deleted: true, editedWhileDeleted: true, fields: [] }]);
    // hidden from the default listing, still there with includeDeleted
    expect(listRecords(a.instance.db, a.catalog.catId).map((r) => r.id)).not.toContain(ID);
  });

  it("resolve deleted=false restores it, keeps the edit and clears the flag, on both replicas", async () => {
    const { a, b } = await deleteVsEdit();
    await a.resolve(ID, "deleted", false);
    expect(recordOf(a, ID)).toMatchObject({ deleted: false, deletedAt: null, deletedBy: null, summary: "new summary" });
    expect(conflictsOf(a)).toEqual([]);
    await exchange(a, b);
    expectAgreement([a, b]);
    expect(conflictsOf(b)).toEqual([]);
    expect(recordOf(b, ID)).toMatchObject({ deleted: false, summary: "new summary" });
  });

  it("resolve deleted=true keeps it deleted and clears the flag, on both replicas", async () => {
    const { a, b } = await deleteVsEdit();
    await b.resolve(ID, "deleted", true);
    expect(recordOf(b, ID)).toMatchObject({ deleted: true, deletedBy: b.instance.id, summary: "new summary" });
    expect(conflictsOf(b)).toEqual([]);
    await exchange(a, b);
    expectAgreement([a, b]);
    expect(conflictsOf(a)).toEqual([]);
    expect(recordOf(a, ID).deleted).toBe(true);
  });

  it("an edit made after a delete on the same replica: editedWhileDeleted", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad" });
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await edit(a!, ID, { version: "9.9.9" });
    expect(conflictsOfRecord(a!, ID)).toMatchObject({ deleted: true, editedWhileDeleted: true, fields: [] });
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(conflictsOfRecord(b!, ID)).toMatchObject({ editedWhileDeleted: true });
  });

  it("an edit made after syncing a delete, on another replica: editedWhileDeleted everywhere", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad" });
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await send(a!, b!);
    expect(conflictsOf(b!)).toEqual([]); // a plain delete is no conflict
    await edit(b!, ID, { addTags: ["still-used"] }, "forbid", "tag");
    await send(b!, a!);
    expectAgreement([a!, b!]);
    expect(conflictsOf(a!)).toEqual([{ id: ID, name: "left-pad", deleted: true, editedWhileDeleted: true, fields: [] }]);
    expect(recordOf(a!, ID).tags).toEqual(["still-used"]);
  });

  // Edited-while-deleted is found by comparing the updatedAt stamps with the deletedAt stamps, both
  // taken from the wall clock at millisecond precision. An edit stamped with the same millisecond
  // as the delete is therefore not seen.
  it("an edit after a delete stamped with the same millisecond is still seen", async () => {
    const [a] = await replicas(1);
    await edit(a!, ID, { name: "left-pad" }, "require", "add");
    const frozen = new Date("2030-01-01T00:00:00.000Z");
    const realStamp = a!.stamp.bind(a!);
    a!.stamp = () => ({ ...realStamp(), at: frozen.toISOString() });
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await edit(a!, ID, { summary: "edited after the delete" });
    expect(conflictsOfRecord(a!, ID)).toMatchObject({ editedWhileDeleted: true });
  });
});

describe("repeated and concurrent deletes", () => {
  it("both replicas delete the same record concurrently: deleted, no conflict", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad" });
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await edit(b!, ID, { deleted: true }, "forbid", "rm");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(recordOf(a!, ID).deleted).toBe(true);
    expect([a!.instance.id, b!.instance.id]).toContain(recordOf(a!, ID).deletedBy);
    expect(conflictsOf(a!)).toEqual([]);
    expect(conflictsOfRecord(b!, ID)).toBeUndefined();
  });

  it("delete, restore, delete again sequentially: deleted, no conflict", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad" });
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await send(a!, b!);
    await edit(b!, ID, { deleted: false }, "forbid", "restore");
    await send(b!, a!);
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(recordOf(b!, ID)).toMatchObject({ deleted: true, deletedBy: a!.instance.id });
    expect(conflictsOf(a!)).toEqual([]);
  });

  it("a restore that saw the delete, concurrent with an edit of the deleted record: restored, no conflict", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad" });
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await exchange(a!, b!);
    await edit(a!, ID, { deleted: false }, "forbid", "restore"); // A restores it...
    await edit(b!, ID, { summary: "x" }); // ...while B edits the still-deleted record
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    // A's restore saw the delete and supersedes it: restored, and nothing left to settle
    expect(recordOf(a!, ID)).toMatchObject({ deleted: false, summary: "x" });
    expect(conflictsOf(a!)).toEqual([]);
  });
  it("a delete concurrent with a delete-and-restore is a conflict on `deleted`, settled by resolve", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad" });
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await edit(a!, ID, { deleted: false }, "forbid", "restore");
    await edit(b!, ID, { deleted: true }, "forbid", "rm");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    const conflicts = conflictsOfRecord(a!, ID)!;
    expect(conflicts.fields.map((f) => f.field)).toEqual(["deleted"]);
    const values = conflicts.fields[0]!.values;
    expect(values.find((v) => v.value === false)).toMatchObject({ by: a!.instance.id });
    expect(values.find((v) => v.value === true)).toMatchObject({ by: b!.instance.id });
    const winner = values.find((v) => v.winner)!;
    expect(recordOf(a!, ID).deleted).toBe(winner.value);
    // settle it: restored for everyone
    await b!.resolve(ID, "deleted", false);
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(conflictsOf(a!)).toEqual([]);
    expect(recordOf(a!, ID).deleted).toBe(false);
  });
});

describe("concurrent creation of the same id", () => {
  it("merges field by field into one record; a differing name is a conflict; tags from both", async () => {
    const [a, b] = await replicas(2);
    const onA = await edit(a!, ID, { name: "left-pad", version: "1.0.0", addTags: ["from-a"], meta: { license: "MIT" } }, "require", "add");
    const onB = await edit(b!, ID, { name: "leftpad", summary: "String left pad", addTags: ["from-b"], meta: { homepage: "https://example.org" } }, "require", "add");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);

    expect(allRecords(a!).filter((r) => r.id === ID)).toHaveLength(1);
    const record = recordOf(a!, ID);
    expect(record).toMatchObject({ version: "1.0.0", summary: "String left pad", tags: ["from-a", "from-b"], meta: { homepage: "https://example.org", license: "MIT" }, deleted: false });
    const conflicts = conflictsOf(b!);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.fields.map((f) => f.field)).toEqual(["name"]);
    const values = conflicts[0]!.fields[0]!.values;
    expect(values.find((v) => v.value === "left-pad")).toMatchObject({ by: a!.instance.id, at: onA.updatedAt });
    expect(values.find((v) => v.value === "leftpad")).toMatchObject({ by: b!.instance.id, at: onB.updatedAt });
    expect(values.filter((v) => v.winner)).toEqual([expect.objectContaining({ value: record.name })]);
    expect(conflicts[0]!.name).toBe(record.name);
  });

  it("the same name on both sides is no conflict", async () => {
    const [a, b] = await replicas(2);
    await edit(a!, ID, { name: "left-pad", version: "1.0.0" }, "require", "add");
    await edit(b!, ID, { name: "left-pad", version: "1.0.0" }, "require", "add");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);
    expect(conflictsOf(a!)).toEqual([]);
  });
});

describe("a resolved conflict stays resolved", () => {
  /** A and B set version concurrently; C sees both values. */
  async function conflictOnVersion() {
    const stores = await replicas(3);
    const [a, b, c] = stores as [CatalogStore, CatalogStore, CatalogStore];
    await seeded(stores, ID, { name: "left-pad", version: "1.0.0" });
    await edit(a, ID, { version: "2.0.0" });
    await edit(b, ID, { version: "3.0.0" });
    await exchangeAll(stores);
    expectAgreement(stores);
    for (const s of stores) expect(conflictsOfRecord(s, ID)?.fields.map((f) => f.field)).toEqual(["version"]);
    return { a, b, c, stores };
  }

  it("after A resolves, replicas that had seen both values but not the resolution take it: no conflict anywhere", async () => {
    const { a, b, c, stores } = await conflictOnVersion();
    // A picks the value that is not currently shown, so the pick really changes something
    const loser = conflictsOfRecord(a, ID)!.fields[0]!.values.find((v) => !v.winner)!;
    await a.resolve(ID, "version", loser.value);
    expect(conflictsOf(a)).toEqual([]);
    expect(recordOf(a, ID).version).toBe(loser.value);
    // C had both conflicting values, made no edit, and now meets A
    await exchange(a, c);
    expect(conflictsOf(c)).toEqual([]);
    await exchangeAll([c, b, a]);
    expectAgreement(stores);
    for (const s of stores) {
      expect(conflictsOf(s)).toEqual([]);
      expect(recordOf(s, ID).version).toBe(loser.value);
    }
  });

  it("picking the value already shown also settles it for good", async () => {
    const { a, b, c, stores } = await conflictOnVersion();
    const shown = recordOf(b, ID).version;
    await b.resolve(ID, "version", shown);
    expect(conflictsOf(b)).toEqual([]);
    await exchangeAll([b, c, a]);
    expectAgreement(stores);
    for (const s of stores) expect(conflictsOf(s)).toEqual([]);
  });

  /**
   * A, B and C see A's and B's values of version; A resolves with one of them (`keep`: the value
   * shown, or the other one); C takes the resolution; B, not having seen it, sets version again.
   */
  async function reopen(keep: "shown" | "other") {
    const { a, b, c, stores } = await conflictOnVersion();
    const picked = conflictsOfRecord(a, ID)!.fields[0]!.values.find((v) => v.winner === (keep === "shown"))!.value as string;
    await a.resolve(ID, "version", picked);
    const resolution = recordOf(a, ID);
    expect(resolution.version).toBe(picked);
    await exchange(a, c); // C takes the resolution
    expect(conflictsOf(c)).toEqual([]);
    // B has not seen the resolution and edits version again
    const onB = await edit(b, ID, { version: "4.0.0" });
    await exchangeAll(stores);
    expectAgreement(stores);
    const fields = conflictsOfRecord(c, ID)?.fields;
    expect(fields?.map((f) => f.field), "a conflict on version after the exchange").toEqual(["version"]);
    const values = fields![0]!.values;
    // only the two live values: the resolution and B's new one; what the resolution superseded is gone
    expect(values.map((v) => v.n)).toEqual([1, 2]);
    expect(values.find((v) => v.value === picked)).toMatchObject({ by: a.instance.id, at: resolution.updatedAt });
    expect(values.find((v) => v.value === "4.0.0")).toMatchObject({ by: b.instance.id, at: onB.updatedAt });
    expect(values.filter((v) => v.winner)).toHaveLength(1);
    expect(recordOf(a, ID).version).toBe(values.find((v) => v.winner)!.value);

    // and settling it again settles it for everyone
    await c.resolve(ID, "version", "4.0.0");
    await exchangeAll(stores);
    expectAgreement(stores);
    for (const s of stores) expect(conflictsOf(s)).toEqual([]);
    expect(recordOf(a, ID).version).toBe("4.0.0");
  }

  it("a new concurrent edit reopens it, listing the resolution and the new value", async () => {
    await reopen("other");
  });

  it("a resolution that keeps the value shown also reopens on a new concurrent edit", async () => {
    await reopen("shown");
  });
});

describe("the view", () => {
  it("rebuild leaves the conflicts (and records) exactly as they were", async () => {
    const [a, b] = await replicas(2);
    const OTHER = "pypi:requests";
    const GONE = "npm:gone";
    await seeded([a!, b!], ID, { name: "left-pad", version: "1.0.0", meta: { license: "MIT" } });
    await seeded([a!, b!], GONE, { name: "gone" });
    await edit(a!, ID, { version: "2.0.0", meta: { license: "ISC" } });
    await edit(b!, ID, { version: "3.0.0", meta: { license: "0BSD" } });
    await edit(a!, OTHER, { name: "requests" }, "require", "add");
    await edit(b!, OTHER, { name: "python-requests" }, "require", "add");
    await edit(a!, GONE, { deleted: true }, "forbid", "rm");
    await edit(b!, GONE, { summary: "still needed" });
    await exchange(a!, b!);
    expectAgreement([a!, b!]);

    const before = JSON.stringify(conflictsOf(a!));
    const recordsBefore = JSON.stringify(allRecords(a!));
    expect(conflictsOf(a!).map((c) => c.id)).toEqual([GONE, ID, OTHER]);
    await a!.rebuild();
    expect(JSON.stringify(conflictsOf(a!))).toBe(before);
    expect(JSON.stringify(allRecords(a!))).toBe(recordsBefore);
    expectAgreement([a!, b!]);
  });
});

describe("history", () => {
  it("lists every change to the record from both replicas, with who, which command, and old -> new", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", version: "1.0.0", addTags: ["util"] });
    await edit(a!, ID, { version: "2.0.0" });
    await edit(b!, ID, { version: "3.0.0" });
    await edit(b!, ID, { removeTags: ["util"] }, "forbid", "tag");
    await exchange(a!, b!);
    // A keeps the value not shown (the next test keeps the shown one)
    const picked = conflictsOfRecord(a!, ID)!.fields[0]!.values.find((v) => !v.winner)!.value as string;
    await a!.resolve(ID, "version", picked);
    await edit(a!, ID, { deleted: true }, "forbid", "rm");
    await exchange(a!, b!);
    expectAgreement([a!, b!]);

    const history = await historyOf(a!, ID);
    // the same changes on both replicas (concurrent ones may come in another causal order)
    const byChange = (h: HistoryEntry[]) => JSON.stringify([...h].sort((x, y) => (x.change < y.change ? -1 : 1)));
    expect(byChange(await historyOf(b!, ID))).toBe(byChange(history));
    expect(history.map((e) => e.op)).toHaveLength(6);
    const [add, setA, setB, untag, resolved, rm] = (() => {
      // causal order: the add first; A's and B's concurrent sets in either order
      const add = history[0]!;
      const setA = history.find((e) => e.by === a!.instance.id && e.op === "set")!;
      const setB = history.find((e) => e.by === b!.instance.id && e.op === "set")!;
      const untag = history.find((e) => e.op === "tag")!;
      const resolved = history.find((e) => e.op === "resolve")!;
      const rm = history.at(-1)!;
      return [add, setA, setB, untag, resolved, rm];
    })();
    expect(add).toMatchObject({ by: a!.instance.id, op: "add" });
    expect(add.fields).toEqual(
      expect.arrayContaining([
        { field: "name", old: null, new: "left-pad" },
        { field: "version", old: null, new: "1.0.0" },
        { field: "tag.util", old: null, new: true },
      ]),
    );
    expect(setA.fields).toEqual([{ field: "version", old: "1.0.0", new: "2.0.0" }]);
    expect(setB.fields).toEqual([{ field: "version", old: "1.0.0", new: "3.0.0" }]);
    expect(untag).toMatchObject({ by: b!.instance.id, fields: [{ field: "tag.util", old: true, new: null }] });
    // the resolution saw both values: its "old" lists them
    expect(resolved.by).toBe(a!.instance.id);
    expect(resolved.fields).toHaveLength(1);
    expect(resolved.fields[0]).toMatchObject({ field: "version", new: picked });
    expect([resolved.fields[0]!.old].flat().sort()).toEqual(["2.0.0", "3.0.0"]);
    expect(rm).toMatchObject({ by: a!.instance.id, op: "rm" });
    expect(rm.fields.map((f) => f.field).sort()).toEqual(["deleted", "deletedAt", "deletedBy"]);
    expect(rm.fields.find((f) => f.field === "deleted")).toEqual({ field: "deleted", old: null, new: true });
    // bookkeeping is not listed as changed fields
    for (const e of history) {
      expect(e.fields.map((f) => f.field)).not.toContain("updatedAt");
      expect(e.fields.map((f) => f.field)).not.toContain("updatedBy");
      expect(e.fields.length).toBeGreaterThan(0);
      expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(e.change).toMatch(/^[0-9a-f]{64}$/);
    }
    // `at` of each entry is the edit time the writer stamped
    expect(rm.at).toBe(recordOf(a!, ID).deletedAt);
  });

  it("a resolution that keeps the value shown is listed as old -> picked value", async () => {
    const [a, b] = await replicas(2);
    await seeded([a!, b!], ID, { name: "left-pad", version: "1.0.0" });
    await edit(a!, ID, { version: "2.0.0" });
    await edit(b!, ID, { version: "3.0.0" });
    await exchange(a!, b!);
    const shown = recordOf(a!, ID).version;
    await a!.resolve(ID, "version", shown);
    const resolved = (await historyOf(a!, ID)).find((e) => e.op === "resolve")!;
    expect(resolved.fields).toHaveLength(1);
    expect(resolved.fields[0]).toMatchObject({ field: "version", new: shown });
    expect([resolved.fields[0]!.old].flat().sort()).toEqual(["2.0.0", "3.0.0"]);
  });

  it("a change to another record of the same shard is not in this record's history", async () => {
    const [a] = await replicas(1);
    await edit(a!, ID, { name: "left-pad" }, "require", "add");
    // 4 shards: some of these ids share ID's shard
    for (const other of ["npm:a", "npm:b", "npm:c", "npm:d", "npm:e", "npm:left-pad2"]) await edit(a!, other, { name: other }, "require", "add");
    await edit(a!, "npm:left-pad2", { version: "1" });
    const history = await historyOf(a!, ID);
    expect(history).toHaveLength(1);
    expect(history[0]!.fields.map((f) => f.field)).toEqual(["name"]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("through the CLI", () => {
  it("conflicts, show, resolve and history after an export / import-bundle exchange", async () => {
    const dir = tempDir("shelf-conflicts-cli-");
    const A = join(dir, "a");
    const B = join(dir, "b");
    const bundle = (name: string) => join(dir, name);
    expectExit(await shelf(A, "init"), 0);
    expectExit(await shelf(A, "add", ID, "--name", "left-pad", "--version", "1.0.0"), 0);
    expectExit(await shelf(A, "export", bundle("a1.bundle")), 0);
    expectExit(await shelf(B, "import-bundle", bundle("a1.bundle")), 0);

    expectExit(await shelf(A, "set", ID, "version=2.0.0"), 0);
    expectExit(await shelf(B, "set", ID, "version=3.0.0"), 0);
    expectExit(await shelf(B, "export", bundle("b1.bundle")), 0);
    expectExit(await shelf(A, "import-bundle", bundle("b1.bundle")), 0);
    expectExit(await shelf(A, "export", bundle("a2.bundle")), 0);
    expectExit(await shelf(B, "import-bundle", bundle("a2.bundle")), 0);

    const idA = (await shelfJson(A, "status")).status.instanceId as string;
    const idB = (await shelfJson(B, "status")).status.instanceId as string;

    // conflicts --json: the same on both instances
    const raw = await shelf(A, "conflicts", "--json");
    expectExit(raw, 0);
    expect((await shelf(B, "conflicts", "--json")).stdout).toBe(raw.stdout);
    const listed = parseJson(raw);
    expect(listed.schemaVersion).toBe(1);
    expect(listed.count).toBe(1);
    expect(listed.conflicts[0]).toMatchObject({ id: ID, name: "left-pad", deleted: false, editedWhileDeleted: false });
    expect(listed.conflicts[0].fields).toHaveLength(1);
    expect(listed.conflicts[0].fields[0].field).toBe("version");
    const values = listed.conflicts[0].fields[0].values as { n: number; value: string; winner: boolean; by: string; at: string }[];
    expect(values.map((v) => v.n)).toEqual([1, 2]);
    expect(values.find((v) => v.value === "2.0.0")?.by).toBe(idA);
    expect(values.find((v) => v.value === "3.0.0")?.by).toBe(idB);

    // show --json carries it under "conflicts"
    const shown = await shelfJson(A, "show", ID);
    expect(shown.conflicts).toMatchObject({ editedWhileDeleted: false, fields: listed.conflicts[0].fields });
    expect(shown.record.version).toBe(values.find((v) => v.winner)!.value);
    // and the text form names the values and how to settle
    const text = await shelf(A, "show", ID);
    expectExit(text, 0);
    expect(text.stdout).toContain("conflict on version:");
    expect(text.stdout).toContain("shelf resolve ID FIELD --pick N");

    // usage errors: a number that is not there, a field that does not exist
    const badPick = await shelf(A, "resolve", ID, "version", "--pick", "9");
    expectExit(badPick, 2);
    expect(badPick.stderr).toContain("has no value number 9 (it has 1-2)");
    const badField = await shelf(A, "resolve", ID, "nosuch", "--value", "x");
    expectExit(badField, 2);
    expect(badField.stderr).toContain('"nosuch" is not a field that can conflict');
    expect(await shelfJson(A, "conflicts")).toMatchObject({ count: 1 }); // neither changed anything

    // resolve --pick 2
    const resolved = await shelf(A, "resolve", ID, "version", "--pick", "2", "--json");
    expectExit(resolved, 0);
    const result = parseJson(resolved);
    expect(result).toMatchObject({ schemaVersion: 1, id: ID, field: "version", value: values[1]!.value, conflicts: null });
    expect(result.record.version).toBe(values[1]!.value);
    expect(await shelfJson(A, "conflicts")).toMatchObject({ count: 0, conflicts: [] });
    expect((await shelf(A, "conflicts")).stderr).toContain("no conflicts");
    // picking again: nothing left to pick from
    const again = await shelf(A, "resolve", ID, "version", "--pick", "1");
    expectExit(again, 2);
    expect(again.stderr).toContain("has no conflict to pick from");

    // history --json: the add, both sets, the resolution
    const history = await shelfJson(A, "history", ID);
    expect(history).toMatchObject({ id: ID, count: 4 });
    expect(history.history.map((e: HistoryEntry) => e.op)).toEqual(["add", expect.any(String), expect.any(String), "resolve"]);
    expect(history.history.map((e: HistoryEntry) => e.by).sort()).toEqual([idA, idA, idA, idB].sort());
    expect(history.history[0].fields).toEqual(expect.arrayContaining([{ field: "name", old: null, new: "left-pad" }]));
    expect(history.history[3]).toMatchObject({ by: idA, op: "resolve" });
    expect(history.history[3].fields.map((f: { field: string }) => f.field)).toEqual(["version"]);
    // --pick 2 kept the value shown, and the entry still says what the resolution wrote

    // the resolution travels: B sees no conflict once it takes A's bundle
    expectExit(await shelf(A, "export", bundle("a3.bundle")), 0);
    expectExit(await shelf(B, "import-bundle", bundle("a3.bundle")), 0);
    expect(await shelfJson(B, "conflicts")).toMatchObject({ count: 0 });
    expect((await shelf(B, "list", "--include-deleted", "--json")).stdout).toBe((await shelf(A, "list", "--include-deleted", "--json")).stdout);
  }, 240_000);
});
