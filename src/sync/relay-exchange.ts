/**
 * The WebSocket part of a sync with a relay or a served instance: connect, exchange the chosen
 * documents until the remote holds exactly our heads for each (and we hold its), disconnect.
 * The root goes first when it is exchanged: a relay decides which shards a token may reach from
 * the root it holds.
 */
import type * as A from "@automerge/automerge";
import { setMaxListeners } from "node:events";
import type { AutomergeUrl, DocHandle, DocumentId, PeerId, Repo } from "@automerge/automerge-repo";
import { documentIdOf, SHARDS_IN_MEMORY, type Progress } from "../catalog/catalog-store.js";
import { ShelfError } from "../errors.js";
import type { Instance } from "../instance.js";
import type { RootDoc } from "../model/catalog-doc.js";
import { plain } from "../model/crdt-record.js";
import type { Heads } from "../protocol/heads-summary.js";
import { SafeClientAdapter } from "../protocol/safe-client-adapter.js";
import { deadline } from "./deadline.js";
import { trackRemoteHeads, type RemoteHeads, type SyncDirection } from "./remote-heads.js";
import type { Remote } from "./remotes.js";
import { refusalError } from "./sync-errors.js";
import { readTakenNotice } from "../protocol/taken-notice.js";

export interface ExchangeOptions {
  /** give up after this long (the whole exchange) */
  timeoutMs: number;
  onProgress?: Progress;
}

export interface ExchangeRequest {
  rootUrl: string;
  /** the catalog's shard URLs; undefined to read them from the root (a join) */
  shardUrls?: string[];
  /** the documents to exchange; undefined for all of them */
  only?: ReadonlySet<string>;
}

export interface ExchangeResult {
  /** the shard URLs the root names (or those given) */
  shardUrls: string[];
  /** the remote takes nothing from us (a read-only token) */
  readOnly: boolean;
  /** for each document exchanged, the heads both sides hold now */
  heads: Map<string, Heads>;
}

/**
 * Leaves the CRDT store closed, with everything received flushed. The shards go in batches of
 * SHARDS_IN_MEMORY (the root with the first), each over a connection of its own from a fresh CRDT
 * store that is flushed and dropped after it (its documents freed), so a join or a first upload
 * holds one batch of shards, not the catalog. (Dropping documents from a store that stays
 * connected does not work: automerge-repo then fails the syncs still in flight.)
 */
export async function exchange(instance: Instance, remote: Remote, request: ExchangeRequest, options: ExchangeOptions): Promise<ExchangeResult> {
  const refused = new AbortController();
  const limit = deadline(options.timeoutMs, [refused.signal]);
  const rootId = documentIdOf(request.rootUrl);
  const catalogDocuments = new Set<string>([rootId, ...(request.shardUrls ?? []).map(documentIdOf)]);
  const wanted = (id: string) => request.only === undefined || request.only.has(id);
  const heads = new Map<string, Heads>();
  const session = (work: (s: Session) => Promise<void>) => inSession(instance, remote, catalogDocuments, refused, limit.signal, work);
  let shardUrls = request.shardUrls;
  let urls: string[] = [];
  let readOnly = false;
  let rootPending = wanted(rootId) || shardUrls === undefined;
  let first = 0;
  try {
    do {
      await session(async (s) => {
        readOnly = s.direction === "pull";
        // The root goes first: the relay decides which shards a token may reach from the root it holds.
        if (rootPending) {
          shardUrls = await exchangeRoot(s, request.rootUrl, remote, catalogDocuments, refused, heads, shardUrls);
          rootPending = false;
        }
        for (const url of shardUrls!) catalogDocuments.add(documentIdOf(url));
        urls = shardUrls!.filter((url) => wanted(documentIdOf(url)));
        const progress = options.onProgress && ((synced: number) => options.onProgress!(first + synced, urls.length));
        await exchangeShards(s, urls.slice(first, first + SHARDS_IN_MEMORY), urls.length, remote, heads, progress);
      });
      first += SHARDS_IN_MEMORY;
    } while (first < urls.length);
    return { shardUrls: shardUrls!, readOnly, heads };
  } finally {
    limit.dispose();
  }
}

async function exchangeRoot(s: Session, rootUrl: string, remote: Remote, catalogDocuments: ReadonlySet<string>, refused: AbortController, heads: Map<string, Heads>, shardUrls: string[] | undefined): Promise<string[]> {
  const root = await find<RootDoc>(s.repo, rootUrl, remote, s.signal);
  root.on("ephemeral-message", ({ senderId, message }) => {
    const taken = readTakenNotice(message)?.filter((id) => catalogDocuments.has(id));
    if (taken?.length && senderId === s.adapter.remotePeerId) refused.abort(takenError(remote, taken.length));
  });
  await s.tracker.waitUntilInSync(s.peer, [root as DocHandle<unknown>], s.signal, undefined, s.direction);
  heads.set(root.documentId, s.tracker.theirHeads(s.peer, root.documentId) ?? []);
  return shardUrls ?? shardUrlsOf(root.doc(), remote);
}

async function exchangeShards(s: Session, batch: string[], total: number, remote: Remote, heads: Map<string, Heads>, onProgress?: (synced: number) => void): Promise<void> {
  if (batch.length === 0) return;
  // A shard the relay could not give at the first request (the connection dropped and came back
  // while it was on its way) is asked again when the connection returns: wait for it, bounded by
  // the timeout, instead of failing at once.
  const shards = await Promise.all(batch.map((url) => find<unknown>(s.repo, url, remote, s.signal, ["ready", "unavailable"])));
  await s.tracker.waitUntilInSync(s.peer, shards, s.signal, onProgress, s.direction).catch((err: unknown) => {
    if (s.signal.reason instanceof ShelfError) throw s.signal.reason;
    const missing = shards.filter((h) => !h.isReady()).length;
    if (missing === 0) throw err;
    throw new ShelfError("SHELF_E_DOC_UNAVAILABLE", `${remote.name} did not give ${missing} of the catalog's ${total} shard documents in time`, "run the sync again; if it keeps failing, check the relay's log");
  });
  for (const handle of shards) heads.set(handle.documentId, s.tracker.theirHeads(s.peer, handle.documentId) ?? []);
}

interface Session {
  repo: Repo;
  tracker: RemoteHeads;
  adapter: SafeClientAdapter;
  /** the remote's current peer id (a restarted server comes back under a new one) */
  peer: () => PeerId | undefined;
  /** "pull" when the remote takes nothing from us (a read-only token): wait only to hold all of its own */
  direction: SyncDirection;
  signal: AbortSignal;
}

/**
 * One connection from a fresh CRDT store: connects, runs `work`, flushes what it exchanged
 * (only that: a peer may also have offered documents never asked for, whose handles are not ready
 * and cannot be written), then closes the store and frees its documents.
 */
async function inSession(instance: Instance, remote: Remote, catalogDocuments: ReadonlySet<string>, refused: AbortController, signal: AbortSignal, work: (s: Session) => Promise<void>): Promise<void> {
  // Every document's find() listens to this one signal: hundreds of listeners, by design.
  setMaxListeners(0, signal);
  const adapter = new SafeClientAdapter(connectionUrl(remote), 1000, (code, reason) => {
    refused.abort(
      new ShelfError("SHELF_E_RELAY_BAD_MESSAGE", `${remote.name} closed the connection (code ${code}${reason ? `: ${reason}` : ""})`, "the relay refused what this instance sent: a message over its size limit, or a peer id in use; see the relay's log"),
    );
  });
  const repo = await instance.connect([adapter], (id) => catalogDocuments.has(id));
  const tracker = trackRemoteHeads(repo);
  try {
    await connected(adapter, remote, signal);
    const direction: SyncDirection = adapter.access === "read-only" ? "pull" : "both";
    await work({ repo, tracker, adapter, peer: () => adapter.remotePeerId, direction, signal });
    await repo.flush(Object.values(repo.handles).filter((handle) => handle.isReady()).map((handle) => handle.documentId));
  } catch (err) {
    throw asSyncError(err, adapter, remote, signal);
  } finally {
    await instance.recycleRepo();
  }
}

function takenError(remote: Remote, count: number): ShelfError {
  return new ShelfError(
    "SHELF_E_RELAY_SHARD_TAKEN",
    `${remote.name} records ${count} of this catalog's shard documents as another catalog's, so it will not take or give them`,
    "this catalog was made before shelf derived its documents' ids, and a writer of another catalog on that relay listed them first: show the relay's operator its log line \"a catalog root lists documents that belong to another catalog\"; meanwhile sync through another remote",
  );
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

function asSyncError(err: unknown, adapter: SafeClientAdapter, remote: Remote, signal: AbortSignal): ShelfError {
  if (err instanceof ShelfError) return err;
  if (signal.reason instanceof ShelfError) return signal.reason;
  const message = (err as Error)?.message ?? String(err);
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  const refusal = status === undefined ? undefined : refusalError(status, remote);
  if (refusal) return refusal;
  if (signal.aborted) {
    return new ShelfError("SHELF_E_SYNC_TIMEOUT", `the sync with ${remote.name} did not finish in time${adapter.remotePeerId ? "" : " (never connected)"}`, "nothing was lost; run the sync again, or raise --timeout for a large catalog");
  }
  return new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `cannot sync with ${remote.name} (${remote.url}): ${message}`, "check that the relay is running and reachable; local data is untouched");
}
