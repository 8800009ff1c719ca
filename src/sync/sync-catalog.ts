/**
 * One sync of one catalog with one relay: connect, exchange changes until the relay has exactly
 * our heads for every document of the catalog (and we have its), disconnect, then materialize what
 * arrived. Also the first sync of a catalog this instance does not hold yet (join).
 */
import * as A from "@automerge/automerge";
import { setMaxListeners } from "node:events";
import type { AutomergeUrl, DocHandle, DocumentId, PeerId, Repo } from "@automerge/automerge-repo";
import { CatalogStore, documentIdOf, type Progress } from "../catalog/catalog-store.js";
import { ShelfError, type ErrorCode } from "../errors.js";
import type { CatalogRow, Instance } from "../instance.js";
import type { RootDoc } from "../model/catalog-doc.js";
import { plain } from "../model/crdt-record.js";
import { countRecords, listConflicts } from "../view/queries.js";
import { deadline } from "./deadline.js";
import { trackRemoteHeads } from "./remote-heads.js";
import type { Remote } from "./remotes.js";
import { SafeClientAdapter } from "../protocol/safe-client-adapter.js";

export interface SyncOptions {
  /** give up after this long (the whole exchange) */
  timeoutMs: number;
  onProgress?: Progress;
}

export interface SyncReport {
  remote: string;
  catalog: string;
  /** documents of the catalog exchanged (root and shards) */
  documents: number;
  added: number;
  updated: number;
  deleted: number;
  /** records with a conflict after the sync */
  conflicts: number;
  durationMs: number;
  /** the remote takes no changes from this instance (a read-only token): local edits stay here */
  readOnly: boolean;
}

export interface ViewCounts {
  records: number;
  deleted: number;
}

/** Syncs a catalog this instance holds. */
export async function syncCatalog(instance: Instance, catalog: CatalogRow, remote: Remote, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const before = countRecords(instance.db, catalog.catId);
  const documents = new Set([catalog.url, ...catalog.shardUrls].map(documentIdOf));
  const { readOnly } = await exchange(instance, remote, catalog.url, documents, options);
  return syncReport(instance, catalog, remote, before, options, started, { readOnly });
}

/** Fetches a whole catalog this instance does not hold yet, then registers and materializes it. */
export async function joinCatalog(instance: Instance, url: string, name: string, remote: Remote, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  instance.assertCatalogNameFree(name);
  const documents = new Set([documentIdOf(url)]);
  const { shardUrls, readOnly } = await exchange(instance, remote, url, documents, options);
  const catalog = instance.addCatalog({ url, name, shardUrls });
  return syncReport(instance, catalog, remote, { records: 0, deleted: 0 }, options, started, { readOnly });
}

/**
 * Materializes what a sync brought and reports it; shared by every transport. `changedEarlier`
 * counts records a transport materialized along the way; `readOnly`, a remote that took nothing.
 */
export async function syncReport(
  instance: Instance,
  catalog: CatalogRow,
  remote: Remote,
  before: ViewCounts,
  options: { onProgress?: Progress },
  started: number,
  extra: { changedEarlier?: number; readOnly?: boolean } = {},
): Promise<SyncReport> {
  const { records } = await (await CatalogStore.open(instance, catalog)).catchUp(options.onProgress);
  const changed = (extra.changedEarlier ?? 0) + records;
  const after = countRecords(instance.db, catalog.catId);
  const added = after.records - before.records;
  return {
    remote: remote.name,
    catalog: catalog.name,
    documents: catalog.shardUrls.length + 1,
    added,
    updated: Math.max(0, changed - added),
    deleted: after.deleted - before.deleted,
    conflicts: listConflicts(instance.db, catalog.catId).length,
    durationMs: Math.round(performance.now() - started),
    readOnly: extra.readOnly ?? false,
  };
}

/**
 * The network part: the root document first (a relay decides which shards a token may reach from
 * the root it holds), then every shard. Returns the shard URLs the root names, and whether the
 * remote is read-only for us. Leaves the CRDT store closed, with everything received flushed.
 */
async function exchange(instance: Instance, remote: Remote, rootUrl: string, documents: Set<DocumentId>, options: SyncOptions): Promise<{ shardUrls: string[]; readOnly: boolean }> {
  const refused = new AbortController();
  const limit = deadline(options.timeoutMs, [refused.signal]);
  const signal = limit.signal;
  // Every document's find() listens to this one signal: hundreds of listeners, by design.
  setMaxListeners(0, signal);
  const adapter = new SafeClientAdapter(connectionUrl(remote), 1000, (code, reason) => {
    refused.abort(
      new ShelfError("SHELF_E_RELAY_BAD_MESSAGE", `${remote.name} closed the connection (code ${code}${reason ? `: ${reason}` : ""})`, "the relay refused what this instance sent: a message over its size limit, or a peer id in use; see the relay's log"),
    );
  });
  const repo = await instance.connect([adapter], (id) => documents.has(id));
  const tracker = trackRemoteHeads(repo);
  try {
    await connected(adapter, remote, signal);
    const peer = () => adapter.remotePeerId;
    // A remote that takes nothing from us never holds our edits: wait only to hold all of its own.
    const readOnly = adapter.access === "read-only";
    const direction = readOnly ? "pull" : "both";
    const root = await find<RootDoc>(repo, rootUrl, remote, signal);
    await tracker.waitUntilInSync(peer, [root as DocHandle<unknown>], signal, undefined, direction);
    const shardUrls = shardUrlsOf(root.doc(), remote);
    for (const url of shardUrls) documents.add(documentIdOf(url));
    // A shard the relay could not give at the first request (the connection dropped and came back
    // while it was on its way) is asked again when the connection returns: wait for it, bounded by
    // the timeout, instead of failing at once.
    const shards = await Promise.all(shardUrls.map((url) => find<unknown>(repo, url, remote, signal, ["ready", "unavailable"])));
    await tracker.waitUntilInSync(peer, shards, signal, options.onProgress, direction).catch((err: unknown) => {
      const missing = shards.filter((h) => !h.isReady()).length;
      if (missing === 0) throw err;
      throw new ShelfError("SHELF_E_DOC_UNAVAILABLE", `${remote.name} did not give ${missing} of the catalog's ${shards.length} shard documents in time`, "run the sync again; if it keeps failing, check the relay's log");
    });
    await repo.flush();
    return { shardUrls, readOnly };
  } catch (err) {
    throw asSyncError(err, adapter, remote, signal);
  } finally {
    limit.dispose();
    await instance.recycleRepo();
  }
}

export function connectionUrl(remote: Remote): string {
  const url = new URL(remote.url);
  if (remote.token) url.searchParams.set("token", remote.token);
  return url.toString();
}

/** Waits for the relay's answer to our join, or for the connection to fail. */
async function connected(adapter: SafeClientAdapter, remote: Remote, signal: AbortSignal): Promise<PeerId> {
  while (!adapter.remotePeerId) {
    if (adapter.lastError) throw adapter.lastError;
    if (signal.aborted) {
      throw signal.reason instanceof ShelfError ? signal.reason : new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `no answer from ${remote.name} (${remote.url})`, "check that the relay is running and the URL is right (`shelf remote list`)");
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return adapter.remotePeerId;
}

async function find<T>(repo: Repo, url: string, remote: Remote, signal: AbortSignal, allowableStates?: string[]): Promise<DocHandle<T>> {
  try {
    return await repo.find<T>(url as AutomergeUrl, { signal, ...(allowableStates ? { allowableStates } : {}) });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ShelfError("SHELF_E_DOC_UNAVAILABLE", `${remote.name} does not have ${url}, or this instance's token does not give access to it`, "check the catalog URL, and that the token was created for this catalog (`shelf relay token create --catalog URL`)");
  }
}

function shardUrlsOf(root: A.Doc<RootDoc>, remote: Remote): string[] {
  if (root.shelf !== "catalog" || !Array.isArray(root.shards)) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `the document ${remote.name} holds at that URL is not a shelf catalog`, "check the catalog URL (`shelf status` prints it on an instance that holds the catalog)");
  }
  return root.shards.map((url) => plain(url));
}

const HTTP_REFUSALS: Record<string, ErrorCode> = { "401": "SHELF_E_RELAY_UNAUTHORIZED", "403": "SHELF_E_RELAY_FORBIDDEN", "429": "SHELF_E_RELAY_BUSY" };

function asSyncError(err: unknown, adapter: SafeClientAdapter, remote: Remote, signal: AbortSignal): ShelfError {
  if (err instanceof ShelfError) return err;
  if (signal.reason instanceof ShelfError) return signal.reason;
  const message = (err as Error)?.message ?? String(err);
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  const code = status ? HTTP_REFUSALS[status] : undefined;
  if (code) return new ShelfError(code, `${remote.name} (${remote.url}) refused the connection: HTTP ${status}`, refusalHint(status!));
  if (signal.aborted) {
    return new ShelfError("SHELF_E_SYNC_TIMEOUT", `the sync with ${remote.name} did not finish in time${adapter.remotePeerId ? "" : " (never connected)"}`, "nothing was lost; run the sync again, or raise --timeout for a large catalog");
  }
  return new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `cannot sync with ${remote.name} (${remote.url}): ${message}`, "check that the relay is running and reachable; local data is untouched");
}

function refusalHint(status: string): string {
  if (status === "401") return "the remote (a relay, or an instance running `shelf serve --token`) needs a token for this catalog: `shelf remote rm NAME` and add it again with --token T";
  if (status === "403") return "a relay without tokens serves only its own machine; ask its admin for a token";
  return "too many connections from this address; try again later";
}
