/**
 * The CRDT's storage on the instance's SQLite file, as the Repo uses it and as bulk work on whole
 * documents (bundles) uses it without a Repo: saving a document's chunk marks the document dirty in
 * the same transaction (table crdt_dirty), so the materializer always knows which documents the view
 * has not caught up with, even after a crash.
 */
import type { Db } from "./db.js";
import { SqliteStorageAdapter } from "./sqlite-storage-adapter.js";

export interface CrdtStorageOptions {
  /** called with each document whose chunks are loaded from storage, and the chunks' stored keys */
  onLoad?: (documentId: string, keys: string[]) => void;
  /** called after a chunk of a document is written (with its dirty mark), with its stored key */
  onSaved?: (documentId: string, key: string) => void;
}

/** Marks a document's view stale; run in the transaction that stores its chunk. */
export const markDirtyStatement = (db: Db) => db.prepare<[string]>("INSERT INTO crdt_dirty (doc_id, seq) VALUES (?, 1) ON CONFLICT (doc_id) DO UPDATE SET seq = seq + 1");

export function createCrdtStorage(db: Db, options: CrdtStorageOptions = {}): SqliteStorageAdapter {
  const markDirty = markDirtyStatement(db);
  return new SqliteStorageAdapter(
    db,
    (documentId, key) => {
      markDirty.run(documentId);
      options.onSaved?.(documentId, key);
    },
    options.onLoad,
  );
}
