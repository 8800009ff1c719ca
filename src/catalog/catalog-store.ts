/**
 * Writes to one catalog's CRDT documents and keeps the view caught up with them.
 * Every write goes: Automerge change -> flush to the SQLite chunk table -> materialize -> done,
 * so when a command returns, its edit is durable and searchable.
 */
import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId } from "@automerge/automerge-repo";
import { rootIdFor, shardIdFor } from "../model/catalog-ids.js";
import { changeMessage } from "../model/change-message.js";
import { ShelfError } from "../errors.js";
import type { CatalogRow, Instance } from "../instance.js";
import { CATALOG_FORMAT, DEFAULT_SHARD_COUNT, documentIdOf, documentIdsOf, shardIndex, type RootDoc } from "../model/catalog-doc.js";
import { resolveField, writeRecord, type EditStamp, type ShardDoc, type WriteMode, type WriteOutcome } from "../model/crdt-record.js";
import { validatePatch, type JsonValue, type RecordPatch } from "../model/record.js";
import { addCounts, NO_COUNT_CHANGE, type CountChange } from "../view/count-change.js";
import { Materializer, sameHeads, type MaterializeResult } from "../view/materializer.js";
import { resetView } from "../view/view-tables.js";
import { damagedDatabase, storageError } from "../store/storage-errors.js";
import type { StoredDocument, StoredDocuments } from "../store/stored-documents.js";
import { changeLean, coreOf, type Core } from "../model/shard-core.js";

export interface WriteItem {
  id: string;
  patch: RecordPatch;
}

export interface WriteCounts {
  created: number;
  updated: number;
  unchanged: number;
}

/** How many shard documents bulk work through the CRDT store (exports, syncs) keeps loaded at once. */
export const SHARDS_IN_MEMORY = 32;

/**
 * Shards that bulk work in storage (imports, rebuilds, catching the view up after a join) writes
 * in one transaction. Each shard's records land on pages all over the view's indexes, and every
 * commit writes each page it touched: one shard per commit rewrote the same index pages once per
 * shard (2.7 million page writes for a 227k rebuild). Still one shard in memory at a time, and the
 * write lock is held about a second at a time at 227k.
 */
const SHARDS_PER_TRANSACTION = 8;

/** An edit to apply to a shard before it is materialized. */
interface ShardChange {
  fn: (doc: ShardDoc) => void;
  options: A.ChangeOptions<ShardDoc>;
}

export interface StoreOptions {
  /**
   * Never recycle the instance's CRDT store during bulk work: the daemon's store is the one
   * connected to the network, and recycling it would drop every connection.
   */
  keepRepo?: boolean;
}

export type Progress = (done: number, total: number) => void;

export { documentIdOf };

export class CatalogStore {
  readonly instance: Instance;
  readonly catalog: CatalogRow;
  #materializerOnce: Materializer | undefined;
  #shardOfDocument: Map<string, number> | undefined;
  readonly #keepRepo: boolean;

  private constructor(instance: Instance, catalog: CatalogRow, options: StoreOptions = {}) {
    this.instance = instance;
    this.catalog = catalog;
    this.#keepRepo = options.keepRepo ?? false;
  }

  /** Made on first use: it prepares statements on the view's tables, which a rebuild may first have to recreate. */
  get #materializer(): Materializer {
    return (this.#materializerOnce ??= new Materializer(this.instance.db));
  }

  static open(instance: Instance, catalog: CatalogRow, options: StoreOptions = {}): CatalogStore {
    return new CatalogStore(instance, catalog, options);
  }

  /**
   * Creates a new catalog: a root document naming `shardCount` empty shard documents. Their ids
   * are derived (src/model/catalog-ids.ts): the root's from its first change, each shard's from
   * the root's id, so a relay or a joiner can check that a document is this catalog's own.
   */
  static async create(instance: Instance, name: string, shardCount = DEFAULT_SHARD_COUNT): Promise<CatalogStore> {
    const genesis = A.from<Omit<RootDoc, "shards">>({
      shelf: "catalog",
      format: CATALOG_FORMAT,
      name: new A.ImmutableString(name),
      createdAt: new A.ImmutableString(new Date().toISOString()),
    });
    const rootId = rootIdFor(A.getHeads(genesis)[0]!);
    const shardUrls = Array.from({ length: shardCount }, (_, i) => `automerge:${shardIdFor(rootId, i)}`);
    const root = A.change(genesis as A.Doc<RootDoc>, (d) => void (d.shards = shardUrls.map((u) => new A.ImmutableString(u))));
    // Every shard starts from one shared empty change: the documents differ by id alone, and a
    // catalog is made in milliseconds instead of one Automerge document build per shard. Written
    // straight to storage, with no record to materialize: the view only notes each one's heads.
    const emptyShard = A.from<{ records: ShardDoc["records"] }>({ records: {} });
    const emptyBytes = A.save(emptyShard);
    const documents = await instance.storedDocuments();
    const materializer = new Materializer(instance.db);
    const row = instance.db.transaction(() => {
      const added = instance.addCatalog({ url: `automerge:${rootId}`, name, shardUrls });
      const store = (documentId: string, doc: A.Doc<unknown>, bytes: Uint8Array) => {
        documents.saveSnapshot(documentId, A.getHeads(doc), bytes);
        materializer.markDocument(added.catId, documentId, doc);
      };
      store(rootId, root, A.save(root));
      for (const url of shardUrls) store(documentIdOf(url), emptyShard, emptyBytes);
      return added;
    }).immediate();
    return new CatalogStore(instance, row);
  }

  stamp(): EditStamp {
    return { at: new Date().toISOString(), by: this.instance.id };
  }

  /** One record write; `mode` says whether the record must, may, or must not exist already. */
  async write(id: string, patch: RecordPatch, mode: WriteMode, op: string): Promise<WriteOutcome> {
    validatePatch(patch);
    return this.#changeRecord(id, op, (doc, stamp) => writeRecord(doc, id, patch, stamp, mode));
  }

  /** Writes `value` to `field` so that it supersedes every competing value (see resolveField). */
  async resolve(id: string, field: string, value: JsonValue): Promise<void> {
    await this.#changeRecord(id, "resolve", (doc, stamp) => resolveField(doc, id, field, value, stamp));
  }

  /**
   * Reads the shard document holding record `id` (for history) through its core: the daemon's
   * copy, or otherwise the stored chunks, loaded lean.
   */
  async readShard<R>(id: string, read: (core: Core) => R): Promise<R> {
    const shard = shardIndex(id, this.catalog.shardUrls.length);
    if (this.#keepRepo) return read(coreOf((await this.#shard(shard)).doc()));
    await this.#leaveStore();
    const [result] = await this.#withStored([this.catalog.shardUrls[shard]!], (loaded) => read(coreOf(loaded.doc)), "read");
    return result!;
  }

  async #changeRecord<T>(id: string, op: string, fn: (doc: ShardDoc, stamp: EditStamp) => T): Promise<T> {
    const shard = shardIndex(id, this.catalog.shardUrls.length);
    const stamp = this.stamp();
    let result: T | undefined;
    const change = (doc: ShardDoc) => void (result = fn(doc, stamp));
    if (this.#keepRepo) {
      const handle = await this.#shard(shard);
      handle.change(change, this.#changeOptions(op, stamp));
      await this.#settle(shard, handle);
    } else {
      // One edit from a command needs neither the CRDT store nor its start-up: the shard is
      // loaded, changed, stored and materialized under one write lock.
      await this.#leaveStore();
      await this.#inStorage([{ shard, change: { fn: change, options: this.#changeOptions(op, stamp) } }]);
    }
    return result as T;
  }

  /** Many writes, grouped by shard: one Automerge change and one transaction per shard. */
  async writeMany(items: WriteItem[], op: string, onProgress?: Progress): Promise<WriteCounts> {
    const counts: WriteCounts = { created: 0, updated: 0, unchanged: 0 };
    const byShard = new Map<number, WriteItem[]>();
    for (const item of items) {
      validatePatch(item.patch);
      const shard = shardIndex(item.id, this.catalog.shardUrls.length);
      let list = byShard.get(shard);
      if (!list) byShard.set(shard, (list = []));
      list.push(item);
    }
    let done = 0;
    const stamp = this.stamp();
    if (byShard.size > 0) await this.#leaveStore();
    const changes = [...byShard.entries()].sort((a, b) => a[0] - b[0]).map(([shard, list]) => ({
      shard,
      records: list.length,
      change: {
        fn: (doc: ShardDoc) => {
          for (const item of list) counts[writeRecord(doc, item.id, item.patch, stamp, "allow")]++;
        },
        options: this.#changeOptions(op, stamp),
      },
    }));
    if (this.#keepRepo) {
      for (const { shard, records, change } of changes) {
        const handle = await this.#shard(shard);
        handle.change(change.fn, change.options);
        await this.#settle(shard, handle);
        onProgress?.((done += records), items.length);
      }
    } else {
      for (const batch of inBatches(changes, SHARDS_PER_TRANSACTION)) {
        await this.#inStorage(batch);
        onProgress?.((done += batch.reduce((n, { records }) => n + records, 0)), items.length);
      }
    }
    return counts;
  }

  /** Materializes every document of this catalog whose chunks changed since the view saw them. */
  async catchUp(onProgress?: Progress): Promise<{ documents: number; records: number; counts: CountChange }> {
    const dirty = new Set(this.instance.db.prepare<[], { doc_id: string }>("SELECT doc_id FROM crdt_dirty").all().map((r) => r.doc_id));
    const rootId = documentIdOf(this.catalog.url);
    if (dirty.has(rootId) && this.#keepRepo) {
      const root = await this.#find<RootDoc>(this.catalog.url);
      this.instance.db.transaction(() => {
        takeStoredChunks(this.instance, root);
        this.#materializer.markDocument(this.catalog.catId, rootId, root.doc());
      }).immediate();
    } else if (dirty.has(rootId)) {
      // Outside the daemon the root is read from storage, as the shards are: no CRDT store to start.
      await this.#leaveStore();
      await this.#withStored<void>([this.catalog.url], (loaded) => this.#materializer.markDocument(this.catalog.catId, rootId, loaded.doc));
    }
    const shards = this.catalog.shardUrls.map((url, i) => [i, documentIdOf(url)] as const).filter(([, id]) => dirty.has(id));
    let done = 0;
    let records = 0;
    let counts = NO_COUNT_CHANGE;
    const add = (result: MaterializeResult) => {
      records += result.changedIds;
      counts = addCounts(counts, result.counts);
    };
    if (shards.length > 0) await this.#leaveStore();
    if (this.#keepRepo) {
      for (const [shard] of shards) {
        add(this.#materialize(shard, await this.#shard(shard)));
        onProgress?.(++done, shards.length);
      }
    } else {
      for (const batch of inBatches(shards.map(([shard]) => ({ shard })), SHARDS_PER_TRANSACTION)) {
        for (const result of await this.#inStorage(batch)) add(result);
        onProgress?.((done += batch.length), shards.length);
      }
    }
    return { documents: shards.length, records, counts };
  }

  /**
   * Materializes a document of this catalog from a copy in hand that holds every chunk stored for
   * it, under the caller's write transaction: what a sync just stored, so it is not loaded again.
   * Returns what a shard's materialization wrote; undefined for the root or another document.
   */
  materializeStored(documentId: string, doc: A.Doc<unknown>): MaterializeResult | undefined {
    if (documentId === documentIdOf(this.catalog.url)) {
      this.#materializer.markDocument(this.catalog.catId, documentId, doc);
      return undefined;
    }
    this.#shardOfDocument ??= new Map(this.catalog.shardUrls.map((url, i) => [documentIdOf(url), i]));
    const shard = this.#shardOfDocument.get(documentId);
    return shard === undefined ? undefined : this.#materializer.materializeShard(this.catalog.catId, shard, documentId, coreOf(doc));
  }

  /**
   * Throws the view away and materializes this catalog again from the CRDT alone, whatever state
   * the view tables were in (dropped, damaged). The tables are shared, so every catalog of the
   * instance is marked dirty with the reset; the others are caught up by the next command that
   * reads them (`shelf rebuild` catches them all up).
   */
  async rebuild(onProgress?: Progress): Promise<void> {
    // The view is thrown away only once the CRDT it is rebuilt from is known to be readable.
    assertCrdtReadable(this.instance);
    const documentIds = this.instance.catalogs().flatMap(documentIdsOf);
    resetView(this.instance.db, documentIds);
    await this.catchUp(onProgress);
  }

  /** Every document of the catalog, root first, as Automerge binaries (for bundles). */
  async exportDocuments(onProgress?: Progress): Promise<{ documentId: DocumentId; data: Uint8Array }[]> {
    const urls = [this.catalog.url, ...this.catalog.shardUrls];
    const out: { documentId: DocumentId; data: Uint8Array }[] = [];
    for (const url of urls) {
      const handle = await this.#find<unknown>(url);
      out.push({ documentId: handle.documentId, data: A.save(handle.doc()) });
      await this.#bound(out.length);
      onProgress?.(out.length, urls.length);
    }
    return out;
  }

  /** Merges an Automerge binary into the local copy of one of this catalog's documents. */
  async mergeDocument(documentId: DocumentId, data: Uint8Array): Promise<boolean> {
    const handle = await this.#find<unknown>(`automerge:${documentId}`);
    const before = A.getHeads(handle.doc());
    handle.update((doc) => A.loadIncremental(doc, data));
    return !sameHeads(before, A.getHeads(handle.doc()));
  }

  async flush(): Promise<void> {
    await (await this.instance.repo()).flush();
  }

  /** Every SHARDS_IN_MEMORY shards of bulk work, lets the loaded documents go. */
  async #bound(shardsDone: number): Promise<void> {
    if (!this.#keepRepo && shardsDone % SHARDS_IN_MEMORY === 0) await this.instance.recycleRepo();
  }

  /**
   * Bulk work on shards without the CRDT store (see stored-documents.ts): under one write lock,
   * each shard in turn is loaded from every stored chunk, given its change and stored, then
   * materialized and freed, so the next one reuses its memory. The daemon's store (keepRepo) holds
   * its shards in the store instead, where its peers see them.
   */
  async #inStorage(shards: { shard: number; change?: ShardChange }[]): Promise<MaterializeResult[]> {
    const urls = shards.map(({ shard }) => this.catalog.shardUrls[shard]!);
    return this.#withStored<MaterializeResult>(urls, (loaded, documents, documentId, i) => {
      const { shard, change } = shards[i]!;
      if (change) {
        const since = A.getHeads(loaded.doc);
        if (changeLean(loaded.doc, change.options, change.fn)) documents.save(documentId, loaded, since);
      }
      return this.#materializer.materializeShard(this.catalog.catId, shard, documentId, coreOf(loaded.doc));
    });
  }

  /**
   * Runs `work` on each document in turn, loaded from its stored chunks and freed after, all in
   * one transaction: under the write lock, or for `work` that only reads, in a read transaction
   * that waits for no writer.
   */
  async #withStored<R>(urls: string[], work: (loaded: StoredDocument, documents: StoredDocuments, documentId: string, i: number) => R, access: "write" | "read" = "write"): Promise<R[]> {
    const documents = await this.instance.storedDocuments();
    try {
      const transaction = this.instance.db.transaction(() =>
        urls.map((url, i) => {
          const documentId = documentIdOf(url);
          const loaded = documents.load(documentId);
          if (!loaded) throw this.#unavailable(url, "no chunk of it is stored");
          try {
            return work(loaded, documents, documentId, i);
          } finally {
            documents.free(loaded);
          }
        }),
      );
      return access === "write" ? transaction.immediate() : transaction.deferred();
    } catch (err) {
      throw storageError(err, this.instance.home) ?? err;
    }
  }

  /**
   * Before bulk work in storage: the CRDT store's copies of documents would miss what it writes,
   * so they are flushed and dropped; whatever is asked of the store next is loaded afresh.
   */
  async #leaveStore(): Promise<void> {
    if (!this.#keepRepo) await this.instance.recycleRepo();
  }

  #unavailable(url: string, why: string): ShelfError {
    return new ShelfError(
      "SHELF_E_DOC_UNAVAILABLE",
      `document ${url} of catalog ${this.catalog.name} is not in local storage (${why})`,
      "import a bundle of this catalog (`shelf import-bundle FILE`) or join it again",
    );
  }

  async #settle(shard: number, handle: DocHandle<ShardDoc>): Promise<void> {
    await (await this.instance.repo()).flush([handle.documentId]);
    this.#materialize(shard, handle);
  }

  /**
   * Writes the view of one shard under the write lock, from a copy that first takes every chunk
   * other processes stored meanwhile: the view then holds their edits as well as this one's.
   */
  #materialize(shard: number, handle: DocHandle<ShardDoc>): MaterializeResult {
    return this.instance.db.transaction(() => {
      takeStoredChunks(this.instance, handle);
      return this.#materializer.materializeShard(this.catalog.catId, shard, handle.documentId, coreOf(handle.doc()));
    }).immediate();
  }

  #changeOptions(op: string, stamp: EditStamp): A.ChangeOptions<ShardDoc> {
    // Who, which command and when, for `shelf history` and `shelf conflicts` (see ChangeMessage).
    return { message: changeMessage(stamp, op) };
  }

  async #shard(index: number): Promise<DocHandle<ShardDoc>> {
    const url = this.catalog.shardUrls[index];
    if (url === undefined) throw new ShelfError("SHELF_E_INTERNAL", `shard ${index} is out of range`);
    const handle = await this.#find<ShardDoc>(url);
    // Another process on this home may have saved changes this copy lacks: an edit is made on
    // the latest stored state (a `set` sees a record another process just added).
    takeStoredChunks(this.instance, handle);
    return handle;
  }

  async #find<T>(url: string): Promise<DocHandle<T>> {
    try {
      return await (await this.instance.repo()).find<T>(url as never);
    } catch (err) {
      // Stored but unreadable (a damaged file) is another matter than never stored.
      const storage = storageError(err, this.instance.home);
      if (storage) throw storage;
      throw this.#unavailable(url, (err as Error).message);
    }
  }
}

/**
 * Merges the chunks stored for the handle's document that its copy lacks (saved by other
 * processes on this home) into the handle. Synchronous, so it can run inside a transaction.
 * Returns whether anything was merged.
 */
export function takeStoredChunks(instance: Instance, handle: DocHandle<unknown>): boolean {
  const missing = instance.chunks.missing(handle.documentId);
  if (missing.length === 0) return false;
  handle.update((doc) => missing.reduce((merged, chunk) => A.loadIncremental(merged, chunk.data), doc));
  instance.chunks.hold(handle.documentId, missing.map((chunk) => chunk.key));
  return true;
}

/** Reads every stored chunk once (and drops it): damaged pages under the CRDT fail here. */
function assertCrdtReadable(instance: Instance): void {
  try {
    for (const row of instance.db.prepare<[], { data: Buffer }>("SELECT data FROM crdt_chunks").iterate()) void row.data.length;
  } catch (err) {
    const storage = storageError(err, instance.home);
    if (storage?.code !== "SHELF_E_DB") throw storage ?? err;
    throw damagedDatabase(`the CRDT tables cannot be read, so the view was left as it is: ${(err as Error).message}`, instance.home);
  }
}

/** `items` cut into consecutive runs of at most `size`. */
function inBatches<T>(items: T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}
