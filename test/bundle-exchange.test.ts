/**
 * Carrying a catalog between two instances on a USB stick: `shelf export FILE` on one,
 * `shelf import-bundle FILE` on the other. Every step runs the real, built CLI as a child
 * process, in two temporary homes A and B that never share anything but bundle files.
 *
 * The tests of this file run in order and build on each other: A and B are the same two
 * instances throughout.
 *
 * Run by hand with: npm run build && npx vitest run test/bundle-exchange.test.ts
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BundleHeader } from "../src/bundle/bundle-format.js";
import { writeBundle } from "../src/bundle/write-bundle.js";
import { CatalogStore } from "../src/catalog/catalog-store.js";
import { Instance } from "../src/instance.js";
import type { CatalogRecord } from "../src/model/record.js";
import { crdtSize, expectExit, expectJsonError, FIXTURES, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";

const SAMPLE = join(FIXTURES, "npm-sample.tsv");
const SIGNATURE = "SHELF-BUNDLE 1\n";
const SAMPLE_ROWS = 300;

interface ListJson {
  count: number;
  records: CatalogRecord[];
}
interface ExportJson {
  export: { file: string; catalog: string; documents: number; bytes: number };
}
interface ImportBundleJson {
  importBundle: { file: string; catalog: string; url: string; newCatalog: boolean; documentsChanged: number; recordsChanged: number; records: number };
}

describe("exchanging bundles between two instances", () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let A: string;
  let B: string;
  const bundle = (name: string) => join(tmp.dir, name);

  beforeAll(() => {
    tmp = makeTempDir("shelf-bundle-");
    A = join(tmp.dir, "a");
    B = join(tmp.dir, "b");
  });
  afterAll(() => tmp.remove());

  /** `list --json` stdout, compared byte for byte between instances. */
  const listOutput = async (home: string, ...args: string[]) => {
    const result = await shelf(home, "list", "--json", ...args);
    expectExit(result, 0);
    expect((JSON.parse(result.stdout) as { schemaVersion: number }).schemaVersion).toBe(1);
    return result.stdout;
  };
  const exportTo = async (home: string, file: string) => (await shelfJson<ExportJson>(home, "export", file)).export;
  const importFrom = async (home: string, file: string) => (await shelfJson<ImportBundleJson>(home, "import-bundle", file)).importBundle;

  it("B takes A's catalog from a bundle and lists exactly what A lists", async () => {
    const init = await shelf(A, "init");
    expectExit(init, 0);
    const url = init.stdout.trim();
    expectExit(await shelf(A, "import", "tsv", SAMPLE), 0);

    const exported = await exportTo(A, bundle("a.bundle"));
    expect(exported).toMatchObject({ catalog: "main", bytes: statSync(bundle("a.bundle")).size });
    expect(exported.documents).toBeGreaterThan(1); // the root document and its shards

    // B has no instance yet: import-bundle creates it
    const imported = await importFrom(B, bundle("a.bundle"));
    expect(imported).toMatchObject({ catalog: "main", url, newCatalog: true, records: SAMPLE_ROWS });

    const [listA, listB] = await Promise.all([listOutput(A), listOutput(B)]);
    expect((JSON.parse(listB) as ListJson).count).toBe(SAMPLE_ROWS);
    expect(listB).toBe(listA);
  });

  it("offline edits on both sides all survive when bundles go both ways", async () => {
    const X = "npm:react"; // A sets its version, B its summary
    const Y = "npm:lodash"; // A tags it a, B tags it b
    const Z = "npm:0x"; // B deletes it
    const NEW = "pypi:requests"; // B adds it
    const edits = async (home: string, commands: string[][]) => {
      for (const args of commands) expectExit(await shelf(home, ...args), 0);
    };
    // the two instances edit at the same time, each knowing nothing of the other
    await Promise.all([
      edits(A, [
        ["set", X, "version=99.0.0"],
        ["tag", Y, "+a"],
      ]),
      edits(B, [
        ["set", X, "summary=Edited on B"],
        ["rm", Z],
        ["tag", Y, "+b"],
        ["add", NEW, "--name", "requests", "--summary", "Python HTTP for Humans"],
      ]),
    ]);

    await exportTo(A, bundle("a2.bundle"));
    const intoB = await importFrom(B, bundle("a2.bundle"));
    expect(intoB).toMatchObject({ newCatalog: false, recordsChanged: 2, records: SAMPLE_ROWS + 1 }); // X and Y
    await exportTo(B, bundle("b2.bundle"));
    const intoA = await importFrom(A, bundle("b2.bundle"));
    expect(intoA).toMatchObject({ newCatalog: false, recordsChanged: 4, records: SAMPLE_ROWS + 1 }); // X, Y, Z and NEW

    const [listA, listB] = await Promise.all([listOutput(A, "--include-deleted"), listOutput(B, "--include-deleted")]);
    expect(listA).toBe(listB);

    const records = new Map((JSON.parse(listA) as ListJson).records.map((r) => [r.id, r]));
    expect(records.size).toBe(SAMPLE_ROWS + 1);
    expect(records.get(X)).toMatchObject({ name: "react", version: "99.0.0", summary: "Edited on B", deleted: false });
    expect(records.get(Y)!.tags).toEqual(expect.arrayContaining(["a", "b"]));
    expect(records.get(Z)).toMatchObject({ deleted: true });
    expect(records.get(NEW)).toMatchObject({ provider: "pypi", name: "requests", summary: "Python HTTP for Humans", deleted: false });

    // and the default list hides the deleted record on both sides
    const [liveA, liveB] = await Promise.all([listOutput(A), listOutput(B)]);
    expect(liveA).toBe(liveB);
    expect(liveA).not.toContain(`"${Z}"`);
  });

  it("importing the same bundle a second time changes nothing", async () => {
    const before = await listOutput(A, "--include-deleted");
    const sizeBefore = crdtSize(A);
    const again = await importFrom(A, bundle("b2.bundle"));
    expect(again).toMatchObject({ newCatalog: false, documentsChanged: 0, recordsChanged: 0, records: SAMPLE_ROWS + 1 });
    expect(await listOutput(A, "--include-deleted")).toBe(before);
    expect(crdtSize(A)).toEqual(sizeBefore);
  });

  it("an export that cannot be written fails with SHELF_E_IO naming the file, and leaves no file behind", async () => {
    // the target is a directory: the bundle is written beside it, then cannot take its place
    const dir = makeTempDir("shelf-bundle-target-");
    const target = join(dir.dir, "taken");
    mkdirSync(join(target, "inside"), { recursive: true });
    try {
      const error = expectJsonError(await shelf(A, "export", target, "--json"), 1, "SHELF_E_IO");
      expect(error.message).toContain(target);
      expect(readdirSync(dir.dir)).toEqual(["taken"]);
      expect(readdirSync(target)).toEqual(["inside"]);
    } finally {
      dir.remove();
    }
  });

  it("a corrupt, foreign or missing bundle is refused with a message naming it, and changes nothing", async () => {
    const good = readFileSync(bundle("a2.bundle"));
    const truncated = bundle("truncated.bundle");
    writeFileSync(truncated, good.subarray(0, Math.floor(good.length / 2)));
    const flipped = bundle("flipped.bundle");
    const altered = Buffer.from(good);
    const middle = Math.floor(altered.length / 2);
    altered[middle] = altered[middle]! ^ 0xff;
    writeFileSync(flipped, altered);
    const foreign = bundle("not-a.bundle");
    writeFileSync(foreign, readFileSync(SAMPLE));
    const missing = bundle("missing.bundle");

    const before = await listOutput(B, "--include-deleted");
    const sizeBefore = crdtSize(B);
    const cases = [
      { file: truncated, code: "SHELF_E_BAD_INPUT_FILE" },
      { file: flipped, code: "SHELF_E_BAD_INPUT_FILE" },
      { file: foreign, code: "SHELF_E_BAD_INPUT_FILE" },
      { file: missing, code: "SHELF_E_IO" },
    ];
    await Promise.all(
      cases.map(async ({ file, code }) => {
        const plain = await shelf(B, "import-bundle", file);
        expectExit(plain, 1);
        expect(plain.stdout).toBe("");
        expect(plain.stderr).toContain(file);
        const error = expectJsonError(await shelf(B, "import-bundle", file, "--json"), 1, code);
        expect(error.message).toContain(file);
      }),
    );
    expect(await listOutput(B, "--include-deleted")).toBe(before);
    expect(crdtSize(B)).toEqual(sizeBefore);

    // nor does a bad bundle leave a half-made instance in an empty home
    const fresh = join(tmp.dir, "fresh");
    expectExit(await shelf(fresh, "import-bundle", truncated), 1);
    expect(existsSync(join(fresh, "shelf.db"))).toBe(false);
  });

  /** A bundle's header and where each document's bytes start. */
  const layoutOf = (file: Buffer) => {
    const headerEnd = file.indexOf(0x0a, SIGNATURE.length);
    const header = JSON.parse(file.subarray(SIGNATURE.length, headerEnd).toString("utf8")) as BundleHeader;
    let offset = headerEnd + 1;
    const documents = header.documents.map((d) => ({ ...d, offset: (offset += d.bytes) - d.bytes }));
    return { header, documents };
  };

  it("a bundle cut inside a document or its header, grown at its end, or with a document that is not Automerge data, is refused before anything is written", async () => {
    const good = readFileSync(bundle("a2.bundle"));
    const { header, documents } = layoutOf(good);
    const third = documents[2]!;
    const last = documents.at(-1)!;
    const half = Math.floor(third.bytes / 2);
    // Garbage in place of the third document, with the checksum it would have: only loading it can tell.
    const garbage = Buffer.alloc(third.bytes, 0x5a);
    const forgedHeader = { ...header, documents: header.documents.map((d, i) => (i === 2 ? { ...d, sha256: createHash("sha256").update(garbage).digest("hex") } : d)) };
    const forged = Buffer.concat([Buffer.from(SIGNATURE + JSON.stringify(forgedHeader) + "\n"), good.subarray(documents[0]!.offset, third.offset), garbage, good.subarray(third.offset + third.bytes)]);
    const cases = [
      { name: "cut-in-document.bundle", data: good.subarray(0, third.offset + half), why: `document ${third.documentId} has ${half} of ${third.bytes} bytes` },
      { name: "cut-at-document.bundle", data: good.subarray(0, last.offset), why: `document ${last.documentId} has 0 of ${last.bytes} bytes` },
      { name: "cut-in-header.bundle", data: good.subarray(0, SIGNATURE.length + 40), why: "header is missing or truncated" },
      { name: "grown.bundle", data: Buffer.concat([good, Buffer.from("more")]), why: "4 unexpected bytes after the last document" },
      { name: "forged.bundle", data: forged, why: `document ${third.documentId} is not Automerge data` },
    ];
    for (const c of cases) writeFileSync(bundle(c.name), c.data);

    const before = await listOutput(B, "--include-deleted");
    const sizeBefore = crdtSize(B);
    await Promise.all(
      cases.map(async (c) => {
        const error = expectJsonError(await shelf(B, "import-bundle", bundle(c.name), "--json"), 1, "SHELF_E_BAD_INPUT_FILE");
        expect(error.message).toContain(bundle(c.name));
        expect(error.message).toContain(c.why);
        // into an empty home: no instance is made
        const fresh = join(tmp.dir, `fresh-${c.name}`);
        expectExit(await shelf(fresh, "import-bundle", bundle(c.name)), 1);
        expect(existsSync(join(fresh, "shelf.db"))).toBe(false);
      }),
    );
    expect(await listOutput(B, "--include-deleted")).toBe(before);
    expect(crdtSize(B)).toEqual(sizeBefore);
  });

  it("a bundle of whole saved documents, as shelf wrote them before bundles streamed, still imports", async () => {
    const source = join(tmp.dir, "saved-documents");
    const instance = Instance.open(source, { create: true });
    const file = bundle("saved-documents.bundle");
    try {
      const store = await CatalogStore.create(instance, "saved", 4);
      await store.writeMany(
        [
          { id: "npm:left-pad", patch: { name: "left-pad", version: "1.3.0", summary: "String left pad" } },
          { id: "pypi:requests", patch: { name: "requests", summary: "HTTP for Humans", addTags: ["http"] } },
        ],
        "test",
      );
      // exportDocuments saves each document whole (Automerge's save), as every earlier bundle held them
      writeBundle(file, { url: store.catalog.url, name: "saved" }, instance.id, await store.exportDocuments());
    } finally {
      await instance.close();
    }
    const D = join(tmp.dir, "d");
    expect(await importFrom(D, file)).toMatchObject({ catalog: "saved", newCatalog: true, records: 2 });
    const listed = await shelfJson<ListJson>(D, "list");
    expect(listed.records.map((r) => [r.id, r.summary, r.tags])).toEqual([
      ["npm:left-pad", "String left pad", []],
      ["pypi:requests", "HTTP for Humans", ["http"]],
    ]);
    // and what D exports from it (its stored chunks) imports elsewhere the same
    await exportTo(D, bundle("d.bundle"));
    const E = join(tmp.dir, "e");
    expect(await importFrom(E, bundle("d.bundle"))).toMatchObject({ catalog: "saved", records: 2 });
    expect(await listOutput(E)).toBe(await listOutput(D));
  });

  describe("into a third instance that has its own catalog called main", () => {
    let C: string;
    beforeAll(async () => {
      C = join(tmp.dir, "c");
      expectExit(await shelf(C, "init"), 0); // a different catalog, also named main
    });

    it("a bundle whose catalog name is taken is refused, and writes nothing", async () => {
      const sizeBefore = crdtSize(C);
      const error = expectJsonError(await shelf(C, "import-bundle", bundle("a2.bundle"), "--json"), 1, "SHELF_E_CATALOG_EXISTS");
      expect(error.hint).toContain("--name");
      expect(crdtSize(C)).toEqual(sizeBefore);
      const { status } = await shelfJson<{ status: { pendingDocuments: number } }>(C, "status");
      expect(status.pendingDocuments).toBe(0);
    });

    it("--name takes the bundle's catalog in under another name, beside the default one", async () => {
      // a2.bundle is A after its own edits, before B's came back
      const imported = await shelfJson<ImportBundleJson>(C, "import-bundle", bundle("a2.bundle"), "--name", "from-a");
      expect(imported.importBundle).toMatchObject({ catalog: "from-a", newCatalog: true, records: SAMPLE_ROWS });
      const [own, fromA] = await Promise.all([shelfJson<ListJson>(C, "list"), shelfJson<ListJson>(C, "list", "--catalog", "from-a")]);
      expect(own.count).toBe(0); // the default catalog is still C's own
      expect(fromA.count).toBe(SAMPLE_ROWS);
      expect(fromA.records.find((r) => r.id === "npm:react")).toMatchObject({ version: "99.0.0", summary: expect.not.stringContaining("Edited on B") });
    });
  });
});
