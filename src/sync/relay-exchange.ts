/**
 * The WebSocket part of a sync with a relay or a served instance: connect, exchange the chosen
 * documents until the remote holds exactly our heads for each (and we hold its), disconnect.
 *
 * It speaks automerge-repo's protocol itself (repo-socket.ts, document-sync.ts) on documents read
 * from and written to their stored chunks, so a stock automerge-repo server sees an ordinary
 * peer, and the sync pays for Automerge's sync messages and nothing else. At most
 * DOCUMENTS_IN_FLIGHT documents are loaded at once; each is stored and freed as soon as it is in
 * sync, so a join or a first upload holds a handful of shards, not the catalog; a sync materializes
 * each from the copy in hand (onStored), a batch at a time, so it loads none twice. The root goes
 * first when it is exchanged: a relay decides which shards a token may reach from the root it
 * holds.
 */
import { randomBytes } from "node:crypto";
import * as A from "@automerge/automerge";
import { decode } from "cbor-x";
import { documentIdOf, type Progress } from "../catalog/catalog-store.js";
import { ShelfError } from "../errors.js";
import type { Instance } from "../instance.js";
import type { RootDoc } from "../model/catalog-doc.js";
import { plain } from "../model/crdt-record.js";
import type { Heads } from "../protocol/heads-summary.js";
import { RepoSocket, type RepoMessage } from "../protocol/repo-socket.js";
import { readTakenNotice } from "../protocol/taken-notice.js";
import { storageError } from "../store/storage-errors.js";
import type { StoredDocuments } from "../store/stored-documents.js";
import { GroupedCommits } from "../store/grouped-commits.js";
import { deadline } from "../protocol/deadline.js";
import { DocumentSync, type OutgoingSync, type SyncDirection } from "./document-sync.js";
import type { Remote } from "./remotes.js";
import { refusalError } from "./sync-errors.js";
import type { Materialized } from "./sync-report.js";
import { addCounts, NO_COUNT_CHANGE } from "../view/count-change.js";

export interface ExchangeOptions {
  /** give up after this long (the whole exchange) */
  timeoutMs: number;
  onProgress?: Progress;
  /**
   * Called with each document once it is in sync and stored, when the copy in hand holds every
   * chunk stored for it (no other process stored one meanwhile), inside a write transaction shared
   * by a batch of documents: the caller materializes it without loading it again, and says what
   * that wrote.
   */
  onStored?: (documentId: string, doc: A.Doc<unknown>) => Materialized | undefined;
}

export interface ExchangeRequest {
  rootUrl: string;
  /** the catalog's shard URLs; undefined to read them from the root (a join) */
  shardUrls?: string[];
  /** the documents to exchange; undefined for all of them */
  only?: ReadonlySet<string>;
  /** called with the root's shard URLs once it is in sync, before it is stored (a join registers its catalog there) */
  onShardUrls?: (shardUrls: string[]) => void;
}

export interface ExchangeResult {
  /** the shard URLs the root names (or those given) */
  shardUrls: string[];
  /** the remote takes nothing from us (a read-only token) */
  readOnly: boolean;
  /** for each document exchanged, the heads both sides hold now */
  heads: Map<string, Heads>;
  /** what onStored wrote, in the transactions that committed */
  materialized: Materialized;
}

/** Documents loaded and exchanged at once: enough to keep the connection busy, few enough to keep memory flat. */
export const DOCUMENTS_IN_FLIGHT = 16;
/** Documents in sync handed to onStored in one transaction (see #handOver), out of those in flight. */
const HANDED_OVER_TOGETHER = 8;
/** Longest a write transaction of the exchange stays open (see GroupedCommits). */
const COMMIT_EVERY_MS = 2_000;
/** Wait before reconnecting, and before asking again for a document the remote did not have. */
const RETRY_MS = 1000;

export async function exchange(instance: Instance, remote: Remote, request: ExchangeRequest, options: ExchangeOptions): Promise<ExchangeResult> {
  // Copies of documents in this process's CRDT store would miss what is stored here.
  await instance.recycleRepo();
  const refused = new AbortController();
  const limit = deadline(options.timeoutMs, [refused.signal]);
  const rootId = documentIdOf(request.rootUrl);
  const catalogDocuments = new Set<string>([rootId, ...(request.shardUrls ?? []).map(documentIdOf)]);
  const wanted = (id: string) => request.only === undefined || request.only.has(id);
  const session = new ExchangeSession(instance, await instance.storedDocuments(), remote, rootId, catalogDocuments, refused, limit.signal, options.onStored);
  try {
    await session.connected();
    let shardUrls = request.shardUrls;
    if (wanted(rootId) || shardUrls === undefined) {
      await session.syncAll([rootId], (_, doc) => {
        if (shardUrls === undefined) {
          shardUrls = shardUrlsOf(doc, remote);
          request.onShardUrls?.(shardUrls);
        }
      });
    }
    for (const url of shardUrls!) catalogDocuments.add(documentIdOf(url));
    const shards = shardUrls!.map(documentIdOf).filter(wanted);
    await session.syncAll(shards, undefined, options.onProgress);
    return { shardUrls: shardUrls!, readOnly: session.direction === "pull", heads: session.heads, materialized: session.materialized };
  } catch (err) {
    throw session.asSyncError(err);
  } finally {
    session.close();
    limit.dispose();
  }
}

/** One connection (reconnected when lost) and the documents being exchanged over it. */
class ExchangeSession {
  readonly heads = new Map<string, Heads>();
  materialized: Materialized = { changed: 0, counts: NO_COUNT_CHANGE };
  readonly #instance: Instance;
  readonly #documents: StoredDocuments;
  readonly #remote: Remote;
  readonly #rootId: string;
  readonly #catalogDocuments: ReadonlySet<string>;
  readonly #refused: AbortController;
  readonly #signal: AbortSignal;
  readonly #onStored: ExchangeOptions["onStored"];
  readonly #socket: RepoSocket;
  /** documents loaded and being exchanged, by id */
  readonly #inFlight = new Map<string, DocumentSync>();
  /** documents in sync and stored, kept to be handed to onStored together */
  readonly #waiting: DocumentSync[] = [];
  /** their chunks and their view, committed a window at a time */
  readonly #writes: GroupedCommits;
  /** called whenever something may have changed: a message, a connection, an abort */
  #wake: () => void = () => {};
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    instance: Instance,
    documents: StoredDocuments,
    remote: Remote,
    rootId: string,
    catalogDocuments: ReadonlySet<string>,
    refused: AbortController,
    signal: AbortSignal,
    onStored: ExchangeOptions["onStored"],
  ) {
    this.#instance = instance;
    this.#documents = documents;
    this.#remote = remote;
    this.#rootId = rootId;
    this.#catalogDocuments = catalogDocuments;
    this.#refused = refused;
    this.#signal = signal;
    this.#onStored = onStored;
    this.#writes = new GroupedCommits(instance.db, COMMIT_EVERY_MS);
    signal.addEventListener("abort", () => this.#wake(), { once: true });
    this.#socket = new RepoSocket(connectionUrl(remote), {
      peerId: `shelf-${instance.id}-${randomBytes(4).toString("hex")}`,
      retryMs: RETRY_MS,
      onRefused: (code, reason) => refused.abort(refusedError(remote, code, reason)),
      // A new connection (a restarted server has a new peer id) knows nothing of this exchange.
      onPeer: () => {
        for (const sync of this.#inFlight.values()) this.#send(sync.restart());
        this.#wake();
      },
      onMessage: (message) => this.#receive(message),
    });
  }

  /** "pull" when the remote takes nothing from us (a read-only token): wait only to hold all of its own */
  get direction(): SyncDirection {
    return this.#socket.access === "read-only" ? "pull" : "both";
  }

  /** Waits for the remote's answer to our join, or for the connection to fail. */
  async connected(): Promise<void> {
    await this.#until(() => {
      if (this.#socket.remotePeerId !== undefined) return true;
      if (this.#socket.lastError) throw this.#socket.lastError;
      return false;
    });
  }

  /**
   * Exchanges the documents, DOCUMENTS_IN_FLIGHT at a time (those waiting for onStored count);
   * each is stored (with what it received) once in sync, after `inspect` has seen it.
   */
  async syncAll(documentIds: readonly string[], inspect?: (documentId: string, doc: A.Doc<unknown>) => void, onProgress?: Progress): Promise<void> {
    const queue = [...documentIds];
    let done = 0;
    onProgress?.(0, documentIds.length);
    try {
      await this.#until(() => {
        for (const sync of [...this.#inFlight.values()]) {
          if (!sync.inSync(this.direction)) continue;
          inspect?.(sync.documentId, sync.stored.doc);
          this.heads.set(sync.documentId, sync.theirHeads!);
          this.#finish(sync);
          onProgress?.(++done, documentIds.length);
        }
        while (queue.length > 0 && this.#inFlight.size + this.#waiting.length < DOCUMENTS_IN_FLIGHT) this.#start(queue.shift()!);
        return this.#inFlight.size === 0;
      });
    } finally {
      // Nothing received is lost: what came in before a failure is stored too.
      for (const sync of [...this.#inFlight.values()]) this.#finish(sync);
      this.#handOver();
      this.#commit();
    }
  }

  close(): void {
    clearTimeout(this.#retryTimer);
    this.#socket.close();
    // After a failure that kept syncAll from committing, what was stored before it is kept; that
    // failure is the one the exchange reports.
    try {
      this.#writes.commit();
    } catch {
      // (the transaction was rolled back: nothing of it is kept, and the exchange already failed)
    }
  }

  #commit(): void {
    try {
      this.#writes.commit();
    } catch (err) {
      throw storageError(err, this.#instance.home) ?? err;
    }
  }

  #start(documentId: string): void {
    const stored = this.#documents.load(documentId) ?? this.#documents.empty();
    const sync = new DocumentSync(documentId, stored);
    this.#inFlight.set(documentId, sync);
    this.#send(sync.restart());
  }

  /** Stores what the document received; frees it, or keeps it for onStored. */
  #finish(sync: DocumentSync): void {
    this.#inFlight.delete(sync.documentId);
    // A document in sync already is handed over too: its view may be missing (a join that
    // completes one cut off before), and the materializer does nothing when it is there.
    const handed = this.#onStored !== undefined && !sync.empty;
    try {
      if (sync.changed) this.#writes.run(() => this.#documents.save(sync.documentId, sync.stored, sync.loadedHeads));
    } catch (err) {
      this.#documents.free(sync.stored);
      throw storageError(err, this.#instance.home) ?? err;
    }
    if (!handed) return this.#documents.free(sync.stored);
    this.#waiting.push(sync);
    if (this.#waiting.length >= HANDED_OVER_TOGETHER) this.#handOver();
  }

  /**
   * Hands the documents waiting to onStored in one write transaction, and frees them. One
   * transaction for several: a commit writes every page of the view it touched, and one per
   * document would write the same index pages again and again. A copy beside which another
   * process stored a chunk is left out, and the whole batch when onStored fails: they stay dirty,
   * and the catch-up after the exchange takes them from storage (and reports a lasting error).
   */
  #handOver(): void {
    const batch = this.#waiting.splice(0);
    if (batch.length === 0) return;
    try {
      const written = this.#writes.run(() => batch.filter((sync) => this.#documents.holdsEveryChunk(sync.documentId, sync.stored)).map((sync) => this.#onStored!(sync.documentId, sync.stored.doc)));
      for (const w of written) if (w) this.materialized = { changed: this.materialized.changed + w.changed, counts: addCounts(this.materialized.counts, w.counts) };
    } catch {
      // left dirty: see above
    } finally {
      for (const sync of batch) this.#documents.free(sync.stored);
    }
  }

  #send(message: OutgoingSync | undefined): void {
    if (message) this.#socket.send(message);
  }

  #receive(message: RepoMessage): void {
    const documentId = message.documentId;
    if (message.type === "ephemeral" && documentId === this.#rootId && message.data) this.#readNotice(message.data);
    const sync = documentId === undefined ? undefined : this.#inFlight.get(documentId);
    if (!sync) return;
    if ((message.type === "sync" || message.type === "request") && message.data) {
      this.#send(sync.receive(message.data));
    } else if (message.type === "doc-unavailable") {
      sync.unavailable = true;
      if (documentId === this.#rootId && sync.empty) {
        this.#refused.abort(new ShelfError("SHELF_E_DOC_UNAVAILABLE", `${this.#remote.name} does not have automerge:${documentId}, or this instance's token does not give access to it`, "check the catalog URL, and that the token was created for this catalog (`shelf relay token create --catalog URL`)"));
      }
      // A shard the relay could not give yet (a connection that dropped and came back while it
      // was on its way) is asked for again, bounded by the timeout.
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        for (const waiting of this.#inFlight.values()) if (waiting.unavailable) this.#send(waiting.restart());
      }, RETRY_MS);
    }
    this.#wake();
  }

  #readNotice(data: Uint8Array): void {
    let notice: unknown;
    try {
      notice = decode(data);
    } catch {
      return;
    }
    const taken = readTakenNotice(notice)?.filter((id) => this.#catalogDocuments.has(id));
    if (taken?.length) this.#refused.abort(takenError(this.#remote, taken.length));
  }

  /** Resolves once `done()` says so, checked after every event; rejects when the exchange is aborted. */
  async #until(done: () => boolean): Promise<void> {
    while (!done()) {
      if (this.#signal.aborted) throw this.#signal.reason;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        // A failed connection attempt reports itself by closing: look again now and then.
        setTimeout(resolve, 100).unref();
      });
    }
  }

  asSyncError(err: unknown): ShelfError {
    const signal = this.#signal;
    if (err instanceof ShelfError) return err;
    if (signal.reason instanceof ShelfError) return signal.reason;
    const remote = this.#remote;
    const message = (err as Error)?.message ?? String(err);
    const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
    const refusal = status === undefined ? undefined : refusalError(status, remote);
    if (refusal) return refusal;
    if (signal.aborted) {
      const missing = [...this.#inFlight.values()].filter((sync) => sync.empty).length;
      if (missing > 0 && this.#socket.joinedOnce) {
        return new ShelfError("SHELF_E_DOC_UNAVAILABLE", `${remote.name} did not give ${missing} of the catalog's documents in time`, "run the sync again; if it keeps failing, check the relay's log");
      }
      return new ShelfError("SHELF_E_SYNC_TIMEOUT", `the sync with ${remote.name} did not finish in time${this.#socket.joinedOnce ? "" : " (never connected)"}`, "nothing was lost; run the sync again, or raise --timeout for a large catalog");
    }
    return new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `cannot sync with ${remote.name} (${remote.url}): ${message}`, "check that the relay is running and reachable; local data is untouched");
  }
}

function refusedError(remote: Remote, code: number, reason: string): ShelfError {
  return new ShelfError(
    "SHELF_E_RELAY_BAD_MESSAGE",
    `${remote.name} closed the connection (code ${code}${reason ? `: ${reason}` : ""})`,
    "the relay refused what this instance sent: a message over its size limit, or a peer id in use; see the relay's log",
  );
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

function shardUrlsOf(doc: A.Doc<unknown>, remote: Remote): string[] {
  // Stored documents are loaded lean (shard-core.ts): the root is read whole from its core.
  const root = A.toJS(doc) as Partial<RootDoc>;
  if (root.shelf !== "catalog" || !Array.isArray(root.shards)) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `the document ${remote.name} holds at that URL is not a shelf catalog`, "check the catalog URL (`shelf status` prints it on an instance that holds the catalog)");
  }
  return root.shards.map((url) => plain(url));
}
