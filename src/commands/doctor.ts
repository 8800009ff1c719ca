/**
 * `shelf doctor`: checks a home and says what it found, writing nothing. SQLite's integrity check;
 * that the view's tables are all there; that every document of every catalog loads from its stored
 * chunks; that the view of every document not awaiting catch-up equals what the CRDT gives (by
 * materializing it again into a scratch in-memory database); and which documents await catch-up.
 */
import * as A from "@automerge/automerge";
import { Instance, resolveHome, type CatalogRow } from "../instance.js";
import { documentIdOf } from "../model/catalog-doc.js";
import type { ShardDoc } from "../model/crdt-record.js";
import { coreOf, recordKeys } from "../model/shard-core.js";
import { newDatabase, type Db } from "../store/db.js";
import { SCHEMA_MIGRATIONS } from "../store/schema.js";
import { encodeKey, upperBound } from "../store/sqlite-storage-adapter.js";
import { Materializer, sameHeads } from "../view/materializer.js";
import { missingViewTables } from "../view/view-tables.js";
import { named, type GlobalOptions } from "./context.js";

export type CheckName = "integrity" | "view-tables" | "crdt" | "view" | "pending";

export interface DoctorFinding {
  check: CheckName;
  ok: boolean;
  detail: string;
  /** the first problems found (at most MAX_LISTED) */
  problems: string[];
}

export interface DoctorReport {
  ok: boolean;
  home: string;
  findings: DoctorFinding[];
  /** what to do about what was found, most important first */
  advice: string[];
}

const MAX_LISTED = 20;

export async function doctor(options: GlobalOptions): Promise<DoctorReport> {
  const home = resolveHome(options.home);
  return named(home, async () => {
    const instance = Instance.open(home);
    try {
      return await examine(instance);
    } finally {
      await instance.close();
    }
  });
}

async function examine(instance: Instance): Promise<DoctorReport> {
  const db = instance.db;
  const findings: DoctorFinding[] = [];
  const integrity = attempt(() => db.prepare<[], { integrity_check: string }>("PRAGMA integrity_check").all().map((r) => r.integrity_check));
  const integrityProblems = integrity.ok ? integrity.value.filter((line) => line !== "ok") : [integrity.error];
  findings.push(finding("integrity", integrityProblems, "SQLite's integrity check found nothing wrong", "SQLite's integrity check found damage"));

  const missing = attempt(() => missingViewTables(db));
  const tableProblems = missing.ok ? missing.value.map((t) => `view table ${t} is missing`) : [missing.error];
  findings.push(finding("view-tables", tableProblems, "every view table is there", "view tables are missing"));

  const pending = attempt(() => new Set(db.prepare<[], { doc_id: string }>("SELECT doc_id FROM crdt_dirty").all().map((r) => r.doc_id)));
  const catalogs = attempt(() => instance.catalogs());
  const crdtProblems: string[] = [];
  const viewProblems: string[] = [];
  let documents = 0;
  if (!catalogs.ok) crdtProblems.push(`the list of catalogs cannot be read: ${catalogs.error}`);
  for (const catalog of catalogs.ok ? catalogs.value : []) {
    const scratch = scratchView(catalog);
    try {
      for (const [index, url] of [catalog.url, ...catalog.shardUrls].entries()) {
        documents++;
        const documentId = documentIdOf(url);
        const doc = attempt(() => loadStored(db, documentId));
        if (!doc.ok) crdtProblems.push(`catalog ${catalog.name}: document ${documentId} cannot be read: ${doc.error}`);
        else if (doc.value === undefined) crdtProblems.push(`catalog ${catalog.name}: document ${documentId} is missing from storage`);
        else if (index > 0 && tableProblems.length === 0 && pending.ok && !pending.value.has(documentId)) {
          const differs = attempt(() => compareShard(db, scratch, catalog, index - 1, documentId, doc.value as A.Doc<ShardDoc>));
          if (!differs.ok) viewProblems.push(`catalog ${catalog.name}: shard ${index - 1} cannot be compared: ${differs.error}`);
          else if (differs.value) viewProblems.push(`catalog ${catalog.name}: shard ${index - 1} (${documentId}): ${differs.value}`);
        }
      }
    } finally {
      scratch.close();
    }
  }
  findings.push(finding("crdt", crdtProblems, `all ${documents} documents load from storage`, "documents cannot be read from storage"));
  findings.push(finding("view", viewProblems, "the view equals what the CRDT gives", "the view differs from the CRDT"));
  const pendingCount = pending.ok ? pending.value.size : 0;
  findings.push({
    check: "pending",
    ok: pending.ok,
    detail: pending.ok ? `${pendingCount} document${pendingCount === 1 ? "" : "s"} saved but not yet in the view (the next command adds them)` : `pending marks cannot be read: ${pending.error}`,
    problems: [],
  });

  const advice: string[] = [];
  if (crdtProblems.length > 0 || integrityProblems.length > 0) {
    advice.push(
      "if documents of the CRDT (the truth) cannot be read: move shelf.db aside (keep it: edits never synced are only there), then take the catalog back from a peer or relay (`shelf join URL --relay WS_URL`) or from a bundle (`shelf import-bundle FILE`)",
    );
  }
  if (integrityProblems.length > 0 || tableProblems.length > 0 || viewProblems.length > 0) advice.push("run `shelf rebuild` to recreate the view from the CRDT");
  if (pendingCount > 0 && advice.length === 0) advice.push("nothing to do: any command adds the pending documents to the view");
  return { ok: findings.every((f) => f.ok), home: instance.home, findings, advice };
}

function finding(check: CheckName, problems: string[], good: string, bad: string): DoctorFinding {
  return { check, ok: problems.length === 0, detail: problems.length === 0 ? good : `${bad} (${problems.length})`, problems: problems.slice(0, MAX_LISTED) };
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: string };

function attempt<T>(fn: () => T): Attempt<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, error: (err as Error)?.message ?? String(err) };
  }
}

/** A document as automerge-repo loads it: its snapshots, then its incremental changes. */
function loadStored(db: Db, documentId: string): A.Doc<unknown> | undefined {
  const range = db.prepare<[string, string], { data: Buffer }>("SELECT data FROM crdt_chunks WHERE key >= ? AND key < ? ORDER BY rowid");
  const chunks = ["snapshot", "incremental"].flatMap((kind) => {
    const prefix = encodeKey([documentId, kind]);
    return range.all(prefix, upperBound(prefix));
  });
  if (chunks.length === 0) return undefined;
  return chunks.reduce((doc, chunk) => A.loadIncremental(doc, new Uint8Array(chunk.data)), A.init<unknown>());
}

interface Scratch {
  db: Db;
  materializer: Materializer;
  close(): void;
}

/** An empty in-memory view holding one catalog, to materialize documents into and compare. */
function scratchView(catalog: CatalogRow): Scratch {
  const db = newDatabase(":memory:");
  for (const script of SCHEMA_MIGRATIONS) db.exec(script);
  db.prepare("INSERT INTO catalogs (cat_id, url, name, shard_urls, added_at) VALUES (?, ?, ?, '[]', '')").run(catalog.catId, catalog.url, catalog.name);
  return { db, materializer: new Materializer(db), close: () => db.close() };
}

/** What differs between the view of one shard and the CRDT's (undefined: nothing). */
function compareShard(db: Db, scratch: Scratch, catalog: CatalogRow, shard: number, documentId: string, doc: A.Doc<ShardDoc>): string | undefined {
  const stored = db.prepare<[string], { heads: string }>("SELECT heads FROM view_heads WHERE doc_id = ?").get(documentId);
  const heads = A.getHeads(doc);
  if (!stored) return recordKeys(coreOf(doc)).length > 0 ? "never materialized" : undefined;
  if (!sameHeads(JSON.parse(stored.heads) as A.Heads, heads)) return "the view was materialized at other heads than the stored document's";
  scratch.materializer.materializeShard(catalog.catId, shard, documentId, coreOf(doc));
  const mine = dumpShard(db, catalog.catId, shard);
  const truth = dumpShard(scratch.db, catalog.catId, shard);
  if (mine.length !== truth.length) return `the view holds ${mine.length} records, the CRDT ${truth.length}`;
  for (let i = 0; i < mine.length; i++) if (mine[i] !== truth[i]) return `record ${(JSON.parse(truth[i]!) as { id: string }).id} differs`;
  const fts = db
    .prepare<[number, number], { n: number }>("SELECT count(*) AS n FROM records_fts WHERE rowid IN (SELECT rid FROM records WHERE cat_id = ? AND shard = ?)")
    .get(catalog.catId, shard)!.n;
  if (fts !== mine.length) return `the search index holds ${fts} of its ${mine.length} records`;
  return undefined;
}

/** One shard's records as JSON lines, with tags, collections and conflicts, in a stable order. */
function dumpShard(db: Db, catId: number, shard: number): string[] {
  return db
    .prepare<[number, number], { row: string }>(
      `SELECT json_object(
         'id', id, 'kind', kind, 'provider', provider, 'name', name, 'version', version, 'summary', summary, 'meta', meta,
         'deleted', deleted, 'deletedAt', deleted_at, 'deletedBy', deleted_by, 'updatedAt', updated_at, 'updatedBy', updated_by,
         'editedWhileDeleted', edited_while_deleted,
         'tags', (SELECT json_group_array(tag) FROM (SELECT tag FROM record_tags t WHERE t.rid = r.rid ORDER BY tag)),
         'collections', (SELECT json_group_array(collection) FROM (SELECT collection FROM record_collections c WHERE c.rid = r.rid ORDER BY collection)),
         'conflicts', (SELECT json_group_array(json_array(field, n, value, winner, written_by, written_at)) FROM (SELECT * FROM record_conflicts x WHERE x.rid = r.rid ORDER BY field, n))
       ) AS row
       FROM records r WHERE cat_id = ? AND shard = ? ORDER BY id`,
    )
    .all(catId, shard)
    .map((r) => r.row);
}
