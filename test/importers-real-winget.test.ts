/**
 * WinGet, on real manifests from microsoft/winget-pkgs (fixtures/real/SOURCES.md): manifest
 * versions 1.0.0 (singleton), 1.1.0, 1.6.0 and 1.12.0, CRLF files, a second locale. Tags are the
 * package's source tags: searchable (`shelf search fancyzones`), shown apart from the user's tags,
 * also in a home made by an older shelf once it is upgraded, and after `shelf rebuild`.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { CatalogRecord } from "../src/model/record.js";
import { SCHEMA_MIGRATIONS, SEARCH_MIGRATION } from "../src/store/schema.js";
import { FIXTURES, expectExit, parseJson, shelf, shelfJson } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp-home.js";

const MANIFESTS = join(FIXTURES, "real", "winget", "manifests");

async function newHome(): Promise<string> {
  const home = join(tempDir(), "home");
  expectExit(await shelf(home, "init"), 0);
  return home;
}

async function records(home: string): Promise<Record<string, Partial<CatalogRecord>>> {
  const { records: list } = await shelfJson<{ records: CatalogRecord[] }>(home, "list", "--provider", "winget");
  return Object.fromEntries(list.map((r) => [r.id, { id: r.id, kind: r.kind, provider: r.provider, name: r.name, version: r.version, summary: r.summary, tags: r.tags, collections: r.collections, meta: r.meta }]));
}

const searchIds = async (home: string, query: string) => (await shelfJson<{ results: CatalogRecord[] }>(home, "search", query)).results.map((r) => r.id);

describe("WinGet importer on real manifests", () => {
  it("keeps each package's highest version and maps it field by field", async () => {
    const home = await newHome();
    const result = await shelf(home, "import", "winget", MANIFESTS, "--json");
    expectExit(result, 0);
    expect(parseJson(result).import).toMatchObject({ added: 2, rejected: 0 });
    expect(await records(home)).toEqual({
      "winget:7zip.7zip": {
        id: "winget:7zip.7zip",
        kind: "package",
        provider: "winget",
        name: "7-Zip",
        version: "24.09",
        summary: "A file archiver with a high compression ratio.",
        tags: [],
        collections: [],
        meta: {
          homepage: "https://7-zip.org/",
          installers: [
            { architecture: "x86", type: "exe", scope: "machine", url: "https://7-zip.org/a/7z2409.exe", sha256: "e35e4374100b52e697e002859aefdd5533bcbf4118e5d2210fae6de318947c41" },
            { architecture: "x64", type: "exe", scope: "machine", url: "https://7-zip.org/a/7z2409-x64.exe", sha256: "bdd1a33de78618d16ee4ce148b849932c05d0015491c34887846d431d29f308e" },
            { architecture: "arm", type: "exe", scope: "machine", url: "https://7-zip.org/a/7z2409-arm.exe", sha256: "9e6f5ff0ee6de272a1d969c7fc7a53c353e93ef428ce4adf7e6e069056c585f4" },
            { architecture: "arm64", type: "exe", scope: "machine", url: "https://7-zip.org/a/7z2409-arm64.exe", sha256: "bc7b3a18f218f4916e1c4996751468f96e46eb7e97e91e8c1553d74793037f1a" },
            { architecture: "x86", type: "wix", scope: "machine", url: "https://7-zip.org/a/7z2409.msi", sha256: "c7f182dad21eebfce02f141d6a01f847d1e194c4d6aa29998d9305388553cf6a" },
            { architecture: "x64", type: "wix", scope: "machine", url: "https://7-zip.org/a/7z2409-x64.msi", sha256: "ec6af1ea0367d16dde6639a89a080a524cebc4d4bedfe00ed0cac4b865a918d8" },
          ],
          license: "LGPL-2.1",
          locale: "en-US",
          manifestVersion: "1.12.0",
          moniker: "7zip",
          publisher: "Igor Pavlov",
          publisherUrl: "https://7-zip.org/",
          sourceTags: ["7zfiles", "archive", "archiver", "compress", "compression", "decompress", "decompression", "extract", "extractor", "rarfiles", "targzfiles", "unarchive", "unarchiver", "unzip", "zip"],
        },
      },
      "winget:Microsoft.PowerToys": {
        id: "winget:Microsoft.PowerToys",
        kind: "package",
        provider: "winget",
        name: "PowerToys",
        version: "0.100.1",
        summary: "Microsoft PowerToys is a set of utilities for power users to tune and streamline their Windows experience for greater productivity.",
        tags: [],
        collections: [],
        meta: {
          homepage: "https://github.com/microsoft/PowerToys",
          installers: [
            { architecture: "x64", type: "burn", scope: "user", url: "https://github.com/microsoft/PowerToys/releases/download/v0.100.1/PowerToysUserSetup-0.100.1-x64.exe", sha256: "aa6d47950061a856f2a6c5fb12b331658fed930a05a739ddb4feb95bfac06187" },
            { architecture: "x64", type: "burn", scope: "machine", url: "https://github.com/microsoft/PowerToys/releases/download/v0.100.1/PowerToysSetup-0.100.1-x64.exe", sha256: "4adec909794ae1489ca5d48bc318e9be6da6f9817195ae1b8adbb52b99c4d179" },
            { architecture: "arm64", type: "burn", scope: "user", url: "https://github.com/microsoft/PowerToys/releases/download/v0.100.1/PowerToysUserSetup-0.100.1-arm64.exe", sha256: "0be062a7b74f18b54c34f78f0da4fd5baebae896a484a1b0dd41d882848967cd" },
            { architecture: "arm64", type: "burn", scope: "machine", url: "https://github.com/microsoft/PowerToys/releases/download/v0.100.1/PowerToysSetup-0.100.1-arm64.exe", sha256: "4e537c7c7fa31de6d5fa4da6dc7479cf33e52ec28f0e2c574032bae987a4f49b" },
          ],
          license: "MIT",
          locale: "en-US",
          manifestVersion: "1.12.0",
          moniker: "powertoys",
          publisher: "Microsoft Corporation",
          publisherUrl: "https://github.com/microsoft/PowerToys",
          sourceTags: ["colorpicker", "fancyzones", "fileexplorer", "imageresizer", "keyboardmanager", "power-toys", "powerrename", "powertoys", "powertoys-run", "windows-key-shortcut-guide"],
        },
      },
    });
  });

  it("finds a package by its winget tags, and shows them apart from the user's tags", async () => {
    const home = await newHome();
    expectExit(await shelf(home, "import", "winget", MANIFESTS), 0);
    expect(await searchIds(home, "fancyzones")).toEqual(["winget:Microsoft.PowerToys"]);
    expect(await searchIds(home, "unarchiver")).toEqual(["winget:7zip.7zip"]);
    // the user's tag filter is about the user's tags only
    expect((await shelfJson<{ results: CatalogRecord[] }>(home, "search", "fancyzones", "--tag", "fancyzones")).results).toEqual([]);
    const shown = await shelf(home, "show", "winget:Microsoft.PowerToys");
    expectExit(shown, 0);
    expect(shown.stdout).toContain(
      "  tags:        \n  source tags: colorpicker, fancyzones, fileexplorer, imageresizer, keyboardmanager, power-toys, powerrename, powertoys, powertoys-run, windows-key-shortcut-guide\n  collections: \n",
    );
  });

  it("a home made before source tags were searchable finds them once upgraded, also tags an older import kept in meta.tags, and after a rebuild", async () => {
    const home = await newHome();
    expectExit(await shelf(home, "import", "winget", MANIFESTS), 0);
    // a record as an older shelf's winget import wrote it: Tags in meta.tags
    expectExit(await shelf(home, "add", "winget:Old.App", "--name", "Old App", "--meta", 'tags:=["legacyzones"]'), 0);
    // the view as the previous schema had it: three FTS columns, no source tags
    const db = new Database(join(home, "shelf.db"));
    db.exec(`
      DROP TABLE records_fts;
      CREATE VIRTUAL TABLE records_fts USING fts5(name, summary, tags, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
      INSERT INTO records_fts (rowid, name, summary, tags) SELECT rid, name, summary, '' FROM records;
    `);
    db.pragma(`user_version = ${SCHEMA_MIGRATIONS.indexOf(SEARCH_MIGRATION)}`);
    db.close();

    expect(await searchIds(home, "fancyzones")).toEqual(["winget:Microsoft.PowerToys"]);
    expect(await searchIds(home, "legacyzones")).toEqual(["winget:Old.App"]);
    expect(await searchIds(home, "7-Zip")).toEqual(["winget:7zip.7zip"]);
    const shown = await shelf(home, "show", "winget:Old.App");
    expect(shown.stdout).toContain("  source tags: legacyzones\n");
    expect(shown.stdout).not.toContain("meta.tags");

    expectExit(await shelf(home, "rebuild"), 0);
    expect(await searchIds(home, "fancyzones")).toEqual(["winget:Microsoft.PowerToys"]);
    expect(await searchIds(home, "legacyzones")).toEqual(["winget:Old.App"]);
  });

  it("an import moves tags an older import kept in meta.tags to meta.sourceTags", async () => {
    const home = await newHome();
    expectExit(await shelf(home, "add", "winget:7zip.7zip", "--name", "7-Zip", "--meta", 'tags:=["old"]'), 0);
    expectExit(await shelf(home, "import", "winget", MANIFESTS), 0);
    const { record } = await shelfJson<{ record: CatalogRecord }>(home, "show", "winget:7zip.7zip");
    expect(record.meta.tags).toBeUndefined();
    expect(record.meta.sourceTags).toContain("unarchiver");
    expect(await searchIds(home, "old")).toEqual([]);
  });
});
