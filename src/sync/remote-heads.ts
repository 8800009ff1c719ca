/**
 * Knowing when a sync is complete: automerge-repo reports, per peer and document, the heads the
 * peer last told us it has. A document is in sync with a peer when those equal our own heads.
 */
import * as A from "@automerge/automerge";
import type { DocHandle, PeerId, Repo } from "@automerge/automerge-repo";
import { sameHeads } from "../view/materializer.js";

export interface RemoteHeads {
  /** Resolves once `peer` has exactly our heads for every handle; rejects when `signal` aborts. */
  waitUntilInSync(peer: PeerId, handles: DocHandle<unknown>[], signal: AbortSignal, onProgress?: (synced: number, total: number) => void): Promise<void>;
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
    waitUntilInSync(peer, handles, signal, onProgress) {
      return new Promise((resolve, reject) => {
        const inSync = (h: DocHandle<unknown>) => h.isReady() && sameHeads(byPeer.get(peer)?.get(h.documentId) ?? [], A.getHeads(h.doc() as A.Doc<unknown>));
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
