import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { ShelfError } from "../src/errors.js";
import { readTsvRecords, type TsvRow } from "../src/import/tsv.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const SAMPLE = join(FIXTURES, "npm-sample.tsv");
const SAMPLE_GZ = join(FIXTURES, "npm-sample.tsv.gz");
const BAD = join(FIXTURES, "npm-bad.tsv");

const tmp = mkdtempSync(join(tmpdir(), "shelf-tsv-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tempFile(name: string, data: string | Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, data);
  return path;
}

async function collect(path: string, options?: { provider?: string }): Promise<TsvRow[]> {
  const rows: TsvRow[] = [];
  for await (const row of readTsvRecords(path, options)) rows.push(row);
  return rows;
}

async function badInputError(path: string): Promise<ShelfError> {
  const err = await collect(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ShelfError);
  const shelfErr = err as ShelfError;
  expect(shelfErr.code).toBe("SHELF_E_BAD_INPUT_FILE");
  expect(shelfErr.message).toContain(path);
  return shelfErr;
}

const okItems = (rows: TsvRow[]) => rows.flatMap((r) => (r.ok ? [r.item] : []));

describe("readTsvRecords: the real sample", () => {
  it("parses all 300 rows of the plain sample", async () => {
    const rows = await collect(SAMPLE);
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    expect(rows).toHaveLength(300);
    expect(rows[0]!.line).toBe(2);
    expect(rows.at(-1)!.line).toBe(301);
  });

  it("gives identical items for the gzipped sample", async () => {
    const plain = await collect(SAMPLE);
    const gz = await collect(SAMPLE_GZ);
    expect(gz).toEqual(plain);
  });

  it("detects gzip by magic bytes, not by name", async () => {
    const renamed = tempFile("looks-plain.tsv", readFileSync(SAMPLE_GZ));
    expect(await collect(renamed)).toEqual(await collect(SAMPLE));
  });

  it("maps columns to the item, including scoped names, non-ASCII text and empty fields", async () => {
    const byId = new Map(okItems(await collect(SAMPLE)).map((item) => [item.id, item]));
    expect(byId.get("npm:react")).toEqual({
      id: "npm:react",
      patch: {
        name: "react",
        version: "19.3.1",
        summary: "React is a JavaScript library for building user interfaces.",
        meta: { downloadsAMonth: 351327975 },
      },
    });
    expect(byId.get("npm:@types/node")?.patch.name).toBe("@types/node");
    expect(byId.get("npm:0x")?.patch.summary).toBe("🔥 single-command flamegraph profiling 🔥");
    expect(byId.get("npm:algebra")?.patch.summary).toContain("الجبر");
    // empty downloads_a_month: no meta at all; empty summary kept as ""
    expect(byId.get("npm:@ant-design/cli")?.patch).toEqual({ name: "@ant-design/cli", version: "6.6.5", summary: "" });
    const items = [...byId.values()];
    expect(items.every((item) => item.id === `npm:${item.patch.name}`)).toBe(true);
    expect(items.filter((item) => item.patch.summary === "").length).toBeGreaterThan(1);
  });

  it("drops a byte order mark before the header only; a row that starts with U+FEFF is not silently renamed", async () => {
    const rows = await collect(tempFile("bom.tsv", "\uFEFFname\tversion\n\uFEFFleft-pad\t1.0.0\nright-pad\t1.1.0\n"));
    expect(rows.map((r) => (r.ok ? r.item.id : r.reason))).toEqual(['invalid record id "npm:\uFEFFleft-pad": it contains whitespace or control characters', "npm:right-pad"]);
  });

  it("uses the provider option as the id prefix", async () => {
    const items = okItems(await collect(SAMPLE, { provider: "mirror" }));
    expect(items).toHaveLength(300);
    expect(items.every((item) => item.id.startsWith("mirror:"))).toBe(true);
  });

  it("stops reading cleanly when the caller breaks early", async () => {
    let seen = 0;
    for await (const row of readTsvRecords(SAMPLE_GZ)) {
      expect(row.ok).toBe(true);
      if (++seen === 5) break;
    }
    expect(seen).toBe(5);
  });
});

describe("readTsvRecords: bad rows", () => {
  it("rejects each bad row with its line and reason, and keeps the good rows", async () => {
    const rows = await collect(BAD);
    const rejects = rows.filter((r) => !r.ok);
    expect(rejects.map((r) => r.line)).toEqual([3, 5, 6, 7, 9]);
    const reason = (line: number) => {
      const row = rejects.find((r) => r.line === line);
      return row && !row.ok ? row.reason : "";
    };
    expect(reason(3)).toMatch(/expected 4 tab-separated columns, got 3/);
    expect(reason(5)).toMatch(/"npm:bad name".*whitespace/);
    expect(reason(6)).toMatch(/summary contains control characters/);
    expect(reason(7)).toMatch(/downloads_a_month.*"abc"/);
    expect(reason(9)).toMatch(/expected 4 tab-separated columns, got 5/);

    const good = rows.filter((r) => r.ok);
    expect(good.map((r) => r.line)).toEqual([2, 4, 8, 10, 11]);
    const items = okItems(rows);
    expect(items.map((i) => i.id)).toEqual(["npm:chalk", "npm:@babel/core", "npm:commander", "npm:left-pad", "npm:no-downloads"]);
    // the CRLF row loses its \r
    expect(items[2]!.patch.summary).toBe("the complete solution for node.js command-line programs");
    expect(items[4]!.patch).toEqual({ name: "no-downloads", version: "0.1.0", summary: "A row with an empty download count" });
  });

  it("rejects a lone \\r inside a row instead of splitting the row", async () => {
    const path = tempFile("lone-cr.tsv", "name\tversion\tdownloads_a_month\tsummary\ncr\t1.0.0\t1\tbefore\rafter\nok\t1.0.0\t2\tfine\n");
    const rows = await collect(path);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ ok: false, line: 2 });
    expect(rows[1]).toMatchObject({ ok: true, line: 3 });
  });

  it("accepts the columns in any order", async () => {
    const path = tempFile("reordered.tsv", "summary\tname\tdownloads_a_month\tversion\nhi there\tpkg\t7\t2.0.0\n");
    expect(okItems(await collect(path))).toEqual([
      { id: "npm:pkg", patch: { name: "pkg", version: "2.0.0", summary: "hi there", meta: { downloadsAMonth: 7 } } },
    ]);
  });
});

describe("readTsvRecords: files that are not TSV", () => {
  it("throws SHELF_E_BAD_INPUT_FILE for a PNG", async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]),
      Buffer.alloc(64, 0xff),
    ]);
    await badInputError(tempFile("image.png", png));
  });

  it("throws SHELF_E_BAD_INPUT_FILE for a truncated gzip", async () => {
    const bytes = readFileSync(SAMPLE_GZ);
    const err = await badInputError(tempFile("truncated.tsv.gz", bytes.subarray(0, Math.floor(bytes.length / 2))));
    expect(err.message).toMatch(/gzip/);
  });

  it("throws SHELF_E_BAD_INPUT_FILE for corrupt gzip data", async () => {
    const bytes = Buffer.from(readFileSync(SAMPLE_GZ));
    bytes.fill(0x55, 20, 200);
    await badInputError(tempFile("corrupt.tsv.gz", bytes));
  });

  it("rejects a row that is not UTF-8 alone, and keeps the rows around it", async () => {
    const path = tempFile("one-latin1-row.tsv", Buffer.from("name\tversion\tdownloads_a_month\tsummary\ncafé\t1\t1\tok\n", "utf8"));
    const bytes = Buffer.concat([readFileSync(path), Buffer.from("caf\xe9\t1\t1\tx\n", "latin1"), Buffer.from("tea\t2\t2\tfine\n")]);
    const rows = await collect(tempFile("mixed.tsv", bytes));
    expect(rows).toEqual([
      { ok: true, line: 2, item: { id: "npm:café", patch: { name: "café", version: "1", summary: "ok", meta: { downloadsAMonth: 1 } } } },
      { ok: false, line: 3, reason: "the row is not UTF-8 text" },
      { ok: true, line: 4, item: { id: "npm:tea", patch: { name: "tea", version: "2", summary: "fine", meta: { downloadsAMonth: 2 } } } },
    ]);
  });

  it("throws SHELF_E_BAD_INPUT_FILE for a file whose header is not UTF-8", async () => {
    const err = await badInputError(tempFile("latin1.tsv", Buffer.from("n\xe4me\tversion\n", "latin1")));
    expect(err.message).toMatch(/not UTF-8/);
  });

  it("throws SHELF_E_BAD_INPUT_FILE for an empty file, plain or gzipped", async () => {
    expect((await badInputError(tempFile("empty.tsv", ""))).message).toMatch(/empty/);
    expect((await badInputError(tempFile("empty.tsv.gz", gzipSync("")))).message).toMatch(/empty/);
  });

  it("throws SHELF_E_BAD_INPUT_FILE naming the missing name column", async () => {
    const err = await badInputError(tempFile("no-name.tsv", "version\tsummary\n1.0.0\thello\n"));
    expect(err.message).toMatch(/"name"/);
    expect(err.hint).toContain("name\\tversion");
  });

  it("ignores columns it does not know, with one warning naming them, and reads the rest", async () => {
    const path = tempFile("extra.tsv", "month\trank\tname\tversion\n2026-11\t1\tboto3\t1.35.0\n2026-11\t2\turllib3\t2.2.3\n");
    const warnings: string[] = [];
    const rows: TsvRow[] = [];
    for await (const row of readTsvRecords(path, { provider: "pypi", warn: (m) => warnings.push(m) })) rows.push(row);
    expect(rows).toEqual([
      { ok: true, line: 2, item: { id: "pypi:boto3", patch: { name: "boto3", version: "1.35.0" } } },
      { ok: true, line: 3, item: { id: "pypi:urllib3", patch: { name: "urllib3", version: "2.2.3" } } },
    ]);
    expect(warnings).toEqual([`${path}: ignored columns shelf does not know: "month", "rank" (it reads name, version, downloads_a_month, summary)`]);
  });

  it("throws SHELF_E_BAD_INPUT_FILE for a known column named twice", async () => {
    expect((await badInputError(tempFile("twice.tsv", "name\tversion\tversion\nx\t1\t2\n"))).message).toContain(`the column "version" twice`);
  });

  it("throws SHELF_E_IO for a file that does not exist", async () => {
    await expect(collect(join(tmp, "missing.tsv"))).rejects.toMatchObject({ code: "SHELF_E_IO" });
  });
});
