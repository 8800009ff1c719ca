/**
 * Bundles the CLI for start-up: `npm run build` runs tsc, then this script replaces
 * dist/src/cli/main.js with one file holding the command table and the read path, and puts each
 * lazily imported command in a chunk of its own (dist/src/cli/chunks/). Node then resolves, reads
 * and links a handful of files instead of about thirty, which is most of a fresh `shelf search`'s
 * own cost (docs/architecture.md, "Start-up").
 *
 * npm packages stay external, so each keeps its one copy in node_modules (Automerge must be one
 * instance for shelf and automerge-repo alike, better-sqlite3 loads its native addon from there)
 * and test/lean-reads.test.ts still sees every package a command loads. Only commander, which every
 * command loads and which Node would otherwise scan as CommonJS, is bundled.
 */
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";

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
