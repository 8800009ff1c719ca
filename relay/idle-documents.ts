/**
 * Which documents the relay may drop from memory. A dropped document is loaded from disk again by
 * the next message for it, and automerge-repo then syncs it again with every connected client that
 * asked for it before (it remembers who asked per document, not per loaded copy), so dropping
 * loses nothing. A document may go:
 *
 * - once every connected client that synced it holds exactly the relay's heads (and so does the
 *   upstream relay, if there is one), after a short quiet time (`inStepMs`): a client's first
 *   upload thus never holds the whole catalog at once;
 * - otherwise once it saw no traffic for the idle time (`idleMs`);
 *
 * except while a connected client that does not hold the document's catalog root has synced it on
 * its current connection: such a client (a stock automerge-repo peer, a `shelf sync` exchanging
 * shards only) gets no "changed" notice on the root, so its documents stay loaded until it leaves.
 * A client that holds the root (a live `shelf daemon`) pins only the root.
 */
import type { DocumentId, PeerId } from "@automerge/automerge-repo";
import { sameHeads, type Heads } from "../src/protocol/heads-summary.js";

export interface IdleDocumentsOptions {
  /** the catalog root a document belongs to, as recorded; undefined when none is */
  ownerOf(documentId: DocumentId): DocumentId | undefined;
}

export interface IdleRule {
  now: number;
  /** quiet time after which a document in step with its clients goes */
  inStepMs: number;
  /** quiet time after which any unpinned document goes */
  idleMs: number;
  /** a peer that must have said it holds the relay's heads for a document to be in step (the upstream relay) */
  mustHold?: PeerId;
}

export class IdleDocuments {
  readonly #options: IdleDocumentsOptions;
  readonly #lastActive = new Map<DocumentId, number>();
  readonly #touchedBy = new Map<PeerId, Set<DocumentId>>();
  /** per document: the heads each connected peer last said it has */
  readonly #theirHeads = new Map<DocumentId, Map<PeerId, Heads>>();

  constructor(options: IdleDocumentsOptions) {
    this.#options = options;
  }

  /** Traffic for `documentId`, from or to `peer` (a client) when given. */
  touch(documentId: DocumentId, now: number, peer?: PeerId): void {
    this.#lastActive.set(documentId, now);
    if (peer === undefined) return;
    let touched = this.#touchedBy.get(peer);
    if (!touched) this.#touchedBy.set(peer, (touched = new Set()));
    touched.add(documentId);
  }

  /** `peer` (a client, or the upstream relay) told the relay which heads of `documentId` it has. */
  heard(documentId: DocumentId, peer: PeerId, heads: Heads): void {
    let byPeer = this.#theirHeads.get(documentId);
    if (!byPeer) this.#theirHeads.set(documentId, (byPeer = new Map()));
    byPeer.set(peer, heads);
  }

  /** The documents `peer` touched on its current connection. */
  documentsOf(peer: PeerId): ReadonlySet<DocumentId> {
    return this.#touchedBy.get(peer) ?? new Set();
  }

  /** `peer` disconnected: nothing is held for it any more. */
  release(peer: PeerId): void {
    this.#touchedBy.delete(peer);
    for (const [id, byPeer] of this.#theirHeads) {
      byPeer.delete(peer);
      if (byPeer.size === 0) this.#theirHeads.delete(id);
    }
  }

  /**
   * The documents among `loaded` (with the relay's heads of each) that may be dropped now. A loaded
   * document never seen before starts its quiet time now (it was loaded for an access check).
   */
  idle(loaded: Iterable<[DocumentId, Heads]>, rule: IdleRule): DocumentId[] {
    const pinned = this.#pinned();
    const result: DocumentId[] = [];
    for (const [id, ours] of loaded) {
      const last = this.#lastActive.get(id);
      if (last === undefined) {
        this.#lastActive.set(id, rule.now);
        continue;
      }
      if (pinned.has(id)) continue;
      const quiet = rule.now - last;
      if (quiet >= rule.idleMs || (quiet >= rule.inStepMs && this.#inStep(id, ours, rule.mustHold))) result.push(id);
    }
    return result;
  }

  /** `documentId` was dropped: it starts afresh when loaded again. */
  forget(documentId: DocumentId): void {
    this.#lastActive.delete(documentId);
    this.#theirHeads.delete(documentId);
  }

  /** Documents a connected client synced without holding their catalog's root. */
  #pinned(): Set<DocumentId> {
    const pinned = new Set<DocumentId>();
    for (const touched of this.#touchedBy.values()) {
      for (const id of touched) {
        const root = this.#options.ownerOf(id);
        const viaRoot = root !== undefined && root !== id && touched.has(root);
        if (!viaRoot) pinned.add(id);
      }
    }
    return pinned;
  }

  #inStep(documentId: DocumentId, ours: Heads, mustHold: PeerId | undefined): boolean {
    const byPeer = this.#theirHeads.get(documentId);
    if (mustHold !== undefined && !byPeer?.has(mustHold)) return false;
    for (const theirs of byPeer?.values() ?? []) if (!sameHeads(theirs, ours)) return false;
    return true;
  }
}
