/**
 * Bundles the CLI for start-up: `npm run build` runs tsc, then this script writes
 * dist/src/cli/main.cjs, one CommonJS file holding the command table and the read path, and puts
 * each lazily imported command in a chunk of its own (dist/src/cli/chunks/). Node then reads a
 * handful of files instead of about thirty, which is most of a fresh `shelf search`'s own cost
 * (docs/architecture.md, "Start-up").
 *
 * commander, automerge-repo (with its WebSocket adapter and their plain JavaScript dependencies),
 * cbor-x and bs58check are bundled; every other npm package stays in node_modules, so each keeps its
 * one copy (Automerge must be one instance for shelf and automerge-repo alike, better-sqlite3 loads
 * a native addon from there). chunks/packages.json names the npm packages bundled into each
 * output file, so test/lean-reads.test.ts still sees every package a command loads.
 */
import { build } from "esbuild";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

const BUNDLED = ["commander", "@automerge/automerge-repo", "@automerge/automerge-repo-network-websocket", "bs58check", "cbor-x"];
const OUT = "dist/src/cli";

/**
 * automerge-repo 2.5 races every load from storage against one module-wide promise that never
 * settles (helpers/foreverPromise.js). Each race leaves its callbacks on that promise, and they keep
 * the race's result reachable: every document a relay or daemon ever loaded from disk stayed in its
 * heap, about 4 MiB per shard of a 227k catalog (docs/architecture.md, "Relay and daemon memory").
 * A thenable that never settles and drops the callbacks it is given races the same way and holds
 * nothing. The build fails if the file is not found, so an upgrade cannot bring the leak back unseen.
 */
const FOREVER_PROMISE = /[\\/]@automerge[\\/]automerge-repo[\\/]dist[\\/]helpers[\\/]foreverPromise\.js$/;
let foreverPromiseReplaced = false;
const neverSettlingForeverPromise = {
  name: "never-settling-forever-promise",
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: FOREVER_PROMISE }, () => {
      foreverPromiseReplaced = true;
      return {
        loader: "js",
        contents: "export const foreverPromise = { then() { return foreverPromise; }, catch() { return foreverPromise; }, finally() { return foreverPromise; } };\n",
      };
    });
  },
};

/**
 * Loading a document from storage cost a relay or daemon about 110 ms of CPU for a shard of a
 * 227k catalog (5,000 fields), twice what the document itself costs, on things nothing in shelf
 * uses: storage loaded it with `loadIncremental` on an empty document, which builds the document's
 * JavaScript object from a patch per field, and the handle then diffed the whole document against
 * the empty one (50 ms) for its "change" event's patches, which automerge-repo's synchronizer (the
 * one listener) never reads. Here the document is loaded lean, as `loadLean` in
 * src/model/shard-core.ts does: into Automerge's core, with its JavaScript object never built
 * (shelf reads a stored document through its core, a root with A.toJS). The patches are computed
 * when a listener reads them. Each edit below must match exactly once, or the build fails.
 */
const PACKAGE_EDITS = [
  {
    file: /[\\/]@automerge[\\/]automerge-repo[\\/]dist[\\/]storage[\\/]StorageSubsystem\.js$/,
    from: "const newDoc = A.loadIncremental(A.init(), binary);",
    to: "const newDoc = A.init(); if (binary.byteLength > 0) { const core = A.getBackend(newDoc); core.loadIncremental(binary); core.updateDiffCursor(); }",
  },
  {
    file: /[\\/]@automerge[\\/]automerge-repo[\\/]dist[\\/]DocHandle\.js$/,
    from: `const patches = A.diff(after, beforeHeads, afterHeads);
            if (patches.length > 0) {
                this.emit("change", {
                    handle: this,
                    doc: after,
                    patches,`,
    to: `let patches;
            {
                this.emit("change", {
                    handle: this,
                    doc: after,
                    get patches() { return (patches ??= A.diff(after, beforeHeads, afterHeads)); },`,
  },
  // automerge-repo passes a document's changes on to its other peers at most every 100 ms, counted
  // from the document's load: a relay or daemon that loaded a shard for a change on its way (a
  // prefetch, a changing notice) held that change until 100 ms after the load, and at 10k records,
  // where a load and a write take a few milliseconds, that wait was most of an edit's way from one
  // daemon to another. 10 ms still gathers a burst of messages into one.
  {
    file: /[\\/]@automerge[\\/]automerge-repo[\\/]dist[\\/]synchronizer[\\/]DocSynchronizer\.js$/,
    from: "syncDebounceRate = 100;",
    to: "syncDebounceRate = 10;",
  },
  // commander loads child_process when it is loaded, about 6 ms of every command, for subcommands
  // that are executables of their own, which shelf has none of.
  {
    file: /[\\/]commander[\\/]lib[\\/]command\.js$/,
    from: "const childProcess = require('node:child_process');",
    to: "const childProcess = { get spawn() { return require('node:child_process').spawn; } };",
  },
];
const applied = new Set();
const packageEdits = {
  name: "package-edits",
  setup(pluginBuild) {
    for (const edit of PACKAGE_EDITS) {
      pluginBuild.onLoad({ filter: edit.file }, (args) => {
        const source = readFileSync(args.path, "utf8");
        const at = source.indexOf(edit.from);
        if (at < 0 || source.indexOf(edit.from, at + 1) >= 0) throw new Error(`bundle-cli: ${args.path} no longer holds exactly one ${JSON.stringify(edit.from.split("\n")[0])}`);
        applied.add(edit);
        return { loader: "js", contents: source.slice(0, at) + edit.to + source.slice(at + edit.from.length) };
      });
    }
  },
};

/**
 * Every import of Automerge in the bundle (shelf's, automerge-repo's full and slim ones) loads
 * src/cli/load-automerge.cjs instead, which sets V8's WebAssembly tiering budget and then requires
 * Automerge's CommonJS build: see that file for why. Its own require of the package stays external.
 */
const AUTOMERGE = /^@automerge\/automerge(\/slim)?$/;
const LOAD_AUTOMERGE = resolve("src/cli/load-automerge.cjs");
let automergeRouted = false;
const automergeThroughLoader = {
  name: "automerge-through-loader",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: AUTOMERGE }, (args) => {
      if (args.importer === LOAD_AUTOMERGE) return { path: args.path, external: true };
      automergeRouted = true;
      return { path: LOAD_AUTOMERGE };
    });
  },
};

/**
 * cbor-x (the sync messages' encoding) is bundled from its portable entry. Its Node entry loads the
 * native `cbor-extract` addon, and the addon's loader `child_process`, as it is loaded:
 * about 14 ms of every sync that exchanges anything, for faster decoding of long runs of strings,
 * which sync messages (binary changes, a few ids) do not hold.
 */
const CBOR_X = /^cbor-x$/;
const CBOR_X_PORTABLE = resolve("node_modules/cbor-x/index.js");
let cborPortable = false;
const cborWithoutNativeAddon = {
  name: "cbor-x-without-native-addon",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: CBOR_X }, () => {
      cborPortable = true;
      return { path: CBOR_X_PORTABLE };
    });
  },
};

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const external = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name));

// Step one: esbuild splits only ES modules, so the bundle is first written as ES modules here.
const STAGE = "dist/.cli-esm";
rmSync(STAGE, { recursive: true, force: true });
rmSync(`${OUT}/chunks`, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: { main: "src/cli/main.ts" },
  outdir: STAGE,
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
  plugins: [neverSettlingForeverPromise, packageEdits, automergeThroughLoader, cborWithoutNativeAddon],
});

if (!automergeRouted) throw new Error("bundle-cli: no import of @automerge/automerge went through src/cli/load-automerge.cjs");
for (const edit of PACKAGE_EDITS) if (!applied.has(edit)) throw new Error(`bundle-cli: no file matching ${edit.file} was bundled`);
if (!cborPortable) throw new Error("bundle-cli: nothing in the bundle imports cbor-x; check its entry");
if (!foreverPromiseReplaced) throw new Error("bundle-cli: @automerge/automerge-repo's helpers/foreverPromise.js was not bundled; check the leak it works around");

// program.ts finds package.json relative to its own file: it must stay in main, not in a chunk.
const main = metafile.outputs[`${STAGE}/main.js`];
if (!main?.inputs["src/cli/program.ts"]) throw new Error(`bundle-cli: src/cli/program.ts is not in ${STAGE}/main.js`);

/**
 * Step two: each file becomes CommonJS (.cjs), beside tsc's output. Node's ES module loader costs a
 * fresh command about 13 ms more than require() for the same files (a cold `shelf search` at 227k
 * records: 140 against 126 ms, `node -e 0` 83 ms), for resolving, reading and linking each file
 * asynchronously. An import() of one of shelf's own files or of a Node module becomes a require();
 * one of a package stays an import(), since a package may be an ES module only (`webdav` is).
 * esbuild keeps the files strict, as the ES modules were; `import.meta.url` becomes the file's own
 * URL.
 */
/** The CommonJS file's path under OUT for a file staged as an ES module. */
const commonJsName = (staged) => `${staged.slice(STAGE.length + 1, -".js".length)}.cjs`;
const staged = Object.keys(metafile.outputs).filter((f) => f.endsWith(".js"));
const usingImportMeta = new Set(staged.filter((file) => readFileSync(file, "utf8").includes("import.meta")));
const toCommonJs = (files, banner) =>
  files.length === 0
    ? undefined
    : build({
        entryPoints: files,
        outdir: OUT,
        outbase: STAGE,
        outExtension: { ".js": ".cjs" },
        format: "cjs",
        platform: "node",
        target: "node20",
        sourcemap: "linked",
        logLevel: "warning",
        define: { "import.meta.url": "__shelfModuleUrl" },
        banner: { js: banner },
      });
// esbuild writes "use strict" first, but after a banner: such a banner restates it.
await toCommonJs([...usingImportMeta], '"use strict";\nvar __shelfModuleUrl = require("node:url").pathToFileURL(__filename).href;');
await toCommonJs(staged.filter((f) => !usingImportMeta.has(f)), "");
const OWN_FILE = /(require|import)\("(\.\.?\/[\w./-]+)\.js"\)/g;
const NODE_BUILTIN_IMPORT = /import\("(node:[\w/]+)"\)/g;
for (const file of staged) {
  const out = `${OUT}/${commonJsName(file)}`;
  const source = readFileSync(out, "utf8");
  if (source.includes("import.meta")) throw new Error(`bundle-cli: ${out} still uses import.meta`);
  const required = source
    .replace(OWN_FILE, (_, call, path) => (call === "require" ? `require("${path}.cjs")` : `Promise.resolve().then(() => require("${path}.cjs"))`))
    .replace(NODE_BUILTIN_IMPORT, (_, name) => `Promise.resolve().then(() => require("${name}"))`);
  writeFileSync(out, required);
}
// Automerge is loaded once, through the loader: only the loader names the package.
const namingAutomerge = staged.map((f) => `${OUT}/${commonJsName(f)}`).filter((f) => /"@automerge\/automerge(\/slim)?"/.test(readFileSync(f, "utf8")));
if (namingAutomerge.length !== 1) throw new Error(`bundle-cli: Automerge is required outside src/cli/load-automerge.cjs (${namingAutomerge.join(", ")})`);

// `node dist/src/cli/main.js` (tsc's entry, which this replaces) still runs the bundle.
writeFileSync(
  `${OUT}/main.js`,
  '#!/usr/bin/env node\n// The CLI is main.cjs (see scripts/bundle-cli.mjs); this keeps `node dist/src/cli/main.js` working.\nimport { createRequire } from "node:module";\ncreateRequire(import.meta.url)("./main.cjs");\n',
);
rmSync(`${OUT}/main.js.map`, { force: true });

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
  if (packages.length > 0) bundledPackages[commonJsName(output)] = packages;
}
writeFileSync(`${OUT}/chunks/packages.json`, JSON.stringify(bundledPackages, null, 2) + "\n");
rmSync(STAGE, { recursive: true, force: true });
