/** A bundle file (bundle-format.ts) opened for reading, and checked before anything is merged. */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type * as A from "@automerge/automerge";
import { ShelfError } from "../errors.js";
import { headsOf } from "./automerge-bytes.js";
import { MAGIC, sha256, type BundleDocument, type BundleEntry, type BundleHeader, type Progress } from "./bundle-format.js";

const MAX_HEADER_BYTES = 16 * 1024 * 1024;
const HEADER_READ_BYTES = 64 * 1024;

/** A bundle open for reading: its header is read and checked, its documents are read on demand. */
export class BundleFile {
  readonly path: string;
  readonly header: BundleHeader;
  readonly entries: readonly BundleEntry[];
  #fd: number | undefined;

  private constructor(path: string, fd: number, header: BundleHeader, entries: BundleEntry[]) {
    this.path = path;
    this.#fd = fd;
    this.header = header;
    this.entries = entries;
  }

  /**
   * Opens a bundle and checks its signature, its header and that its length is the sum of its
   * documents' (so a truncated file is refused here); throws SHELF_E_BAD_INPUT_FILE naming what
   * is wrong, or SHELF_E_IO.
   */
  static open(path: string): BundleFile {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (err) {
      throw new ShelfError("SHELF_E_IO", `cannot read bundle ${path}: ${(err as Error).message}`, "check the path");
    }
    try {
      const size = fstatSync(fd).size;
      const headerLine = readHeaderLine(fd, size, path);
      const header = parseHeader(headerLine, path);
      let offset = MAGIC.length + headerLine.byteLength + 1;
      const entries = header.documents.map((d) => {
        const entry = { ...d, offset };
        offset += d.bytes;
        return entry;
      });
      const cut = entries.find((e) => e.offset + e.bytes > size);
      if (cut) throw badBundle(path, `it is truncated (document ${cut.documentId} has ${Math.max(0, size - cut.offset)} of ${cut.bytes} bytes)`);
      if (offset !== size) throw badBundle(path, `it has ${size - offset} unexpected bytes after the last document`);
      return new BundleFile(path, fd, header, entries);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** One document's bytes, checked against its checksum. */
  read(entry: BundleEntry): Uint8Array {
    const data = new Uint8Array(entry.bytes);
    for (let at = 0; at < entry.bytes; ) {
      const n = readSync(this.#openFd(), data, at, entry.bytes - at, entry.offset + at);
      if (n === 0) throw badBundle(this.path, `it is truncated (document ${entry.documentId} has ${at} of ${entry.bytes} bytes)`);
      at += n;
    }
    if (sha256(data) !== entry.sha256) throw badBundle(this.path, `document ${entry.documentId} does not match its checksum (the file was altered or damaged)`);
    return data;
  }

  /** Every document in file order, read one at a time. */
  *documents(): Generator<BundleDocument> {
    for (const entry of this.entries) yield { documentId: entry.documentId, data: this.read(entry) };
  }

  /**
   * Checks every document (checksum, and that it is complete Automerge data) before anything is
   * merged, one at a time; returns each document's heads. Those `held` (stored as these very
   * bytes already, which were complete when stored) are checked against their checksum only, and
   * have no heads in the answer: there is nothing to merge from them.
   */
  verify(onProgress?: Progress, held: ReadonlySet<string> = new Set()): Map<string, A.Heads> {
    const heads = new Map<string, A.Heads>();
    for (const [i, entry] of this.entries.entries()) {
      const data = this.read(entry);
      if (held.has(entry.documentId)) {
        onProgress?.(i + 1, this.entries.length);
        continue;
      }
      try {
        heads.set(entry.documentId, headsOf(data));
      } catch (err) {
        throw badBundle(this.path, `document ${entry.documentId} is not Automerge data (${(err as Error).message})`);
      }
      onProgress?.(i + 1, this.entries.length);
    }
    return heads;
  }

  /** A SHELF_E_BAD_INPUT_FILE error about this bundle. */
  bad(why: string): ShelfError {
    return badBundle(this.path, why);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #openFd(): number {
    if (this.#fd === undefined) throw new ShelfError("SHELF_E_INTERNAL", `bundle ${this.path} was read after it was closed`);
    return this.#fd;
  }
}

/**
 * A whole bundle, checked, in memory: for small bundles (tests, tools). Commands stream through
 * BundleFile instead, whatever the bundle's size.
 */
export function readBundle(path: string): { header: BundleHeader; documents: BundleDocument[] } {
  const bundle = BundleFile.open(path);
  try {
    bundle.verify();
    return { header: bundle.header, documents: [...bundle.documents()] };
  } finally {
    bundle.close();
  }
}

function badBundle(path: string, why: string): ShelfError {
  return new ShelfError("SHELF_E_BAD_INPUT_FILE", `${path} is not a usable shelf bundle: ${why}`, "make the bundle again with `shelf export FILE` on an instance that holds the catalog");
}

/** The header's JSON line (without the signature and newline), read a block at a time. */
function readHeaderLine(fd: number, size: number, path: string): Buffer {
  const signature = Buffer.alloc(MAGIC.length);
  const got = readSync(fd, signature, 0, MAGIC.length, 0);
  if (got !== MAGIC.length || signature.toString("latin1") !== MAGIC) throw badBundle(path, "it does not start with the shelf bundle signature");
  const blocks: Buffer[] = [];
  let length = 0;
  for (let at = MAGIC.length; at < size && length <= MAX_HEADER_BYTES; ) {
    const block = Buffer.alloc(Math.min(HEADER_READ_BYTES, size - at));
    const n = readSync(fd, block, 0, block.length, at);
    if (n === 0) break;
    const newline = block.subarray(0, n).indexOf(0x0a);
    if (newline >= 0) {
      blocks.push(block.subarray(0, newline));
      if (length + newline > MAX_HEADER_BYTES) break;
      return Buffer.concat(blocks);
    }
    blocks.push(block.subarray(0, n));
    length += n;
    at += n;
  }
  throw badBundle(path, "its header is missing or truncated");
}

function parseHeader(line: Buffer, path: string): BundleHeader {
  let header: BundleHeader;
  try {
    header = JSON.parse(line.toString("utf8")) as BundleHeader;
  } catch {
    throw badBundle(path, "its header is not valid JSON");
  }
  if (header?.format !== 1 || !Array.isArray(header.documents) || typeof header.catalog?.url !== "string" || typeof header.catalog?.name !== "string") {
    throw badBundle(path, "its header lacks the catalog or document list");
  }
  const seen = new Set<string>();
  for (const [i, d] of header.documents.entries()) {
    const wellFormed = typeof d?.documentId === "string" && d.documentId !== "" && Number.isSafeInteger(d.bytes) && d.bytes >= 0 && typeof d.sha256 === "string" && /^[0-9a-f]{64}$/.test(d.sha256);
    if (!wellFormed) throw badBundle(path, `document entry ${i} is malformed`);
    if (seen.has(d.documentId)) throw badBundle(path, `document ${d.documentId} is listed twice`);
    seen.add(d.documentId);
  }
  return header;
}
