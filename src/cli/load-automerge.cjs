/**
 * Automerge as the CLI loads it (scripts/bundle-cli.mjs routes every import of
 * "@automerge/automerge" and "@automerge/automerge/slim" in the bundle here), for three reasons.
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
 *
 * Memory: the module's bytes are read outside malloc (readOutsideMalloc, below).
 */
"use strict";

const fs = require("node:fs");

const WASM_TIERING_BUDGET = 180_000_000;
const WASM_FILE = "automerge_wasm_bg.wasm";
const WASM_PAGE_BYTES = 65_536;

/**
 * The module's bytes, read into WebAssembly memory rather than a Buffer. glibc keeps blocks over
 * 128 KiB out of its heaps, but once it unmaps a larger one it raises that threshold to the
 * block's size and, to twice that, the free space it leaves at the top of each thread's heap.
 * Automerge's glue reads its 3.6 MB module with readFileSync and drops it once compiled, which
 * set them to 3.6 and 7.3 MB; V8's four worker threads then each kept up to 7 MB of their
 * compilers' memory: a 10k-record import peaked at 107 MiB (median of four), 96 with this (87 to
 * 92 with MALLOC_MMAP_THRESHOLD_ set, which keeps glibc from adjusting it). WebAssembly memory is
 * mapped and unmapped by V8 itself, so the bytes never pass through malloc.
 */
function readOutsideMalloc(path) {
  const fd = fs.openSync(path, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(size / WASM_PAGE_BYTES) });
    const bytes = Buffer.from(memory.buffer, 0, size);
    for (let at = 0; at < size; ) {
      const read = fs.readSync(fd, bytes, at, size - at, at);
      if (read === 0) throw new Error(`${path} ended at byte ${at} of ${size}`);
      at += read;
    }
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}

require("node:v8").setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
// Automerge's glue reads its module with fs.readFileSync while it is required, and nothing else
// runs until that returns: the module's read alone goes through readOutsideMalloc.
const readFileSync = fs.readFileSync;
fs.readFileSync = function readAutomergeModule(path, ...options) {
  if (typeof path === "string" && path.endsWith(WASM_FILE) && options.length === 0) return readOutsideMalloc(path);
  return readFileSync.call(this, path, ...options);
};
try {
  module.exports = require("@automerge/automerge");
} finally {
  fs.readFileSync = readFileSync;
}
