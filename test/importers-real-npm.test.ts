/**
 * npm, on real packuments recorded from registry.npmjs.org by npm's own Arborist tests
 * (fixtures/real/SOURCES.md): full documents, and the abbreviated form npm's cache holds, which
 * must never blank what full documents wrote. Every expected value is copied by hand from the files.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CatalogRecord } from "../src/model/record.js";
import { FIXTURES, expectExit, parseJson, shelf, shelfJson } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp-home.js";

const FULL = join(FIXTURES, "real", "npm", "full");
const ABBREVIATED = join(FIXTURES, "real", "npm", "abbreviated");

async function newHome(): Promise<string> {
  const home = join(tempDir(), "home");
  expectExit(await shelf(home, "init"), 0);
  return home;
}

async function importJson(home: string, source: string) {
  const result = await shelf(home, "import", "npm", source, "--json");
  return { code: result.code, stderr: result.stderr, summary: parseJson(result).import };
}

async function records(home: string): Promise<Record<string, Partial<CatalogRecord>>> {
  const { records: list } = await shelfJson<{ records: CatalogRecord[] }>(home, "list", "--provider", "npm");
  return Object.fromEntries(list.map((r) => [r.id, { id: r.id, kind: r.kind, provider: r.provider, name: r.name, version: r.version, summary: r.summary, tags: r.tags, collections: r.collections, meta: r.meta }]));
}

const FROM_FULL = {
  "npm:@babel/helper-validator-option": {
    id: "npm:@babel/helper-validator-option",
    kind: "package",
    provider: "npm",
    name: "@babel/helper-validator-option",
    version: "7.12.1",
    summary: "Validate plugin/preset options",
    tags: [],
    collections: [],
    meta: {
      integrity: "sha512-YpJabsXlJVWP0USHjnC/AQDTLlZERbON577YUVO/wLpqyj6HAtVYnWaQaN0iUN+1/tWn3c+uKKXjRut5115Y2A==",
      license: "MIT",
      published: "2020-10-15T22:39:19.635Z",
      repository: "https://github.com/babel/babel.git",
      shasum: "175567380c3e77d60ff98a54bb015fe78f2178d9",
      tarball: "https://registry.npmjs.org/@babel/helper-validator-option/-/helper-validator-option-7.12.1.tgz",
      unpackedSize: 4446,
    },
  },
  "npm:concat-map": {
    id: "npm:concat-map",
    kind: "package",
    provider: "npm",
    name: "concat-map",
    version: "0.0.1",
    summary: "concatenative mapdashery",
    tags: [],
    collections: [],
    meta: {
      homepage: "https://github.com/substack/node-concat-map",
      license: "MIT",
      published: "2014-01-30T03:06:35.982Z",
      repository: "git://github.com/substack/node-concat-map.git",
      shasum: "d8a96bd77fd68df7793a73036a3ba0d5405d477b",
      sourceTags: ["concat", "concatMap", "map", "functional", "higher-order"],
      tarball: "https://registry.npmjs.org/concat-map/-/concat-map-0.0.1.tgz",
    },
  },
  "npm:core-util-is": {
    id: "npm:core-util-is",
    kind: "package",
    provider: "npm",
    name: "core-util-is",
    version: "1.0.2",
    summary: "The `util.is*` functions introduced in Node v0.12.",
    tags: [],
    collections: [],
    meta: {
      homepage: "https://github.com/isaacs/core-util-is#readme",
      license: "MIT",
      published: "2015-11-20T00:37:33.081Z",
      repository: "git://github.com/isaacs/core-util-is.git",
      shasum: "b5fd54220aa2bc5ab57aab7140c940754503c1a7",
      sourceTags: ["util", "isBuffer", "isArray", "isNumber", "isString", "isRegExp", "isThis", "isThat", "polyfill"],
      tarball: "https://registry.npmjs.org/core-util-is/-/core-util-is-1.0.2.tgz",
    },
  },
};

const NOTE = /^note: some packuments are abbreviated \(application\/vnd\.npm\.install-v1\+json\): they carry no summary/m;

describe("npm importer on real packuments", () => {
  it("maps every full packument field by field", async () => {
    const home = await newHome();
    const run = await importJson(home, FULL);
    expect(run.code).toBe(0);
    expect(run.summary).toMatchObject({ added: 3, rejected: 0, notes: [] });
    expect(run.stderr).not.toMatch(/note:/);
    expect(await records(home)).toEqual(FROM_FULL);
  });

  it("an abbreviated packument over a catalog of full ones changes nothing, and says once that summaries were not in it", async () => {
    const home = await newHome();
    expect((await importJson(home, FULL)).code).toBe(0);
    const run = await importJson(home, ABBREVIATED);
    expect(run.code).toBe(0);
    expect(run.summary).toMatchObject({ added: 0, updated: 0, unchanged: 3, rejected: 0 });
    expect(run.summary.notes).toHaveLength(1);
    expect(run.stderr.match(new RegExp(NOTE.source, "gm"))).toHaveLength(1);
    expect(await records(home)).toEqual(FROM_FULL);
  });

  it("an abbreviated packument alone gives the version and the tarball, and an empty summary", async () => {
    const home = await newHome();
    const run = await importJson(home, join(ABBREVIATED, "core-util-is.min.json"));
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(NOTE);
    expect(await records(home)).toEqual({
      "npm:core-util-is": {
        id: "npm:core-util-is",
        kind: "package",
        provider: "npm",
        name: "core-util-is",
        version: "1.0.2",
        summary: "",
        tags: [],
        collections: [],
        meta: {
          shasum: "b5fd54220aa2bc5ab57aab7140c940754503c1a7",
          tarball: "https://registry.npmjs.org/core-util-is/-/core-util-is-1.0.2.tgz",
        },
      },
    });
  });

  it("finds a package by its npm keywords, listed as source tags apart from the user's tags", async () => {
    const home = await newHome();
    expect((await importJson(home, FULL)).code).toBe(0);
    expectExit(await shelf(home, "tag", "npm:core-util-is", "+mine"), 0);
    const found = await shelfJson<{ results: CatalogRecord[] }>(home, "search", "isBuffer");
    expect(found.results.map((r) => r.id)).toEqual(["npm:core-util-is"]);
    const shown = await shelf(home, "show", "npm:core-util-is");
    expectExit(shown, 0);
    expect(shown.stdout).toContain("  tags:        mine\n  source tags: util, isBuffer, isArray, isNumber, isString, isRegExp, isThis, isThat, polyfill\n");
    expect(shown.stdout).not.toContain("meta.sourceTags");
  });
});
