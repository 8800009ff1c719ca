/**
 * PyPI, on real JSON API documents recorded from pypi.org by Poetry's tests (fixtures/real/
 * SOURCES.md), in Poetry's own layout: NAME/VERSION.json per version, NAME.json a PEP 691 page.
 * The newest version of each project is kept (PEP 440, releases above pre-releases); the PEP 691
 * page is refused with what to give instead. Expected values copied by hand from the files.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CatalogRecord } from "../src/model/record.js";
import { comparePypiVersions } from "../src/import/pep440.js";
import { FIXTURES, expectExit, parseJson, shelf, shelfJson } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp-home.js";

const REAL = join(FIXTURES, "real", "pypi");

async function newHome(): Promise<string> {
  const home = join(tempDir(), "home");
  expectExit(await shelf(home, "init"), 0);
  return home;
}

async function records(home: string): Promise<Record<string, Partial<CatalogRecord>>> {
  const { records: list } = await shelfJson<{ records: CatalogRecord[] }>(home, "list", "--provider", "pypi");
  return Object.fromEntries(list.map((r) => [r.id, { id: r.id, kind: r.kind, provider: r.provider, name: r.name, version: r.version, summary: r.summary, tags: r.tags, collections: r.collections, meta: r.meta }]));
}

describe("PyPI importer on real JSON API documents", () => {
  it("keeps the newest version of each project, field by field, and refuses the PEP 691 page saying what to give", async () => {
    const home = await newHome();
    const result = await shelf(home, "import", "pypi", REAL, "--json");
    expectExit(result, 1);
    const summary = parseJson(result).import;
    expect(summary).toMatchObject({ added: 3, updated: 0, rejected: 1, stats: { olderVersions: 3 } });
    expect(summary.rejects).toEqual([
      {
        where: join(REAL, "setuptools.json"),
        reason:
          "this is a PEP 691 simple-index page (the file list of /simple/setuptools/), not a JSON API document: it has no summary, license or homepage; give GET /pypi/setuptools/json instead, or an index URL with --package setuptools",
      },
    ]);
    expect(await records(home)).toEqual({
      "pypi:requests": {
        id: "pypi:requests",
        kind: "package",
        provider: "pypi",
        name: "requests",
        version: "2.19.0",
        summary: "Python HTTP for Humans.",
        tags: [],
        collections: [],
        meta: {
          author: "Kenneth Reitz",
          homepage: "http://python-requests.org",
          license: "Apache 2.0",
          released: "2018-06-12T14:46:17.223245Z",
          requiresPython: ">=2.6, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*",
          sdist: "https://files.pythonhosted.org/packages/75/27/82da3fa4ea7a8c3526c48eaafe427352ff9c931633b917c2251826a43697/requests-2.19.0.tar.gz",
          sha256: "cc408268d0e21589bcc2b2c248e42932b8c4d112f499c12c92e99e2178a6134c",
        },
      },
      "pypi:setuptools": {
        id: "pypi:setuptools",
        kind: "package",
        provider: "pypi",
        name: "setuptools",
        version: "67.6.1",
        summary: "Easily download, build, install, upgrade, and uninstall Python packages",
        tags: [],
        collections: [],
        meta: {
          author: "Python Packaging Authority",
          homepage: "https://github.com/pypa/setuptools",
          license: "MIT License",
          released: "2023-03-28T13:45:45.967259Z",
          requiresPython: ">=3.7",
          sdist: "https://files.pythonhosted.org/packages/cb/46/22ec35f286a77e6b94adf81b4f0d59f402ed981d4251df0ba7b992299146/setuptools-67.6.1.tar.gz",
          sha256: "a737d365c957dd3fced9ddd246118e95dce7a62c3dc49f37e7fdd9e93475d785",
          sourceTags: ["CPAN", "PyPI", "distutils", "eggs", "package", "management", "Python Modules", "Packaging", "Systems Administration", "Utilities"],
        },
      },
      "pypi:toga": {
        id: "pypi:toga",
        kind: "package",
        provider: "pypi",
        name: "toga",
        version: "0.3.0",
        summary: "A Python native, OS native GUI toolkit.",
        tags: [],
        collections: [],
        meta: {
          author: "Russell Keith-Magee",
          homepage: "https://beeware.org/project/projects/libraries/toga/",
          license: "New BSD",
          released: "2023-01-30T03:29:34.595566Z",
          requiresPython: ">=3.7",
          sdist: "https://files.pythonhosted.org/packages/f3/cf/44b2d505e13b2ec0c7cef2677ac5d8bffb1fb22c4c1d3671179f8a52a40b/toga-0.3.0.tar.gz",
          sha256: "0d1f04d6b5773b8682e5eb1260ec9f07b43f950b89916f9406b2db33cde27240",
          sourceTags: ["gui", "widget", "cross-platform", "desktop", "mobile", "web", "macOS", "cocoa", "iOS", "android", "windows", "winforms", "linux", "gtk", "Software Development", "User Interfaces", "Widget Sets"],
        },
      },
    });
  });

  it("finds projects by their keywords and topics", async () => {
    const home = await newHome();
    await shelf(home, "import", "pypi", REAL);
    const found = async (q: string) => (await shelfJson<{ results: CatalogRecord[] }>(home, "search", q)).results.map((r) => r.id);
    expect(await found("winforms")).toEqual(["pypi:toga"]);
    expect(await found("distutils")).toEqual(["pypi:setuptools"]);
  });
});

describe("PEP 440 order for picking the newest document", () => {
  // [lower, higher]: every pair written from PEP 440's examples and sort rules
  const ORDERED: [string, string][] = [
    ["2.18.4", "2.19.0"],
    ["39.2.0", "67.6.1"],
    ["0.3.0.dev2", "0.3.0"],
    ["0.3.0dev1", "0.3.0.dev2"],
    ["1.0a1", "1.0b1"],
    ["1.0b2", "1.0rc1"],
    ["1.0.dev1", "1.0a1"],
    ["1.0", "1.0.post1"],
    ["1.0", "1.0+local.1"],
    ["1.0.post1", "1!0.1"],
    ["1.9", "1.10"],
    ["not a version", "0.0.1"],
    // a release above every pre-release, as PyPI's "latest" and pip's default
    ["2.0b1", "1.9"],
    ["3.0.dev0", "2.9"],
  ];
  it.each(ORDERED)("%s < %s", (lower, higher) => {
    expect(comparePypiVersions(lower, higher)).toBeLessThan(0);
    expect(comparePypiVersions(higher, lower)).toBeGreaterThan(0);
  });

  it.each([
    ["1.0", "1.0.0"],
    ["1.0RC1", "1.0rc1"],
    ["v1.0", "1.0"],
    ["1.0-1", "1.0.post1"],
  ])("%s == %s", (a, b) => expect(comparePypiVersions(a, b)).toBe(0));
});
