/**
 * Which documents the relay may drop from memory: those no connected client has touched on its
 * current connection, and that saw no traffic for the idle time. A document a client synced stays
 * loaded while that client is connected, because the relay never announces documents: a
 * document dropped and loaded again would not know to send that client later changes.
 */
import type { DocumentId, PeerId } from "@automerge/automerge-repo";

export class IdleDocuments {
  readonly #lastActive = new Map<DocumentId, number>();
  readonly #touchedBy = new Map<PeerId, Set<DocumentId>>();
  readonly #pins = new Map<DocumentId, number>();

  /** Traffic for `documentId`, from or to `peer` (a client) when given. */
  touch(documentId: DocumentId, now: number, peer?: PeerId): void {
    this.#lastActive.set(documentId, now);
    if (peer === undefined) return;
    let touched = this.#touchedBy.get(peer);
    if (!touched) this.#touchedBy.set(peer, (touched = new Set()));
    if (touched.has(documentId)) return;
    touched.add(documentId);
    this.#pins.set(documentId, (this.#pins.get(documentId) ?? 0) + 1);
  }

  /** The documents `peer` touched on its current connection. */
  documentsOf(peer: PeerId): ReadonlySet<DocumentId> {
    return this.#touchedBy.get(peer) ?? new Set();
  }

  /** `peer` disconnected: the documents it touched are no longer held for it. */
  release(peer: PeerId): void {
    const touched = this.#touchedBy.get(peer);
    if (!touched) return;
    this.#touchedBy.delete(peer);
    for (const id of touched) {
      const left = (this.#pins.get(id) ?? 1) - 1;
      if (left > 0) this.#pins.set(id, left);
      else this.#pins.delete(id);
    }
  }

  /**
   * The documents among `loaded` that may be dropped now. A loaded document never seen before
   * starts its idle time now (it was loaded for an access check, or at start-up).
   */
  idle(loaded: Iterable<DocumentId>, now: number, idleMs: number): DocumentId[] {
    const result: DocumentId[] = [];
    for (const id of loaded) {
      const last = this.#lastActive.get(id);
      if (last === undefined) this.#lastActive.set(id, now);
      else if (!this.#pins.has(id) && now - last >= idleMs) result.push(id);
    }
    return result;
  }

  /** `documentId` was dropped: it starts afresh when loaded again. */
  forget(documentId: DocumentId): void {
    this.#lastActive.delete(documentId);
  }
}
