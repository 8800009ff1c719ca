/**
 * Automerge data handled as bytes: parsed by Automerge's core without building the JavaScript
 * object of the document, which is most of the cost of loading one (about five times the parse
 * at 900 records a shard). Checking a bundle and finding what it adds need heads and changes, not
 * values (see src/model/shard-core.ts).
 * Each document is freed before the next is parsed, so WebAssembly's heap holds one at a time.
 */
import * as A from "@automerge/automerge";
import { sameHeads } from "../protocol/heads-summary.js";
import { coreOf, loadLean, type Core } from "../model/shard-core.js";


/** The heads of the complete document held in `data`; throws saying what is wrong with it. */
export function headsOf(data: Uint8Array): A.Heads {
  return withCore(data, (core) => {
    if (core.getMissingDeps().length > 0) throw new Error("it lacks changes it depends on");
    const heads = core.getHeads();
    if (heads.length === 0) throw new Error("it holds no changes");
    return heads;
  });
}

/**
 * The changes `incoming` holds that the `stored` chunks of the same document lack, as one chunk
 * of incremental changes; undefined when it adds nothing.
 */
export function changesBeyond(stored: Uint8Array[], incoming: Uint8Array): Uint8Array | undefined {
  return withCore(concatBytes(stored), (core) => {
    const before = core.getHeads();
    core.loadIncremental(incoming);
    return sameHeads(before, core.getHeads()) ? undefined : core.saveSince(before);
  });
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function withCore<T>(data: Uint8Array, fn: (core: Core) => T): T {
  const doc = loadLean(data);
  try {
    return fn(coreOf(doc));
  } finally {
    A.free(doc);
  }
}
