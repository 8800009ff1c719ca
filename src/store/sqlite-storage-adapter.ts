/**
 * automerge-repo storage in the instance's SQLite file, so that an instance is one file and a
 * chunk is written in the same database as the view that is materialized from it.
 *
 * Keys are arrays of strings; each part is URI-encoded and followed by "/", so a prefix of parts is
 * a prefix of the encoded key and a range scan on the primary key finds it
 * (["ab"] never matches ["abc"], because "ab/" is not a prefix of "abc/").
 */
import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";
import type { Db } from "./db.js";

export const encodeKey = (key: StorageKey): string => key.map((part) => encodeURIComponent(part) + "/").join("");
const decodeKey = (encoded: string): StorageKey => encoded.slice(0, -1).split("/").map(decodeURIComponent);
// "0" is the character after "/", so [prefix, prefix-with-"0") is exactly the keys under prefix.
// The empty prefix matches every key.
export const upperBound = (prefix: string): string => (prefix === "" ? "\uffff" : prefix.slice(0, -1) + "0");

export class SqliteStorageAdapter implements StorageAdapterInterface {
  readonly #db: Db;
  readonly #stmts;
  readonly #onDocumentSaved: ((documentId: string, key: string) => void) | undefined;
  readonly #onDocumentLoaded: ((documentId: string, keys: string[]) => void) | undefined;

  /**
   * @param onDocumentSaved called inside the same transaction as every write under a document's
   *   changes (automerge-repo's keys are [documentId, "incremental" | "snapshot", hash]), so a caller can mark the view stale
   *   atomically with the data that made it so.
   *   It also gets the chunk's stored (encoded) key.
   * @param onDocumentLoaded called when a document's chunks are read (to count what a command loads),
   *   with the stored keys of the chunks read
   */
  constructor(db: Db, onDocumentSaved?: (documentId: string, key: string) => void, onDocumentLoaded?: (documentId: string, keys: string[]) => void) {
    this.#db = db;
    this.#onDocumentSaved = onDocumentSaved;
    this.#onDocumentLoaded = onDocumentLoaded;
    this.#stmts = {
      load: db.prepare<[string], { data: Buffer }>("SELECT data FROM crdt_chunks WHERE key = ?"),
      save: db.prepare<[string, Uint8Array]>("INSERT INTO crdt_chunks (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data"),
      remove: db.prepare<[string]>("DELETE FROM crdt_chunks WHERE key = ?"),
      keys: db.prepare<[string, string], { key: string }>("SELECT key FROM crdt_chunks WHERE key >= ? AND key < ? LIMIT 2"),
      loadRange: db.prepare<[string, string], { key: string; data: Buffer }>("SELECT key, data FROM crdt_chunks WHERE key >= ? AND key < ? ORDER BY rowid"),
      removeRange: db.prepare<[string, string]>("DELETE FROM crdt_chunks WHERE key >= ? AND key < ?"),
    };
  }

  /**
   * A document's stored chunks in the order automerge-repo concatenates them to load it
   * (snapshots, then incremental changes, each in the order written), read one row at a time.
   * Synchronous, for bulk work on whole documents inside a transaction (bundles).
   */
  *documentChunks(documentId: string): Generator<Uint8Array> {
    for (const kind of ["snapshot", "incremental"]) {
      const prefix = encodeKey([documentId, kind]);
      for (const row of this.#stmts.loadRange.iterate(prefix, upperBound(prefix))) yield toUint8Array(row.data);
    }
  }

  /** Whether any chunk of the document is stored (its keys are read, not its data). */
  holdsAny(documentId: string): boolean {
    return this.#stmts.keys.all(encodeKey([documentId]), upperBound(encodeKey([documentId]))).length > 0;
  }

  /** The document's stored chunk when it has exactly one, else undefined. */
  soleChunk(documentId: string): Uint8Array | undefined {
    const key = this.#soleKey(documentId);
    const row = key === undefined ? undefined : this.#stmts.load.get(key);
    return row ? toUint8Array(row.data) : undefined;
  }

  /** Whether the document's only stored chunk is this one. */
  holdsOnly(documentId: string, key: StorageKey): boolean {
    return this.#soleKey(documentId) === encodeKey(key);
  }

  /** The key of the document's one stored chunk, when it has exactly one. */
  #soleKey(documentId: string): string | undefined {
    const keys = this.#stmts.keys.all(encodeKey([documentId]), upperBound(encodeKey([documentId])));
    return keys.length === 1 ? keys[0]!.key : undefined;
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const row = this.#stmts.load.get(encodeKey(key));
    return row ? toUint8Array(row.data) : undefined;
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    // automerge-repo's throttled saves can fire after the instance closed. Instance.close() flushes
    // every document first, so such a late save repeats data already stored and is dropped.
    if (!this.#db.open) return;
    this.saveNow(key, data);
  }

  /** save(), synchronous: for bulk work that writes a chunk and its view in one transaction. */
  saveNow(key: StorageKey, data: Uint8Array): void {
    const encoded = encodeKey(key);
    this.#db.transaction(() => {
      this.#stmts.save.run(encoded, data);
      if (this.#onDocumentSaved && (key[1] === "incremental" || key[1] === "snapshot")) this.#onDocumentSaved(key[0]!, encoded);
    }).immediate();
  }

  async remove(key: StorageKey): Promise<void> {
    if (!this.#db.open) return;
    this.#stmts.remove.run(encodeKey(key));
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const prefix = encodeKey(keyPrefix);
    const rows = this.#stmts.loadRange.all(prefix, upperBound(prefix));
    if (this.#onDocumentLoaded && keyPrefix.length > 0) this.#onDocumentLoaded(keyPrefix[0]!, rows.map((row) => row.key));
    return rows.map((row) => ({ key: decodeKey(row.key), data: toUint8Array(row.data) }));
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (!this.#db.open) return;
    const prefix = encodeKey(keyPrefix);
    this.#stmts.removeRange.run(prefix, upperBound(prefix));
  }
}

// better-sqlite3 returns Buffers; automerge-repo and its tests expect plain Uint8Arrays.
function toUint8Array(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
