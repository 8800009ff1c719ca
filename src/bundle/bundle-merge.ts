/**
 * Merges a bundle's documents into a catalog held here, one document at a time and without
 * automerge-repo: for each, what the bundle adds beyond the stored chunks is found from bytes
 * (automerge-bytes.ts), stored as one more chunk, and the view of that document is brought up to
 * date in the same transaction. Then the document is freed before the next one is read, so memory
 * stays that of one document whatever the catalog's size.
 */
import * as A from "@automerge/automerge";
import { headsHash, keyHash } from "../store/chunk-keys.js";
import type { CatalogRow, Instance } from "../instance.js";
import { documentIdOf } from "../model/catalog-doc.js";
import { coreOf, loadLean } from "../model/shard-core.js";
import { createCrdtStorage } from "../store/crdt-storage.js";
import { SqliteStorageAdapter } from "../store/sqlite-storage-adapter.js";
import { Materializer } from "../view/materializer.js";
import { changesBeyond, concatBytes } from "./automerge-bytes.js";
import { sha256, type BundleEntry } from "./bundle-format.js";

/**
 * The bundle's documents this home holds as the very same bytes: stored as one chunk with the
 * bundle's checksum (as a document new here is stored from a bundle). Importing a bundle again
 * neither parses nor merges those.
 */
export function heldAsIs(instance: Instance, entries: readonly BundleEntry[]): Set<string> {
  const storage = new SqliteStorageAdapter(instance.db);
  const held = new Set<string>();
  for (const { documentId, sha256: checksum } of entries) {
    const chunk = storage.soleChunk(documentId);
    if (chunk && chunk.byteLength > 0 && sha256(chunk) === checksum) held.add(documentId);
  }
  return held;
}

export interface MergeOutcome {
  /** whether the bundle held changes this instance lacked */
  changed: boolean;
  /** records whose view rows were rewritten */
  records: number;
}

export class BundleMerge {
  readonly #instance: Instance;
  readonly #catalog: CatalogRow;
  readonly #storage: SqliteStorageAdapter;
  readonly #materializer: Materializer;
  readonly #rootId: string;
  readonly #shardOf: Map<string, number>;
  /** the documents this merge stored chunks of (for the running daemons' signal) */
  readonly saved = new Set<string>();

  constructor(instance: Instance, catalog: CatalogRow) {
    this.#instance = instance;
    this.#catalog = catalog;
    this.#storage = createCrdtStorage(instance.db, { onSaved: (documentId) => this.saved.add(documentId) });
    this.#materializer = new Materializer(instance.db);
    this.#rootId = documentIdOf(catalog.url);
    this.#shardOf = new Map(catalog.shardUrls.map((url, i) => [documentIdOf(url), i]));
  }

  /** Whether `documentId` is this catalog's root or one of its shards. */
  holds(documentId: string): boolean {
    return documentId === this.#rootId || this.#shardOf.has(documentId);
  }

  /**
   * Merges one document's bytes (checked by BundleFile.verify; `heads` are theirs). Under the
   * write lock, so that chunks other processes store meanwhile are in what the view is written
   * from.
   */
  merge(documentId: string, data: Uint8Array, heads: A.Heads): MergeOutcome {
    return this.#instance.db.transaction((): MergeOutcome => {
      // Held here as the bundle has it: its one chunk is a snapshot named after these heads (how
      // a new document is stored below, and how automerge-repo names what it compacts). A bundle
      // imported again is thus checked, not parsed again nor stored.
      if (this.#storage.holdsOnly(documentId, [documentId, "snapshot", headsHash(heads)])) return { changed: false, records: 0 };
      const stored = [...this.#storage.documentChunks(documentId)];
      let doc: A.Doc<unknown>;
      if (stored.length === 0) {
        // New here: the bundle's bytes are the document, stored as they are.
        this.#storage.saveNow([documentId, "snapshot", headsHash(heads)], data);
        doc = loadLean(data);
      } else {
        const added = changesBeyond(stored, data);
        if (!added) return { changed: false, records: 0 };
        this.#storage.saveNow([documentId, "incremental", keyHash(added)], added);
        // What automerge-repo will load from now on: the stored chunks, then the new one.
        doc = loadLean(concatBytes([...stored, added]));
      }
      try {
        return { changed: true, records: this.#materialize(documentId, doc) };
      } finally {
        A.free(doc);
      }
    }).immediate();
  }

  #materialize(documentId: string, doc: A.Doc<unknown>): number {
    const shard = this.#shardOf.get(documentId);
    if (shard === undefined) {
      this.#materializer.markDocument(this.#catalog.catId, documentId, doc);
      return 0;
    }
    return this.#materializer.materializeShard(this.#catalog.catId, shard, documentId, coreOf(doc)).changedIds;
  }
}
