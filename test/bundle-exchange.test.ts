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
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CatalogRecord } from "../src/model/record.js";
import { crdtSize, expectExit, expectJsonError, FIXTURES, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";

const SAMPLE = join(FIXTURES, "npm-sample.tsv");
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
