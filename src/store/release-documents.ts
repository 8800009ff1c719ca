/**
 * Frees the Automerge documents of a Repo that bulk work is done with (flushed and dropped).
 *
 * Left to the garbage collector they pile up: automerge-repo's debounced saves and sync sends each
 * hold a changed document in a timer, and timers do not fire while bulk work keeps the event loop
 * busy, so every document of a long import or rebuild stayed reachable until the end. Nor would
 * the collector hurry once they were unreachable: a document's WebAssembly memory is invisible to
 * it, and WebAssembly memory never shrinks, so it only grows while the documents wait. Freeing them
 * here lets the next batch reuse that memory: peak memory is one batch's documents, not the
 * catalog's.
 */
import * as A from "@automerge/automerge";
import type { Repo } from "@automerge/automerge-repo";

/** Longer than automerge-repo's debounce of sync sends (100 ms) and of saves (shelf's 50 ms). */
const PENDING_TIMERS_MS = 120;

export async function releaseDocuments(repo: Repo): Promise<void> {
  const handles = Object.values(repo.handles);
  for (const handle of handles) handle.removeAllListeners();
  // Let the timers already set run first: after the flush they find nothing to save or send,
  // but they read the document, so it must not be freed under them.
  await new Promise((resolve) => setTimeout(resolve, PENDING_TIMERS_MS));
  for (const handle of handles) {
    if (!handle.isReady()) continue;
    A.free(handle.doc() as A.Doc<unknown>);
  }
}
