/**
 * Which stored chunks of each document this process's copy of it holds: those it loaded and those
 * it saved. Several processes (CLI commands, the daemon, `shelf serve`) save chunks of the same
 * document to one home; a copy that lacks a chunk another process stored must take it before the
 * view is written from it, or the view would drop that process's edit. Comparing stored keys with
 * known ones is one key-only range scan, and needs no Automerge (reads stay lean).
 */
import type { Db } from "./db.js";
import { encodeKey, upperBound } from "./sqlite-storage-adapter.js";

export interface StoredChunk {
  key: string;
  data: Uint8Array;
}

export class KnownChunks {
  readonly #known = new Map<string, Set<string>>();
  readonly #keys;
  readonly #chunk;

  constructor(db: Db) {
    this.#keys = db.prepare<[string, string], { key: string }>("SELECT key FROM crdt_chunks WHERE key >= ? AND key < ?");
    this.#chunk = db.prepare<[string], { data: Buffer }>("SELECT data FROM crdt_chunks WHERE key = ?");
  }

  /** The chunks under these stored keys are in this process's copy of the document. */
  hold(documentId: string, keys: Iterable<string>): void {
    let set = this.#known.get(documentId);
    if (!set) this.#known.set(documentId, (set = new Set()));
    for (const key of keys) set.add(key);
  }

  /**
   * The document's stored snapshots and incremental changes that this process's copy lacks.
   * Synchronous, so that it can run inside the write transaction that then writes the view.
   */
  missing(documentId: string): StoredChunk[] {
    const known = this.#known.get(documentId);
    // Keys no longer stored (compacted away) are forgotten, so a long-running process keeps few.
    const stillStored = new Set<string>();
    const out: StoredChunk[] = [];
    for (const kind of ["snapshot", "incremental"]) {
      const prefix = encodeKey([documentId, kind]);
      for (const { key } of this.#keys.all(prefix, upperBound(prefix))) {
        if (known?.has(key)) {
          stillStored.add(key);
          continue;
        }
        const row = this.#chunk.get(key);
        if (row) out.push({ key, data: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength) });
      }
    }
    if (known) this.#known.set(documentId, stillStored);
    return out;
  }

  /** Every copy was dropped (the CRDT store was recycled): the next ones are loaded afresh. */
  forgetAll(): void {
    this.#known.clear();
  }
}
