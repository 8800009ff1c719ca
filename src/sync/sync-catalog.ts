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
import type { CatalogRow, Instance } from "../instance.js";
import { readRemoteMemory, viewHeadsOf, writeRemoteMemory } from "./checkpoints.js";
import { deadline } from "./deadline.js";
import { fetchSummary, type SummaryTraffic } from "./heads-client.js";
import type { ExchangeOptions, ExchangeResult } from "./relay-exchange.js";
import type { Remote } from "./remotes.js";
import { advancePlan, planSync, rememberAfterSync, type ListingReason } from "./sync-plan.js";
import { syncReport, type Materialized, type SyncReport } from "./sync-report.js";
import { addCounts, NO_COUNT_CHANGE } from "../view/count-change.js";

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
  const summaryAfter = (since: number) => fetchSummary(remote, catalog.url, since, limit.signal, traffic);
  let plan;
  let result: ExchangeResult | undefined;
  let earlier: Materialized = { changed: 0, counts: NO_COUNT_CHANGE };
  try {
    plan = await planSync(summaryAfter, memory, remote.url, local);
    if (!plan || plan.documents.size > 0) {
      const [{ exchange }, { CatalogStore }] = await Promise.all([import("./relay-exchange.js"), import("../catalog/catalog-store.js")]);
      const store = await CatalogStore.open(instance, catalog);
      const onStored = (documentId: string, doc: A.Doc<unknown>) => {
        const written = store.materializeStored(documentId, doc);
        if (written) earlier = { changed: earlier.changed + written.changedIds, counts: addCounts(earlier.counts, written.counts) };
      };
      result = await exchange(instance, remote, { rootUrl: catalog.url, shardUrls: catalog.shardUrls, only: plan?.documents }, { ...options, onStored });
      // Only refines what is remembered: a remote gone quiet by now does not undo the sync.
      if (plan) plan = advancePlan(plan, await summaryAfter(plan.summary.seq).catch(() => undefined));
    }
  } finally {
    limit.dispose();
  }
  if (plan) writeRemoteMemory(instance.db, remote.name, catalog.url, rememberAfterSync(plan, remote.url, local, result?.heads ?? new Map(), memory));
  const readOnly = result?.readOnly ?? plan?.summary.access === "read-only";
  // The exchange materialized what it stored; the report catches up whatever it could not.
  const report = await syncReport(instance, catalog, remote, options, started, { earlier, readOnly, documents: result?.heads.size ?? 0 });
  return plan ? { ...report, summary: { ...traffic, fullListing: plan.fullListing ?? null } } : report;
}

/** Fetches a whole catalog this instance does not hold yet, then registers and materializes it. */
export async function joinCatalog(instance: Instance, url: string, name: string, remote: Remote, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  instance.assertCatalogNameFree(name);
  const { exchange } = await import("./relay-exchange.js");
  const { shardUrls, readOnly, heads } = await exchange(instance, remote, { rootUrl: url }, options);
  const catalog = instance.addCatalog({ url, name, shardUrls });
  return syncReport(instance, catalog, remote, options, started, { readOnly, documents: heads.size });
}
