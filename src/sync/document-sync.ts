/**
 * Automerge's sync protocol for one stored document with one remote peer, without a Repo: the
 * document is loaded from its chunks (or starts empty, for a join), takes the peer's messages,
 * and says which message to send next and whether both sides hold the same changes.
 */
import * as A from "@automerge/automerge";
import { concatBytes } from "../bundle/automerge-bytes.js";
import { sameHeads } from "../protocol/heads-summary.js";
import type { StoredDocument } from "../store/stored-documents.js";
import { coreOf, loadLean } from "../model/shard-core.js";

/** "both": the peer holds exactly our heads; "pull": we hold the peer's (it takes nothing from us). */
export type SyncDirection = "both" | "pull";

/** What to send: a "request" asks for a document we hold nothing of (the peer may answer doc-unavailable). */
export interface OutgoingSync {
  type: "sync" | "request";
  documentId: string;
  data: Uint8Array;
}

export class DocumentSync {
  readonly documentId: string;
  readonly stored: StoredDocument;
  /** the heads the document was loaded at: what is new since is saved */
  readonly loadedHeads: A.Heads;
  #state = A.initSyncState();
  /** the peer said it does not have the document */
  unavailable = false;

  constructor(documentId: string, stored: StoredDocument) {
    this.documentId = documentId;
    this.stored = stored;
    this.loadedHeads = A.getHeads(stored.doc);
  }

  /** Starts over with a peer that knows nothing of this exchange (a new connection). */
  restart(): OutgoingSync | undefined {
    this.#state = A.initSyncState();
    this.unavailable = false;
    return this.next();
  }

  receive(data: Uint8Array): OutgoingSync | undefined {
    if (this.empty) this.#loadWhole(data);
    [this.stored.doc, this.#state] = A.receiveSyncMessage(this.stored.doc, this.#state, data as A.SyncMessage);
    return this.next();
  }

  /**
   * A document we hold nothing of comes whole in the peer's first message (a join): it is loaded
   * lean from the message's bytes, as from storage. Applied as a sync message, its JavaScript
   * object would be built from a patch per field. The message then only updates what the peer is
   * known to hold. Changes that do not load on their own (they depend on changes not sent) are
   * applied as usual.
   */
  #loadWhole(data: Uint8Array): void {
    const { changes } = A.decodeSyncMessage(data as A.SyncMessage);
    if (changes.length === 0) return;
    const bytes = concatBytes(changes);
    let whole: A.Doc<unknown>;
    try {
      whole = loadLean(bytes, { actor: A.getActorId(this.stored.doc) });
    } catch {
      return;
    }
    if (coreOf(whole).getMissingDeps().length > 0) {
      A.free(whole);
      return;
    }
    A.free(this.stored.doc);
    this.stored.doc = whole;
    // stored as they came, unless more changes arrive before the document is saved
    this.stored.loadedWhole = { bytes, heads: A.getHeads(whole) };
  }

  next(): OutgoingSync | undefined {
    const [state, data] = A.generateSyncMessage(this.stored.doc, this.#state);
    this.#state = state;
    if (!data) return undefined;
    return { type: A.getHeads(this.stored.doc).length === 0 ? "request" : "sync", documentId: this.documentId, data };
  }

  /** the heads the peer last said it has; undefined before it said */
  get theirHeads(): A.Heads | undefined {
    return this.#state.theirHeads ?? undefined;
  }

  /** holds nothing yet */
  get empty(): boolean {
    return A.getHeads(this.stored.doc).length === 0;
  }

  get changed(): boolean {
    return !sameHeads(this.loadedHeads, A.getHeads(this.stored.doc));
  }

  /**
   * Whether both sides hold what they should. A document we hold nothing of is never in sync: a
   * peer that has nothing yet either gets it (a relay asking its upstream) or says doc-unavailable.
   */
  inSync(direction: SyncDirection): boolean {
    const theirs = this.theirHeads;
    if (theirs === undefined || this.empty) return false;
    return direction === "pull" ? A.hasHeads(this.stored.doc, theirs) : sameHeads(theirs, A.getHeads(this.stored.doc));
  }
}
