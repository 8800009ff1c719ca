/**
 * Chocolatey against nuspecs from chocolatey-community/chocolatey-packages (fixtures/real/choco;
 * sources in fixtures/real/SOURCES.md): UTF-8 with and without a byte order mark, CRLF, and the
 * same files re-encoded as UTF-16 LE and BE the way Windows PowerShell saves them. Every record is
 * compared field by field with values copied by hand from the files.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runImport } from "../src/import/run-import.js";
import { decodeXml } from "../src/import/text-decode.js";
import { recordReader } from "../src/view/queries.js";
import { FIXTURES, crdtSize, expectJsonError, expectExit, shelf } from "./helpers/cli.js";
import { tempCatalog, tempDir } from "./helpers/temp-home.js";

const REAL = join(FIXTURES, "real", "choco");

async function importInto(source: string) {
  const { store } = await tempCatalog();
  const summary = await runImport(store, { provider: "choco", source });
  const read = recordReader(store.instance.db, store.catalog.catId);
  const fields = (id: string) => {
    const r = read(id);
    return r && { kind: r.kind, provider: r.provider, name: r.name, version: r.version, summary: r.summary, tags: r.tags, deleted: r.deleted, meta: r.meta };
  };
  return { summary, fields };
}

const pkg = { kind: "package", provider: "choco", tags: [], deleted: false };
const SOURCE_TREE = "https://github.com/chocolatey-community/chocolatey-packages/tree/master/automatic";

describe("real nuspecs from chocolatey-community/chocolatey-packages", () => {
  it("imports every one, UTF-8 (with or without BOM, LF or CRLF) and UTF-16 LE and BE, with every field", async () => {
    const { summary, fields } = await importInto(REAL);
    expect(summary).toMatchObject({ added: 5, rejected: 0, rejects: [] });
    expect(fields("choco:7zip")).toEqual({
      ...pkg,
      name: "7-Zip",
      version: "26.2",
      summary: "7-Zip is a file archiver with a high compression ratio.",
      meta: {
        authors: "Igor Pavlov",
        homepage: "http://www.7-zip.org/",
        licenseUrl: "http://www.7-zip.org/license.txt",
        tags: ["7zip", "zip", "archiver", "admin", "foss"],
        packageSourceUrl: `${SOURCE_TREE}/7zip`,
      },
    });
    expect(fields("choco:git")).toEqual({
      ...pkg,
      name: "Git",
      version: "2.55.0.5",
      summary: "Git for Windows offers a native set of tools that bring the full feature set of the Git SCM to Windows",
      meta: {
        authors: "The Git Development Community",
        homepage: "https://git-for-windows.github.io/",
        licenseUrl: "http://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
        tags: ["git", "vcs", "dvcs", "version-control", "msysgit", "foss", "cross-platform", "cli"],
        packageSourceUrl: `${SOURCE_TREE}/git`,
      },
    });
    expect(fields("choco:avidemux")).toEqual({
      ...pkg,
      name: "Avidemux",
      version: "2.6.6",
      summary: "Video editor",
      meta: {
        authors: "“Mean”,“Gruntster” and “Fahr”",
        homepage: "http://avidemux.sourceforge.net/",
        licenseUrl: "https://www.gnu.org/licenses/gpl-2.0.html",
        tags: ["video", "editor", "cutting", "filtering", "encoding"],
      },
    });
    expect(fields("choco:curl")).toEqual({
      ...pkg,
      name: "cURL",
      version: "8.21.0",
      summary: "cUrL is a command line tool and library for transferring data with URLs",
      meta: {
        authors: "Daniel Stenberg, cURL Contributors",
        homepage: "https://curl.se/",
        licenseUrl: "https://curl.se/docs/copyright.html",
        tags: ["curl", "URL", "ssh", "ssl", "download", "foss", "cros-platform", "cli"],
        packageSourceUrl: `${SOURCE_TREE}/curl`,
      },
    });
    expect(fields("choco:vlc")).toEqual({
      ...pkg,
      name: "VLC media player",
      version: "3.0.23",
      summary: "VLC Media Player",
      meta: {
        authors: "VideoLAN Organization",
        homepage: "http://www.videolan.org/vlc/",
        licenseUrl: "http://www.videolan.org/legal.html",
        tags: ["vlc", "foss", "cross-platform", "multimedia", "audio", "video", "mp3", "dvd", "avi", "media", "player", "admin"],
        packageSourceUrl: `${SOURCE_TREE}/vlc`,
      },
    });
  });
});

describe("encodings a nuspec may come in", () => {
  const xml = '<?xml version="1.0" encoding="windows-1252"?><package><metadata><id>cafe</id><version>1.0</version><title>Caf\u00e9</title></metadata></package>';

  it("UTF-16LE without a byte order mark, and a windows-1252 file its declaration names", () => {
    expect(decodeXml(new Uint8Array(Buffer.from(xml, "utf16le")))).toEqual({ text: xml });
    expect(decodeXml(new Uint8Array(Buffer.from(xml, "latin1")))).toEqual({ text: xml });
  });

  it("NUL bytes in a UTF-8 file are refused with their line", () => {
    expect(decodeXml(new Uint8Array(Buffer.from("<a>\n<b>\u0000</b></a>")))).toEqual({ reason: "it is binary data (a NUL byte), not text", line: 2 });
  });
});

describe("what goes wrong with real files is named with its line and cause", () => {
  it("a truncated nuspec: the last line and the elements left open", async () => {
    const dir = tempDir();
    const lines = readFileSync(join(REAL, "nuspecs", "git", "git.nuspec"), "utf8").split("\n");
    // cut after line 36 ("    <bugTrackerUrl>...</bugTrackerUrl>"), as an interrupted download leaves it
    expect(lines[35]).toMatch(/^ {4}<bugTrackerUrl>/);
    writeFileSync(join(dir, "git.nuspec"), lines.slice(0, 36).join("\n") + "\n");
    const { summary } = await importInto(dir);
    expect(summary.rejects).toEqual([{ where: `${join(dir, "git.nuspec")}:36`, reason: "it ends at line 36 with <package>, <metadata> still open: the file is cut short (truncated)" }]);
  });

  it("a nuspec cut in the middle of a CDATA description", async () => {
    const dir = tempDir();
    const lines = readFileSync(join(REAL, "nuspecs", "7zip", "7zip.nuspec"), "utf8").split("\n");
    writeFileSync(join(dir, "7zip.nuspec"), lines.slice(0, 14).join("\n"));
    const { summary } = await importInto(dir);
    expect(summary.rejects).toEqual([{ where: `${join(dir, "7zip.nuspec")}:14`, reason: "it ends at line 14 with <package>, <metadata>, <description> still open: the file is cut short (truncated)" }]);
  });

  it("an empty <version> names its own line", async () => {
    const { summary } = await importInto(join(FIXTURES, "choco", "nuspecs", "noversion.nuspec"));
    expect(summary.rejects).toEqual([{ where: `${join(FIXTURES, "choco", "nuspecs", "noversion.nuspec")}:5`, reason: "<version> is missing or empty for noversion" }]);
  });

  it("a UTF-16 file cut in the middle of a character", async () => {
    const dir = tempDir();
    const bytes = readFileSync(join(REAL, "utf16", "curl.nuspec"));
    // BOM + 299 bytes: 149 characters and half of one; line 1 (the declaration) is 41 of them
    writeFileSync(join(dir, "curl.nuspec"), bytes.subarray(0, 301));
    const { summary } = await importInto(dir);
    expect(summary.rejects).toEqual([{ where: `${join(dir, "curl.nuspec")}:2`, reason: "it is UTF-16LE text cut in the middle of a character (an odd number of bytes)" }]);
  });

  it("a feed entry without a version is named by the line of its <entry>", async () => {
    const file = join(FIXTURES, "choco", "feed", "with-bad-entry.xml");
    const { summary } = await importInto(file);
    expect(summary.rejects).toEqual([{ where: `${file}:39 (entry 2)`, reason: "the entry for noversion has no <d:Version>" }]);
  });

  it("a truncated feed file fails the import with SHELF_E_BAD_INPUT_FILE naming its last line, and writes nothing (CLI)", async () => {
    const home = join(tempDir(), "home");
    expectExit(await shelf(home, "init"), 0);
    const dir = tempDir();
    mkdirSync(join(dir, "saved"));
    const file = join(dir, "saved", "page.xml");
    const lines = readFileSync(join(FIXTURES, "choco", "feed", "with-bad-entry.xml"), "utf8").split("\n");
    writeFileSync(file, lines.slice(0, 30).join("\n"));
    const before = crdtSize(home);
    const err = expectJsonError(await shelf(home, "import", "choco", file, "--json"), 1, "SHELF_E_BAD_INPUT_FILE");
    expect(err.message).toBe(`${file}:30: it ends at line 30 with <feed>, <entry>, <m:properties> still open: the file is cut short (truncated)`);
    expect(crdtSize(home)).toEqual(before);
  });
});
