/**
 * Automerge as the CLI loads it (scripts/bundle-cli.mjs routes every import of
 * "@automerge/automerge" and "@automerge/automerge/slim" in the bundle here), for two reasons.
 *
 * CommonJS: importing Automerge's ES module entry makes Node's ES module loader scan its 220 KB
 * CommonJS WebAssembly glue for exports; requiring the CommonJS build instead costs 745 million
 * instructions against 931 million (counted with callgrind), about 35 ms of every command that
 * writes or syncs. Its exports are a superset of the slim entry automerge-repo imports, so shelf
 * and automerge-repo share this one instance.
 *
 * Tiering budget: V8 runs a WebAssembly function as baseline code first and recompiles it with its
 * optimizing compiler once it has run for a "tiering budget". Automerge's functions are large, and
 * optimizing one costs tens of MiB and a core for a while: a one-record `shelf set` at 227k records
 * spent 0.3 s of CPU and 40 MiB on code it had stopped running by the time it was ready, and an idle
 * daemon kept the compiler's memory (docs/architecture.md, "Loading Automerge"). With a budget
 * 100 times V8's default, short commands and idle daemons never optimize, and bulk work (import,
 * rebuild, join) still optimizes what it runs most. V8 reads it when the module is compiled, so it
 * is set just before; and only here, since a changed flag also makes Node compile the built-in
 * modules it loads afterwards without their code cache (a read that set it ran 4% more instructions).
 */
"use strict";

const WASM_TIERING_BUDGET = 180_000_000;

require("node:v8").setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
module.exports = require("@automerge/automerge");
