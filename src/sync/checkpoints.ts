/**
 * What an instance remembers of each remote, per catalog, between syncs (tables sync_cursors and
 * sync_checkpoints): the remote's store (epoch) and the last write sequence number it reported,
 * and per document the heads the remote last said it holds and the heads both sides were last
 * known to share (the checkpoint). A checkpoint is written only for a document both sides were
 * seen to hold, so a sync cut off half-way never claims more than was exchanged.
 */
import type { CatalogRow } from "../instance.js";
import { documentIdOf } from "../model/catalog-doc.js";
import type { Heads } from "../protocol/heads-summary.js";
import type { Db } from "../store/db.js";

export interface RemoteMemory {
  /** the remote URL this memory was made with: another URL under the same name starts afresh */
  remoteUrl: string;
  epoch: string;
  seq: number;
  /** heads the remote last said it holds, by document id */
  remoteHeads: Map<string, Heads>;
  /** heads both sides were last known to share, by document id */
  sharedHeads: Map<string, Heads>;
}

export function readRemoteMemory(db: Db, remote: string, catalogUrl: string): RemoteMemory | undefined {
  const cursor = db.prepare<[string, string], { remote_url: string; epoch: string; seq: number }>("SELECT remote_url, epoch, seq FROM sync_cursors WHERE remote = ? AND catalog_url = ?").get(remote, catalogUrl);
  if (!cursor) return undefined;
  const remoteHeads = new Map<string, Heads>();
  const sharedHeads = new Map<string, Heads>();
  const rows = db.prepare<[string, string], { doc_id: string; remote_heads: string; shared_heads: string | null }>("SELECT doc_id, remote_heads, shared_heads FROM sync_checkpoints WHERE remote = ? AND catalog_url = ?");
  for (const row of rows.iterate(remote, catalogUrl)) {
    remoteHeads.set(row.doc_id, JSON.parse(row.remote_heads) as Heads);
    if (row.shared_heads !== null) sharedHeads.set(row.doc_id, JSON.parse(row.shared_heads) as Heads);
  }
  return { remoteUrl: cursor.remote_url, epoch: cursor.epoch, seq: cursor.seq, remoteHeads, sharedHeads };
}

/** Replaces what is remembered of `remote` for `catalogUrl`, in one transaction. */
export function writeRemoteMemory(db: Db, remote: string, catalogUrl: string, memory: RemoteMemory): void {
  db.transaction(() => {
    forgetRemote(db, remote, catalogUrl);
    db.prepare("INSERT INTO sync_cursors (remote, catalog_url, remote_url, epoch, seq) VALUES (?, ?, ?, ?, ?)").run(remote, catalogUrl, memory.remoteUrl, memory.epoch, memory.seq);
    const insert = db.prepare<[string, string, string, string, string | null]>("INSERT INTO sync_checkpoints (remote, catalog_url, doc_id, remote_heads, shared_heads) VALUES (?, ?, ?, ?, ?)");
    for (const [docId, heads] of memory.remoteHeads) {
      const shared = memory.sharedHeads.get(docId);
      insert.run(remote, catalogUrl, docId, JSON.stringify(heads), shared ? JSON.stringify(shared) : null);
    }
  })();
}

/** Forgets a remote (all its catalogs when `catalogUrl` is not given). */
export function forgetRemote(db: Db, remote: string, catalogUrl?: string): void {
  for (const table of ["sync_cursors", "sync_checkpoints"]) {
    if (catalogUrl === undefined) db.prepare(`DELETE FROM ${table} WHERE remote = ?`).run(remote);
    else db.prepare(`DELETE FROM ${table} WHERE remote = ? AND catalog_url = ?`).run(remote, catalogUrl);
  }
}

/** The heads the view was materialized at, for every document of the catalog (undefined: none). */
export function viewHeadsOf(db: Db, catalog: CatalogRow): Map<string, Heads | undefined> {
  const stored = new Map(
    db
      .prepare<[number], { doc_id: string; heads: string }>("SELECT doc_id, heads FROM view_heads WHERE cat_id = ?")
      .all(catalog.catId)
      .map((r) => [r.doc_id, JSON.parse(r.heads) as Heads]),
  );
  return new Map([catalog.url, ...catalog.shardUrls].map((u) => [documentIdOf(u), stored.get(documentIdOf(u))]));
}
