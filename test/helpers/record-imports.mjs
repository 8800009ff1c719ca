/**
 * A module loader hook for tests that check what a command loads. Run node with
 * `--import ./test/helpers/record-imports.mjs` and SHELF_RECORD_IMPORTS=FILE: every module resolved
 * from a node_modules directory, and every file of the bundled CLI (dist/src/cli/), is appended to
 * FILE, one URL a line, whether it was imported or required (the bundled CLI is CommonJS).
 *
 * This one file is both the registration (on the main thread) and the hooks (on the loader thread).
 */
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";
import { pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";

const file = process.env.SHELF_RECORD_IMPORTS;
if (isMainThread && file) {
  register(import.meta.url, { data: { file } });
  // require() does not go through the hooks below in Node 20: record what it resolves here.
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (...args) {
    const resolved = resolveFilename.apply(this, args);
    if (recorded(resolved)) appendFileSync(file, pathToFileURL(resolved).href + "\n");
    return resolved;
  };
}

let output;

function recorded(pathOrUrl) {
  return pathOrUrl.includes("/node_modules/") || pathOrUrl.includes("/dist/src/cli/");
}

export function initialize(data) {
  output = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (output && recorded(resolved.url)) appendFileSync(output, resolved.url + "\n");
  return resolved;
}
