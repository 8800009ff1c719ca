/**
 * Local sources: what a SOURCE argument is (an HTTP URL, a directory, a file), and walking a
 * directory tree in a stable order. Errors name the path and say what was expected.
 */
import { lstat, readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ShelfError } from "../errors.js";

export const isHttpUrl = (source: string): boolean => /^https?:\/\//i.test(source);

/** The cursor key of a local path or URL: absolute path, or the URL without trailing slashes. */
export function sourceKey(source: string): string {
  if (isHttpUrl(source)) return source.replace(/\/+$/, "");
  if (source === "-") return "-";
  return resolve(source);
}

export async function sourceKind(source: string, expected: string): Promise<"url" | "dir" | "file"> {
  if (isHttpUrl(source)) return "url";
  try {
    return (await stat(source)).isDirectory() ? "dir" : "file";
  } catch (err) {
    throw new ShelfError("SHELF_E_IO", `cannot read ${source}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (err as Error).message}`, `give ${expected}`);
  }
}

/**
 * Every regular file under `dir` whose name `accept` takes, depth first, in name order (so runs
 * are reproducible). Symbolic links are not followed: a link could leave the tree or loop.
 */
export async function* walkFiles(dir: string, accept: (name: string) => boolean = () => true): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new ShelfError("SHELF_E_IO", `cannot list ${dir}: ${(err as Error).message}`);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkFiles(path, accept);
    else if (entry.isFile() && accept(entry.name)) yield path;
  }
}

/** A file's text, or the reason it cannot be read (for a rejection row). */
export async function readText(path: string): Promise<{ text: string } | { reason: string }> {
  try {
    const bytes = await readFile(path);
    if (bytes.includes(0)) return { reason: "it is binary data (NUL bytes), not text" };
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "") };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_ENCODING_INVALID_ENCODED_DATA") return { reason: "it is not UTF-8 text" };
    return { reason: `cannot read it: ${(err as Error).message}` };
  }
}

export async function isSymlink(path: string): Promise<boolean> {
  return (await lstat(path)).isSymbolicLink();
}
