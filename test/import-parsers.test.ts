/**
 * The pure halves of the importers: one native document (or one manifest set) in, one record
 * patch out, or a reason. Fixtures follow each format's public documentation (fixtures/README.md).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chocoPackageToItem, newestPackages, parseNuspec, parseODataFeed } from "../src/import/providers/choco.js";
import { packumentToItem } from "../src/import/providers/npm.js";
import { installedToItem, parseDesc, parseQiBlock, qiBlocks } from "../src/import/providers/pacman.js";
import { normalizePypiName, pypiDocumentToItem } from "../src/import/providers/pypi.js";
import { manifestSetToItem, newestSets, parseWingetManifest, type ManifestSet } from "../src/import/providers/winget.js";
import { compareNuGetVersions, compareWingetVersions } from "../src/import/versions.js";
import { FIXTURES } from "./helpers/cli.js";

const text = (...path: string[]) => readFileSync(join(FIXTURES, ...path), "utf8");
const json = (...path: string[]) => JSON.parse(text(...path)) as Record<string, any>;

describe("npm packuments", () => {
  it("maps the dist-tags.latest version, not the newest key", () => {
    expect(packumentToItem(json("npm", "packuments", "react.json"))).toEqual({
      id: "npm:react",
      patch: {
        name: "react",
        version: "19.0.0",
        summary: "React is a JavaScript library for building user interfaces.",
        meta: {
          homepage: "https://react.dev/",
          license: "MIT",
          repository: "git+https://github.com/facebook/react.git",
          sourceTags: ["react"],
          published: json("npm", "packuments", "react.json").time["19.0.0"],
          tarball: "https://registry.npmjs.org/react/-/react-19.0.0.tgz",
          integrity: expect.stringMatching(/^sha512-/),
          shasum: expect.any(String),
          unpackedSize: expect.any(Number),
        },
      },
    });
  });

  it("handles scoped names, legacy license objects, multi-line descriptions and deprecation", () => {
    expect(packumentToItem(json("npm", "packuments", "types__node.json")).id).toBe("npm:@types/node");
    const leftPad = packumentToItem(json("npm", "packuments", "left-pad.json"));
    expect(leftPad.patch).toMatchObject({ summary: "String left pad with a second line", meta: { license: "WTFPL", deprecated: "use String.prototype.padStart()" } });
  });

  it("gives a reason for each malformed packument", () => {
    expect(() => packumentToItem(json("npm", "packuments", "no-latest.json"))).toThrow(/dist-tags.latest/);
    expect(() => packumentToItem([])).toThrow(/JSON object/);
    expect(() => packumentToItem({ name: "bad name", "dist-tags": { latest: "1" }, versions: { 1: {} } })).toThrow(/whitespace/);
    expect(() => packumentToItem({ name: "gone", time: { unpublished: { time: "2024-01-01T00:00:00Z" } } })).toThrow(/unpublished/);
    expect(() => packumentToItem({ name: "x", "dist-tags": { latest: "2.0.0" }, versions: { "1.0.0": {} } })).toThrow(/no entry for the latest version "2.0.0"/);
  });
});

describe("PyPI JSON API documents", () => {
  it("normalizes names as PEP 503 says", () => {
    expect(normalizePypiName("Flask_SQLAlchemy")).toBe("flask-sqlalchemy");
    expect(normalizePypiName("zope.interface")).toBe("zope-interface");
    expect(normalizePypiName("A--B__c")).toBe("a-b-c");
  });

  it("maps info.version, the short license and the sdist digest", () => {
    const item = pypiDocumentToItem(json("pypi", "documents", "requests.json"));
    expect(item).toMatchObject({ id: "pypi:requests", patch: { name: "requests", version: "2.32.3", summary: "Python HTTP for Humans.", meta: { license: "Apache-2.0", homepage: "https://requests.readthedocs.io", requiresPython: ">=3.8", sha256: "0123456789abcdef".repeat(4) } } });
  });

  it("falls back to the classifier when the license field holds a whole license text, and to the expression first", () => {
    expect(pypiDocumentToItem(json("pypi", "documents", "zope.interface.json")).patch.meta?.license).toBe("Zope Public License");
    const flask = pypiDocumentToItem(json("pypi", "documents", "Flask_SQLAlchemy.json"));
    expect(flask).toMatchObject({ id: "pypi:flask-sqlalchemy", patch: { name: "Flask-SQLAlchemy", meta: { license: "BSD-3-Clause" } } });
    expect(flask.patch.meta?.homepage).toBeUndefined();
  });

  it("rejects a document without a version", () => {
    expect(() => pypiDocumentToItem(json("pypi", "documents", "no-version.json"))).toThrow(/info.version/);
  });
});

describe("WinGet manifests", () => {
  const dir = (id: string, version: string) => join("winget", "manifests", id[0]!.toLowerCase(), ...id.split("."), version);
  const set = (id: string, version: string, files: string[]): ManifestSet => {
    const byType = new Map<string, Record<string, unknown>>();
    for (const f of files) {
      const m = parseWingetManifest(text(dir(id, version), f));
      byType.set(m.ManifestType, m);
    }
    return { id, version, where: dir(id, version), byType, broken: false };
  };

  it("orders versions as winget does", () => {
    expect(compareWingetVersions("2.45.1", "2.9.0")).toBeGreaterThan(0);
    expect(compareWingetVersions("1.0", "1.0.0")).toBe(0);
    expect(compareWingetVersions("1.0", "1.0-beta")).toBeGreaterThan(0);
    expect(compareWingetVersions("1.0-beta", "1.0-alpha")).toBeGreaterThan(0);
    expect(compareWingetVersions("10.0.1", "9.99")).toBeGreaterThan(0);
    expect(compareWingetVersions("latest", "99")).toBeGreaterThan(0);
    expect(["2.9.0", "2.45.1", "2.10", "2.45.1.1"].sort(compareWingetVersions)).toEqual(["2.9.0", "2.10", "2.45.1", "2.45.1.1"]);
  });

  it("keeps versions as text (1.10 is not 1.1)", () => {
    const m = parseWingetManifest("PackageIdentifier: A.B\nPackageVersion: 1.10\nManifestType: version\nManifestVersion: 1.6.0\n");
    expect(m.PackageVersion).toBe("1.10");
  });

  it("merges the version, installer and default locale manifests into one record", () => {
    const item = manifestSetToItem(set("Git.Git", "2.45.1", ["Git.Git.yaml", "Git.Git.installer.yaml", "Git.Git.locale.en-US.yaml"]));
    expect(item.id).toBe("winget:Git.Git");
    expect(item.patch).toMatchObject({
      name: "Git",
      version: "2.45.1",
      summary: "Git for Windows focuses on offering a lightweight, native set of tools.",
      meta: { publisher: "The Git Development Community", license: "GPL-2.0-only", homepage: "https://gitforwindows.org/", moniker: "git", sourceTags: ["git", "vcs", "version-control"], locale: "en-US", manifestVersion: "1.6.0" },
    });
    expect((item.patch.meta as any).installers).toEqual([
      { architecture: "x64", type: "inno", scope: "machine", url: expect.stringContaining("Git-2.45.1-64-bit.exe"), sha256: "b2".repeat(32) },
      { architecture: "arm64", type: "inno", scope: "machine", url: expect.stringContaining("arm64"), sha256: "c3".repeat(32) },
    ]);
  });

  it("picks the highest version of each package", () => {
    const sets = [set("Git.Git", "2.9.0", ["Git.Git.yaml"]), set("Git.Git", "2.45.1", ["Git.Git.yaml"])];
    expect(newestSets(sets).map((s) => s.version)).toEqual(["2.45.1"]);
  });

  it("names what is missing from an incomplete set, and what is wrong in a bad manifest", () => {
    expect(() => manifestSetToItem(set("Incomplete.Tool", "3.1", ["Incomplete.Tool.yaml", "Incomplete.Tool.installer.yaml"]))).toThrow(/3.1 has no defaultLocale manifest/);
    expect(() => parseWingetManifest(text(dir("Broken.App", "1.0.0"), "Broken.App.installer.yaml"))).toThrow(/not valid YAML/);
    expect(() => parseWingetManifest("PackageIdentifier: NoDot\nPackageVersion: 1\nManifestType: version\n")).toThrow(/PackageIdentifier "NoDot"/);
    expect(() => parseWingetManifest("PackageIdentifier: A.B\nPackageVersion: 1\nManifestType: other\n")).toThrow(/ManifestType "other"/);
    expect(() => parseWingetManifest("- a list\n")).toThrow(/YAML mapping/);
  });
});

describe("Chocolatey feeds and nuspecs", () => {
  it("reads an OData page: entries, typed properties, the next link", () => {
    const page = parseODataFeed(text("choco", "feed", "page1.xml"));
    expect(page.next).toBe("https://community.chocolatey.org/api/v2/Packages?$skip=3");
    expect(page.packages.map((p) => `${p.pkg?.id} ${p.pkg?.version}`)).toEqual(["7zip 24.8.0", "git 2.45.0", "git 2.45.2"]);
    const sevenZip = page.packages[0]!.pkg!;
    expect(sevenZip).toMatchObject({ title: "7-Zip", authors: "Igor Pavlov", downloads: 250000000, packageSize: 4711, isLatest: true, tags: "7zip zip archiver admin foss" });
    expect(sevenZip.summary).toBe("7-Zip is a file archiver with a high compression ratio.");
  });

  it("maps a package to a record with its tags as a list", () => {
    const item = chocoPackageToItem(parseODataFeed(text("choco", "feed", "page1.xml")).packages[0]!.pkg!);
    expect(item).toMatchObject({ id: "choco:7zip", patch: { name: "7-Zip", version: "24.8.0", meta: { tags: ["7zip", "zip", "archiver", "admin", "foss"], homepage: "https://www.7-zip.org/", downloads: 250000000, packageHashAlgorithm: "SHA512" } } });
  });

  it("rejects an entry without a version and keeps the others", () => {
    const page = parseODataFeed(text("choco", "feed", "with-bad-entry.xml"));
    expect(page.packages.map((p) => p.pkg?.id ?? p.reason)).toEqual(["curl", "the entry for noversion has no <d:Version>"]);
    expect(() => parseODataFeed(text("choco", "feed", "not-xml.xml"))).toThrow(/not well-formed XML \(line 1/);
  });

  it("reads nuspecs, and picks the highest NuGet version of an id", () => {
    const a = parseNuspec(text("choco", "nuspecs", "git.2.44.0.nuspec"));
    const b = parseNuspec(text("choco", "nuspecs", "git.nuspec"));
    expect(b).toMatchObject({ id: "git", version: "2.45.2", license: "GPL-2.0-only", title: "Git" });
    expect(newestPackages([{ pkg: b }, { pkg: a }]).map((f) => f.pkg.version)).toEqual(["2.45.2"]);
    expect(() => parseNuspec(text("choco", "nuspecs", "broken.nuspec"))).toThrow(/not well-formed XML/);
    expect(() => parseNuspec(text("choco", "nuspecs", "noversion.nuspec"))).toThrow(/<version> is missing/);
  });

  it("orders NuGet versions: numbers, then prerelease below release", () => {
    expect(compareNuGetVersions("2.45.10", "2.45.9")).toBeGreaterThan(0);
    expect(compareNuGetVersions("1.0.0", "1.0.0-beta")).toBeGreaterThan(0);
    expect(compareNuGetVersions("1.0.0-beta.2", "1.0.0-beta.10")).toBeLessThan(0);
    expect(compareNuGetVersions("1.0", "1.0.0.0")).toBe(0);
  });
});

describe("pacman", () => {
  const db = (...p: string[]) => text("pacman", "host-a", "local", ...p);

  it("reads a desc file", () => {
    const pkg = parseDesc(db("glibc-2.39+r52+gf8e4623421-1", "desc"));
    expect(pkg).toMatchObject({ name: "glibc", version: "2.39+r52+gf8e4623421-1", licenses: ["GPL-2.0-or-later", "LGPL-2.1-or-later"], reason: "dependency", installedSize: 48800000, installDate: new Date(1716100000 * 1000).toISOString() });
    expect(parseDesc(db("htop-3.3.0-3", "desc")).reason).toBe("explicit");
    expect(() => parseDesc(db("broken-1.0-1", "desc"))).toThrow(/%VERSION% is missing for broken/);
  });

  it("reads pacman -Qi output, continuation lines and sizes included", () => {
    const blocks = qiBlocks(text("pacman", "pacman-qi.txt"));
    expect(blocks.map((b) => b.line)).toEqual([1, 24, 46, 50]);
    const linux = parseQiBlock(blocks[0]!.lines);
    expect(linux).toMatchObject({ name: "linux", version: "6.9.7.arch1-1", depends: ["coreutils", "kmod", "initramfs"], installedSize: Math.round(131.56 * 1024 * 1024), reason: "explicit", installDate: "2024-06-23T00:26:40.000Z" });
    expect(parseQiBlock(blocks[1]!.lines).reason).toBe("dependency");
    expect(() => parseQiBlock(blocks[2]!.lines)).toThrow(/Name missing in this block/);
  });

  it("gives the same version from both formats, and with --as only the host's presence", () => {
    const fromDb = installedToItem(parseDesc(db("linux-6.9.7.arch1-1", "desc")));
    const fromQi = installedToItem(parseQiBlock(qiBlocks(text("pacman", "pacman-qi.txt"))[0]!.lines));
    expect(fromDb.patch.version).toBe(fromQi.patch.version);
    const asHost = installedToItem(parseDesc(db("linux-6.9.7.arch1-1", "desc")), "web-01");
    expect(asHost).toEqual({ id: "pacman:linux", patch: { name: "linux", meta: { "host.web-01": { version: "6.9.7.arch1-1", installedAt: new Date(1719100000 * 1000).toISOString(), reason: "explicit" } } } });
  });
});
