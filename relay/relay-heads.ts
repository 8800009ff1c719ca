/**
 * The relay's heads index (relay_doc_heads): for every document it stores, the heads it last
 * wrote to disk and a write sequence number, so that it answers a heads summary without loading a
 * document (src/protocol/heads-summary.ts).
 *
 * Never ahead of the disk: saving a document's chunks forgets its row in the same transaction
 * (forget, called by the storage adapter), and a row is written only after a flush, with the heads
 * the document had before it. A row missing (after a crash between the two) makes clients sync
 * that document, which writes the row again: it can cost an exchange, never a change.
 */
import type { Db } from "../src/store/db.js";
import { sameHeads, type Heads, type HeadsIndex } from "../src/protocol/heads-summary.js";

export class RelayHeads implements HeadsIndex {
  readonly #stmts;
  readonly #epoch: string;

  constructor(db: Db) {
    this.#stmts = {
      get: db.prepare<[string], { heads: string }>("SELECT heads FROM relay_doc_heads WHERE doc_id = ?"),
      nextSeq: db.prepare<[], { value: number }>("UPDATE relay_meta SET value = value + 1 WHERE key = 'heads_seq' RETURNING value"),
      put: db.prepare<[string, string, number]>("INSERT INTO relay_doc_heads (doc_id, heads, seq) VALUES (?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET heads = excluded.heads, seq = excluded.seq"),
      forget: db.prepare<[string]>("DELETE FROM relay_doc_heads WHERE doc_id = ?"),
      catalog: db.prepare<[string], { doc_id: string; heads: string; seq: number }>(
        "SELECT h.doc_id, h.heads, h.seq FROM relay_doc_owners o JOIN relay_doc_heads h ON h.doc_id = o.doc_id WHERE o.root_id = ?",
      ),
    };
    this.#epoch = db.prepare<[], { value: string }>("SELECT value FROM relay_meta WHERE key = 'epoch'").get()!.value;
    this.record = db.transaction(this.record.bind(this));
  }

  epoch(): string {
    return this.#epoch;
  }

  documents(rootId: string): { docId: string; heads: Heads; seq: number }[] {
    return this.#stmts.catalog.all(rootId).map((r) => ({ docId: r.doc_id, heads: JSON.parse(r.heads) as Heads, seq: r.seq }));
  }

  has(docId: string): boolean {
    return this.#stmts.get.get(docId) !== undefined;
  }

  /** The document is stored at `heads` (call only after a flush that covered them); true if that is new. */
  record(docId: string, heads: Heads): boolean {
    const stored = this.#stmts.get.get(docId);
    if (stored && sameHeads(JSON.parse(stored.heads) as Heads, heads)) return false;
    this.#stmts.put.run(docId, JSON.stringify(heads), this.#stmts.nextSeq.get()!.value);
    return true;
  }

  /** The document's stored chunks changed: its row no longer says what is on disk. */
  forget(docId: string): void {
    this.#stmts.forget.run(docId);
  }
}
