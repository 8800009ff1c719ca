/**
 * The documents a live process (`shelf daemon`, `shelf serve`) holds in memory: the catalog's root
 * always, a shard only while it is in use. A shard is loaded when a change for it is made here,
 * when a peer sends one, or when the remote says it changed (a "changed" notice on the root); it is
 * written and dropped once idle and in step with every peer that asked for it. Dropping never
 * loses anything: the chunks are on disk, and a peer's later change loads it again.
 *
 * At most `maxLoaded` shards are loaded at once for changes announced by peers: a burst (another
 * instance's import, a catch-up after a night offline) makes a load wait until a loaded shard
 * that is in step with every peer and materialized can be dropped. Automerge's WebAssembly memory
 * never shrinks, so the most shards ever loaded at once, not the number loaded now, sets the
 * process's resident memory for the rest of its life.
 */
import * as A from "@automerge/automerge";
import type { AutomergeUrl, DocHandle, DocumentId, Repo } from "@automerge/automerge-repo";
import { ShelfError } from "../errors.js";
import { sameHeads } from "../protocol/heads-summary.js";
import { unloadDocument } from "../store/unload-document.js";
import { deadline } from "../protocol/deadline.js";
import type { RemoteHeads } from "./remote-heads.js";

export interface LiveDocumentsOptions {
  repo: Repo;
  rootId: DocumentId;
  /** the catalog's documents: nothing else is loaded */
  documents: ReadonlySet<string>;
  remoteHeads: RemoteHeads;
  /** a loaded document changed (or was loaded with changes): materialize it soon */
  onChange: (documentId: DocumentId) => void;
  /** whether a document's changes still wait to be materialized (it is not dropped meanwhile) */
  isPending?: (documentId: DocumentId) => boolean;
  loadTimeoutMs: number;
  /** most shards loaded at once by load() (default DEFAULT_MAX_LOADED_SHARDS) */
  maxLoaded?: number;
  /** told of each shard dropped to make room for another */
  onDroppedForRoom?: (documentId: DocumentId) => void;
}

/** About 40 MiB of shards at 227k records (about 5 MiB each loaded), 2 MiB at 10k. */
export const DEFAULT_MAX_LOADED_SHARDS = 8;
/** A shard loaded this recently is not dropped to make room: its sync may not have begun. */
const MIN_LOADED_MS = 500;
const SLOT_POLL_MS = 50;

export class LiveDocuments {
  readonly #options: LiveDocumentsOptions;
  readonly #adopted = new Map<DocumentId, () => void>();
  readonly #lastActive = new Map<DocumentId, number>();
  readonly #loading = new Map<DocumentId, Promise<DocHandle<unknown> | undefined>>();
  /** heads a peer said a shard has, until the loaded copy holds them */
  readonly #expected = new Map<DocumentId, A.Heads>();
  /** the heads each document had when it was last dropped, until it is loaded again */
  readonly #droppedAt = new Map<DocumentId, A.Heads>();

  constructor(options: LiveDocumentsOptions) {
    this.#options = options;
    // A peer's change to a document not loaded here makes automerge-repo load it on its own:
    // every document it syncs is adopted, so that its changes are materialized too.
    options.repo.synchronizer.on("sync-state", ({ documentId }) => this.#adopt(documentId as DocumentId));
  }

  /**
   * Loads the document (from disk; it then syncs with every peer) unless it is loaded already.
   * `expected`: heads a peer announced, which the copy must hold before it may be dropped again.
   */
  load(documentId: DocumentId, expected?: A.Heads): Promise<DocHandle<unknown> | undefined> {
    if (!this.#options.documents.has(documentId)) return Promise.resolve(undefined);
    if (expected) this.#expected.set(documentId, expected);
    const loaded = this.#options.repo.handles[documentId];
    if (loaded?.isReady() && this.#adopted.has(documentId)) {
      this.#lastActive.set(documentId, Date.now());
      return Promise.resolve(loaded);
    }
    let pending = this.#loading.get(documentId);
    if (!pending) {
      pending = this.#slotFor(documentId)
        .then(() => this.#find(documentId))
        .finally(() => this.#loading.delete(documentId));
      this.#loading.set(documentId, pending);
    }
    return pending;
  }

  /**
   * Loads the document ahead of a change announced as coming, if a slot is free now or one can be
   * made by dropping a settled shard (as a load for a change would when it came): a hint never
   * waits for a slot. Failures are left to the change's own load. Returns whether it started a load.
   */
  warm(documentId: DocumentId): boolean {
    if (!this.#options.documents.has(documentId) || this.get(documentId) || this.#loading.has(documentId)) return false;
    if (this.#loadedShards().length >= (this.#options.maxLoaded ?? DEFAULT_MAX_LOADED_SHARDS) && this.#droppable().length === 0) return false;
    this.load(documentId).catch(() => undefined);
    return true;
  }

  /**
   * Whether the document was dropped from memory at exactly these heads and not loaded since:
   * then storage holds nothing this process has not had (its own writes, seen again in the view).
   */
  droppedAt(documentId: DocumentId, heads: A.Heads): boolean {
    const dropped = this.#droppedAt.get(documentId);
    return dropped !== undefined && sameHeads(dropped, heads);
  }

  /** The loaded handle of a document, if it is loaded. */
  get(documentId: DocumentId): DocHandle<unknown> | undefined {
    const handle = this.#options.repo.handles[documentId];
    return handle?.isReady() ? handle : undefined;
  }

  /** How many of the catalog's documents are in memory now. */
  count(): number {
    return Object.values(this.#options.repo.handles).filter((h) => h.isReady() && this.#options.documents.has(h.documentId)).length;
  }

  /**
   * Writes and drops the shards idle for `idleMs` that every peer that asked for them holds as
   * they are here. Returns how many were dropped.
   */
  async unloadIdle(idleMs: number, now = Date.now()): Promise<number> {
    const { repo, rootId } = this.#options;
    // (not waiting for announced heads here: a shard idle this long will not receive them soon)
    const idle = [...this.#adopted.keys()].filter((id) => id !== rootId && now - (this.#lastActive.get(id) ?? 0) >= idleMs && !this.#options.isPending?.(id) && this.#inStepWithPeers(id));
    if (idle.length === 0) return 0;
    await repo.flush(idle);
    let dropped = 0;
    for (const id of idle) {
      const handle = repo.handles[id];
      // changed while being written: keep it for now
      if (!handle?.isReady() || now - (this.#lastActive.get(id) ?? 0) < idleMs) continue;
      await this.#drop(id);
      dropped++;
    }
    return dropped;
  }

  /** Stops listening to every loaded document. */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#adopted.keys()]) this.#release(id);
  }

  #closed = false;

  /** Waits until fewer than maxLoaded shards are loaded, dropping a settled one when it can. */
  async #slotFor(documentId: DocumentId): Promise<void> {
    if (documentId === this.#options.rootId) return;
    const max = this.#options.maxLoaded ?? DEFAULT_MAX_LOADED_SHARDS;
    const giveUpAt = Date.now() + this.#options.loadTimeoutMs;
    while (!this.#closed && Date.now() < giveUpAt) {
      if (this.#loadedShards().length < max) return;
      const drop = this.#droppable()[0];
      if (drop !== undefined) {
        await this.#options.repo.flush([drop]);
        // it may have been dropped, or changed, while being written
        if (this.#adopted.has(drop) && this.#settled(drop)) {
          await this.#drop(drop);
          this.#options.onDroppedForRoom?.(drop);
        }
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, SLOT_POLL_MS));
    }
  }

  /** Loaded shards that may be dropped to make room, least recently active first. */
  #droppable(): DocumentId[] {
    const now = Date.now();
    return this.#loadedShards()
      .filter((id) => now - (this.#lastActive.get(id) ?? 0) >= MIN_LOADED_MS && this.#settled(id))
      .sort((x, y) => (this.#lastActive.get(x) ?? 0) - (this.#lastActive.get(y) ?? 0));
  }

  #loadedShards(): DocumentId[] {
    return [...this.#adopted.keys()].filter((id) => id !== this.#options.rootId);
  }

  /** Holds what peers announced, is materialized, and every peer holds it as it is here. */
  #settled(documentId: DocumentId): boolean {
    const handle = this.#options.repo.handles[documentId];
    if (!handle?.isReady() || this.#options.isPending?.(documentId)) return false;
    const expected = this.#expected.get(documentId);
    if (expected && !A.hasHeads(handle.doc() as A.Doc<unknown>, expected)) return false;
    return this.#inStepWithPeers(documentId);
  }

  async #find(documentId: DocumentId): Promise<DocHandle<unknown> | undefined> {
    const { repo, loadTimeoutMs } = this.#options;
    // Not AbortSignal.timeout(): Node keeps such a signal, and automerge-repo's listener on it,
    // until it fires, and that listener holds the loaded document: each shard's JavaScript object
    // would outlive its unload by the whole timeout.
    const limit = deadline(loadTimeoutMs);
    try {
      const handle = await repo.find<unknown>(`automerge:${documentId}` as AutomergeUrl, { signal: limit.signal });
      this.#adopt(documentId);
      return handle;
    } catch (err) {
      throw new ShelfError("SHELF_E_DOC_UNAVAILABLE", `document ${documentId} is not in local storage and no peer has it (${(err as Error)?.message ?? err})`, "run `shelf sync` once, or join the catalog again");
    } finally {
      limit.dispose();
    }
  }

  #adopt(documentId: DocumentId): void {
    if (this.#adopted.has(documentId) || !this.#options.documents.has(documentId)) return;
    const handle = this.#options.repo.handles[documentId];
    if (!handle?.isReady()) return;
    const onHeads = () => {
      this.#lastActive.set(documentId, Date.now());
      this.#options.onChange(documentId);
    };
    handle.on("heads-changed", onHeads);
    this.#adopted.set(documentId, () => handle.off("heads-changed", onHeads));
    this.#droppedAt.delete(documentId);
    // It may have changed before it was adopted (loaded by a peer's message): look at it.
    onHeads();
  }

  async #drop(documentId: DocumentId): Promise<void> {
    const handle = this.#options.repo.handles[documentId];
    if (handle?.isReady()) this.#droppedAt.set(documentId, A.getHeads(handle.doc() as A.Doc<unknown>));
    this.#release(documentId);
    await unloadDocument(this.#options.repo, documentId);
  }

  #release(documentId: DocumentId): void {
    this.#adopted.get(documentId)?.();
    this.#adopted.delete(documentId);
    this.#lastActive.delete(documentId);
    this.#expected.delete(documentId);
  }

  /** Every connected peer that told us its heads of the document holds exactly ours. */
  #inStepWithPeers(documentId: DocumentId): boolean {
    const { repo, remoteHeads } = this.#options;
    const handle = repo.handles[documentId];
    if (!handle?.isReady()) return false;
    const ours = A.getHeads(handle.doc() as A.Doc<unknown>);
    return repo.peers.every((peer) => {
      const theirs = remoteHeads.theirHeads(() => peer, documentId);
      return theirs === undefined || sameHeads(theirs, ours);
    });
  }
}
