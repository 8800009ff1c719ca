/**
 * `pacman -Qi` / `-Qii` output with English field names: one block per package, blocks separated
 * by blank lines, `Title : value` lines, long lists continued on indented lines.
 *
 * `-Qii` adds the backup files, in one of two layouts:
 *   pacman 6 and later   Backup Files    : /etc/pacman.conf [modified]
 *                                          /etc/makepkg.conf [unmodified]      (or "None")
 *   older pacman         Backup Files:
 *                        MODIFIED<TAB>/etc/pacman.conf                         (or "(none)")
 * Backup files describe one machine's /etc, not the package: they are read and not kept.
 */
import { LineError } from "../line-error.js";
import { parsePacmanDate } from "./pacman-dates.js";
import { checkNameAndVersion, type InstalledPackage } from "./pacman-package.js";

export interface QiBlock {
  /** the line number (1-based) of the block's first line */
  line: number;
  lines: string[];
}

/** Splits `pacman -Qi` output into blocks, with the line number each starts at. */
export function qiBlocks(text: string): QiBlock[] {
  const blocks: QiBlock[] = [];
  let current: QiBlock | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") current = undefined;
    else {
      if (!current) blocks.push((current = { line: i + 1, lines: [] }));
      current.lines.push(line);
    }
  });
  return blocks;
}

/** A block names a package when it has a "Name :" line (pacman 7 puts "Installed From" first). */
export const isPackageBlock = (block: QiBlock): boolean => block.lines.some((l) => /^Name\s*:/.test(l));

// The titles pacman 4 to 7 print in English (src/pacman/package.c), to tell a translated listing.
const ENGLISH_TITLES = new Set([
  "Architecture", "Backup Files", "Build Date", "Compressed Size", "Conflicts With", "Depends On", "Description", "Download Size",
  "Groups", "Install Date", "Install Reason", "Install Script", "Installed Size", "Licenses", "MD5 Sum", "Name", "Optional Deps",
  "Optional For", "Packager", "Provides", "Replaces", "Repository", "Installed From", "Required By", "SHA-256 Sum", "SHA256 Sum",
  "Signatures", "URL", "Validated By", "Version", "Extended Data",
]);

/**
 * The first title that is not English, with its line, when most of a block's titles are not:
 * German pacman also says "Name" and "Version", so those alone do not make a listing English.
 * One unknown title among English ones is a field a newer pacman added, and is ignored.
 */
export function translatedTitle(block: QiBlock): { title: string; line: number } | undefined {
  const titles = block.lines.map((l, i) => ({ title: TITLE_LINE.exec(l)?.[1], line: block.line + i })).filter((t): t is { title: string; line: number } => t.title !== undefined);
  const foreign = titles.filter((t) => !ENGLISH_TITLES.has(t.title));
  return foreign.length > 0 && foreign.length >= titles.length / 2 ? foreign[0] : undefined;
}

// any language's titles, so a translated listing is recognised as one
const TITLE_LINE = /^(\p{L}[\p{L}\p{N} -]*?)\s*:(?:\s(.*)|)$/u;
// the old -Qii layout: a "Backup Files:" line, then one "STATE<TAB>/path" line per file, or "(none)"
const OLD_BACKUP_LINE = /^(?:\(none\)|(?:MODIFIED|UNMODIFIED|MISSING|UNREADABLE|UNKNOWN)\t.*)$/;
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, PiB: 1024 ** 5 };

interface Field {
  line: number;
  value: string;
}

/**
 * One package block -> the package. `firstLine` is the block's line in the file, so a LineError
 * names the real line.
 */
export function parseQiBlock(lines: string[], firstLine = 1): InstalledPackage {
  const fields = new Map<string, Field>();
  let last: Field | undefined;
  let inOldBackup = false;
  lines.forEach((line, i) => {
    const at = firstLine + i;
    if (/^\s/.test(line)) {
      if (!last) throw new LineError(at, `an indented line with no field before it: ${JSON.stringify(line.trim().slice(0, 60))}`);
      last.value = `${last.value}  ${line.trim()}`;
      return;
    }
    if (inOldBackup && OLD_BACKUP_LINE.test(line)) return;
    const m = TITLE_LINE.exec(line);
    if (!m) throw new LineError(at, `not a "Field : value" line: ${JSON.stringify(line.slice(0, 60))}`);
    const title = m[1]!;
    inOldBackup = title === "Backup Files" && (m[2] ?? "").trim() === "";
    last = { line: at, value: (m[2] ?? "").trim() };
    if (!fields.has(title)) fields.set(title, last);
  });
  const field = (k: string) => {
    const f = fields.get(k);
    return f === undefined || f.value === "None" || f.value === "" ? undefined : f.value;
  };
  const list = (k: string) => field(k)?.split(/\s{2,}/).filter((s) => s !== "") ?? [];
  const name = field("Name");
  const version = field("Version");
  if (!name || !version) {
    const missing = [!name && "Name", !version && "Version"].filter(Boolean).join(" and ");
    throw new LineError(firstLine, `${missing} missing in this block (shelf reads English output: run LC_ALL=C pacman -Qi)`);
  }
  checkNameAndVersion(name, fields.get("Name")!.line, version, fields.get("Version")!.line);
  const build = date(field("Build Date"));
  const install = date(field("Install Date"));
  const reason = field("Install Reason");
  return {
    name,
    version,
    description: field("Description"),
    url: field("URL"),
    arch: field("Architecture"),
    licenses: list("Licenses"),
    groups: list("Groups"),
    depends: list("Depends On"),
    installedSize: size(field("Installed Size")),
    packager: field("Packager"),
    buildDate: build?.value,
    installDate: install?.value,
    dateNote: install?.note ?? build?.note,
    reason: reason === undefined || /^unknown$/i.test(reason) ? undefined : /dependency/i.test(reason) ? "dependency" : "explicit",
  };
}

/** "1527.00 KiB" (or "130,58 KiB" where LC_NUMERIC uses a decimal comma) -> bytes. */
function size(text: string | undefined): number | undefined {
  const m = /^(\d{1,15}(?:[.,]\d+)?)\s*(B|KiB|MiB|GiB|TiB|PiB)$/.exec(text ?? "");
  return m ? Math.round(Number(m[1]!.replace(",", ".")) * UNITS[m[2]!]!) : undefined;
}

function date(text: string | undefined): { value: string; note?: string } | undefined {
  if (text === undefined) return undefined;
  const parsed = parsePacmanDate(text);
  return "iso" in parsed ? { value: parsed.iso } : { value: parsed.raw.slice(0, 200), note: parsed.note };
}
