/**
 * The record model: id and patch validation (src/model/record.ts), and how records live inside an
 * Automerge shard document (src/model/crdt-record.ts), including what concurrent edits merge to.
 */
import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import { ShelfError, type ErrorCode } from "../src/errors.js";
import { validateId, validatePatch, type RecordKind, type RecordPatch } from "../src/model/record.js";
import { readRecord, writeRecord, type EditStamp, type ShardDoc, type WriteOutcome } from "../src/model/crdt-record.js";
import { changeMessage } from "../src/model/change-message.js";
import { coreOf } from "../src/model/shard-core.js";

const HEX64 = "0123456789abcdef".repeat(4);

/** Runs `fn` and returns the ShelfError it throws; fails the test if it throws anything else. */
function shelfErrorOf(fn: () => unknown): ShelfError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ShelfError);
    return err as ShelfError;
  }
  throw new Error("expected a ShelfError, but nothing was thrown");
}

function expectShelfError(fn: () => unknown, code: ErrorCode, message: RegExp): void {
  const err = shelfErrorOf(fn);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
}

describe("validateId", () => {
  it.each([
    ["npm:react", "npm", "react"],
    ["npm:@types/node", "npm", "@types/node"],
    ["pypi:requests", "pypi", "requests"],
    ["winget:Git.Git", "winget", "Git.Git"],
    ["choco:7zip", "choco", "7zip"],
    ["pacman:linux", "pacman", "linux"],
    [`file:sha256:${HEX64}`, "file", `sha256:${HEX64}`],
  ])("accepts %s", (id, provider, localName) => {
    expect(validateId(id)).toStrictEqual({ provider, localName });
  });

  it.each([
    ["", /empty/],
    ["react", /no provider prefix/],
    ["NPM:react", /provider "NPM" is not a lowercase word/],
    ["Npm:react", /provider "Npm" is not a lowercase word/],
    [":react", /provider "" is not a lowercase word/],
    ["npm:", /part after the provider is empty/],
    ["npm:re act", /whitespace or control/],
    ["npm:react\t", /whitespace or control/],
    [" npm:react", /whitespace or control/],
    ["npm:re\u00a0act", /whitespace or control/],
    ["npm:re\nact", /whitespace or control/],
    ["npm:re\u0000act", /whitespace or control/],
    ["npm:re\u001bact", /whitespace or control/],
    ["npm:re\u0085act", /whitespace or control/],
    ["npm:re\u2028act", /whitespace or control/],
    ["npm:..", /'\.\.' path segment/],
    ["npm:../etc/passwd", /'\.\.' path segment/],
    ["npm:a/../b", /'\.\.' path segment/],
    ["npm:a/./b", /'\.\.' path segment/],
    ["npm:a\\b", /backslash/],
    ["npm:..\\..\\windows", /backslash/],
    [`npm:${"a".repeat(600)}`, /longer than 512/],
    ["file:abc", /file ids are file:sha256:<64 lowercase hex digits>/],
    ["file:sha256:", /file ids are/],
    [`file:sha256:${HEX64.slice(1)}`, /file ids are/],
    [`file:sha256:${HEX64}0`, /file ids are/],
    [`file:sha256:${HEX64.toUpperCase()}`, /file ids are/],
    [`file:md5:${HEX64}`, /file ids are/],
    ["npm:/etc/passwd", /empty path segment/],
    ["npm:a//b", /empty path segment/],
    ["npm:a/", /empty path segment/],
    ["npm:re\u202eact", /invisible formatting/],
    ["npm:re\u200bact", /invisible formatting/],
    ["npm:react\ufeff", /whitespace or control/], // JavaScript counts U+FEFF as whitespace
  ])("rejects %j", (id, why) => {
    const err = shelfErrorOf(() => validateId(id));
    expect(err.code).toBe("SHELF_E_INVALID_ID");
    expect(err.message).toContain(JSON.stringify(id));
    expect(err.message).toMatch(why);
    expect(err.hint).toMatch(/PROVIDER:NAME/);
  });

  it.each([
    [{ name: "" }, /name must not be empty/, /visible character/],
    [{ summary: "x".repeat(4097) }, /summary is longer than 4096 characters/, /at most 4096/],
    [{ version: 7 as unknown as string }, /version must be a string/, /as text/],
    [{ kind: "car" as unknown as RecordKind }, /kind must be one of/, /pick one of package/],
    [{ meta: { big: "x".repeat(20_000) } }, /larger than 16384 bytes/, /link or hash/],
  ])("a field error %j says what to do on a hint line", (patch, why, hint) => {
    const err = shelfErrorOf(() => validatePatch(patch as RecordPatch));
    expect(err.code).toBe("SHELF_E_INVALID_FIELD");
    expect(err.message).toMatch(why);
    expect(err.hint).toMatch(hint);
  });

  it("rejects values that are not strings", () => {
    expectShelfError(() => validateId(undefined as unknown as string), "SHELF_E_INVALID_ID", /empty/);
    expectShelfError(() => validateId(42 as unknown as string), "SHELF_E_INVALID_ID", /empty/);
  });
});

describe("validatePatch", () => {
  it("accepts a full, well-formed patch and returns it", () => {
    const patch: RecordPatch = {
      kind: "package",
      name: "react",
      version: "18.3.1",
      summary: "A JavaScript library for building user interfaces",
      meta: { homepage: "https://react.dev", "license.spdx": "MIT", size_bytes: 1234, _private: { a: [1, null, true] }, gone: undefined },
      addTags: ["ui", "c++", "v1.2", "scope:frontend", "ünïcode"],
      removeTags: ["old"],
      addCollections: ["work/frontend"],
      removeCollections: ["x"],
      deleted: false,
    };
    expect(validatePatch(patch)).toBe(patch);
    expect(validatePatch({})).toStrictEqual({});
    expect(validatePatch({ version: "", summary: "" })).toBeDefined();
  });

  const bad: [string, unknown, RegExp][] = [
    ["an unknown field", { colour: "red" }, /unknown field "colour"/],
    ["a misspelt field", { tags: ["x"] }, /unknown field "tags"/],
    ["an unknown kind", { kind: "library" }, /kind must be one of package, file/],
    ["a numeric name", { name: 42 }, /name must be a string, got number/],
    ["a null summary", { summary: null }, /summary must be a string, got null/],
    ["an array version", { version: ["1"] }, /version must be a string, got array/],
    ["an empty name", { name: "   " }, /name must not be empty/],
    ["a name with a newline", { name: "re\nact" }, /name contains control characters/],
    ["a summary with a NUL", { summary: "a\u0000b" }, /summary contains control characters/],
    ["an overlong name", { name: "n".repeat(513) }, /name is longer than 512/],
    ["an overlong version", { version: "1".repeat(129) }, /version is longer than 128/],
    ["meta that is an array", { meta: ["a"] }, /meta must be an object/],
    ["meta that is null", { meta: null }, /meta must be an object/],
    ["a meta key with a space", { meta: { "home page": "x" } }, /invalid meta key "home page"/],
    ["a meta key starting with a digit", { meta: { "1x": "x" } }, /invalid meta key "1x"/],
    ["an empty meta key", { meta: { "": "x" } }, /invalid meta key ""/],
    ["a meta value that is not JSON", { meta: { f: () => 1 } }, /meta\.f is not a JSON value/],
    ["a meta value that is NaN", { meta: { n: Number.NaN } }, /meta\.n is not a JSON value/],
    ["a meta value holding Infinity deep inside", { meta: { n: { list: [1, Number.POSITIVE_INFINITY] } } }, /meta\.n is not a JSON value/],
    ["an oversized meta value", { meta: { big: "x".repeat(20_000) } }, /meta\.big is larger than/],
    ["a tag with a space", { addTags: ["two words"] }, /invalid tag "two words"/],
    ["a tag starting with punctuation", { addTags: ["-x"] }, /invalid tag "-x"/],
    ["an empty tag", { removeTags: [""] }, /invalid tag ""/],
    ["a tag that is not a string", { addTags: [7] }, /tag must be a string, got number/],
    ["an overlong tag", { addTags: ["t".repeat(65)] }, /invalid tag/],
    ["a collection with a control character", { addCollections: ["a\u0007"] }, /invalid collection/],
    ["a non-boolean deleted", { deleted: "yes" }, /deleted must be a boolean/],
  ];
  it.each(bad)("rejects %s", (_what, patch, message) => {
    expectShelfError(() => validatePatch(patch as RecordPatch), "SHELF_E_INVALID_FIELD", message);
  });
});

// ---------------------------------------------------------------------------------------------

const stamp = (at: string, by = "inst-a"): EditStamp => ({ at, by });
const T1 = stamp("2024-01-01T00:00:00.000Z");
const T2 = stamp("2024-01-02T00:00:00.000Z");
const T3 = stamp("2024-01-03T00:00:00.000Z");

// A type literal (not the ShardDoc interface) satisfies A.from's Record<string, unknown> bound.
const emptyShard = (): A.Doc<ShardDoc> => A.from<{ records: ShardDoc["records"] }>({ records: {} });

/**
 * One Automerge change that applies one write, with the message CatalogStore gives it (who, when,
 * which command); returns the new doc and the write's outcome.
 */
function write(doc: A.Doc<ShardDoc>, id: string, patch: RecordPatch, at: EditStamp, mode: "allow" | "forbid" | "require" = "allow") {
  let outcome: WriteOutcome | undefined;
  const next = A.change(doc, { message: changeMessage(at, "test") }, (d) => {
    outcome = writeRecord(d, id, patch, at, mode);
  });
  return { doc: next, outcome: outcome! };
}

const read = (doc: A.Doc<ShardDoc>, id: string) => readRecord(coreOf(doc), id)!;

describe("writeRecord / readRecord", () => {
  it("creates a record with defaults derived from its id", () => {
    const { doc, outcome } = write(emptyShard(), "npm:react", { name: "react" }, T1);
    expect(outcome).toBe("created");
    expect(read(doc, "npm:react")).toStrictEqual({
      id: "npm:react",
      kind: "package",
      provider: "npm",
      name: "react",
      version: "",
      summary: "",
      tags: [],
      collections: [],
      meta: {},
      deleted: false,
      deletedAt: null,
      deletedBy: null,
      updatedAt: T1.at,
      updatedBy: T1.by,
    });

    const file = write(emptyShard(), `file:sha256:${HEX64}`, { name: "a.txt" }, T1).doc;
    expect(read(file, `file:sha256:${HEX64}`)).toMatchObject({ kind: "file", provider: "file" });
  });

  it("stores scalars as ImmutableStrings, not collaborative text", () => {
    const { doc } = write(emptyShard(), "npm:react", { kind: "file", name: "react", version: "1.0.0", meta: { homepage: "https://react.dev" } }, T1);
    for (const field of ["name", "version", "kind", "meta.homepage"]) {
      const value = doc.records[`npm:react ${field}`];
      expect(A.isImmutableString(value)).toBe(true);
    }
  });

  it("a new record needs a valid id and a name", () => {
    expectShelfError(() => write(emptyShard(), "npm:react", { summary: "no name" }, T1), "SHELF_E_INVALID_FIELD", /needs a name/);
    expectShelfError(() => write(emptyShard(), "NPM:react", { name: "react" }, T1), "SHELF_E_INVALID_ID", /not a lowercase word/);
  });

  it("reports updated for a real change and unchanged for a patch that changes nothing", () => {
    let { doc } = write(emptyShard(), "npm:react", { name: "react", version: "1.0.0", summary: "UI", addTags: ["ui"], meta: { license: "MIT" } }, T1);

    const updated = write(doc, "npm:react", { version: "1.1.0" }, T2);
    expect(updated.outcome).toBe("updated");
    expect(read(updated.doc, "npm:react")).toMatchObject({ version: "1.1.0", name: "react", summary: "UI", updatedAt: T2.at });
    doc = updated.doc;

    const changesBefore = A.getAllChanges(doc).length;
    const headsBefore = A.getHeads(doc);
    const noops: RecordPatch[] = [
      {},
      { name: "react", version: "1.1.0", summary: "UI", kind: "package" },
      { addTags: ["ui"], removeTags: ["never-there"] },
      { addCollections: [], removeCollections: ["nope"] },
      { meta: { license: "MIT", absent: undefined } },
      { deleted: false },
    ];
    for (const patch of noops) {
      const same = write(doc, "npm:react", patch, T3);
      expect(same.outcome, JSON.stringify(patch)).toBe("unchanged");
      expect(A.getHeads(same.doc)).toStrictEqual(headsBefore);
      expect(A.getAllChanges(same.doc)).toHaveLength(changesBefore);
      // updatedAt is not bumped by a write that did nothing
      expect(read(same.doc, "npm:react").updatedAt).toBe(T2.at);
    }
  });

  it("rejects a write in mode 'forbid' to a missing record and 'require' to an existing one", () => {
    expectShelfError(() => write(emptyShard(), "npm:react", { version: "1" }, T1, "forbid"), "SHELF_E_RECORD_NOT_FOUND", /no record npm:react/);

    const created = write(emptyShard(), "npm:react", { name: "react" }, T1, "require");
    expect(created.outcome).toBe("created");
    expectShelfError(() => write(created.doc, "npm:react", { name: "react" }, T2, "require"), "SHELF_E_RECORD_EXISTS", /record npm:react already exists/);
    const edited = write(created.doc, "npm:react", { version: "2" }, T2, "forbid");
    expect(edited.outcome).toBe("updated");

    // A tombstone still exists: adding it again says so and points at restore.
    const deleted = write(edited.doc, "npm:react", { deleted: true }, T2).doc;
    const err = shelfErrorOf(() => write(deleted, "npm:react", { name: "react" }, T3, "require"));
    expect(err.code).toBe("SHELF_E_RECORD_EXISTS");
    expect(err.message).toMatch(/\(deleted\)/);
    expect(err.hint).toMatch(/shelf restore npm:react/);
  });

  it("adds and removes tags and collections as sets", () => {
    let { doc } = write(emptyShard(), "npm:react", { name: "react", addTags: ["ui", "js"], addCollections: ["work"] }, T1);
    expect(read(doc, "npm:react")).toMatchObject({ tags: ["js", "ui"], collections: ["work"] });

    doc = write(doc, "npm:react", { addTags: ["frontend", "ui"], removeTags: ["js"], addCollections: ["home"] }, T2).doc;
    expect(read(doc, "npm:react")).toMatchObject({ tags: ["frontend", "ui"], collections: ["home", "work"] });

    doc = write(doc, "npm:react", { removeTags: ["frontend", "ui"], removeCollections: ["work"] }, T3).doc;
    expect(read(doc, "npm:react")).toMatchObject({ tags: [], collections: ["home"] });
  });

  it("sets and removes meta keys holding any JSON value", () => {
    const values = { homepage: "https://react.dev", size: 12345, ratio: 0.5, stable: true, nothing: null, list: [1, "two", { three: 3 }], nested: { a: { b: ["c"] } } };
    let { doc } = write(emptyShard(), "npm:react", { name: "react", meta: values }, T1);
    expect(read(doc, "npm:react").meta).toStrictEqual(values);
    // readRecord lists meta keys in sorted order
    expect(Object.keys(read(doc, "npm:react").meta)).toStrictEqual(Object.keys(values).sort());

    const r = write(doc, "npm:react", { meta: { size: 99, nothing: undefined, added: "x", nested: { a: { b: ["c"] } } } }, T2);
    expect(r.outcome).toBe("updated");
    doc = r.doc;
    const { nothing: _removed, ...rest } = values;
    expect(read(doc, "npm:react").meta).toStrictEqual({ ...rest, size: 99, added: "x" });

    // The JSON string "1" and the number 1 are different values.
    doc = write(doc, "npm:react", { meta: { size: "99" } }, T3).doc;
    expect(read(doc, "npm:react").meta.size).toBe("99");
  });

  it("tombstones a record on delete and clears the tombstone on restore", () => {
    let { doc } = write(emptyShard(), "npm:react", { name: "react", summary: "UI", addTags: ["ui"] }, T1);

    const del = write(doc, "npm:react", { deleted: true }, stamp("2024-02-01T00:00:00.000Z", "inst-b"));
    expect(del.outcome).toBe("updated");
    doc = del.doc;
    expect(doc.records["npm:react name"]).toBeDefined(); // never a removed map key
    expect(read(doc, "npm:react")).toMatchObject({
      deleted: true,
      deletedAt: "2024-02-01T00:00:00.000Z",
      deletedBy: "inst-b",
      updatedBy: "inst-b",
      name: "react",
      summary: "UI",
      tags: ["ui"],
    });
    expect(write(doc, "npm:react", { deleted: true }, T3).outcome).toBe("unchanged");

    const restore = write(doc, "npm:react", { deleted: false }, stamp("2024-03-01T00:00:00.000Z", "inst-c"));
    expect(restore.outcome).toBe("updated");
    expect(read(restore.doc, "npm:react")).toMatchObject({ deleted: false, deletedAt: null, deletedBy: null, updatedAt: "2024-03-01T00:00:00.000Z", updatedBy: "inst-c" });
  });

  it("creates a record already deleted when the first patch says so", () => {
    const { doc, outcome } = write(emptyShard(), "npm:gone", { name: "gone", deleted: true }, T1);
    expect(outcome).toBe("created");
    expect(read(doc, "npm:gone")).toMatchObject({ deleted: true, deletedAt: T1.at, deletedBy: T1.by });
  });
});

describe("the last edit (updatedAt, updatedBy) from the change log", () => {
  const opsOfLastChange = (doc: A.Doc<ShardDoc>) => A.decodeChange(A.getLastLocalChange(doc)!).ops;

  it("is not stored: an imported record is one operation per field it has", () => {
    const { doc } = write(emptyShard(), "npm:react", { name: "react", version: "1.0.0", summary: "UI", meta: { downloadsAMonth: 5 } }, T1);
    expect(opsOfLastChange(doc).map((op) => op.key).sort()).toStrictEqual(["npm:react meta.downloadsAMonth", "npm:react name", "npm:react summary", "npm:react version"]);
    expect(read(doc, "npm:react")).toMatchObject({ updatedAt: T1.at, updatedBy: T1.by });
  });

  it("moves with every write that changed something, removals included, and with no other", () => {
    let { doc } = write(emptyShard(), "npm:react", { name: "react", addTags: ["ui"], meta: { license: "MIT" } }, T1);
    doc = write(doc, "npm:react", { removeTags: ["ui"] }, stamp("2024-01-02T00:00:00.000Z", "inst-b")).doc;
    expect(read(doc, "npm:react")).toMatchObject({ tags: [], updatedAt: "2024-01-02T00:00:00.000Z", updatedBy: "inst-b" });
    doc = write(doc, "npm:react", { meta: { license: undefined } }, stamp("2024-01-03T00:00:00.000Z", "inst-c")).doc;
    expect(read(doc, "npm:react")).toMatchObject({ meta: {}, updatedAt: "2024-01-03T00:00:00.000Z", updatedBy: "inst-c" });
    // another record's edit in the same shard is not this one's
    doc = write(doc, "npm:vue", { name: "vue" }, stamp("2024-01-04T00:00:00.000Z", "inst-d")).doc;
    expect(read(doc, "npm:react")).toMatchObject({ updatedAt: "2024-01-03T00:00:00.000Z", updatedBy: "inst-c" });
  });

  it("reads records written with updatedAt / updatedBy keys as before", () => {
    // As shelf wrote records before the stamp came from the log, once with a message without a time.
    for (const message of [changeMessage(T2, "add"), JSON.stringify({ by: T2.by, op: "add" })]) {
      const doc = A.change(emptyShard(), { message, time: 1_000_000 }, (d) => {
        d.records["npm:old name"] = new A.ImmutableString("old");
        d.records["npm:old updatedAt"] = new A.ImmutableString(T2.at);
        d.records["npm:old updatedBy"] = new A.ImmutableString(T2.by);
      });
      expect(read(doc, "npm:old")).toMatchObject({ name: "old", updatedAt: T2.at, updatedBy: T2.by });
      // a later edit without the keys is the last edit
      const edited = write(doc, "npm:old", { version: "2" }, stamp("2024-06-01T00:00:00.000Z", "inst-new")).doc;
      expect(read(edited, "npm:old")).toMatchObject({ version: "2", updatedAt: "2024-06-01T00:00:00.000Z", updatedBy: "inst-new" });
    }
  });
});

describe("concurrent edits (two forks merged)", () => {
  const ID = "npm:react";

  /** A shared starting point and two forks of it with their own actors. */
  function fork(initial: RecordPatch) {
    const base = write(emptyShard(), ID, initial, T1).doc;
    return { left: A.clone(base), right: A.clone(base) };
  }

  const mergeBoth = (left: A.Doc<ShardDoc>, right: A.Doc<ShardDoc>) => {
    const lr = A.merge(A.clone(left), right);
    const rl = A.merge(A.clone(right), left);
    // Merge order never matters.
    expect(read(lr, ID)).toStrictEqual(read(rl, ID));
    return lr;
  };

  it("add-wins: a tag added on one side and removed on the other stays", () => {
    // The tag is present on both sides; one side removes it and adds it back while the other removes it.
    let { left, right } = fork({ name: "react", addTags: ["ui"] });
    left = write(left, ID, { removeTags: ["ui"] }, T2).doc;
    left = write(left, ID, { addTags: ["ui"] }, T2).doc;
    right = write(right, ID, { removeTags: ["ui"] }, T2).doc;
    expect(read(mergeBoth(left, right), ID).tags).toStrictEqual(["ui"]);

    // The tag is new on one side; the other side removes it (and another tag) without having seen it.
    ({ left, right } = fork({ name: "react", addTags: ["old"] }));
    left = write(left, ID, { addTags: ["new"] }, T2).doc;
    right = write(right, ID, { removeTags: ["new", "old"] }, T2).doc;
    expect(read(mergeBoth(left, right), ID).tags).toStrictEqual(["new"]);
  });

  it("re-adding a tag that is already present is a no-op, so a concurrent remove of it wins", () => {
    // Documents the interplay of add-wins with "writes that change nothing create no operation".
    let { left, right } = fork({ name: "react", addTags: ["ui"] });
    const re = write(left, ID, { addTags: ["ui"] }, T2);
    expect(re.outcome).toBe("unchanged");
    left = re.doc;
    right = write(right, ID, { removeTags: ["ui"] }, T2).doc;
    expect(read(mergeBoth(left, right), ID).tags).toStrictEqual([]);
  });

  it("an edit concurrent with a delete is kept: the record is deleted and has the edit", () => {
    let { left, right } = fork({ name: "react", summary: "old summary" });
    left = write(left, ID, { summary: "new summary" }, stamp("2024-05-01T00:00:00.000Z", "alice")).doc;
    right = write(right, ID, { deleted: true }, stamp("2024-05-02T00:00:00.000Z", "bob")).doc;
    const merged = mergeBoth(left, right);
    expect(read(merged, ID)).toMatchObject({ deleted: true, deletedBy: "bob", deletedAt: "2024-05-02T00:00:00.000Z", summary: "new summary" });
    // The last edit is one of the two, the same whichever way the merge went (mergeBoth checks).
    expect(["alice", "bob"]).toContain(read(merged, ID).updatedBy);
  });

  it("two concurrent values of one field are both kept as a conflict", () => {
    let { left, right } = fork({ name: "react", version: "1.0.0" });
    left = write(left, ID, { version: "2.0.0" }, T2).doc;
    right = write(right, ID, { version: "3.0.0" }, T3).doc;
    const merged = mergeBoth(left, right);
    const conflicts = A.getConflicts(merged.records, `${ID} version`);
    expect(conflicts).toBeDefined();
    const values = Object.values(conflicts!).map((v) => (A.isImmutableString(v) ? v.val : v));
    expect(values.sort()).toStrictEqual(["2.0.0", "3.0.0"]);
    expect(["2.0.0", "3.0.0"]).toContain(read(merged, ID).version);
    // Fields nobody touched have no conflict.
    expect(A.getConflicts(merged.records, `${ID} name`)).toBeUndefined();
  });

  it("concurrent meta edits of different keys both survive", () => {
    let { left, right } = fork({ name: "react", meta: { license: "MIT" } });
    left = write(left, ID, { meta: { homepage: "https://react.dev" } }, T2).doc;
    right = write(right, ID, { meta: { license: undefined, size: 10 } }, T3).doc;
    expect(read(mergeBoth(left, right), ID).meta).toStrictEqual({ homepage: "https://react.dev", size: 10 });
  });

  // Two instances that create the same id while apart (two `shelf add`s, or a fleet importing the
  // same packages) merge into one record, field by field.
  it("concurrent creation of the same id merges both sides' fields, tags and meta", () => {
    const base = emptyShard();
    const left = write(A.clone(base), ID, { name: "react", addTags: ["from-left"], meta: { left: 1 } }, T2).doc;
    const right = write(A.clone(base), ID, { name: "react", addTags: ["from-right"], meta: { right: 2 } }, T3).doc;
    const merged = A.merge(A.clone(left), right);
    expect(read(merged, ID).tags).toStrictEqual(["from-left", "from-right"]);
    expect(read(merged, ID).meta).toStrictEqual({ left: 1, right: 2 });
  });
});
