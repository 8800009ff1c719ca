/**
 * Automerge is WebAssembly. V8 first runs it as quickly compiled baseline code and recompiles a
 * function with its optimizing compiler once it has run for a "tiering budget". Automerge's
 * functions are large, and optimizing one costs tens of MiB and a core for a while: a one-record
 * `shelf set` at 227k records spent 0.3 s of CPU and 40 MiB on code it had stopped running by the
 * time it was ready, and an idle daemon kept the compiler's memory (docs/architecture.md,
 * "WebAssembly tiering"). With a budget 100 times V8's default, short commands and idle daemons
 * never optimize, and bulk work (import, rebuild, join) still optimizes what it runs most.
 *
 * The budget is read when the WebAssembly module is compiled: the CLI's bundle routes every import
 * of Automerge through this module first (scripts/bundle-cli.mjs), so that commands that never load
 * Automerge leave V8's flags alone.
 */
import { setFlagsFromString } from "node:v8";

export const WASM_TIERING_BUDGET = 180_000_000;

setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
