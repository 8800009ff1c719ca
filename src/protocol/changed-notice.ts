/**
 * The "changed" notice: an automerge-repo ephemeral message on a catalog's root document that
 * names shards whose heads changed, so that a live peer holding only the root (a lazy daemon)
 * loads just those shards and syncs them. A relay sends one whenever it stores a shard at new
 * heads; `shelf serve` whenever one of its shards changes. Receivers treat it as a hint and check
 * heads themselves; stock automerge-repo peers ignore it.
 */
import type { Heads } from "./heads-summary.js";

export interface ChangedNotice {
  shelf: "changed";
  documents: Record<string, Heads>;
}

export const changedNotice = (documents: Record<string, Heads>): ChangedNotice => ({ shelf: "changed", documents });

/** The notice's documents, or undefined when `message` is not a well-formed notice. */
export function readChangedNotice(message: unknown): Record<string, Heads> | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const { shelf, documents } = message as Partial<ChangedNotice>;
  if (shelf !== "changed" || typeof documents !== "object" || documents === null) return undefined;
  const entries = Object.entries(documents);
  if (entries.length > 1024) return undefined;
  const valid = entries.every(([id, heads]) => id.length <= 64 && Array.isArray(heads) && heads.length <= 64 && heads.every((h) => typeof h === "string" && /^[0-9a-f]{64}$/.test(h)));
  return valid ? (documents as Record<string, Heads>) : undefined;
}
