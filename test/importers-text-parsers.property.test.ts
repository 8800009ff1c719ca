/**
 * Property tests of the text importers, through the providers' own readers on real files in a
 * temp directory: `pacman -Qi` text, pacman `desc` files, and nuspec / OData feed XML.
 *
 * - Arbitrary bytes never crash a reader: it yields records or rejections, or refuses the whole
 *   source with SHELF_E_BAD_INPUT_FILE; and every rejection names the file and a line it has.
 * - A fault put at a known line of a real file is rejected at exactly that line.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isShelfError } from "../src/errors.js";
import { chocoProvider } from "../src/import/providers/choco.js";
import { pacmanProvider } from "../src/import/providers/pacman.js";
import type { ImportRow, Provider } from "../src/import/types.js";
import { FIXTURES } from "./helpers/cli.js";
import { localProviderContext } from "./helpers/provider-context.js";
import { tempDir } from "./helpers/temp-home.js";

const RUNS = 150;

/** Runs a provider's reader on `source`: its rows, or the ShelfError that refused the source. */
async function read(provider: Provider, source: string): Promise<{ rows: ImportRow[] } | { error: { code: string; message: string } }> {
  const ctx = localProviderContext(source);
  const rows: ImportRow[] = [];
  try {
    for await (const row of provider.read(ctx)) rows.push(row);
    return { rows };
  } catch (err) {
    if (isShelfError(err)) return { error: { code: err.code, message: err.message } };
    throw err; // anything else is a crash
  }
}

const lineCount = (bytes: Uint8Array): number => bytes.filter((b) => b === 0x0a).length + 1;
const rejects = (result: Awaited<ReturnType<typeof read>>) => ("rows" in result ? result.rows.filter((r): r is Extract<ImportRow, { ok: false }> => r.ok === false) : []);

/**
 * Every rejection's place is `file:LINE` (then anything) with LINE a line the file has. With
 * `unplacedRefusal`, a refusal of the whole source may name only the file (pacman's "this is not
 * pacman -Qi output" is about no single line).
 */
function expectPlacesInFile(result: Awaited<ReturnType<typeof read>>, file: string, lines: number, unplacedRefusal = false): void {
  const places = "rows" in result ? rejects(result).map((r) => r.where) : [result.error.message];
  if ("error" in result) expect(result.error.code).toBe("SHELF_E_BAD_INPUT_FILE");
  for (const place of places) {
    const m = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+)`).exec(place);
    if ("error" in result && !m && unplacedRefusal) {
      // a whole-source refusal that is about no single line still names the file
      expect(place.startsWith(`${file}:`)).toBe(true);
      continue;
    }
    expect(m, `${place} names a line of ${file}`).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    expect(Number(m![1])).toBeLessThanOrEqual(lines);
  }
}

// Bytes that look like the format now and then: real lines, broken lines, random bytes, NULs.
const textish = (realLines: string[]) =>
  fc
    .array(
      fc.oneof(
        fc.constantFrom(...realLines).map((l) => Buffer.from(`${l}\n`)),
        fc.string({ maxLength: 40 }).map((s) => Buffer.from(`${s}\n`)),
        fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
      ),
      { maxLength: 60 },
    )
    .map((parts) => new Uint8Array(Buffer.concat(parts)));

const realText = (...path: string[]) => readFileSync(join(FIXTURES, "real", ...path), "utf8");

describe("pacman -Qi text", () => {
  const real = realText("pacman", "qii-en_US-plus08.txt");
  const realLines = real.split("\n");

  it("arbitrary bytes never crash the reader; every rejection names the file and one of its lines", async () => {
    const dir = tempDir();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 600 }), textish(realLines.slice(0, 40))), async (bytes) => {
        const file = join(dir, "qi.txt");
        writeFileSync(file, bytes);
        expectPlacesInFile(await read(pacmanProvider, file), file, lineCount(bytes), true);
      }),
      { numRuns: RUNS },
    );
  });

  it("a garbled line, or one that is not UTF-8, is rejected at exactly its line", async () => {
    const dir = tempDir();
    const candidates = realLines.map((l, i) => i).filter((i) => realLines[i]!.trim() !== "");
    const garbage = fc.oneof(
      fc.stringMatching(/^[^\s:][^:\r\n]{0,30}$/).map((s) => Buffer.from(s)),
      fc.constant(Buffer.from([0x4e, 0x61, 0x6d, 0xff, 0x65])), // "Nam\xffe": not UTF-8
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...candidates), garbage, async (index, bad) => {
        const file = join(dir, "qi.txt");
        const before = Buffer.from(realLines.slice(0, index).join("\n") + (index > 0 ? "\n" : ""));
        const after = Buffer.from("\n" + realLines.slice(index + 1).join("\n"));
        writeFileSync(file, Buffer.concat([before, bad, after]));
        const result = await read(pacmanProvider, file);
        expect(rejects(result).map((r) => r.where)).toEqual([`${file}:${index + 1}`]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("pacman desc files", () => {
  const real = realText("pacman", "local", "pacman-5.2.2-3", "desc");
  const realLines = real.split("\n");

  it("arbitrary bytes never crash the reader; every rejection names the file and one of its lines", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "pkg-1.0-1"));
    const file = join(dir, "pkg-1.0-1", "desc");
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 400 }), textish(realLines)), async (bytes) => {
        writeFileSync(file, bytes);
        expectPlacesInFile(await read(pacmanProvider, dir), file, lineCount(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("a value after a section's blank line is rejected at exactly its line", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "pacman-5.2.2-3"));
    const file = join(dir, "pacman-5.2.2-3", "desc");
    const blanks = realLines.map((l, i) => i).filter((i) => realLines[i] === "" && i < realLines.length - 1);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...blanks), fc.stringMatching(/^[a-z0-9 ]{1,20}$/), async (blank, stray) => {
        const lines = [...realLines];
        lines.splice(blank + 1, 0, stray);
        writeFileSync(file, lines.join("\n"));
        const result = await read(pacmanProvider, dir);
        expect(rejects(result).map((r) => r.where)).toEqual([`${file}:${blank + 2}`]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("nuspec and OData feed XML", () => {
  const nuspec = readFileSync(join(FIXTURES, "real", "choco", "nuspecs", "git", "git.nuspec"));
  const feed = readFileSync(join(FIXTURES, "choco", "feed", "page1.xml"));
  const xmlLines = [...nuspec.toString("utf8").split("\n"), ...feed.toString("utf8").split("\n")];

  it("arbitrary bytes as a .nuspec never crash the reader; every rejection names the file and one of its lines", async () => {
    const dir = tempDir();
    const file = join(dir, "x.nuspec");
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 600 }), textish(xmlLines)), async (bytes) => {
        writeFileSync(file, bytes);
        expectPlacesInFile(await read(chocoProvider, dir), file, lineCount(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("arbitrary bytes as a feed file never crash the reader; a refusal or rejection names the file and one of its lines", async () => {
    const dir = tempDir();
    const file = join(dir, "page.xml");
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 600 }), textish(xmlLines)), async (bytes) => {
        writeFileSync(file, bytes);
        expectPlacesInFile(await read(chocoProvider, file), file, lineCount(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("a real nuspec cut at any byte is rejected at its last line", async () => {
    const dir = tempDir();
    const file = join(dir, "git.nuspec");
    const complete = nuspec.toString("utf8").trimEnd();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: nuspec.length }), async (cut) => {
        const bytes = nuspec.subarray(0, cut);
        writeFileSync(file, bytes);
        const text = bytes.toString("utf8");
        const result = await read(chocoProvider, dir);
        if (text.trimEnd() === complete) expect(rejects(result)).toEqual([]);
        else expect(rejects(result).map((r) => r.where)).toEqual([`${file}:${text.trimEnd().split("\n").length}`]);
      }),
      { numRuns: RUNS },
    );
  });
});
