/**
 * The CRDT store: one automerge-repo Repo per process, whose storage is the instance's SQLite file
 * (crdt-storage.ts: saving a chunk marks its document dirty in the same transaction).
 */
import { Repo, type DocumentId, type NetworkAdapterInterface, type PeerId } from "@automerge/automerge-repo";
import { randomBytes } from "node:crypto";
import type { Db } from "./db.js";
import { createCrdtStorage } from "./crdt-storage.js";

export interface CrdtStoreOptions {
  instanceId: string;
  network?: NetworkAdapterInterface[];
  /** the documents peers may fetch and receive (default: none) */
  shares?: (documentId: DocumentId) => boolean;
  saveDebounceMs?: number;
  /** called with each document whose chunks are loaded from storage, and the chunks' stored keys */
  onLoad?: (documentId: string, keys: string[]) => void;
  /** called after a chunk of a document is written (with its dirty mark), with its stored key */
  onSaved?: (documentId: string, key: string) => void;
}

export function createRepo(db: Db, options: CrdtStoreOptions): Repo {
  const storage = createCrdtStorage(db, { onSaved: options.onSaved, onLoad: options.onLoad });
  return new Repo({
    storage,
    network: options.network ?? [],
    // Each process gets its own peer id: a CLI command and the daemon may run side by side.
    peerId: `shelf-${options.instanceId}-${randomBytes(4).toString("hex")}` as PeerId,
    // Peers see only what this instance chose to share, and never learn other documents' ids.
    shareConfig: {
      announce: async (_peer, documentId) => documentId !== undefined && (options.shares?.(documentId) ?? false),
      access: async (_peer, documentId) => options.shares?.(documentId) ?? false,
    },
    saveDebounceRate: options.saveDebounceMs,
  });
}
