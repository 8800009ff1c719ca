/**
 * The bundle file: a catalog's Automerge documents in one file, to carry on a USB stick.
 *
 *   SHELF-BUNDLE 1\n
 *   {"format":1,"catalog":{...},"documents":[{"documentId","bytes","sha256"},...]}\n
 *   <the documents' bytes, one after another, in header order>
 *
 * Every document carries its SHA-256, so a truncated or altered file is refused before anything
 * is merged. Files are written to a temporary name and renamed, so a reader never sees half a file.
 */
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import * as A from "@automerge/automerge";
import { ShelfError } from "../errors.js";

const MAGIC = "SHELF-BUNDLE 1\n";
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export interface BundleDocument {
  documentId: string;
  data: Uint8Array;
}

export interface BundleHeader {
  format: 1;
  catalog: { url: string; name: string };
  createdAt: string;
  createdBy: string;
  documents: { documentId: string; bytes: number; sha256: string }[];
}

export interface Bundle {
  header: BundleHeader;
  documents: BundleDocument[];
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

export function writeBundle(path: string, catalog: BundleHeader["catalog"], createdBy: string, documents: BundleDocument[]): number {
  const header: BundleHeader = {
    format: 1,
    catalog,
    createdAt: new Date().toISOString(),
    createdBy,
    documents: documents.map((d) => ({ documentId: d.documentId, bytes: d.data.byteLength, sha256: sha256(d.data) })),
  };
  const parts = [Buffer.from(MAGIC + JSON.stringify(header) + "\n"), ...documents.map((d) => d.data)];
  const body = Buffer.concat(parts);
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, body);
    renameSync(temporary, path);
  } catch (err) {
    throw new ShelfError("SHELF_E_IO", `cannot write bundle ${path}: ${(err as Error).message}`, "check that the directory exists and is writable");
  }
  return body.byteLength;
}

/** Reads and verifies a bundle completely; throws SHELF_E_BAD_INPUT_FILE naming what is wrong. */
export function readBundle(path: string): Bundle {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    throw new ShelfError("SHELF_E_IO", `cannot read bundle ${path}: ${(err as Error).message}`, "check the path");
  }
  const bad = (why: string) => new ShelfError("SHELF_E_BAD_INPUT_FILE", `${path} is not a usable shelf bundle: ${why}`, "make the bundle again with `shelf export FILE` on an instance that holds the catalog");
  if (file.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) throw bad("it does not start with the shelf bundle signature");
  const headerEnd = file.indexOf(0x0a, MAGIC.length);
  if (headerEnd < 0 || headerEnd - MAGIC.length > MAX_HEADER_BYTES) throw bad("its header is missing or truncated");
  let header: BundleHeader;
  try {
    header = JSON.parse(file.subarray(MAGIC.length, headerEnd).toString("utf8")) as BundleHeader;
  } catch {
    throw bad("its header is not valid JSON");
  }
  if (header?.format !== 1 || !Array.isArray(header.documents) || typeof header.catalog?.url !== "string" || typeof header.catalog?.name !== "string") {
    throw bad("its header lacks the catalog or document list");
  }
  const documents: BundleDocument[] = [];
  let offset = headerEnd + 1;
  for (const [i, entry] of header.documents.entries()) {
    if (typeof entry?.documentId !== "string" || !Number.isSafeInteger(entry.bytes) || entry.bytes < 0) throw bad(`document entry ${i} is malformed`);
    const data = new Uint8Array(file.subarray(offset, offset + entry.bytes));
    if (data.byteLength !== entry.bytes) throw bad(`it is truncated (document ${entry.documentId} has ${data.byteLength} of ${entry.bytes} bytes)`);
    if (sha256(data) !== entry.sha256) throw bad(`document ${entry.documentId} does not match its checksum (the file was altered or damaged)`);
    try {
      // Loaded only to prove it is Automerge data; freed at once (WebAssembly memory the garbage
      // collector would only reclaim much later).
      A.free(A.load(data));
    } catch (err) {
      throw bad(`document ${entry.documentId} is not Automerge data (${(err as Error).message})`);
    }
    documents.push({ documentId: entry.documentId, data });
    offset += entry.bytes;
  }
  if (offset !== file.byteLength) throw bad(`it has ${file.byteLength - offset} unexpected bytes after the last document`);
  return { header, documents };
}
