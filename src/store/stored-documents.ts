/**
 * Documents read straight from their stored chunks and written back as chunks, with no Repo in
 * between: what bulk work (imports, rebuilds, catching the view up) uses, one shard at a time.
 *
 * Why not the Repo: it keeps a JavaScript copy of each document and the patches that built it, and
 * frees a dropped document only when the garbage collector gets to it; automerge-repo 2.5 as
 * published even keeps every document it loads from storage reachable (the bundled CLI works around
 * that: scripts/bundle-cli.mjs). Here a document lives from load() to the caller's A.free(), so
 * memory holds one shard, not the catalog.
 *
 * The chunks are the ones automerge-repo writes and reads (same keys, same compaction rule), so a
 * Repo loads what this writes and the other way round. Everything is synchronous: a caller can
 * load, change, save and materialize inside one write transaction, and no other process can store
 * a chunk of the document in between.
 */
import * as A from "@automerge/automerge";
import { sameHeads } from "../protocol/heads-summary.js";
import { loadLean } from "../model/shard-core.js";
import { headsHash, keyHash } from "./chunk-keys.js";
import type { Db } from "./db.js";
import { encodeKey, upperBound } from "./sqlite-storage-adapter.js";

interface StoredChunk {
  key: string;
  kind: "snapshot" | "incremental";
  size: number;
}

export interface StoredDocument {
  /** loaded lean (shard-core.ts): read through its core */
  doc: A.Doc<unknown>;
  /** the chunks stored for it, as loaded or since saved: for the compaction rule, and holdsEveryChunk */
  chunks: StoredChunk[];
  /** the bytes a document new here was loaded from whole (a peer's message), and their heads: saved as they are */
  loadedWhole?: { bytes: Uint8Array; heads: A.Heads };
}

export interface StoredDocumentsHooks {
  /** a document's chunks were read */
  onLoaded?: (documentId: string) => void;
  /** a chunk of a document was written (inside the caller's transaction) */
  onSaved?: (documentId: string) => void;
}

export class StoredDocuments {
  readonly #hooks: StoredDocumentsHooks;
  readonly #range;
  readonly #keys;
  readonly #save;
  readonly #remove;
  #held = 0;
  #mostHeld = 0;

  constructor(db: Db, hooks: StoredDocumentsHooks = {}) {
    this.#hooks = hooks;
    this.#range = db.prepare<[string, string], { key: string; data: Buffer }>("SELECT key, data FROM crdt_chunks WHERE key >= ? AND key < ? ORDER BY rowid");
    this.#keys = db.prepare<[string, string], { key: string }>("SELECT key FROM crdt_chunks WHERE key >= ? AND key < ?");
    this.#save = db.prepare<[string, Uint8Array]>("INSERT INTO crdt_chunks (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data");
    this.#remove = db.prepare<[string]>("DELETE FROM crdt_chunks WHERE key = ?");
  }

  /** Every stored chunk of the document, snapshots first, as automerge-repo loads them; undefined when none is stored. */
  load(documentId: string): StoredDocument | undefined {
    const chunks: StoredChunk[] = [];
    const binaries: Uint8Array[] = [];
    for (const kind of ["snapshot", "incremental"] as const) {
      const prefix = encodeKey([documentId, kind]);
      for (const row of this.#range.iterate(prefix, upperBound(prefix))) {
        chunks.push({ key: row.key, kind, size: row.data.byteLength });
        binaries.push(row.data);
      }
    }
    if (chunks.length === 0) return undefined;
    this.#hooks.onLoaded?.(documentId);
    const doc = loadLean(Buffer.concat(binaries));
    this.#mostHeld = Math.max(this.#mostHeld, ++this.#held);
    return { doc, chunks };
  }

  /**
   * Whether `stored` holds exactly the chunks stored for the document now (those it was loaded
   * from and those it saved since): no other process stored one meanwhile. Inside a write
   * transaction, the answer holds until it commits.
   */
  holdsEveryChunk(documentId: string, stored: StoredDocument): boolean {
    const loaded = new Set(stored.chunks.map((chunk) => chunk.key));
    let count = 0;
    for (const kind of ["snapshot", "incremental"] as const) {
      const prefix = encodeKey([documentId, kind]);
      for (const row of this.#keys.iterate(prefix, upperBound(prefix))) {
        if (!loaded.has(row.key)) return false;
        count++;
      }
    }
    return count === loaded.size;
  }

  /** A document with nothing stored yet (one a sync is about to receive), to be saved and freed as a loaded one. */
  empty(): StoredDocument {
    this.#mostHeld = Math.max(this.#mostHeld, ++this.#held);
    return { doc: A.init<unknown>(), chunks: [] };
  }

  /** Frees a loaded document's memory (its WebAssembly part): the next one reuses it. */
  free(stored: StoredDocument): void {
    A.free(stored.doc);
    this.#held--;
  }

  /** The most documents loaded and not yet freed at any one time, so far. */
  get mostHeld(): number {
    return this.#mostHeld;
  }

  /**
   * Stores what `stored.doc` holds beyond `since` (the heads it was loaded at): one incremental
   * chunk, or, by automerge-repo's rule (the snapshot is small, or the incrementals have outgrown
   * it), one snapshot that replaces every chunk it was loaded from.
   */
  save(documentId: string, stored: StoredDocument, since: A.Heads): void {
    const heads = A.getHeads(stored.doc);
    if (sameHeads(heads, since)) return;
    let snapshotBytes = 0;
    let incrementalBytes = 0;
    for (const chunk of stored.chunks) {
      if (chunk.kind === "snapshot") snapshotBytes += chunk.size;
      else incrementalBytes += chunk.size;
    }
    if (snapshotBytes < 1024 || incrementalBytes >= snapshotBytes) {
      // Bytes that already hold exactly this document need no compressing again.
      const whole = stored.loadedWhole;
      const binary = whole && sameHeads(whole.heads, heads) ? whole.bytes : A.save(stored.doc);
      stored.loadedWhole = undefined;
      const key = this.saveSnapshot(documentId, heads, binary);
      for (const chunk of stored.chunks) if (chunk.key !== key) this.#remove.run(chunk.key);
      stored.chunks = [{ key, kind: "snapshot", size: binary.byteLength }];
    } else {
      const binary = A.saveSince(stored.doc, since);
      const key = encodeKey([documentId, "incremental", keyHash(binary)]);
      this.#save.run(key, binary);
      this.#hooks.onSaved?.(documentId);
      stored.chunks.push({ key, kind: "incremental", size: binary.byteLength });
    }
  }

  /** Stores `data`, a whole document at `heads`, as its snapshot chunk; returns the chunk's key. */
  saveSnapshot(documentId: string, heads: A.Heads, data: Uint8Array): string {
    const key = encodeKey([documentId, "snapshot", headsHash(heads)]);
    this.#save.run(key, data);
    this.#hooks.onSaved?.(documentId);
    return key;
  }
}

