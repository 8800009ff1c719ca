/**
 * `shelf daemon`: stays connected to every relay remote with one network Repo for one catalog;
 * `shelf serve` is the same loop with a peer server (peer-server.ts) on that Repo's network.
 *
 * - The root and every shard are loaded, so automerge-repo syncs them live with each relay.
 * - A change to any of them (from a relay, or taken from this home's storage) is flushed and
 *   materialized ~200 ms later, on the same Repo (never recycled: it holds the connections).
 * - Edits made by CLI commands in other processes on this home are announced by those commands
 *   (home-signal.ts) and taken at once; polling view_heads (and crdt_dirty) every 5 s is the
 *   fallback. The stored chunks are merged into the daemon's handle, which sends them on to the
 *   relays.
 * - Scheduled imports of the catalog (`shelf import add`) run when due, through the same store.
 * - Each relay connection reconnects with exponential backoff and jitter; every (re)connection
 *   and every error is recorded as a sync run, so `shelf sync status` shows the daemon's state.
 */
import * as A from "@automerge/automerge";
import { setMaxListeners } from "node:events";
import type { AutomergeUrl, DocHandle, DocumentId, NetworkAdapterInterface, PeerId, Repo } from "@automerge/automerge-repo";
import { CatalogStore, documentIdOf, loadStoredChunks } from "../catalog/catalog-store.js";
import { ShelfError } from "../errors.js";
import type { CatalogRow, Instance } from "../instance.js";
import { startImportScheduler } from "../import/schedule.js";
import { recordSyncRun, type Remote } from "./remotes.js";
import { SafeClientAdapter, type ReconnectBackoff } from "../protocol/safe-client-adapter.js";
import { deadline } from "./deadline.js";
import type { PeerServer } from "./peer-server.js";
import { connectionUrl } from "./relay-exchange.js";
import { sameHeads } from "../view/materializer.js";
import { listenForLocalEdits } from "./home-signal.js";

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
  /** how long changes are coalesced before materializing (default 200 ms) */
  debounceMs?: number;
  backoff?: ReconnectBackoff;
  /** how long loading a document may take before the daemon gives up on it (default 60 s) */
  loadTimeoutMs?: number;
  /** also accept direct connections from peers (`shelf serve`) */
  server?: PeerServer;
  /** called with the sync URL once the server listens */
  onListening?: (url: string) => void;
}

export const DEFAULT_BACKOFF: ReconnectBackoff = { initialMs: 1000, maxMs: 60_000, jitter: 0.2 };

/** The remotes the daemon keeps a live connection with. */
export const isRelay = (remote: Remote): boolean => /^wss?:\/\//i.test(remote.url);

/** Runs until `options.signal` aborts. The caller owns `instance` (and closes it afterwards). */
export async function runDaemon(instance: Instance, catalog: CatalogRow, remotes: Remote[], options: DaemonOptions): Promise<void> {
  const { signal, log } = options;
  const db = instance.db;
  const documents = new Set([catalog.url, ...catalog.shardUrls].map(documentIdOf));
  const connections = remotes.map((remote) => watchConnection(instance, catalog, remote, documents.size, options));
  const network: NetworkAdapterInterface[] = connections.map((c) => c.adapter);
  if (options.server) network.push(options.server.adapter);
  const repo = await instance.connect(network, (id) => documents.has(id));
  const store = await CatalogStore.open(instance, catalog, { keepRepo: true });

  // Load every document of the catalog so it syncs live.
  const loading = deadline(options.loadTimeoutMs ?? 60_000, [signal]);
  const load = loading.signal;
  // Every document's find() listens to this one signal: hundreds of listeners, by design.
  setMaxListeners(0, load);
  let root: DocHandle<unknown>;
  let shards: DocHandle<unknown>[];
  try {
    root = await find(repo, catalog.url, load);
    shards = await Promise.all(catalog.shardUrls.map((url) => find(repo, url, load)));
  } catch (err) {
    if (signal.aborted) return; // stopped while starting: nothing to flush
    throw err;
  } finally {
    loading.dispose();
  }
  const handles = new Map<DocumentId, DocHandle<unknown>>([root, ...shards].map((h) => [h.documentId, h]));
  const live = remotes.length > 0 ? `live with ${remotes.map((r) => r.name).join(", ")}` : "no relay to sync with";
  log(`loaded catalog ${catalog.name} (${shards.length} shards); ${live}`);
  // Scheduled imports write through this store, so what they change reaches peers at once.
  const imports = startImportScheduler(store, { signal, log });
  // Listen only once every document is loaded: a peer's first request is then answered at once.
  if (options.server) options.onListening?.(await options.server.listen(repo));

  // Materialize, coalesced: at most one run at a time, and one more if changes came meanwhile.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const materialize = async (): Promise<void> => {
    try {
      await repo.flush();
      const { documents: docs, records } = await store.catchUp();
      if (docs > 0) log(`materialized ${docs} document${docs === 1 ? "" : "s"} (${records} record${records === 1 ? "" : "s"} changed)`);
    } catch (err) {
      log(`error: materializing failed, will retry: ${(err as Error)?.message ?? err}`);
      again = true;
    }
  };
  const schedule = () => {
    if (signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      running = materialize().finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule();
        }
      });
    }, options.debounceMs ?? 200);
  };
  for (const handle of handles.values()) handle.on("heads-changed", schedule);

  // Edits saved by other processes on this home: the view (or the dirty marks) name changes the
  // daemon's copies lack.
  const viewHeads = db.prepare<[number], { doc_id: string; heads: string }>("SELECT doc_id, heads FROM view_heads WHERE cat_id = ?");
  const dirtyDocs = db.prepare<[], { doc_id: string }>("SELECT doc_id FROM crdt_dirty");
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
      const stale = new Set<DocumentId>();
      for (const row of viewHeads.all(catalog.catId)) {
        const handle = handles.get(row.doc_id as DocumentId);
        if (handle && !A.hasHeads(handle.doc() as A.Doc<unknown>, JSON.parse(row.heads) as A.Heads)) stale.add(handle.documentId);
      }
      // Dirty documents are normally the daemon's own saves, about to be materialized; one left
      // dirty while nothing is pending may hold another process's saved but unmaterialized edit.
      if (!running && !timer) for (const row of dirtyDocs.all()) if (handles.has(row.doc_id as DocumentId)) stale.add(row.doc_id as DocumentId);
      let taken = 0;
      for (const id of stale) {
        const handle = handles.get(id)!;
        const before = A.getHeads(handle.doc() as A.Doc<unknown>);
        await loadStoredChunks(instance, handle);
        if (!sameHeads(before, A.getHeads(handle.doc() as A.Doc<unknown>))) taken++;
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
  const signals = await watchLocalEdits(instance.home, () => void poll(), log);
  const poller = setInterval(() => void poll(), options.pollMs ?? (signals ? 5000 : 1000));

  // Anything saved before the daemon started.
  await poll();
  schedule();

  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
  log("stopping");
  await imports.stop();
  clearInterval(poller);
  await signals?.close();
  clearTimeout(timer);
  for (const handle of handles.values()) handle.off("heads-changed", schedule);
  for (const c of connections) c.stop();
  await options.server?.close();
  while (running || polling) await (running ?? new Promise((r) => setTimeout(r, 10)));
  await materialize();
}

/**
 * Listens for the signals CLI commands send after saving edits on this home (home-signal.ts), and
 * calls `onEdit` for each: the daemon then looks at its storage at once. Resolves to undefined
 * when it cannot listen; the daemon then relies on polling alone.
 */
async function watchLocalEdits(home: string, onEdit: () => void, log: (line: string) => void): Promise<{ close(): Promise<void> } | undefined> {
  try {
    return await listenForLocalEdits(home, () => onEdit());
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
function watchConnection(instance: Instance, catalog: CatalogRow, remote: Remote, documents: number, options: DaemonOptions): WatchedConnection {
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

async function find(repo: Repo, url: string, signal: AbortSignal): Promise<DocHandle<unknown>> {
  try {
    return await repo.find<unknown>(url as AutomergeUrl, { signal });
  } catch (err) {
    throw new ShelfError("SHELF_E_DOC_UNAVAILABLE", `document ${url} is not in local storage and no relay has it (${(err as Error)?.message ?? err})`, "run `shelf sync` once, or join the catalog again");
  }
}
