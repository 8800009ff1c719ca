/**
 * pacman: an Arch Linux local package database (/var/lib/pacman/local: one directory per installed
 * package holding a `desc` file, local database version 9 as pacman 5 and 6 write it), or the
 * output of `pacman -Qi` / `-Qii` with English field names (a file, or `-` for stdin).
 *
 * With `--as HOST` only the record's name and one meta key per host, `host.HOST` =
 * {version, installedAt, reason}, are written: two machines importing at the same time touch
 * different keys and never conflict.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ShelfError } from "../../errors.js";
import { reasonOf } from "../documents.js";
import { LineError, placeOf } from "../line-error.js";
import { sourceKey, sourceKind } from "../source-files.js";
import { decodeUtf8, decodeUtf8Lines, nulByteLine, type Decoded } from "../text-decode.js";
import type { ImportRow, Provider, ProviderContext } from "../types.js";
import { parseDesc } from "./pacman-desc.js";
import { installedToItem, type InstalledPackage } from "./pacman-package.js";
import { isPackageBlock, parseQiBlock, qiBlocks, translatedTitle } from "./pacman-qi.js";

export { parseDesc } from "./pacman-desc.js";
export { checkHost, hostKey, HOST_RE, installedToItem, type InstalledPackage } from "./pacman-package.js";
export { parseQiBlock, qiBlocks } from "./pacman-qi.js";

/** One parsed package -> a row; a failure names `file:line` (the line at fault, else `line`). */
function toRow(file: string, line: number, parse: () => InstalledPackage, host: string | undefined, id?: string): ImportRow {
  try {
    return { ok: true, where: `${file}:${line}`, item: installedToItem(parse(), host) };
  } catch (err) {
    return { ok: false, where: placeOf(file, err, `${file}:${line}`), reason: reasonOf(err), ...(id ? { id } : {}) };
  }
}

async function* readLocalDb(dir: string, host?: string): AsyncGenerator<ImportRow> {
  let entries;
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    throw new ShelfError("SHELF_E_IO", `cannot list ${dir}: ${(err as Error).message}`);
  }
  let found = 0;
  for (const entry of entries) {
    const path = join(dir, entry, "desc");
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // not a package directory
      yield { ok: false, where: path, reason: `cannot read it: ${(err as Error).message}` };
      continue;
    }
    found++;
    // the directory is named NAME-VERSION-REL: the package is still installed, so a bad desc
    // keeps its record from counting as vanished
    const id = /^(.+)-[^-]+-[^-]+$/.exec(entry)?.[1];
    yield toRow(path, 1, () => parseDesc(textOrThrow(decodeUtf8(bytes))), host, id ? `pacman:${id}` : undefined);
  }
  if (found === 0 && entries.length > 0) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${dir} is not a pacman local database: none of its ${entries.length} directories holds a desc file`, "give /var/lib/pacman/local, or a file with the output of `LC_ALL=C pacman -Qi`");
  }
}

function textOrThrow(decoded: Decoded): string {
  if ("reason" in decoded) throw new LineError(decoded.line, decoded.reason);
  return decoded.text;
}

async function readBytes(path: string): Promise<Buffer> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (err) {
    throw new ShelfError("SHELF_E_IO", `cannot read ${path}: ${(err as Error).message}`);
  }
}

const QI_HINT = "run `LC_ALL=C pacman -Qi > FILE` (or -Qii) and import FILE";

async function* readQi(path: string, host?: string): AsyncGenerator<ImportRow> {
  const where = path === "-" ? "stdin" : path;
  const bytes = await readBytes(path);
  const nul = nulByteLine(bytes);
  if (nul !== undefined) throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${where}:${nul}: it is binary data (a NUL byte), not pacman -Qi output`, QI_HINT);
  const { text, badLines } = decodeUtf8Lines(bytes);
  const blocks = qiBlocks(text);
  if (blocks.length > 0 && !blocks.some(isPackageBlock)) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${where}: this is not pacman -Qi output (no block has a "Name :" line; a translated listing has other field names)`, QI_HINT);
  }
  const translated = blocks.filter(isPackageBlock).map(translatedTitle).find((t) => t !== undefined);
  if (translated) throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${where}:${translated.line}: "${translated.title}" is not an English field name: this listing was printed in another language`, `shelf reads English listings: ${QI_HINT}`);
  for (const block of blocks) {
    const bad = badLines.find((n) => n >= block.line && n < block.line + block.lines.length);
    yield toRow(
      where,
      block.line,
      () => {
        if (bad !== undefined) throw new LineError(bad, "this line is not UTF-8 text");
        return parseQiBlock(block.lines, block.line);
      },
      host,
    );
  }
}

async function* readPacman(ctx: ProviderContext): AsyncGenerator<ImportRow> {
  if (ctx.source === "-") return yield* readQi("-", ctx.host);
  const kind = await sourceKind(ctx.source, "a pacman local database directory (/var/lib/pacman/local) or a pacman -Qi output file");
  if (kind === "url") throw new ShelfError("SHELF_E_USAGE", "pacman imports a local database directory or a pacman -Qi output file, not a URL");
  yield* kind === "dir" ? readLocalDb(ctx.source, ctx.host) : readQi(ctx.source, ctx.host);
}

export const pacmanProvider: Provider = {
  name: "pacman",
  sources: "a local package database (/var/lib/pacman/local) or `pacman -Qi`/`-Qii` output (a file, or - for stdin); --as HOST",
  sourceKey,
  read: readPacman,
};
