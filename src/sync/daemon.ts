/**
 * `shelf daemon`: stays connected to every relay remote with one network Repo for one catalog;
 * `shelf serve` is the same loop with a peer server (peer-server.ts) on that Repo's network.
 *
 * - Memory follows use (live-documents.ts): the root is loaded at start; a shard is loaded when it
 *   changes here, when a peer sends a change for it, or when the relay's "changed" notice on the
 *   root names it, and dropped once idle (`unloadIdleMs`) and held by every peer that asked for it.
 * - On each (re)connection the relay's heads summary names the documents that differ from the
 *   view (changed on either side while apart); only those are loaded and synced.
 * - A change to a loaded document is flushed and materialized at once, then at most every 50 ms
 *   while changes keep coming, on the same Repo (never recycled: it holds the connections);
 *   `shelf serve` then tells its peers which shards changed.
 * - Edits made by CLI commands in other processes on this home are announced by those commands
 *   (home-signal.ts) and taken at once: the view's write sequence names the documents that
 *   changed, which are loaded (or topped up from storage) and so sent; polling every 5 s is the
 *   fallback.
 * - One-record edits (`shelf set`, `tag`, `rm`...) made on this home are handed to the daemon
 *   (daemon-write.ts): it writes them through its own store, so they reach its peers at once and
 *   the command loads no Automerge.
 * - Scheduled imports of the catalog (`shelf import add`) run when due, through the same store.
 * - Each relay connection reconnects with exponential backoff and jitter; every (re)connection
 *   and every error is recorded as a sync run, so `shelf sync status` shows the daemon's state.
 */
import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, NetworkAdapterInterface, PeerId } from "@automerge/automerge-repo";
import { CatalogStore, documentIdOf, takeStoredChunks } from "../catalog/catalog-store.js";
import { documentIdsOf, shardDocumentOf } from "../model/catalog-doc.js";
import { validateId, validatePatch } from "../model/record.js";
import { storageError } from "../store/storage-errors.js";
import type { CatalogRow, Instance } from "../instance.js";
import { startImportScheduler } from "../import/schedule.js";
import { changedNotice, readChangedNotice } from "../protocol/changed-notice.js";
import { readChangingNotice } from "../protocol/changing-notice.js";
import { sameHeads } from "../protocol/heads-summary.js";
import { SafeClientAdapter, type ReconnectBackoff } from "../protocol/safe-client-adapter.js";
import { readRemoteMemory, viewHeadsOf } from "./checkpoints.js";
import { fetchSummary, requestPrefetch } from "./heads-client.js";
import { answerWriteRequest, type WriteRequest } from "./daemon-write.js";
import { listenForLocalEdits, type LocalRequestHandler } from "./home-signal.js";
import { CoalescedRun, type RunOutcome } from "./coalesced-run.js";
import { DaemonConnectionsFile } from "./daemon-connections.js";
import { LiveDocuments } from "./live-documents.js";
import type { PeerServer } from "./peer-server.js";
import { connectionUrl } from "./relay-exchange.js";
import { trackRemoteHeads } from "./remote-heads.js";
import { recordSyncRun, type Remote } from "./remotes.js";
import { planSync } from "./sync-plan.js";
import { unchangedInView } from "../view/unchanged-edit.js";

export interface DaemonOptions {
  /** aborting it stops the daemon: flush, disconnect, return */
  signal: AbortSignal;
  /** one line per event, for people (stderr) */
  log: (line: string) => void;
  /**
   * how often to look for edits saved by other processes: a fallback, since commands signal their
   * edits (default 5000 ms; 1000 ms when the daemon cannot listen for those signals)
   */
  pollMs?: number;
  /** the least time between the starts of two materializations that wrote something: changes meanwhile wait and are taken together (default 50 ms) */
  debounceMs?: number;
  backoff?: ReconnectBackoff;
  /** how long loading a document may take before the daemon gives up on it (default 60 s) */
  loadTimeoutMs?: number;
  /** also accept direct connections from peers (`shelf serve`) */
  server?: PeerServer;
  /** called with the sync URL once the server listens */
  onListening?: (url: string) => void;
  /** drop a shard from memory once it was idle this long and every peer holds it (default 60 s) */
  unloadIdleMs?: number;
}

export const DEFAULT_UNLOAD_IDLE_MS = 60_000;
const DEFAULT_DEBOUNCE_MS = 50;
/** How long a write waits for its prefetch requests to leave (about a round trip to a near relay). */
const PREFETCH_SEND_WAIT_MS = 20;

export const DEFAULT_BACKOFF: ReconnectBackoff = { initialMs: 1000, maxMs: 60_000, jitter: 0.2 };

/** Runs until `options.signal` aborts. The caller owns `instance` (and closes it afterwards). */
export async function runDaemon(instance: Instance, catalog: CatalogRow, remotes: Remote[], options: DaemonOptions): Promise<void> {
  const { signal, log } = options;
  const db = instance.db;
  const rootId = documentIdOf(catalog.url);
  const documents = new Set<string>(documentIdsOf(catalog));
  // A relay may answer before the daemon is ready: its catch-up waits for the start.
  let started = () => {};
  const whenStarted = new Promise<void>((resolve) => (started = resolve));
  const shown = new DaemonConnectionsFile(instance.home);
  for (const remote of remotes) shown.set(remote.name, false);
  const connections = remotes.map((remote) => watchConnection(instance, catalog, remote, documents.size, options, shown, () => void whenStarted.then(() => catchUpWith(remote))));
  const network: NetworkAdapterInterface[] = connections.map((c) => c.adapter);
  if (options.server) network.push(options.server.adapter);
  const repo = await instance.connect(network, (id) => documents.has(id));
  const remoteHeads = trackRemoteHeads(repo);
  const store = await CatalogStore.open(instance, catalog, { keepRepo: true });
  const changed = new Set<DocumentId>();
  const materialize = async (): Promise<RunOutcome> => {
    try {
      // Ready documents only: a peer may have offered one that is still on its way.
      await repo.flush(Object.values(repo.handles).filter((h) => h.isReady()).map((h) => h.documentId));
      const { documents: docs, records } = await store.catchUp();
      if (docs > 0) log(`materialized ${docs} document${docs === 1 ? "" : "s"} (${records} record${records === 1 ? "" : "s"} changed)`);
      // Peers of `shelf serve` hold only the root: tell them which shards changed.
      if (options.server) announce([...changed]);
      changed.clear();
      return docs > 0 ? "worked" : "idle";
    } catch (err) {
      log(`error: materializing failed, will retry: ${(storageError(err, instance.home) ?? (err as Error))?.message ?? err}`);
      return "failed";
    }
  };
  const materializing = new CoalescedRun(materialize, options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  const announce = (ids: DocumentId[]) => {
    const notice: Record<string, A.Heads> = {};
    for (const id of ids) {
      const handle = live.get(id);
      if (handle && id !== rootId) notice[id] = A.getHeads(handle.doc() as A.Doc<unknown>);
    }
    if (Object.keys(notice).length > 0) root?.broadcast(changedNotice(notice));
  };
  const schedule = () => {
    if (!signal.aborted) materializing.request();
  };

  const live = new LiveDocuments({
    repo,
    rootId,
    documents,
    remoteHeads,
    loadTimeoutMs: options.loadTimeoutMs ?? 60_000,
    onChange: (id) => {
      changed.add(id);
      schedule();
    },
    isPending: (id) => changed.has(id),
    onDroppedForRoom: () => log(`dropped 1 document from memory to make room for another (${live.count()} loaded)`),
  });
  const loadQuietly = (id: DocumentId, expected?: A.Heads) => live.load(id, expected).catch((err: unknown) => log(`error: ${(err as Error)?.message ?? err}`));

  // Only the root is loaded at start; shards load when they change here or elsewhere.
  let root: DocHandle<unknown> | undefined;
  try {
    root = (await live.load(rootId))!;
  } catch (err) {
    if (signal.aborted) return; // stopped while starting: nothing to flush
    throw err;
  }
  // A relay (or served peer) names the shards it stored at new heads: load those we lack.
  root.on("ephemeral-message", ({ message }) => {
    // Another client is about to change these: load them now, while its change is being made.
    const warming = (readChangingNotice(message) ?? []).filter((id) => live.warm(id as DocumentId));
    if (warming.length > 0) log(`loading ${warming.length} shard${warming.length === 1 ? "" : "s"} another instance is about to change: ${warming.join(", ")}`);
    for (const [id, heads] of Object.entries(readChangedNotice(message) ?? {})) {
      const handle = live.get(id as DocumentId);
      if (!handle || !A.hasHeads(handle.doc() as A.Doc<unknown>, heads as A.Heads)) void loadQuietly(id as DocumentId, heads as A.Heads);
    }
  });
  const liveWith = remotes.length > 0 ? `live with ${remotes.map((r) => r.name).join(", ")}` : "no relay to sync with";
  log(`loaded catalog ${catalog.name} (root; ${catalog.shardUrls.length} shards load when they change); ${liveWith}`);
  // Catches up only documents marked dirty (a peer's change just written): cheap when none is.
  const materializeStored = async (): Promise<void> => {
    if (instance.hasDirtyDocuments(catalog)) await store.catchUp();
  };
  if (options.server) {
    try {
      options.onListening?.(await options.server.listen(repo, materializeStored));
    } catch (err) {
      // A port in use: end what runs already, or its timers would keep the process from exiting.
      await materializing.stop();
      live.close();
      for (const c of connections) c.stop();
      await options.server.close();
      throw err;
    }
  }
  // Scheduled imports write through this store, so what they change reaches peers at once.
  const imports = startImportScheduler(store, { signal, log });

  /**
   * On each (re)connection to a relay: its heads summary says which documents differ from this
   * instance's view (changed there while apart, or here); those are loaded and so synced. A relay
   * without summaries gets every document, as before.
   */
  const catchUpWith = async (remote: Remote): Promise<void> => {
    try {
      const traffic = { requests: 0, bytesDown: 0 };
      const plan = await planSync((since) => fetchSummary(remote, catalog.url, since, AbortSignal.timeout(30_000), traffic), readRemoteMemory(db, remote.name, catalog.url), remote.url, viewHeadsOf(db, catalog));
      const differing = plan ? [...plan.documents] : [...documents];
      if (differing.length > 0) log(`catching up with ${remote.name}: ${differing.length} document${differing.length === 1 ? "" : "s"} differ`);
      await Promise.all(differing.map((id) => loadQuietly(id as DocumentId)));
    } catch (err) {
      log(`error: catching up with ${remote.name} failed; live changes still flow: ${(err as Error)?.message ?? err}`);
    }
  };

  // Edits saved by other processes on this home: the view's write sequence says which documents
  // changed since the daemon last looked; those are loaded (or topped up from storage) and so sent.
  const viewChanges = db.prepare<[number, number], { doc_id: string; heads: string; seq: number }>("SELECT doc_id, heads, seq FROM view_heads WHERE cat_id = ? AND seq > ?");
  const dirtyDocs = db.prepare<[], { doc_id: string }>("SELECT doc_id FROM crdt_dirty");
  let viewSeq = db.prepare<[number], { seq: number | null }>("SELECT max(seq) AS seq FROM view_heads WHERE cat_id = ?").get(catalog.catId)?.seq ?? 0;
  let polling = false;
  let pollAgain = false;
  const poll = async (): Promise<void> => {
    if (signal.aborted) return;
    if (polling) {
      // An edit signalled while a poll runs may have been saved after it read the view.
      pollAgain = true;
      return;
    }
    polling = true;
    try {
      const stale = new Map<DocumentId, A.Heads | undefined>();
      for (const row of viewChanges.all(catalog.catId, viewSeq)) {
        stale.set(row.doc_id as DocumentId, JSON.parse(row.heads) as A.Heads);
        viewSeq = Math.max(viewSeq, row.seq);
      }
      // Dirty documents are normally the daemon's own saves, about to be materialized; one left
      // dirty while nothing is pending may hold another process's saved but unmaterialized edit.
      if (!materializing.busy) for (const row of dirtyDocs.all()) if (documents.has(row.doc_id as DocumentId)) stale.set(row.doc_id as DocumentId, undefined);
      // This daemon's own writes come back here too, after it may have dropped their shards:
      // a shard dropped at the heads the view shows holds nothing new.
      for (const [id, heads] of stale) if (heads && !live.get(id) && live.droppedAt(id, heads)) stale.delete(id);
      let taken = 0;
      await prefetchAtRelays([...stale.keys()].filter((id) => !live.get(id)));
      for (const [id, heads] of stale) {
        const loaded = live.get(id);
        if (!loaded) {
          // loaded from storage with the edit in it, then synced with every peer
          if (await loadQuietly(id)) taken++;
          continue;
        }
        if (heads && A.hasHeads(loaded.doc() as A.Doc<unknown>, heads)) continue;
        const before = A.getHeads(loaded.doc() as A.Doc<unknown>);
        takeStoredChunks(instance, loaded);
        if (!sameHeads(before, A.getHeads(loaded.doc() as A.Doc<unknown>))) taken++;
      }
      if (taken > 0) log(`took local edits of ${taken} document${taken === 1 ? "" : "s"} from this home's storage`);
      if (stale.size > 0) schedule();
    } catch (err) {
      log(`error: reading local edits failed, will retry: ${(err as Error)?.message ?? err}`);
    } finally {
      polling = false;
    }
    if (pollAgain) {
      pollAgain = false;
      await poll();
    }
  };
  // A command's one-record edit, written here: its shard is loaded as any live shard is, then
  // changed, stored and materialized before the command hears back.
  const writeForCommand = async (request: WriteRequest) => {
    if (signal.aborted) throw new Error("stopping");
    const shardId = shardDocumentOf(catalog, request.id);
    // A shard not held here is as stored, and the view tells a write that would change nothing:
    // no load here, and no relay or live peer told to load it.
    if (!live.get(shardId) && request.mode === "forbid") {
      validateId(request.id);
      validatePatch(request.patch);
      if (unchangedInView(instance.db, catalog, request.id, request.patch)) {
        log(`wrote ${request.id} for a command (${request.op}, unchanged)`);
        return "unchanged";
      }
    }
    if (!live.get(shardId)) await prefetchAtRelays([shardId]);
    await live.load(shardId);
    try {
      const outcome = await store.write(request.id, request.patch, request.mode, request.op);
      log(`wrote ${request.id} for a command (${request.op}, ${outcome})`);
      return outcome;
    } catch (err) {
      throw storageError(err, instance.home) ?? err;
    }
  };
  /**
   * Asks the relays to load documents this daemon is about to load and change, so that their
   * loads run beside this one (src/protocol/heads-route.ts), and to tell their other live clients
   * to load them too (changing-notice.ts). Waits until the requests have left,
   * since loading a document holds the event loop, but not longer than PREFETCH_SEND_WAIT_MS.
   */
  const prefetchAtRelays = async (ids: DocumentId[]): Promise<void> => {
    const sent = remotes.map((remote) => requestPrefetch(remote, catalog.url, ids, AbortSignal.timeout(30_000), ids).sent);
    await Promise.race([Promise.all(sent), new Promise((resolve) => setTimeout(resolve, PREFETCH_SEND_WAIT_MS))]);
  };
  const signals = await watchLocalEdits(instance.home, () => void poll(), (message) => answerWriteRequest(message, catalog.url, writeForCommand), log);
  const poller = setInterval(() => void poll(), options.pollMs ?? (signals ? 5000 : 1000));

  // Idle shards are written and dropped, so memory follows what is in use.
  const idleMs = options.unloadIdleMs ?? DEFAULT_UNLOAD_IDLE_MS;
  let unloading: Promise<void> | undefined;
  const unloader = setInterval(() => {
    unloading ??= live
      .unloadIdle(idleMs)
      .then((n) => {
        if (n > 0) log(`dropped ${n} idle document${n === 1 ? "" : "s"} from memory (${live.count()} loaded)`);
      })
      .catch((err: unknown) => log(`error: dropping idle documents failed, will retry: ${(err as Error)?.message ?? err}`))
      .finally(() => (unloading = undefined));
  }, Math.max(100, Math.min(idleMs / 2, 30_000)));

  // Anything saved before the daemon started, and the relays' own catch-up on connection.
  await poll();
  schedule();
  started();

  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
  log("stopping");
  await imports.stop();
  clearInterval(poller);
  clearInterval(unloader);
  await unloading;
  await signals?.close();
  await materializing.stop();
  live.close();
  for (const c of connections) c.stop();
  await options.server?.close();
  while (polling) await new Promise((r) => setTimeout(r, 10));
  await materialize();
  shown.remove();
}

/**
 * Listens for the signals CLI commands send after saving edits on this home (home-signal.ts), and
 * calls `onEdit` for each: the daemon then looks at its storage at once; `onRequest` answers the
 * writes commands hand over. Resolves to undefined when it cannot listen; the daemon then relies
 * on polling alone, and commands write themselves.
 */
async function watchLocalEdits(home: string, onEdit: () => void, onRequest: LocalRequestHandler, log: (line: string) => void): Promise<{ close(): Promise<void> } | undefined> {
  try {
    return await listenForLocalEdits(home, () => onEdit(), onRequest);
  } catch (err) {
    log(`cannot listen for edits signalled by commands on this home (${(err as Error)?.message ?? err}); relying on polling for them`);
    return undefined;
  }
}

interface WatchedConnection {
  adapter: SafeClientAdapter;
  stop(): void;
}

/** One relay connection: backoff, one log line per event, a sync run per (re)connection and error. */
function watchConnection(instance: Instance, catalog: CatalogRow, remote: Remote, documents: number, options: DaemonOptions, shown: DaemonConnectionsFile, onConnected: () => void): WatchedConnection {
  const { log } = options;
  let stopped = false;
  const adapter = new SafeClientAdapter(connectionUrl(remote), 1000, (code, reason) => {
    const message = `${remote.name} closed the connection (code ${code}${reason ? `: ${reason}` : ""}): the relay refused what this instance sent`;
    log(`error: ${message}`);
    record(false, message);
  });
  adapter.backoff = options.backoff ?? DEFAULT_BACKOFF;
  let since = performance.now();
  let connectedOnce = false;
  const record = (ok: boolean, error: string | null) => {
    if (stopped || !instance.db.open) return;
    shown.set(remote.name, ok, error ?? undefined);
    try {
      recordSyncRun(instance.db, {
        remote: remote.name,
        catalogUrl: catalog.url,
        startedAt: new Date().toISOString(),
        durationMs: Math.round(performance.now() - since),
        ok,
        error,
        documents: ok ? documents : 0,
        added: 0,
        updated: 0,
        deleted: 0,
        conflicts: 0,
      });
    } catch (err) {
      log(`error: cannot record the sync run: ${(err as Error)?.message ?? err}`);
    }
  };
  adapter.on("peer-candidate", ({ peerId }: { peerId: PeerId }) => {
    log(`${connectedOnce ? "reconnected" : "connected"} to ${remote.name} (${remote.url}) as relay peer ${peerId}`);
    record(true, null);
    connectedOnce = true;
    onConnected();
    since = performance.now();
  });
  adapter.onClosed = (info) => {
    if (stopped) return;
    const retry = `retrying in ${(info.retryInMs / 1000).toFixed(1)} s`;
    if (info.wasOpen) {
      const message = `lost the connection to ${remote.name} (code ${info.code}${info.reason ? `: ${info.reason}` : ""})`;
      log(`${message}; ${retry}`);
      record(false, message);
    } else {
      const cause = info.error?.message ?? `closed with code ${info.code}`;
      const message = `cannot connect to ${remote.name} (${remote.url}): ${cause}`;
      log(`error: ${message}; ${retry}`);
      record(false, message);
    }
    since = performance.now();
  };
  return {
    adapter,
    stop() {
      stopped = true;
    },
  };
}
