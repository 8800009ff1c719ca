/**
 * A module loader hook for tests that check what a command loads. Run node with
 * `--import ./test/helpers/record-imports.mjs` and SHELF_RECORD_IMPORTS=FILE: every module resolved
 * from a node_modules directory, and every file of the bundled CLI (dist/src/cli/), is appended to
 * FILE, one URL a line.
 *
 * This one file is both the registration (on the main thread) and the hooks (on the loader thread).
 */
import { appendFileSync } from "node:fs";
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

const file = process.env.SHELF_RECORD_IMPORTS;
if (isMainThread && file) register(import.meta.url, { data: { file } });

let output;

export function initialize(data) {
  output = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (output && (resolved.url.includes("/node_modules/") || resolved.url.includes("/dist/src/cli/"))) appendFileSync(output, resolved.url + "\n");
  return resolved;
}
