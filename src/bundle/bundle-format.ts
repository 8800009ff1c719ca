/**
 * The bundle file: a catalog's Automerge documents in one file, to carry on a USB stick.
 *
 *   SHELF-BUNDLE 1\n
 *   {"format":1,"catalog":{...},"documents":[{"documentId","bytes","sha256"},...]}\n
 *   <the documents' bytes, one after another, in header order>
 *
 * A document's bytes are any Automerge data that loads as the whole document: one saved document,
 * or a document's stored chunks one after another (what automerge-repo itself loads).
 *
 * Both sides stream: the writer (write-bundle.ts) and the reader (bundle-file.ts) hold one
 * document (or one stored chunk) at a time, whatever the catalog's size. Every document carries
 * its SHA-256 and the header its length, so a truncated or altered file is refused before anything
 * is merged. Files are written to a temporary name and renamed, so a reader never sees half a file.
 *
 * This module is the format alone: writing a bundle (`shelf export`) never loads Automerge.
 */
import { createHash } from "node:crypto";

export const MAGIC = "SHELF-BUNDLE 1\n";

export interface BundleHeader {
  format: 1;
  catalog: { url: string; name: string };
  createdAt: string;
  createdBy: string;
  documents: { documentId: string; bytes: number; sha256: string }[];
}

/** A document to write: its bytes whole, or in parts (read once, as they are written). */
export type BundleSource = { documentId: string; data: Uint8Array } | { documentId: string; parts: () => Iterable<Uint8Array> };

export interface BundleDocument {
  documentId: string;
  data: Uint8Array;
}

/** Where a document's bytes are in the file. */
export interface BundleEntry {
  documentId: string;
  bytes: number;
  sha256: string;
  offset: number;
}

export type Progress = (done: number, total: number) => void;

export const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
