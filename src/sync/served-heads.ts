/**
 * The heads index of an instance that serves its catalog (`shelf serve`): the view's heads, which
 * the materializer stores with a sequence number in the same transaction as the rows. The view
 * may lag the CRDT by a moment (the daemon materializes shortly after a change arrives); a peer
 * then sees the older heads and syncs, or waits for the next sync: never a lost change.
 */
import type { HeadsIndex, Heads } from "../protocol/heads-summary.js";
import type { Db } from "../store/db.js";

export function servedHeads(db: Db): HeadsIndex {
  const epoch = db.prepare<[], { value: string }>("SELECT value FROM settings WHERE key = 'view_epoch'").get()!.value;
  const rows = db.prepare<[string], { doc_id: string; heads: string; seq: number }>(
    "SELECT v.doc_id, v.heads, v.seq FROM view_heads v JOIN catalogs c ON c.cat_id = v.cat_id WHERE c.url = ?",
  );
  return {
    epoch: () => epoch,
    documents: (rootId) => rows.all(`automerge:${rootId}`).map((r) => ({ docId: r.doc_id, heads: JSON.parse(r.heads) as Heads, seq: r.seq })),
  };
}
