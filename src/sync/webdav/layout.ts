/**
 * Where a catalog lives in a WebDAV folder, and what its files are called (docs/webdav-layout.md).
 *
 *   <base>/shelf-<lowercased root document id>/<writer>.<seq>.<kind>.<sha256>.shelf
 *
 * Every part of a name is lowercase letters, digits and `-`, so a server that lowercases or
 * URL-encodes names cannot change what a name means. `writer` is the instance id of the only
 * instance that ever writes that name; `seq` orders one writer's files; `kind` is `c` (changes
 * since the writer's previous upload) or `s` (a snapshot replacing the writer's older files);
 * `sha256` is the hash of the whole file, so a name says exactly which bytes it must hold.
 */
import { createHash, randomBytes } from "node:crypto";
import { ShelfError } from "../../errors.js";

export type FileKind = "c" | "s";

export interface FileName {
  name: string;
  writer: string;
  seq: number;
  kind: FileKind;
  sha256: string;
}

const SEQ_DIGITS = 10;
const WRITER_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const NAME_RE = /^([a-z0-9][a-z0-9-]{0,63})\.(\d{1,15})\.([cs])\.([0-9a-f]{64})\.shelf$/;
/** Files this layout owns: anything else in the folder (a user's notes) is left alone. */
export const SHELF_SUFFIX = ".shelf";
/** Uploads in progress: never read, never merged, removed by their writer. */
export const TEMP_PREFIX = ".tmp-";

export const sha256Hex = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** The folder holding one catalog, relative to the remote's base path. */
export function catalogFolder(catalogUrl: string): string {
  const id = catalogUrl.replace(/^automerge:/, "");
  return `shelf-${id.toLowerCase()}`;
}

/** The writer part of names for an instance id (instance ids are already lowercase words). */
export function writerOf(instanceId: string): string {
  const writer = instanceId.toLowerCase();
  if (!WRITER_RE.test(writer)) {
    throw new ShelfError("SHELF_E_INTERNAL", `instance id ${JSON.stringify(instanceId)} cannot name WebDAV files`, "instance ids are lowercase letters, digits and -");
  }
  return writer;
}

export function formatName(writer: string, seq: number, kind: FileKind, sha256: string): string {
  return `${writer}.${String(seq).padStart(SEQ_DIGITS, "0")}.${kind}.${sha256}${SHELF_SUFFIX}`;
}

/** Parses a file name as a server lists it (lowercased or not); undefined when it is not ours. */
export function parseName(listed: string): FileName | undefined {
  const name = listed.toLowerCase();
  const match = NAME_RE.exec(name);
  if (!match) return undefined;
  return { name, writer: match[1]!, seq: Number(match[2]), kind: match[3] as FileKind, sha256: match[4]! };
}

export function tempName(writer: string): string {
  return `${TEMP_PREFIX}${writer}-${randomBytes(8).toString("hex")}.part`;
}

/**
 * The order files are merged in: snapshots first (newest first, so one snapshot can stand for a
 * writer's older files), then changes by writer and sequence.
 */
export function mergeOrder(a: FileName, b: FileName): number {
  if (a.kind !== b.kind) return a.kind === "s" ? -1 : 1;
  if (a.kind === "s" && a.seq !== b.seq) return b.seq - a.seq;
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : a.seq - b.seq;
}
