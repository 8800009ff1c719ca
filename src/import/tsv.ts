/**
 * Streams a package-list TSV (plain or gzip, detected by magic bytes) into write items, one row at a time.
 * Header: name, version, downloads_a_month, summary (any order; only `name` is required; other
 * columns are ignored with a warning). A bad row
 * (one that is not UTF-8 too) yields a rejection with its line number and parsing continues; a file
 * whose header is not UTF-8 TSV throws.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import type { WriteItem } from "../catalog/catalog-store.js";
import { ShelfError } from "../errors.js";
import { validateId, validatePatch, type RecordPatch } from "../model/record.js";

export type TsvRow = { ok: true; line: number; item: WriteItem } | { ok: false; line: number; reason: string };

const COLUMNS = ["name", "version", "downloads_a_month", "summary"] as const;
const HINT = `expected a UTF-8 (optionally gzipped) TSV whose first line is: ${COLUMNS.join("\\t")}`;

const badFile = (path: string, why: string) => new ShelfError("SHELF_E_BAD_INPUT_FILE", `${path}: ${why}`, HINT);

/**
 * The file's lines (gunzipped when it starts with 1f 8b), each decoded as strict UTF-8, or null for
 * a line that is not UTF-8, so one bad row is rejected alone. Lines end at \n only (a byte no
 * UTF-8 sequence holds); a lone \r stays in its row, which is then rejected for it, not split.
 */
async function* fileLines(path: string): AsyncGenerator<string | null> {
  let gzipped = false;
  try {
    const fh = await open(path, "r");
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0).finally(() => fh.close());
    gzipped = bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } catch (err) {
    throw new ShelfError("SHELF_E_IO", `cannot read ${path}: ${(err as Error).message}`);
  }
  const file = createReadStream(path);
  const source: Readable = gzipped ? pipeline(file, createGunzip(), () => {}) : file;
  // Each line is decoded on its own: keep a U+FEFF that starts one (only the file's first line
  // may carry a byte order mark, and the header drops it), so a row's text is what the file holds.
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const decode = (bytes: Buffer): string | null => {
    try {
      return decoder.decode(bytes);
    } catch {
      return null;
    }
  };
  let pending: Buffer[] = [];
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (chunk.includes(0)) throw badFile(path, "it is binary data (NUL bytes), not a TSV text file");
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        pending.push(chunk.subarray(start, nl));
        yield decode(Buffer.concat(pending));
        pending = [];
        start = nl + 1;
      }
      if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
    }
    if (pending.length > 0) yield decode(Buffer.concat(pending));
  } catch (err) {
    if (err instanceof ShelfError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code.startsWith("Z_")) throw badFile(path, `the gzip data is corrupt or truncated (${(err as Error).message})`);
    throw new ShelfError("SHELF_E_IO", `cannot read ${path}: ${(err as Error).message}`);
  } finally {
    source.destroy();
  }
}

/**
 * The header -> where each known column is. Columns shelf does not know (a list's `rank`, `month`)
 * are ignored with one warning, as CSV tools do; a file without `name` cannot be read, and a
 * known column named twice is ambiguous.
 */
function columnsOf(path: string, header: string[], warn: (message: string) => void = () => {}): Map<string, number> {
  if (!header.includes("name")) throw badFile(path, `the header has no "name" column: ${JSON.stringify(header.join("\t").slice(0, 80))}`);
  const index = new Map<string, number>();
  const unknown: string[] = [];
  header.forEach((column, i) => {
    if (!(COLUMNS as readonly string[]).includes(column)) unknown.push(column);
    else if (index.has(column)) throw badFile(path, `the header names the column ${JSON.stringify(column)} twice`);
    else index.set(column, i);
  });
  if (unknown.length > 0) warn(`${path}: ignored ${unknown.length === 1 ? "a column" : "columns"} shelf does not know: ${unknown.map((c) => JSON.stringify(c)).join(", ")} (it reads ${COLUMNS.join(", ")})`);
  return index;
}

/**
 * Parses the TSV at `path`; ids are `<provider>:<name>` (provider defaults to "npm"). `warn`
 * hears about the whole file once (ignored columns).
 */
export async function* readTsvRecords(path: string, options: { provider?: string; warn?: (message: string) => void } = {}): AsyncGenerator<TsvRow> {
  const provider = options.provider ?? "npm";
  validateId(`${provider}:x`); // a bad provider is the caller's error, not every row's
  let line = 0;
  let index: Map<string, number> | undefined;
  let columnCount = 0;
  for await (const decoded of fileLines(path)) {
    line++;
    if (decoded === null) {
      if (index === undefined) throw badFile(path, "it is not UTF-8 text");
      yield { ok: false, line, reason: "the row is not UTF-8 text" };
      continue;
    }
    const text = decoded.endsWith("\r") ? decoded.slice(0, -1) : decoded;
    if (index === undefined) {
      const header = text.replace(/^\uFEFF/, "").split("\t");
      index = columnsOf(path, header, options.warn);
      columnCount = header.length;
      continue;
    }
    if (text.length === 0) continue;
    try {
      yield { ok: true, line, item: toItem(text.split("\t"), index, columnCount, provider) };
    } catch (err) {
      if (!(err instanceof ShelfError)) throw err;
      yield { ok: false, line, reason: err.message };
    }
  }
  if (index === undefined) throw badFile(path, "the file is empty (no header line)");
}

function toItem(cells: string[], index: Map<string, number>, columnCount: number, provider: string): WriteItem {
  if (cells.length !== columnCount) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `expected ${columnCount} tab-separated columns, got ${cells.length}`);
  }
  const cell = (column: string) => (index.has(column) ? cells[index.get(column)!] : undefined);
  const name = cell("name") ?? "";
  const id = `${provider}:${name}`;
  validateId(id);
  const patch: RecordPatch = { name };
  const version = cell("version");
  const summary = cell("summary");
  const downloads = cell("downloads_a_month");
  if (version !== undefined) patch.version = version;
  if (summary !== undefined) patch.summary = summary;
  if (downloads) {
    if (!/^[0-9]+$/.test(downloads) || !Number.isSafeInteger(Number(downloads))) {
      throw new ShelfError("SHELF_E_INVALID_FIELD", `downloads_a_month must be a non-negative integer, got ${JSON.stringify(downloads)}`);
    }
    patch.meta = { downloadsAMonth: Number(downloads) };
  }
  return { id, patch: validatePatch(patch) };
}
