/**
 * The last part of a stored chunk's key, named as automerge-repo names the chunks it saves
 * (its storage/keyHash.ts): an incremental chunk by the SHA-256 of its bytes, a snapshot by the
 * SHA-256 of its heads. Chunks shelf stores itself then sit beside the Repo's: storing the same
 * data twice writes one row, and the Repo's compaction replaces them like its own.
 */
import { createHash } from "node:crypto";

export const keyHash = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

export const headsHash = (heads: readonly string[]): string => keyHash(Buffer.from(heads.join(""), "utf8"));
