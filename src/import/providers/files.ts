/**
 * files: a directory scanned for files. Each distinct content is one record, `file:sha256:<hex>`,
 * with its path (relative to the scanned directory), size, MIME type (from the extension) and
 * modification time. A file whose size and mtime are those of the last scan is not read again:
 * its hash comes from the cursor. Symbolic links are not followed.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat } from "node:fs/promises";
import { basename, relative, sep } from "node:path";
import { lookup } from "mime-types";
import type { WriteItem } from "../../catalog/catalog-store.js";
import { ShelfError } from "../../errors.js";
import { validatePatch } from "../../model/record.js";
import { mapOrdered } from "../parallel.js";
import { sourceKey, sourceKind, walkFiles } from "../source-files.js";
import { compactMeta } from "../text.js";
import type { ImportRow, Provider, ProviderContext } from "../types.js";

/** [size, mtimeMs, sha256] of each file at the last scan, by relative path. */
type FileStates = Record<string, [number, number, string]>;

export interface ScannedFile {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** The files with one content -> one record (the first path in name order names it). */
export function filesToItem(sha256: string, files: ScannedFile[]): WriteItem {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const first = sorted[0]!;
  const meta = compactMeta({
    path: first.path,
    // other paths with the same content, when there are any
    paths: sorted.length > 1 ? sorted.slice(0, 50).map((f) => f.path) : undefined,
    size: first.size,
    mime: lookup(first.path) || "application/octet-stream",
    mtime: new Date(first.mtimeMs).toISOString(),
    sha256,
  });
  // A name or path this odd (control characters) is stored without them rather than rejected.
  const name = basename(first.path).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "\uFFFD");
  return { id: `file:sha256:${sha256}`, patch: validatePatch({ kind: "file", name, meta }) };
}

async function* readFiles(ctx: ProviderContext): AsyncGenerator<ImportRow> {
  const root = ctx.source;
  if ((await sourceKind(root, "a directory to scan")) !== "dir") {
    throw new ShelfError("SHELF_E_USAGE", `${root} is not a directory`, "files scans a directory (and everything under it)");
  }
  const previous = (ctx.previous.files ?? {}) as FileStates;
  const next: FileStates = {};
  ctx.next.files = next;
  ctx.count("hashed", 0);
  const paths: string[] = [];
  for await (const path of walkFiles(root)) paths.push(path);
  const byHash = new Map<string, ScannedFile[]>();
  const scan = async (path: string): Promise<ImportRow | ScannedFile> => {
    const rel = relative(root, path).split(sep).join("/");
    try {
      const st = await lstat(path);
      const before = previous[rel];
      let sha256: string;
      if (before && before[0] === st.size && before[1] === st.mtimeMs) sha256 = before[2];
      else {
        sha256 = await sha256File(path);
        ctx.count("hashed");
      }
      next[rel] = [st.size, st.mtimeMs, sha256];
      return { path: rel, size: st.size, mtimeMs: st.mtimeMs, sha256 };
    } catch (err) {
      return { ok: false, where: path, reason: `cannot read it: ${(err as Error).message}` };
    }
  };
  for await (const result of mapOrdered(paths, 4, scan)) {
    ctx.count("files");
    if ("ok" in result) {
      yield result;
      continue;
    }
    const list = byHash.get(result.sha256);
    if (list) list.push(result);
    else byHash.set(result.sha256, [result]);
  }
  for (const [sha256, files] of byHash) yield { ok: true, where: `${root}/${files[0]!.path}`, item: filesToItem(sha256, files) };
}

export const filesProvider: Provider = {
  name: "files",
  sources: "a directory: every file under it, by content hash (sha256), with path, size, MIME type and mtime",
  sourceKey,
  read: readFiles,
};
