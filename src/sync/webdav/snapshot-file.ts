/**
 * The files shelf writes into a WebDAV folder: a signature line, a JSON header, then the Automerge
 * bytes of each document, like a bundle (src/bundle/bundle-format.ts) but holding either the changes
 * since the writer's previous upload or a whole snapshot.
 *
 *   SHELF-WEBDAV 1\n
 *   {"format":1,"catalog","writer","seq","kind","createdAt","supersedes":[names],
 *    "documents":[{"documentId","bytes","sha256","heads"}]}\n
 *   <the documents' bytes, in header order>
 *
 * A file is trusted only after every check passes: the name's hash is the hash of the whole file
 * (so a truncated, altered or half-uploaded file is caught before it is even parsed), the header
 * names this catalog and agrees with the name, every document matches its own length and hash,
 * and every document parses as Automerge data.
 */
import * as A from "@automerge/automerge";
import type { FileKind, FileName } from "./layout.js";
import { formatName, parseName, sha256Hex } from "./layout.js";

const MAGIC = "SHELF-WEBDAV 1\n";
/** Headers are read alone (a ranged GET) to decide whether a snapshot is needed at all. */
export const HEADER_PROBE_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 8 * 1024 * 1024;

export interface FileDocument {
  documentId: string;
  data: Uint8Array;
  /** the writer's heads of this document once these bytes are merged */
  heads: string[];
}

export interface FileHeader {
  format: 1;
  catalog: string;
  writer: string;
  seq: number;
  kind: FileKind;
  createdAt: string;
  /** snapshots only: the writer's own files this snapshot replaces */
  supersedes: string[];
  documents: { documentId: string; bytes: number; sha256: string; heads: string[] }[];
}

/** A file that must not be merged; `reason` says why in words a user can act on. */
export class BadFile extends Error {}

export interface EncodedFile {
  name: string;
  body: Uint8Array;
  header: FileHeader;
}

export function encodeFile(input: { catalog: string; writer: string; seq: number; kind: FileKind; supersedes?: string[]; documents: FileDocument[] }): EncodedFile {
  const header: FileHeader = {
    format: 1,
    catalog: input.catalog,
    writer: input.writer,
    seq: input.seq,
    kind: input.kind,
    createdAt: new Date().toISOString(),
    supersedes: input.supersedes ?? [],
    documents: input.documents.map((d) => ({ documentId: d.documentId, bytes: d.data.byteLength, sha256: sha256Hex(d.data), heads: d.heads })),
  };
  const body = new Uint8Array(Buffer.concat([Buffer.from(MAGIC + JSON.stringify(header) + "\n"), ...input.documents.map((d) => d.data)]));
  return { name: formatName(input.writer, input.seq, input.kind, sha256Hex(body)), body, header };
}

/**
 * Reads the header from the first bytes of a file (all of it, or a prefix from a ranged GET).
 * Returns undefined when the prefix ends before the header does.
 */
export function readHeader(bytes: Uint8Array, expected: { name: FileName; catalog: string }): { header: FileHeader; end: number } | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < MAGIC.length) {
    throw new BadFile(buf.byteLength === 0 ? "it is empty" : "it is too short to be a shelf file");
  }
  if (buf.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) throw new BadFile("it does not start with the shelf WebDAV signature");
  const newline = buf.indexOf(0x0a, MAGIC.length);
  if (newline < 0) {
    if (buf.byteLength - MAGIC.length > MAX_HEADER_BYTES) throw new BadFile("its header is too long");
    return undefined;
  }
  let header: FileHeader;
  try {
    header = JSON.parse(buf.subarray(MAGIC.length, newline).toString("utf8")) as FileHeader;
  } catch {
    throw new BadFile("its header is not valid JSON");
  }
  if (header?.format !== 1 || !Array.isArray(header.documents) || !Array.isArray(header.supersedes)) throw new BadFile("its header is malformed");
  if (header.catalog !== expected.catalog) throw new BadFile(`it belongs to another catalog (${String(header.catalog)})`);
  const { name } = expected;
  if (header.writer !== name.writer || header.seq !== name.seq || header.kind !== name.kind) {
    throw new BadFile("its header does not agree with its name (writer, sequence or kind)");
  }
  for (const [i, d] of header.documents.entries()) {
    if (typeof d?.documentId !== "string" || !Number.isSafeInteger(d.bytes) || d.bytes < 0 || typeof d.sha256 !== "string" || !Array.isArray(d.heads)) {
      throw new BadFile(`document entry ${i} of its header is malformed`);
    }
  }
  if (!header.supersedes.every((s) => typeof s === "string")) throw new BadFile("its list of superseded files is malformed");
  // A writer replaces only its own files: a list naming another writer's would make readers
  // take that writer's files as held without ever reading them.
  if (header.supersedes.some((s) => parseName(s)?.writer !== header.writer)) throw new BadFile("it claims to replace files it did not write");
  return { header, end: newline + 1 };
}

/** Verifies a whole downloaded file; throws BadFile naming the first problem found. */
export function verifyFile(body: Uint8Array, expected: { name: FileName; catalog: string }): { header: FileHeader; documents: FileDocument[] } {
  // The name is the content's hash: the cheapest check, and it catches truncation and bit flips.
  if (sha256Hex(body) !== expected.name.sha256) {
    throw new BadFile(`its content does not match the hash in its name (${body.byteLength} bytes: truncated, altered, or renamed)`);
  }
  const read = readHeader(body, expected);
  if (!read) throw new BadFile("its header is truncated");
  const { header } = read;
  const documents: FileDocument[] = [];
  let offset = read.end;
  for (const entry of header.documents) {
    const data = body.subarray(offset, offset + entry.bytes);
    if (data.byteLength !== entry.bytes) throw new BadFile(`it is truncated (document ${entry.documentId} has ${data.byteLength} of ${entry.bytes} bytes)`);
    if (sha256Hex(data) !== entry.sha256) throw new BadFile(`document ${entry.documentId} does not match its checksum`);
    try {
      // Parsed only to prove it is Automerge data, then freed (WebAssembly memory).
      A.free(A.loadIncremental(A.init(), data));
    } catch (err) {
      throw new BadFile(`document ${entry.documentId} is not Automerge data (${(err as Error).message})`);
    }
    documents.push({ documentId: entry.documentId, data, heads: entry.heads });
    offset += entry.bytes;
  }
  if (offset !== body.byteLength) throw new BadFile(`it has ${body.byteLength - offset} unexpected bytes after the last document`);
  return { header, documents };
}
