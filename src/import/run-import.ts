/**
 * Runs one import: reads the provider's rows, writes what changed (in batches of whole shards
 * through the catalog store), tombstones what vanished when asked to (--prune), and saves the
 * cursor. Bad rows are counted and reported, never written; the good ones are kept.
 *
 * Nothing is written until the whole source was read, so an import that fails half-way (an HTTP
 * source that stays down) changes nothing, and its cursor stays as it was.
 */
import type { CatalogStore, Progress, WriteItem } from "../catalog/catalog-store.js";
import { ShelfError } from "../errors.js";
import { shardIndex } from "../model/catalog-doc.js";
import { predictOutcome } from "../model/patch-outcome.js";
import { recordReader } from "../view/queries.js";
import { ImportIds, type VanishedIds } from "./import-ids.js";
import { StagedRows } from "./staged-rows.js";
import { loadCursor, recordImportRun, saveCursor, type CursorKey, type RunStatus } from "./cursor-store.js";
import { HttpClient, type HttpClientOptions } from "./http-client.js";
import { withImportLock } from "./import-lock.js";
import { checkHost, hostKey } from "./providers/pacman.js";
import { isProviderName, loadProvider, PROVIDER_NAMES } from "./providers/index.js";
import type { ProviderName } from "./providers/names.js";
import type { ImportRow, ProviderContext, ProviderState } from "./types.js";

export interface ImportRequest {
  provider: string;
  source: string;
  dryRun?: boolean;
  /** tombstone records of this source that vanished from it */
  prune?: boolean;
  /** --as HOST (pacman) */
  host?: string;
  /** --package NAME (npm, pypi registry URLs) */
  packages?: string[];
  /** --provider P (tsv): the id prefix */
  idPrefix?: string;
  http?: HttpClientOptions;
}

export interface ImportSummary {
  provider: string;
  source: string;
  host: string | null;
  dryRun: boolean;
  added: number;
  updated: number;
  unchanged: number;
  tombstoned: number;
  /** records this source produced before that it no longer has (tombstoned only with --prune) */
  vanished: number;
  rejected: number;
  /** the first rejections: where (file, URL, file:line) and why */
  rejects: { where: string; reason: string }[];
  /** the first vanished ids */
  vanishedIds: string[];
  /** false when part of the source could not be read: nothing counted as vanished */
  complete: boolean;
  /** provider counters: files hashed, HTTP requests, retries, 304s... */
  stats: Record<string, number>;
  /** warnings about the whole source, each once (ignored columns, fields the source lacks) */
  notes: string[];
  ms: number;
}

const MAX_LISTED = 100;
/** Rows written per batch (whole shards): the memory an import holds while it writes. */
const WRITE_BATCH_ROWS = 5_000;

export function checkRequest(request: ImportRequest): asserts request is ImportRequest & { provider: ProviderName } {
  if (!isProviderName(request.provider)) throw new ShelfError("SHELF_E_USAGE", `unknown import provider ${JSON.stringify(request.provider)}`, `providers: ${PROVIDER_NAMES.join(", ")}`);
  if (request.host !== undefined) {
    if (request.provider !== "pacman") throw new ShelfError("SHELF_E_USAGE", "--as applies only to pacman imports", "run `shelf import pacman /var/lib/pacman/local --as HOSTNAME`");
    checkHost(request.host);
  }
  if ((request.packages?.length ?? 0) > 0 && request.provider !== "npm" && request.provider !== "pypi") {
    throw new ShelfError("SHELF_E_USAGE", "--package applies only to npm and pypi registry URLs");
  }
  if (request.idPrefix !== undefined && request.provider !== "tsv") throw new ShelfError("SHELF_E_USAGE", "--provider applies only to tsv imports", `${request.provider} records always have ids ${request.provider === "files" ? "file" : request.provider}:...`);
}

export async function runImport(store: CatalogStore, request: ImportRequest, onProgress?: Progress): Promise<ImportSummary> {
  const started = performance.now();
  checkRequest(request);
  const provider = await loadProvider(request.provider);
  const db = store.instance.db;
  const catId = store.catalog.catId;
  const key: CursorKey = { catalogUrl: store.catalog.url, provider: provider.name, source: provider.sourceKey(request.source), host: request.host ?? "" };
  const cursor = loadCursor(db, key);
  const ids = new ImportIds(db, cursor.cursorId);
  const stats: Record<string, number> = {};
  const notes = new Set<string>();
  let http: HttpClient | undefined;
  const next: ProviderState = {};
  const ctx: ProviderContext = {
    source: request.source,
    previous: cursor.state,
    next,
    previousIds: () => ids.earlier(),
    host: request.host,
    packages: request.packages ?? [],
    idPrefix: request.provider === "tsv" ? (request.idPrefix ?? "npm") : undefined,
    http: () => (http ??= new HttpClient(request.http)),
    count: (name, by = 1) => void (stats[name] = (stats[name] ?? 0) + by),
    note: (message) => void notes.add(message),
  };

  // Read everything first: nothing is written from a source that fails half-way. The rows wait
  // on disk (staged-rows.ts); only those the view says would change their record are written,
  // so a re-import of an unchanged source never loads a shard document.
  const current = recordReader(db, catId);
  const staged = new StagedRows(db, (id) => shardIndex(id, store.catalog.shardUrls.length), (id, patch) => predictOutcome(current(id), patch));
  try {
    const rejects: { where: string; reason: string }[] = [];
    let rejected = 0;
    const keptIds = new Set<string>();
    let complete = true;
    const reject = (row: { where: string; reason: string }) => {
      if (++rejected <= MAX_LISTED) rejects.push({ where: row.where, reason: row.reason });
    };
    for await (const row of provider.read(ctx) as AsyncGenerator<ImportRow>) {
      if (row.ok === true) {
        const { id } = row.item;
        // A record this source had tombstoned and has again comes back.
        const patch = !request.host && ids.wasPruned(id) ? { ...row.item.patch, deleted: false } : row.item.patch;
        const earlier = staged.add(id, row.where, patch);
        if (earlier !== undefined) reject({ where: row.where, reason: `${id} was already read from ${earlier}; this one is ignored` });
        ids.see(id);
      } else if (row.ok === "kept") {
        keptIds.add(row.id);
        ids.see(row.id);
      } else {
        reject(row);
        if (row.id) ids.see(row.id);
        if (row.incomplete) complete = false;
      }
    }
    staged.finish();
    ids.finish();
    if (http) Object.assign(stats, { requests: http.stats.requests, retries: http.stats.retries });
    // records the source said are as they were (HTTP 304) and that no other row rewrote
    const kept = [...keptIds].filter((id) => !staged.has(id)).length;
    const vanished = complete ? ids.vanished() : [];
    const prunes: WriteItem[] = [];
    if (request.prune) {
      for (const id of vanished) {
        const record = current(id);
        if (!record || record.deleted) continue;
        if (request.host) {
          if (hostKey(request.host) in record.meta) prunes.push({ id, patch: { meta: { [hostKey(request.host)]: undefined } } });
        } else prunes.push({ id, patch: { deleted: true } });
      }
    }

    let tombstoned = 0;
    const counts = request.dryRun ? { ...staged.predicted } : { created: 0, updated: 0, unchanged: staged.predicted.unchanged };
    if (request.dryRun) {
      tombstoned = prunes.length;
    } else {
      let done = 0;
      const total = staged.predicted.created + staged.predicted.updated;
      for (const batch of staged.changedBatches(WRITE_BATCH_ROWS)) {
        const written = await store.writeMany(batch, `import ${provider.name}`, onProgress && ((n) => onProgress(done + n, total)));
        done += batch.length;
        counts.created += written.created;
        counts.updated += written.updated;
        counts.unchanged += written.unchanged;
      }
      if (prunes.length > 0) tombstoned = (await store.writeMany(prunes, `import ${provider.name} --prune`)).updated;
      const vanishedIds: VanishedIds = !(request.prune && complete) ? "keep" : request.host ? "forget" : "tombstone";
      saveCursor(db, key, { state: next, lastSyncAt: new Date().toISOString() }, (cursorId) => ids.save(cursorId, vanishedIds));
    }

    return {
      provider: provider.name,
      source: request.source,
      host: request.host ?? null,
      dryRun: request.dryRun === true,
      added: counts.created,
      updated: counts.updated,
      unchanged: counts.unchanged + kept,
      tombstoned,
      vanished: vanished.length,
      rejected,
      rejects,
      vanishedIds: vanished.slice(0, MAX_LISTED),
      complete,
      stats,
      notes: [...notes],
      ms: Math.round(performance.now() - started),
    };
  } finally {
    staged.drop();
    ids.drop();
  }
}

/**
 * Runs an import and records the run for `shelf import history` (dry runs are not recorded).
 * One import runs at a time per home: another one already running is waited for (`onWait` hears it).
 */
export async function runAndRecord(store: CatalogStore, request: ImportRequest, options: { schedule?: string; onProgress?: Progress; onWait?: (message: string) => void } = {}): Promise<ImportSummary> {
  if (request.dryRun) return recordedRun(store, request, options);
  const what = `shelf import ${request.provider} ${request.source}${options.schedule ? ` (schedule ${options.schedule})` : ""}`;
  return withImportLock(store.instance.home, what, options.onWait ?? (() => {}), () => recordedRun(store, request, options));
}

async function recordedRun(store: CatalogStore, request: ImportRequest, options: { schedule?: string; onProgress?: Progress }): Promise<ImportSummary> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const base = { schedule: options.schedule ?? null, catalogUrl: store.catalog.url, provider: request.provider, source: request.source, host: request.host ?? null, startedAt };
  try {
    const summary = await runImport(store, request, options.onProgress);
    if (!summary.dryRun) {
      const status: RunStatus = summary.rejected > 0 || !summary.complete ? "partial" : "success";
      const error = summary.rejects[0] ? `${summary.rejected} rejected; first: ${summary.rejects[0].where}: ${summary.rejects[0].reason}` : null;
      recordImportRun(store.instance.db, { ...base, durationMs: Math.round(performance.now() - started), status, error, ...countsOf(summary) });
    }
    return summary;
  } catch (err) {
    if (!request.dryRun && store.instance.db.open) {
      const message = err instanceof Error ? err.message : String(err);
      recordImportRun(store.instance.db, { ...base, durationMs: Math.round(performance.now() - started), status: "failed", error: message, added: 0, updated: 0, unchanged: 0, tombstoned: 0, vanished: 0, rejected: 0 });
    }
    throw err;
  }
}

const countsOf = (s: ImportSummary) => ({ added: s.added, updated: s.updated, unchanged: s.unchanged, tombstoned: s.tombstoned, vanished: s.vanished, rejected: s.rejected });
