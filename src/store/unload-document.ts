/**
 * Drops a written document from a Repo's memory. Its listeners go first: automerge-repo's unload
 * swaps the handle's document for an empty one, and its save listener, still attached, would then
 * write that empty document over the stored one. A later message from a peer for the document
 * loads it again from disk. Flush the document before calling this.
 */
import type { DocumentId, Repo } from "@automerge/automerge-repo";

export async function unloadDocument(repo: Repo, documentId: DocumentId): Promise<void> {
  repo.handles[documentId]?.removeAllListeners();
  await repo.removeFromCache(documentId);
}
