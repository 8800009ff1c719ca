/**
 * Comparing two machines' packages (`shelf compare A B`), from the per-host meta keys that
 * `shelf import pacman ... --as HOST` writes: `host.HOST` = {version, ...}. Reads the view only.
 */
import { ShelfError } from "../errors.js";
import type { Db } from "../store/db.js";

export interface HostPackage {
  id: string;
  name: string;
  version: string | null;
}

export interface HostComparison {
  hostA: string;
  hostB: string;
  onlyA: HostPackage[];
  onlyB: HostPackage[];
  different: { id: string; name: string; versionA: string | null; versionB: string | null }[];
  same: number;
}

const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

/** Every host named by a `host.*` meta key in the catalog. */
export function knownHosts(db: Db, catId: number): string[] {
  return db
    .prepare<[number], { key: string }>("SELECT DISTINCT j.key AS key FROM records r, json_each(r.meta) j WHERE r.cat_id = ? AND r.deleted = 0 AND j.key LIKE 'host.%' ORDER BY 1")
    .all(catId)
    .map((r) => r.key.slice("host.".length));
}

export function compareHosts(db: Db, catId: number, hostA: string, hostB: string, provider?: string): HostComparison {
  for (const host of [hostA, hostB]) {
    if (!HOST_RE.test(host)) throw new ShelfError("SHELF_E_USAGE", `invalid host name ${JSON.stringify(host)}`, "a host name is letters, digits, . and -");
  }
  // json paths quote the key: "host.web-01" holds a dot that is part of the name
  const path = (host: string) => `$."host.${host}"`;
  const rows = db
    .prepare<unknown[], { id: string; name: string; a: string | null; b: string | null }>(
      `SELECT id, name, json_extract(meta, ?) AS a, json_extract(meta, ?) AS b FROM records
       WHERE cat_id = ? AND deleted = 0 ${provider ? "AND provider = ?" : ""}
         AND (json_extract(meta, ?) IS NOT NULL OR json_extract(meta, ?) IS NOT NULL)
       ORDER BY id`,
    )
    .all(path(hostA), path(hostB), catId, ...(provider ? [provider] : []), path(hostA), path(hostB));
  const known = new Set(knownHosts(db, catId));
  for (const host of [hostA, hostB]) {
    if (!known.has(host)) {
      throw new ShelfError("SHELF_E_UNKNOWN_HOST", `no record in this catalog was imported for host ${host}`, known.size > 0 ? `hosts here: ${[...known].join(", ")}` : "import one with `shelf import pacman /var/lib/pacman/local --as HOST`");
    }
  }
  const versionOf = (presence: string | null): string | null => {
    if (presence === null) return null;
    try {
      const v = (JSON.parse(presence) as { version?: unknown }).version;
      return typeof v === "string" ? v : null;
    } catch {
      return null;
    }
  };
  const result: HostComparison = { hostA, hostB, onlyA: [], onlyB: [], different: [], same: 0 };
  for (const r of rows) {
    const a = versionOf(r.a);
    const b = versionOf(r.b);
    if (r.a !== null && r.b === null) result.onlyA.push({ id: r.id, name: r.name, version: a });
    else if (r.a === null && r.b !== null) result.onlyB.push({ id: r.id, name: r.name, version: b });
    else if (a !== b) result.different.push({ id: r.id, name: r.name, versionA: a, versionB: b });
    else result.same++;
  }
  return result;
}
