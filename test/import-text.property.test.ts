/**
 * The text parsers of the importers on arbitrary input: the package-list TSV reader and the JSON
 * document readers (npm packuments, PyPI documents). Whatever the bytes, they never crash: either
 * the whole file is refused with SHELF_E_BAD_INPUT_FILE naming it, or each bad part is rejected
 * naming the file and its real line.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ShelfError } from "../src/errors.js";
import { jsonErrorOffset, JsonSyntaxError, parseJson } from "../src/import/json-text.js";
import { npmProvider } from "../src/import/providers/npm.js";
import { pypiProvider } from "../src/import/providers/pypi.js";
import { readTsvRecords } from "../src/import/tsv.js";
import type { ImportRow, Provider } from "../src/import/types.js";
import { localProviderContext } from "./helpers/provider-context.js";

const tmp = mkdtempSync(join(tmpdir(), "shelf-text-prop-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const tempFile = (name: string, bytes: Uint8Array): string => {
  const path = join(tmp, `${n++}-${name}`);
  writeFileSync(path, bytes);
  return path;
};

/** Bytes that look like TSV more often than uniform noise would: headers, tabs, line ends, non-ASCII. */
const PIECES = ["name", "version", "summary", "downloads_a_month", "rank", "month", "\t", "\t", "\n", "\n", "\r\n", "\r", "x", "react", "@a/b", "12", "-1", "é", "ヽ༼ຈل͜ຈ༽ﾉ", " ", "\u0007", "\uFEFF", "\u2028", "..", "a b"];
const tsvLike = fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }).map((parts) => new Uint8Array(Buffer.from(parts.join(""), "utf8")));
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), tsvLike, tsvLike.map((b) => new Uint8Array(Buffer.concat([Buffer.from("name\tversion\tsummary\n"), b]))));

describe("tsv reader on arbitrary bytes", () => {
  it("never crashes; rows and rejections carry the real line", async () => {
    await fc.assert(
      fc.asyncProperty(anyBytes, async (bytes) => {
        const path = tempFile("list.tsv", bytes);
        const rows = [];
        try {
          for await (const row of readTsvRecords(path, { warn: () => {} })) rows.push(row);
        } catch (err) {
          expect(err).toBeInstanceOf(ShelfError);
          expect((err as ShelfError).code).toBe("SHELF_E_BAD_INPUT_FILE");
          expect((err as ShelfError).message.startsWith(`${path}: `)).toBe(true);
          return;
        }
        // the file was read, so it is UTF-8 text: its lines are the user's lines
        const lines = Buffer.from(bytes).toString("utf8").split("\n").map((l) => l.replace(/\r$/, ""));
        const header = lines[0]!.replace(/^\uFEFF/, "").split("\t");
        for (const row of rows) {
          expect(row.line).toBeGreaterThanOrEqual(2);
          expect(row.line).toBeLessThanOrEqual(lines.length);
          if (row.ok) expect(row.item.patch.name).toBe(lines[row.line - 1]!.split("\t")[header.indexOf("name")]);
          else expect(row.reason.length).toBeGreaterThan(5);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("JSON readers on arbitrary text", () => {
  it("find a syntax error exactly when JSON.parse does", () => {
    const jsonish = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.json({ maxDepth: 3 }),
      fc.tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.constantFrom("", ",", "}", "]", '"', "\\", "\u0001", "-", "0", "e", " ")).map(([text, at, junk]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + junk + text.slice(i);
      }),
    );
    fc.assert(
      fc.property(jsonish, (text) => {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        expect(jsonErrorOffset(text) === undefined).toBe(parses);
      }),
      { numRuns: 2000 },
    );
  });

  it("name the line where the document breaks", () => {
    const broken = fc.tuple(fc.json({ maxDepth: 4 }), fc.nat()).map(([text, at]) => {
      const lines = JSON.stringify(JSON.parse(text), null, 2).split("\n");
      const k = at % lines.length;
      lines[k] = "#" + lines[k]; // a line start is never inside a string in pretty-printed JSON
      return { text: lines.join("\n"), line: k + 1 };
    });
    fc.assert(
      fc.property(broken, ({ text, line }) => {
        let thrown: unknown;
        try {
          parseJson(text);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(JsonSyntaxError);
        expect((thrown as JsonSyntaxError).line).toBe(line);
        expect((thrown as JsonSyntaxError).message).toContain(`line ${line}`);
      }),
      { numRuns: 500 },
    );
  });

  const context = localProviderContext;

  const jsonFileBytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.json({ maxDepth: 3 }).map((t) => new Uint8Array(Buffer.from(t))),
    fc.tuple(fc.json({ maxDepth: 3 }), fc.nat()).map(([t, at]) => new Uint8Array(Buffer.from(t.slice(0, at % (t.length + 1))))),
    fc.constantFrom('{"info": {"name": "x", "version": "1"}}', '{"name": "x", "dist-tags": {"latest": "1"}, "versions": {"1": {}}, "modified": "2020"}', '{"meta": {"api-version": "1.1"}, "name": "x", "files": []}').map((t) => new Uint8Array(Buffer.from(t))),
  );

  it.each<[string, Provider]>([
    ["npm", npmProvider],
    ["pypi", pypiProvider],
  ])("the %s reader never crashes; each rejection names the file and, for a syntax error, its real line", async (_name, provider) => {
    await fc.assert(
      fc.asyncProperty(jsonFileBytes, async (bytes) => {
        const dir = mkdtempSync(join(tmp, "docs-"));
        const path = join(dir, "doc.json");
        writeFileSync(path, bytes);
        const rows: ImportRow[] = [];
        for await (const row of provider.read(context(dir))) rows.push(row);
        expect(rows).toHaveLength(1);
        const row = rows[0]!;
        if (row.ok !== false) return;
        const place = /^(.*?)(?::(\d+))?$/.exec(row.where)!;
        expect(place[1]).toBe(path);
        if (place[2] !== undefined) {
          const lineCount = Buffer.from(bytes).toString("utf8").split("\n").length;
          expect(Number(place[2])).toBeGreaterThanOrEqual(1);
          expect(Number(place[2])).toBeLessThanOrEqual(lineCount);
          expect(row.reason).toMatch(/^it is not valid JSON \(line \d+: /);
        }
      }),
      { numRuns: 200 },
    );
  });
});
