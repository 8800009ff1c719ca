/**
 * Which histories may be merged into a catalog's root document. Automerge merges any two
 * documents, related or not, so a file carrying another catalog's root history under this
 * catalog's root id would merge without a word and leave the root with two names and two shard
 * lists. A history is identified by its first change (the one change that depends on nothing):
 *
 * - a catalog with a derived root id (src/model/catalog-ids.ts) accepts only the first change its
 *   id was derived from, whoever asks, a fresh joiner included;
 * - a catalog with a random root id (made before derived ids) accepts only the first changes the
 *   root already holds; a fresh joiner has nothing to compare with, so it takes the one history on
 *   offer and refuses the join when two unrelated ones are.
 */
import * as A from "@automerge/automerge";
import { isDerivedRootId, isGenesisOf } from "./catalog-ids.js";

/** Hashes of the changes in `doc` that depend on nothing: where its histories begin. */
export function genesisOf(doc: A.Doc<unknown>): string[] {
  return A.getChangesMetaSince(doc, [])
    .filter((c) => c.deps.length === 0)
    .map((c) => c.hash);
}

/** The first changes an Automerge chunk (a save or saveSince) brings, read alone. */
export function genesisInChunk(data: Uint8Array): string[] {
  const doc = A.loadIncremental(A.init<unknown>(), data);
  try {
    return genesisOf(doc);
  } finally {
    A.free(doc);
  }
}

export class RootLineage {
  readonly rootId: string;
  readonly #known: Set<string> | undefined;
  /** a fresh joiner of a random-id catalog: the first changes seen on offer */
  readonly #offered: Set<string>;

  /**
   * `known`: the first changes of the root this instance holds; undefined for a fresh joiner.
   * `offered`: a fresh joiner's first changes already in storage (from an earlier attempt).
   */
  constructor(rootId: string, known: Iterable<string> | undefined, offered: Iterable<string> = []) {
    this.rootId = rootId;
    this.#known = known === undefined ? undefined : new Set(known);
    this.#offered = new Set(offered);
  }

  /** Why a chunk of the root whose history starts at `genesis` must not be merged; undefined if it may. */
  refuse(genesis: readonly string[]): string | undefined {
    for (const g of genesis) {
      if (isDerivedRootId(this.rootId)) {
        if (!isGenesisOf(this.rootId, g)) return "its root document has a history that is not this catalog's (its first change does not match the catalog URL)";
      } else if (this.#known) {
        if (!this.#known.has(g)) return "its root document has a history unrelated to this catalog's root";
      } else {
        this.#offered.add(g);
      }
    }
    return undefined;
  }

  /** A fresh joiner of a random-id catalog was offered more than one unrelated root history. */
  ambiguous(): boolean {
    return this.#offered.size > 1;
  }
}
