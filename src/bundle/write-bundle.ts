/** Writes a bundle file (bundle-format.ts), reading each document once. */
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { ShelfError } from "../errors.js";
import { MAGIC, type BundleHeader, type BundleSource, type Progress } from "./bundle-format.js";

/** The documents' bytes are copied behind the header in blocks of this size. */
const COPY_BLOCK_BYTES = 64 * 1024;

/**
 * Writes a bundle of `documents`, in that order; returns the file's size in bytes. The header
 * names each document's length and hash, so the documents are written first, to a file of their
 * own, and measured as they go; then the header and a copy of them make the bundle. Each
 * document is read once: reading every stored chunk twice (to measure, then to write) made an
 * export hold twice the catalog's size in Buffers until V8 collected them.
 */
export function writeBundle(path: string, catalog: BundleHeader["catalog"], createdBy: string, documents: readonly BundleSource[], onProgress?: Progress): number {
  const temporary = `${path}.${process.pid}.tmp`;
  const body = `${temporary}.documents`;
  let fd: number | undefined;
  let bodyFd: number | undefined;
  try {
    bodyFd = openSync(body, "w+");
    let bodyBytes = 0;
    const measured: BundleHeader["documents"] = [];
    for (const [i, d] of documents.entries()) {
      const hash = createHash("sha256");
      let bytes = 0;
      for (const part of "data" in d ? [d.data] : d.parts()) {
        hash.update(part);
        bytes += writeAll(bodyFd, part);
      }
      measured.push({ documentId: d.documentId, bytes, sha256: hash.digest("hex") });
      bodyBytes += bytes;
      onProgress?.(i + 1, documents.length);
    }
    const header: BundleHeader = { format: 1, catalog, createdAt: new Date().toISOString(), createdBy, documents: measured };
    fd = openSync(temporary, "w");
    const written = writeAll(fd, Buffer.from(MAGIC + JSON.stringify(header) + "\n")) + copyAll(bodyFd, bodyBytes, fd);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
    return written;
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temporary, { force: true });
    if (!(err as NodeJS.ErrnoException).syscall) throw err;
    throw new ShelfError("SHELF_E_IO", `cannot write bundle ${path}: ${(err as Error).message}`, "check that the directory exists and is writable, and that the disk has room");
  } finally {
    if (bodyFd !== undefined) closeSync(bodyFd);
    rmSync(body, { force: true });
  }
}

function writeAll(fd: number, data: Uint8Array): number {
  for (let at = 0; at < data.byteLength; ) at += writeSync(fd, data, at, data.byteLength - at);
  return data.byteLength;
}

/** Appends the first `bytes` bytes of the file open as `from` to the file open as `to`. */
function copyAll(from: number, bytes: number, to: number): number {
  const block = Buffer.allocUnsafe(Math.min(COPY_BLOCK_BYTES, bytes));
  for (let at = 0; at < bytes; ) {
    const read = readSync(from, block, 0, Math.min(block.byteLength, bytes - at), at);
    if (read === 0) throw new ShelfError("SHELF_E_IO", `the bundle's documents file ended at byte ${at} of ${bytes}`);
    at += writeAll(to, block.subarray(0, read));
  }
  return bytes;
}
