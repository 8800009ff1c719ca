/**
 * Which documents a sync must exchange, decided before anything is loaded: the remote's heads
 * summary (src/protocol/heads-summary.ts), what this instance remembers of the remote
 * (checkpoints.ts), and the heads of its own view. Pure: the caller fetches and stores.
 *
 * - The summary lists what the remote wrote since the sequence number remembered; applied to the
 *   remembered heads, it must give the remote's digest. If it does not (another store under the
 *   same name, a store restored from a backup, rows lost in a crash), the whole listing is asked
 *   for instead.
 * - A remote whose sequence went backwards under the same epoch was restored from an older copy:
 *   every document is exchanged, so that it takes back whatever it lost.
 * - Otherwise a document is exchanged when the remote's heads differ from ours (or, for a remote
 *   that takes nothing from us, when it holds heads we have not shared with it yet).
 */
import { headsDigest, sameHeads, type Heads, type HeadsSummary } from "../protocol/heads-summary.js";
import type { RemoteMemory } from "./checkpoints.js";

export type ListingReason = "first" | "epoch" | "regressed" | "digest";

export interface SyncPlan {
  /** the documents to exchange; empty when nothing changed on either side */
  documents: Set<string>;
  /** those of them changed here since the remote was last seen to hold them: the ones to send */
  changedHere: Set<string>;
  summary: HeadsSummary;
  /** the remote's heads now, for every document it holds */
  remoteHeads: Map<string, Heads>;
  /** set when the whole listing was asked for, and why */
  fullListing: ListingReason | undefined;
  /** summary requests made */
  requests: number;
}

/**
 * The documents whose view changed here since the remote was last seen to hold them, known before
 * its summary is asked for: a sync that has any will exchange them (unless the remote took them
 * meanwhile by another way). Empty when nothing is remembered of this remote.
 */
export function changedSinceLastSync(memory: RemoteMemory | undefined, remoteUrl: string, local: Map<string, Heads | undefined>): Set<string> {
  const changed = new Set<string>();
  if (memory === undefined || memory.remoteUrl !== remoteUrl) return changed;
  for (const [docId, ours] of local) {
    const shared = memory.sharedHeads.get(docId);
    if (ours !== undefined && shared !== undefined && !sameHeads(shared, ours)) changed.add(docId);
  }
  return changed;
}

/** Fetches the summary of what the remote wrote after `since`; undefined when it has none. */
export type FetchSummary = (since: number) => Promise<HeadsSummary | undefined>;

/**
 * Plans a sync of the documents `local` names (every document of the catalog, with the heads of
 * the view, undefined where the view has none). Undefined when the remote gives no summary.
 */
export async function planSync(fetchSummary: FetchSummary, memory: RemoteMemory | undefined, remoteUrl: string, local: Map<string, Heads | undefined>): Promise<SyncPlan | undefined> {
  const usable = memory !== undefined && memory.remoteUrl === remoteUrl ? memory : undefined;
  let summary = await fetchSummary(usable?.seq ?? 0);
  if (!summary) return undefined;
  let requests = 1;
  let fullListing: ListingReason | undefined;
  let remoteHeads: Map<string, Heads> | undefined;
  if (!usable) fullListing = "first";
  else if (summary.epoch !== usable.epoch) fullListing = "epoch";
  else if (summary.seq < usable.seq) fullListing = "regressed";
  else {
    remoteHeads = new Map(usable.remoteHeads);
    for (const [docId, heads] of Object.entries(summary.documents)) remoteHeads.set(docId, heads);
    if (remoteHeads.size !== summary.count || digestOf(remoteHeads) !== summary.digest) fullListing = "digest";
  }
  if (fullListing !== undefined && fullListing !== "first") {
    summary = (await fetchSummary(0)) ?? summary;
    requests++;
  }
  if (fullListing !== undefined) remoteHeads = new Map(Object.entries(summary.documents));
  const known = remoteHeads!;
  const pullOnly = summary.access === "read-only";
  const documents = new Set<string>();
  const changedHere = new Set<string>();
  for (const [docId, ours] of local) {
    const theirs = known.get(docId);
    const shared = usable?.sharedHeads.get(docId);
    if (fullListing === "regressed" && !pullOnly) documents.add(docId);
    else if (pullOnly ? needsPull(theirs, ours, shared) : needsExchange(theirs, ours)) documents.add(docId);
    if (documents.has(docId) && !pullOnly && ours !== undefined && (shared === undefined || !sameHeads(shared, ours))) changedHere.add(docId);
  }
  return { documents, changedHere, summary, remoteHeads: known, fullListing, requests };
}

function needsExchange(theirs: Heads | undefined, ours: Heads | undefined): boolean {
  return theirs === undefined || ours === undefined || !sameHeads(theirs, ours);
}

/** A remote that takes nothing from us: fetch only what it holds that we have not taken yet. */
function needsPull(theirs: Heads | undefined, ours: Heads | undefined, shared: Heads | undefined): boolean {
  if (theirs === undefined) return false;
  if (ours !== undefined && sameHeads(theirs, ours)) return false;
  return shared === undefined || !sameHeads(theirs, shared);
}

/**
 * The plan seen through a summary fetched after the exchange (what the remote wrote since the
 * plan's summary, our own pushes among them), so that the sequence number remembered is the one
 * that includes our changes: a remote that later falls back below it is known to have lost them.
 */
export function advancePlan(plan: SyncPlan, after: HeadsSummary | undefined): SyncPlan {
  if (!after || after.epoch !== plan.summary.epoch || after.seq < plan.summary.seq) return plan;
  const remoteHeads = new Map(plan.remoteHeads);
  for (const [docId, heads] of Object.entries(after.documents)) remoteHeads.set(docId, heads);
  return { ...plan, summary: after, remoteHeads, requests: plan.requests + 1 };
}

const digestOf = (heads: Map<string, Heads>): string => headsDigest([...heads].map(([docId, h]) => ({ docId, heads: h })));

/**
 * What to remember after a sync: the remote's heads as the plan saw them, updated with what the
 * exchange ended at, and a checkpoint for every document both sides were seen to hold.
 */
export function rememberAfterSync(plan: SyncPlan, remoteUrl: string, local: Map<string, Heads | undefined>, exchanged: Map<string, Heads>, previous: RemoteMemory | undefined): RemoteMemory {
  const remoteHeads = new Map(plan.remoteHeads);
  const sharedHeads = new Map(previous?.remoteUrl === remoteUrl && previous.epoch === plan.summary.epoch ? previous.sharedHeads : []);
  for (const [docId, theirs] of remoteHeads) {
    const ours = local.get(docId);
    if (ours !== undefined && sameHeads(ours, theirs)) sharedHeads.set(docId, theirs);
  }
  for (const [docId, heads] of exchanged) {
    remoteHeads.set(docId, heads);
    sharedHeads.set(docId, heads);
  }
  return { remoteUrl, epoch: plan.summary.epoch, seq: plan.summary.seq, remoteHeads, sharedHeads };
}
