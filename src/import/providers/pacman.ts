/**
 * pacman: an Arch Linux local package database (/var/lib/pacman/local: one directory per installed
 * package holding a `desc` file, local database version 9 as pacman 6.x writes it), or the output
 * of `LC_ALL=C pacman -Qi` (a file, or `-` for stdin).
 *
 * With `--as HOST` only the record's name and one meta key per host, `host.HOST` =
 * {version, installedAt, reason}, are written: two machines importing at the same time touch
 * different keys and never conflict.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { WriteItem } from "../../catalog/catalog-store.js";
import { ShelfError } from "../../errors.js";
import { validateId, validatePatch, type JsonValue, type RecordPatch } from "../../model/record.js";
import { reasonOf } from "../documents.js";
import { readText, sourceKey, sourceKind } from "../source-files.js";
import { boundedList, compactMeta, oneLine } from "../text.js";
import type { ImportRow, Provider, ProviderContext } from "../types.js";

/** What shelf keeps of an installed package, from either format. */
export interface InstalledPackage {
  name: string;
  version: string;
  description?: string;
  url?: string;
  arch?: string;
  licenses: string[];
  groups: string[];
  depends: string[];
  installedSize?: number;
  packager?: string;
  buildDate?: string;
  installDate?: string;
  reason?: "explicit" | "dependency";
}

/** Host names as meta key suffixes: letters, digits, "." and "-" (a DNS name). */
export const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

export function checkHost(host: string): string {
  if (!HOST_RE.test(host)) throw new ShelfError("SHELF_E_USAGE", `invalid host name ${JSON.stringify(host)}`, "a host name is letters, digits, . and - (at most 63), like the machine's hostname");
  return host;
}

export const hostKey = (host: string): string => `host.${host}`;

const epochToIso = (value: string | undefined): string | undefined => (value && /^\d+$/.test(value) ? new Date(Number(value) * 1000).toISOString() : undefined);

/** A `desc` file: `%KEY%` lines, each followed by its values up to a blank line. */
export function parseDesc(text: string): InstalledPackage {
  const fields = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    const key = /^%([A-Z0-9]+)%$/.exec(line);
    if (key) fields.set(key[1]!, (current = []));
    else if (line === "") current = undefined;
    else if (current) current.push(line);
    else throw new Error(`a value outside any %KEY% section: ${JSON.stringify(line.slice(0, 60))}`);
  }
  const one = (k: string) => fields.get(k)?.[0];
  const name = one("NAME");
  const version = one("VERSION");
  if (!name) throw new Error("%NAME% is missing");
  if (!version) throw new Error(`%VERSION% is missing for ${name}`);
  const size = one("SIZE");
  return {
    name,
    version,
    description: one("DESC"),
    url: one("URL"),
    arch: one("ARCH"),
    licenses: fields.get("LICENSE") ?? [],
    groups: fields.get("GROUPS") ?? [],
    depends: fields.get("DEPENDS") ?? [],
    installedSize: size && /^\d+$/.test(size) ? Number(size) : undefined,
    packager: one("PACKAGER"),
    buildDate: epochToIso(one("BUILDDATE")),
    installDate: epochToIso(one("INSTALLDATE")),
    // %REASON% 1 means "installed as a dependency"; absent or 0, explicitly
    reason: one("REASON") === "1" ? "dependency" : "explicit",
  };
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

function qiDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

/** One package block of `pacman -Qi` output (English): `Key : value` lines, continuations indented. */
export function parseQiBlock(lines: string[]): InstalledPackage {
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of lines) {
    if (/^\s/.test(line) && last) {
      fields.set(last, `${fields.get(last)}  ${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z][A-Za-z ]*?)\s*:\s?(.*)$/.exec(line);
    if (!m) throw new Error(`not a "Key : value" line: ${JSON.stringify(line.slice(0, 60))}`);
    last = m[1]!;
    fields.set(last, m[2]!.trim());
  }
  const value = (k: string) => {
    const v = fields.get(k);
    return v === undefined || v === "None" || v === "" ? undefined : v;
  };
  const list = (k: string) => value(k)?.split(/\s{2,}/).filter((s) => s !== "") ?? [];
  const name = value("Name");
  const version = value("Version");
  if (!name || !version) throw new Error("Name or Version is missing (shelf reads English output: run LC_ALL=C pacman -Qi)");
  const size = /^([\d.]+)\s*(B|KiB|MiB|GiB|TiB)$/.exec(value("Installed Size") ?? "");
  const reason = value("Install Reason");
  return {
    name,
    version,
    description: value("Description"),
    url: value("URL"),
    arch: value("Architecture"),
    licenses: list("Licenses"),
    groups: list("Groups"),
    depends: list("Depends On"),
    installedSize: size ? Math.round(Number(size[1]) * UNITS[size[2]!]!) : undefined,
    packager: value("Packager"),
    buildDate: qiDate(value("Build Date")),
    installDate: qiDate(value("Install Date")),
    reason: reason === undefined ? undefined : /dependency/i.test(reason) ? "dependency" : "explicit",
  };
}

/** Splits `pacman -Qi` output into blocks, with the line number each starts at. */
export function qiBlocks(text: string): { line: number; lines: string[] }[] {
  const blocks: { line: number; lines: string[] }[] = [];
  let current: { line: number; lines: string[] } | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") current = undefined;
    else {
      if (!current) blocks.push((current = { line: i + 1, lines: [] }));
      current.lines.push(line);
    }
  });
  return blocks;
}

/** A package -> its record, or with `host` only the host's presence. */
export function installedToItem(pkg: InstalledPackage, host?: string): WriteItem {
  const id = `pacman:${pkg.name}`;
  validateId(id);
  let patch: RecordPatch;
  if (host) {
    const presence = compactMeta({ version: pkg.version, installedAt: pkg.installDate, reason: pkg.reason });
    patch = { name: pkg.name, meta: { [hostKey(host)]: presence } };
  } else {
    const meta = compactMeta({
      homepage: pkg.url,
      licenses: pkg.licenses as JsonValue,
      arch: pkg.arch,
      installedSize: pkg.installedSize,
      packager: oneLine(pkg.packager, 256),
      buildDate: pkg.buildDate,
      installDate: pkg.installDate,
      reason: pkg.reason,
      groups: pkg.groups as JsonValue,
      depends: boundedList(pkg.depends, 200),
    });
    patch = { name: pkg.name, version: pkg.version, summary: oneLine(pkg.description) ?? "", meta };
  }
  return { id, patch: validatePatch(patch) };
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
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // not a package directory
      yield { ok: false, where: path, reason: `cannot read it: ${(err as Error).message}` };
      continue;
    }
    found++;
    try {
      yield { ok: true, where: path, item: installedToItem(parseDesc(text), host) };
    } catch (err) {
      // the directory is named NAME-VERSION-REL: the package is still installed, so keep its record
      const name = /^(.+)-[^-]+-[^-]+$/.exec(entry)?.[1];
      yield { ok: false, where: path, reason: reasonOf(err), ...(name ? { id: `pacman:${name}` } : {}) };
    }
  }
  if (found === 0 && entries.length > 0) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${dir} is not a pacman local database: none of its ${entries.length} directories holds a desc file`, "give /var/lib/pacman/local, or a file with the output of `LC_ALL=C pacman -Qi`");
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function* readQi(path: string, host?: string): AsyncGenerator<ImportRow> {
  let text: string;
  if (path === "-") text = await readStdin();
  else {
    const read = await readText(path);
    if ("reason" in read) throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${path}: ${read.reason}`, "expected the output of `LC_ALL=C pacman -Qi`");
    text = read.text;
  }
  const where = path === "-" ? "stdin" : path;
  const blocks = qiBlocks(text);
  if (blocks.length > 0 && !blocks.some((b) => b.lines[0]!.startsWith("Name"))) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${where}: this is not pacman -Qi output (no block starts with "Name :")`, "run `LC_ALL=C pacman -Qi > FILE` and import FILE");
  }
  for (const block of blocks) {
    try {
      yield { ok: true, where: `${where}:${block.line}`, item: installedToItem(parseQiBlock(block.lines), host) };
    } catch (err) {
      yield { ok: false, where: `${where}:${block.line}`, reason: reasonOf(err) };
    }
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
  sources: "a local package database (/var/lib/pacman/local) or `LC_ALL=C pacman -Qi` output (a file, or - for stdin); --as HOST",
  sourceKey,
  read: readPacman,
};
