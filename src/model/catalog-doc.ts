/**
 * The catalog's root document and how records are placed in shard documents.
 * See docs/architecture.md ("Sharding") for why the default is 256 shards.
 */
import type { ImmutableString } from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo/slim";
import { ShelfError } from "../errors.js";

export const CATALOG_FORMAT = 1;
export const DEFAULT_SHARD_COUNT = 256;
/** Bounds of `shelf init --shards`: one document at least; past 4096 the root alone grows large. */
export const MIN_SHARDS = 1;
export const MAX_SHARDS = 4096;

/** A shard count given on the command line, checked. */
export function parseShardCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < MIN_SHARDS || n > MAX_SHARDS) {
    throw new ShelfError("SHELF_E_USAGE", `--shards ${JSON.stringify(text)} is not a whole number from ${MIN_SHARDS} to ${MAX_SHARDS}`, `the default, ${DEFAULT_SHARD_COUNT}, suits most catalogs (see docs/architecture.md, "Sharding")`);
  }
  return n;
}

export interface RootDoc {
  shelf: "catalog";
  format: number;
  name: ImmutableString;
  createdAt: ImmutableString;
  /** Automerge URLs of the shard documents; record placement is shardIndex(id, shards.length) */
  shards: ImmutableString[];
}

/**
 * FNV-1a over the id's UTF-16 code units: stable across platforms and versions, cheap, and spreads
 * ids evenly (measured: the fullest of 256 shards holds 1.1x the mean for 227k npm names).
 */
export function shardIndex(id: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shardCount;
}

/** The document id inside an Automerge URL ("automerge:<id>"). */
export const documentIdOf = (url: string): DocumentId => url.replace(/^automerge:/, "") as DocumentId;

/** The id of the shard document that holds record `id`. */
export const shardDocumentOf = (catalog: { shardUrls: readonly string[] }, id: string): DocumentId => documentIdOf(catalog.shardUrls[shardIndex(id, catalog.shardUrls.length)]!);

/** The ids of a catalog's documents: its root, then its shards in order. */
export const documentIdsOf = (catalog: { url: string; shardUrls: readonly string[] }): DocumentId[] => [catalog.url, ...catalog.shardUrls].map(documentIdOf);
