/**
 * Knowing when a sync is complete: automerge-repo reports, per peer and document, the heads the
 * peer last told us it has. A document is in sync with a peer when those equal our own heads; with
 * a peer that does not take our changes (a read-only token), once we hold every change it has.
 */
import * as A from "@automerge/automerge";
import type { DocHandle, PeerId, Repo } from "@automerge/automerge-repo";
import { sameHeads } from "../view/materializer.js";
import type { SyncDirection } from "./document-sync.js";

export type { SyncDirection };

export interface RemoteHeads {
  /**
   * Resolves once every handle is in sync with the peer `peer()` names now (a server that
   * restarted comes back under a new peer id); rejects when `signal` aborts.
   */
  waitUntilInSync(peer: () => PeerId | undefined, handles: DocHandle<unknown>[], signal: AbortSignal, onProgress?: (synced: number, total: number) => void, direction?: SyncDirection): Promise<void>;
  /** the heads the peer `peer()` names now last said it has for the document */
  theirHeads(peer: () => PeerId | undefined, documentId: string): A.Heads | undefined;
}

/** Call right after creating the Repo, before any document is found. */
export function trackRemoteHeads(repo: Repo): RemoteHeads {
  const byPeer = new Map<PeerId, Map<string, A.Heads>>();
  const listeners = new Set<() => void>();
  repo.synchronizer.on("sync-state", ({ peerId, documentId, syncState }) => {
    if (!syncState.theirHeads) return;
    let heads = byPeer.get(peerId);
    if (!heads) byPeer.set(peerId, (heads = new Map()));
    heads.set(documentId, syncState.theirHeads);
    for (const listener of listeners) listener();
  });
  return {
    theirHeads(peer, documentId) {
      const current = peer();
      return current === undefined ? undefined : byPeer.get(current)?.get(documentId);
    },
    waitUntilInSync(peer, handles, signal, onProgress, direction = "both") {
      return new Promise((resolve, reject) => {
        const inSync = (h: DocHandle<unknown>) => {
          if (!h.isReady()) return false;
          const current = peer();
          const theirs = current === undefined ? undefined : byPeer.get(current)?.get(h.documentId);
          const doc = h.doc() as A.Doc<unknown>;
          return direction === "pull" ? theirs !== undefined && A.hasHeads(doc, theirs) : sameHeads(theirs ?? [], A.getHeads(doc));
        };
        let lastCount = -1;
        const check = () => {
          const count = handles.filter(inSync).length;
          if (count !== lastCount) onProgress?.(count, handles.length);
          lastCount = count;
          if (count === handles.length) finish();
        };
        const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error("sync aborted"));
        const finish = (error?: Error) => {
          listeners.delete(check);
          for (const h of handles) h.off("heads-changed", check);
          signal.removeEventListener("abort", onAbort);
          if (error) reject(error);
          else resolve();
        };
        listeners.add(check);
        for (const h of handles) h.on("heads-changed", check);
        signal.addEventListener("abort", onAbort, { once: true });
        check();
      });
    },
  };
}
