/**
 * One sync of one catalog with a relay or a served instance, and the first sync of a catalog
 * this instance does not hold yet (join).
 *
 * A sync first asks the remote for its heads summary and plans from it (sync-plan.ts): when
 * nothing changed on either side it ends there, having loaded no document; otherwise it exchanges
 * only the documents that differ (relay-exchange.ts), then remembers what both sides hold. A remote
 * without summaries gets every document exchanged, as a stock automerge-repo peer expects.
 */
import type * as A from "@automerge/automerge";
import { ShelfError } from "../errors.js";
import type { CatalogRow, Instance } from "../instance.js";
import { readRemoteMemory, viewHeadsOf, writeRemoteMemory } from "./checkpoints.js";
import { deadline } from "../protocol/deadline.js";
import { fetchSummary, requestPrefetch, type SummaryTraffic } from "./heads-client.js";
import type { ExchangeOptions, ExchangeResult } from "./relay-exchange.js";
import type { Remote } from "./remotes.js";
import { advancePlan, changedSinceLastSync, planSync, rememberAfterSync, type ListingReason } from "./sync-plan.js";
import { syncReport, type Materialized, type SyncReport } from "./sync-report.js";
import type { MaterializeResult } from "../view/materializer.js";

export type { SyncReport } from "./sync-report.js";
export type SyncOptions = ExchangeOptions;

/** A relay or served instance's sync report: what the heads summary cost and decided. */
export interface RelaySyncReport extends SyncReport {
  /** undefined when the remote gives no heads summary (every document was exchanged) */
  summary?: SummaryTraffic & { fullListing: ListingReason | null };
}

/** Syncs a catalog this instance holds. */
export async function syncCatalog(instance: Instance, catalog: CatalogRow, remote: Remote, options: SyncOptions): Promise<RelaySyncReport> {
  const started = performance.now();
  const local = viewHeadsOf(instance.db, catalog);
  const memory = readRemoteMemory(instance.db, remote.name, catalog.url);
  const traffic: SummaryTraffic = { requests: 0, bytesDown: 0 };
  const limit = deadline(options.timeoutMs);
  let summarySent = Promise.resolve();
  const summaryAfter = (since: number) => {
    let sent = () => {};
    summarySent = new Promise<void>((resolve) => (sent = resolve));
    return fetchSummary(remote, catalog.url, since, limit.signal, traffic, sent).finally(sent);
  };
  let plan;
  let result: ExchangeResult | undefined;
  try {
    // Edits made here since the last sync will be sent whatever the remote holds: the relay is
    // asked to load those documents at once, and this instance loads Automerge and the exchange
    // (about 100 ms) while the summary is on its way, once both requests have left.
    const changedHere = changedSinceLastSync(memory, remote.url, local);
    const planned = planSync(summaryAfter, memory, remote.url, local);
    planned.catch(() => undefined); // its failure is thrown below, once awaited
    // (asked after the summary, which the relay then answers before it loads them)
    const early = changedHere.size > 0 ? requestPrefetch(remote, catalog.url, [...changedHere], limit.signal, [...changedHere]) : undefined;
    let modules: Promise<ExchangeModules> | undefined;
    if (early) {
      await Promise.all([early.sent, summarySent]);
      modules = loadExchangeModules();
    }
    plan = await planned;
    // the relay loads its copies of a few documents while this instance loads its own, and tells
    // its live clients which of them are about to change
    const notAsked = (id: string) => !changedHere.has(id);
    const prefetch = plan && requestPrefetch(remote, catalog.url, [...plan.documents].filter(notAsked), limit.signal, [...plan.changedHere].filter(notAsked));
    await prefetch?.sent;
    if (!plan || plan.documents.size > 0) {
      const [{ exchange }, { CatalogStore }] = await (modules ?? loadExchangeModules());
      const store = CatalogStore.open(instance, catalog);
      const onStored = (documentId: string, doc: A.Doc<unknown>) => materialized(store.materializeStored(documentId, doc));
      result = await exchange(instance, remote, { rootUrl: catalog.url, shardUrls: catalog.shardUrls, only: plan?.documents }, { ...options, onStored });
      // Only refines what is remembered: a remote gone quiet by now does not undo the sync.
      if (plan) plan = advancePlan(plan, await summaryAfter(plan.summary.seq).catch(() => undefined));
    }
    await Promise.all([early?.answered, prefetch?.answered]);
  } finally {
    limit.dispose();
  }
  if (plan) writeRemoteMemory(instance.db, remote.name, catalog.url, rememberAfterSync(plan, remote.url, local, result?.heads ?? new Map(), memory));
  const readOnly = result?.readOnly ?? plan?.summary.access === "read-only";
  // The exchange materialized what it stored; the report catches up whatever it could not.
  const report = await syncReport(instance, catalog, remote, options, started, { earlier: result?.materialized, readOnly, documents: result?.heads.size ?? 0 });
  return plan ? { ...report, summary: { ...traffic, fullListing: plan.fullListing ?? null } } : report;
}

/**
 * Fetches a whole catalog this instance does not hold yet. It is registered as soon as its root
 * has arrived, so the root and the shards are materialized as they are stored (from the copies in
 * hand, while the remote sends the next ones), and taken back if the join fails. One registered
 * by a join that was killed is completed by joining it again under the same name.
 */
export async function joinCatalog(instance: Instance, url: string, name: string, remote: Remote, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const held = instance.catalogs().find((c) => c.url === url);
  if (held && held.name !== name) {
    throw new ShelfError("SHELF_E_CATALOG_EXISTS", `this instance already holds ${url}, as the catalog ${JSON.stringify(held.name)}`, `sync it with \`shelf sync\`, or pass --name ${held.name} to join it again`);
  }
  if (!held) instance.assertCatalogNameFree(name);
  const [{ exchange }, { CatalogStore }] = await loadExchangeModules();
  let catalog = held;
  let store = held && CatalogStore.open(instance, held);
  const register = (shardUrls: string[]) => {
    catalog ??= instance.addCatalog({ url, name, shardUrls });
    store ??= CatalogStore.open(instance, catalog);
  };
  const onStored = (documentId: string, doc: A.Doc<unknown>) => materialized(store?.materializeStored(documentId, doc));
  try {
    const { shardUrls, readOnly, heads, materialized: earlier } = await exchange(instance, remote, { rootUrl: url, onShardUrls: register }, { ...options, onStored });
    register(shardUrls);
    return await syncReport(instance, catalog!, remote, options, started, { earlier, readOnly, documents: heads.size });
  } catch (err) {
    // what this join registered goes; the documents it stored stay, for the next attempt
    if (catalog && !held) instance.removeCatalog(catalog);
    throw err;
  }
}

type ExchangeModules = [typeof import("./relay-exchange.js"), typeof import("../catalog/catalog-store.js")];

/** The exchange and the store, which load Automerge: only a sync that exchanges something needs them. */
const loadExchangeModules = (): Promise<ExchangeModules> => Promise.all([import("./relay-exchange.js"), import("../catalog/catalog-store.js")]);

/** What a shard's materialization wrote, as a sync report adds it up. */
function materialized(result: MaterializeResult | undefined): Materialized | undefined {
  return result && { changed: result.changedIds, counts: result.counts };
}
