/**
 * Bundles the CLI for start-up: `npm run build` runs tsc, then this script replaces
 * dist/src/cli/main.js with one file holding the command table and the read path, and puts each
 * lazily imported command in a chunk of its own (dist/src/cli/chunks/). Node then resolves, reads
 * and links a handful of files instead of about thirty, which is most of a fresh `shelf search`'s
 * own cost (docs/architecture.md, "Start-up").
 *
 * commander and automerge-repo (with its WebSocket adapter and their plain JavaScript
 * dependencies) are bundled; every other npm package stays in node_modules, so each keeps its one
 * copy (Automerge must be one instance for shelf and automerge-repo alike, better-sqlite3 and cbor-x
 * load native addons from there). chunks/packages.json names the npm packages bundled into each
 * output file, so test/lean-reads.test.ts still sees every package a command loads.
 */
import { build } from "esbuild";
import { readFileSync, rmSync, writeFileSync } from "node:fs";

const BUNDLED = ["commander", "@automerge/automerge-repo", "@automerge/automerge-repo-network-websocket"];
/** Packages the bundled ones use that must stay in node_modules: cbor-x loads a native addon. */
const KEPT_EXTERNAL = ["cbor-x"];
const OUT = "dist/src/cli";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const external = [...Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name)), ...KEPT_EXTERNAL];

rmSync(`${OUT}/chunks`, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: { main: "src/cli/main.ts" },
  outdir: OUT,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
  // commander is CommonJS: its require() calls of Node's own modules need a require in ESM
  banner: { js: 'import { createRequire as __shelfCreateRequire } from "node:module"; const require = __shelfCreateRequire(import.meta.url);' },
});

// program.ts finds package.json relative to its own file: it must stay in main.js, not in a chunk.
const main = metafile.outputs[`${OUT}/main.js`];
if (!main?.inputs["src/cli/program.ts"]) throw new Error(`bundle-cli: src/cli/program.ts is not in ${OUT}/main.js`);

/** The npm package an input path belongs to, or undefined for shelf's own sources. */
function packageOf(input) {
  const at = input.lastIndexOf("node_modules/");
  if (at < 0) return undefined;
  const parts = input.slice(at + "node_modules/".length).split("/");
  return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

const bundledPackages = {};
for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
  if (!output.endsWith(".js")) continue;
  const packages = [...new Set(Object.keys(inputs).map(packageOf).filter(Boolean))].sort();
  if (packages.length > 0) bundledPackages[output.slice(OUT.length + 1)] = packages;
}
writeFileSync(`${OUT}/chunks/packages.json`, JSON.stringify(bundledPackages, null, 2) + "\n");
