/**
 * Self-certifying document ids for a catalog, so that no one has to trust who named a document
 * first (see "Whose documents are whose" in docs/relay.md and docs/webdav-layout.md):
 *
 * - a catalog's root id is derived from the hash of the root's first Automerge change, so a
 *   history that does not start with that change is not this catalog's root;
 * - shard i's id is derived from the root id and i, so whether a document is one of a catalog's
 *   shards is a computation, not a record of who listed it first.
 *
 * Both are laid out as UUID version 8 ("custom") bytes. automerge-repo's random ids are UUID
 * version 4, so a derived id never looks like a random one and vice versa: catalogs made before
 * derived ids (random ids) are told apart by their id alone and handled as before.
 *
 *   byte 0      kind: 0x72 root, 0x73 shard
 *   bytes 1-2   shard index (big-endian; 0 for a root)
 *   bytes 3-15  SHA-256 of (domain, input), with the UUID version and variant bits set
 */
import { createHash } from "node:crypto";
import type { DocumentId } from "@automerge/automerge-repo/slim";
// automerge-repo's own encoding of document ids; imported apart, since its helpers would load
// all of automerge-repo into a sync that needs none of it
import bs58check from "bs58check";

const ROOT = 0x72;
const SHARD = 0x73;
/** Shard indexes fit in two bytes; `shelf init` makes 256 shards by default, at most 4096. */
export const MAX_DERIVED_SHARDS = 65_536;

function derive(kind: number, index: number, domain: string, input: Uint8Array): DocumentId {
  const hash = createHash("sha256").update(domain).update(input).update(Uint8Array.of(index >> 8, index & 0xff)).digest();
  const bytes = new Uint8Array(16);
  bytes.set(hash.subarray(0, 16));
  bytes[0] = kind;
  bytes[1] = index >> 8;
  bytes[2] = index & 0xff;
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // UUID version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return bs58check.encode(bytes) as DocumentId;
}

function bytesOf(id: string): Uint8Array | undefined {
  const bytes = bs58check.decodeUnsafe(id);
  return bytes?.byteLength === 16 ? bytes : undefined;
}

const isDerived = (bytes: Uint8Array, kind: number) => bytes[0] === kind && (bytes[6]! & 0xf0) === 0x80 && (bytes[8]! & 0xc0) === 0x80;

/** The root id of a catalog whose root document's first change has hash `genesis` (hex). */
export function rootIdFor(genesis: string): DocumentId {
  return derive(ROOT, 0, "shelf-catalog-root\0", Buffer.from(genesis, "hex"));
}

/** The id of shard `index` of the catalog whose root id is `rootId`. */
export function shardIdFor(rootId: string, index: number): DocumentId {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_DERIVED_SHARDS) throw new RangeError(`shard index ${index} out of range`);
  const root = bytesOf(rootId);
  if (!root) throw new RangeError(`not a document id: ${rootId}`);
  return derive(SHARD, index, "shelf-catalog-shard\0", root);
}

/** The id has the layout of a derived root id (whether it matches a history is checked apart). */
export function isDerivedRootId(id: string): boolean {
  const bytes = bytesOf(id);
  return bytes !== undefined && isDerived(bytes, ROOT);
}

/** The id has the layout of a derived shard id (of some catalog). */
export function isDerivedShardId(id: string): boolean {
  const bytes = bytesOf(id);
  return bytes !== undefined && isDerived(bytes, SHARD);
}

/** The index of `id` among `rootId`'s shards, or undefined when it is not one of them. */
export function shardIndexIn(rootId: string, id: string): number | undefined {
  const bytes = bytesOf(id);
  if (!bytes || !isDerived(bytes, SHARD) || !isDerivedRootId(rootId)) return undefined;
  const index = (bytes[1]! << 8) | bytes[2]!;
  return shardIdFor(rootId, index) === id ? index : undefined;
}

/** Whether `genesis` (a change hash) is the first change of the root whose id is `rootId`. */
export function isGenesisOf(rootId: string, genesis: string): boolean {
  return /^[0-9a-f]{64}$/.test(genesis) && rootIdFor(genesis) === rootId;
}
