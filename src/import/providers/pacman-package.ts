/**
 * What shelf keeps of an installed pacman package, whichever format it came from, and the record
 * it becomes. With a host (`--as HOST`) only the host's presence is written, `host.HOST` =
 * {version, installedAt, reason}: two machines importing at the same time touch different keys.
 */
import type { WriteItem } from "../../catalog/catalog-store.js";
import { ShelfError } from "../../errors.js";
import { validateId, validatePatch, type RecordPatch } from "../../model/record.js";
import { LineError } from "../line-error.js";
import { boundedList, compactMeta, oneLine } from "../text.js";

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
  /** ISO instants, or the text as pacman printed it when its time zone is unknown (see dateNote) */
  buildDate?: string;
  installDate?: string;
  /** why a date was kept as printed */
  dateNote?: string;
  reason?: "explicit" | "dependency";
}

/** Host names as meta key suffixes: letters, digits, "." and "-" (a DNS name). */
export const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

export function checkHost(host: string): string {
  if (!HOST_RE.test(host)) throw new ShelfError("SHELF_E_USAGE", `invalid host name ${JSON.stringify(host)}`, "a host name is letters, digits, . and - (at most 63), like the machine's hostname");
  return host;
}

export const hostKey = (host: string): string => `host.${host}`;

/** A list as one meta value: at most `maxItems`, each cut to 200 characters, 8 KB of JSON in all. */
function capList(values: readonly string[], maxItems: number): string[] {
  const list = boundedList(values, maxItems);
  while (list.length > 0 && JSON.stringify(list).length > 8192) list.pop();
  return list;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The name and version a parser found, checked where they were read so a rejection names that line. */
export function checkNameAndVersion(name: string, nameLine: number, version: string, versionLine: number): void {
  try {
    validateId(`pacman:${name}`);
  } catch (err) {
    throw new LineError(nameLine, `the package name ${JSON.stringify(name.slice(0, 80))} cannot be a record id: ${(err as Error).message.replace(/^invalid record id "[^"]*": /, "")}`);
  }
  if (CONTROL.test(version) || version.length > 256) throw new LineError(versionLine, `the version ${JSON.stringify(version.slice(0, 80))} holds control characters or is too long`);
}

/** A package -> its record, or with `host` only the host's presence. */
export function installedToItem(pkg: InstalledPackage, host?: string): WriteItem {
  const id = `pacman:${pkg.name}`;
  validateId(id);
  let patch: RecordPatch;
  if (host) {
    const presence = compactMeta({ version: pkg.version, installedAt: pkg.installDate, reason: pkg.reason, dateNote: pkg.dateNote });
    patch = { name: pkg.name, meta: { [hostKey(host)]: presence } };
  } else {
    const meta = compactMeta({
      homepage: oneLine(pkg.url, 2048),
      licenses: capList(pkg.licenses, 50),
      arch: oneLine(pkg.arch, 64),
      installedSize: pkg.installedSize,
      packager: oneLine(pkg.packager, 256),
      buildDate: pkg.buildDate,
      installDate: pkg.installDate,
      dateNote: pkg.dateNote,
      reason: pkg.reason,
      groups: capList(pkg.groups, 50),
      depends: capList(pkg.depends, 200),
    });
    patch = { name: pkg.name, version: pkg.version, summary: oneLine(pkg.description) ?? "", meta };
  }
  return { id, patch: validatePatch(patch) };
}
