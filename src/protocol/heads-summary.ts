/**
 * The heads summary: how a client learns, in one small HTTP exchange and without loading any
 * document on either side, which of a catalog's documents a relay (or a served instance) holds
 * in another state than it does.
 *
 *   GET <sync URL>/heads?since=SEQ[&catalog=URL]      Authorization: Bearer TOKEN
 *
 * The server keeps, for every document it stores, the heads it last wrote and a sequence number
 * that grows with every write. The answer lists the documents written after `since` and a digest
 * of every (document, heads) pair of the catalog, so that a client that applies the listed
 * documents to what it knew can check that its picture of the server is whole. A server whose
 * `epoch` changed, or whose sequence went backwards (restored from a backup), is asked again from
 * zero. The summary is an addition: stock automerge-repo clients never need it, and a server
 * without it answers 404, after which a client syncs every document as before.
 *
 * This module is shared by relay/ and the instance's own server (`shelf serve`); it imports
 * neither.
 */
import { createHash } from "node:crypto";

export const SUMMARY_FORMAT = 1;

/** Heads as Automerge gives them: hex change hashes. */
export type Heads = readonly string[];

export interface HeadsSummary {
  shelfHeads: typeof SUMMARY_FORMAT;
  /** the catalog's root document URL */
  catalog: string;
  /** names this server's store: a new one (a relay's data directory made anew) has a new epoch */
  epoch: string;
  /** the highest write sequence number among the catalog's documents */
  seq: number;
  /** documents written after `since`, with their heads */
  documents: Record<string, Heads>;
  /** headsDigest() of every document of the catalog the server holds heads for */
  digest: string;
  /** documents in the digest */
  count: number;
  /** what the caller's token allows */
  access: "read-only" | "read-write";
}

/** What a server keeps to answer summaries (relay: relay_doc_heads; instance: view_heads). */
export interface HeadsIndex {
  epoch(): string;
  /** every document of the catalog whose root is `rootId` that the index knows, with heads and seq */
  documents(rootId: string): { docId: string; heads: Heads; seq: number }[];
}

/** Builds the answer to a summary request from an index. */
export function summarize(index: HeadsIndex, catalogUrl: string, rootId: string, since: number, access: HeadsSummary["access"]): HeadsSummary {
  const all = index.documents(rootId);
  const documents: Record<string, Heads> = {};
  let seq = 0;
  for (const d of all) {
    if (d.seq > since) documents[d.docId] = d.heads;
    seq = Math.max(seq, d.seq);
  }
  return { shelfHeads: SUMMARY_FORMAT, catalog: catalogUrl, epoch: index.epoch(), seq, documents, digest: headsDigest(all), count: all.length, access };
}

/** An order-free digest of (document, heads) pairs: equal sets give equal digests. */
export function headsDigest(entries: Iterable<{ docId: string; heads: Heads }>): string {
  const lines: string[] = [];
  for (const { docId, heads } of entries) lines.push(`${docId}:${[...heads].sort().join(",")}`);
  lines.sort();
  return createHash("sha256").update(lines.join("\n")).digest("base64url").slice(0, 32);
}

export function sameHeads(a: Heads, b: Heads): boolean {
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((h, i) => h === sortedB[i]);
}

/** The most documents one prefetch request names (heads-route.ts): as many as a sync exchanges at once. */
export const PREFETCH_MAX_DOCUMENTS = 16;

/** ws://HOST:PORT/sync -> http://HOST:PORT/sync/heads (wss -> https). */
export function summaryUrl(syncUrl: string): URL {
  const url = new URL(syncUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = url.pathname.replace(/\/$/, "") + "/heads";
  url.search = "";
  return url;
}

/** Checks that a parsed body is a summary; anything else is treated as "no summary here". */
export function isHeadsSummary(value: unknown): value is HeadsSummary {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Partial<HeadsSummary>;
  if (s.shelfHeads !== SUMMARY_FORMAT || typeof s.epoch !== "string" || typeof s.digest !== "string") return false;
  if (!Number.isSafeInteger(s.seq) || !Number.isSafeInteger(s.count) || typeof s.documents !== "object" || s.documents === null) return false;
  if (s.access !== "read-only" && s.access !== "read-write") return false;
  return Object.values(s.documents).every((h) => Array.isArray(h) && h.every((x) => typeof x === "string" && /^[0-9a-f]{64}$/.test(x)));
}
