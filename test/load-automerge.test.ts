/**
 * src/cli/load-automerge.cjs, through which the built CLI loads Automerge, in a process of its
 * own: Automerge works, its module was read into WebAssembly memory rather than a Buffer, and
 * fs.readFileSync is Node's own again afterwards, for every other caller.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const LOADER = join(import.meta.dirname, "..", "src", "cli", "load-automerge.cjs");

const CHILD = `
const fs = require("node:fs");
const own = fs.readFileSync;
let memories = 0;
const Memory = WebAssembly.Memory;
WebAssembly.Memory = function (...args) { memories++; return new Memory(...args); };
const A = require(${JSON.stringify(LOADER)});
WebAssembly.Memory = Memory;
const doc = A.load(A.save(A.change(A.init(), (d) => { d.name = "left-pad"; })));
process.stdout.write(JSON.stringify({ name: doc.name, memories, ownReadFileSync: fs.readFileSync === own, reads: fs.readFileSync(${JSON.stringify(LOADER)}, "utf8").length > 0 }));
`;

describe("loading Automerge", () => {
  it("reads its module into WebAssembly memory, works, and leaves fs.readFileSync as it was", () => {
    const result = JSON.parse(execFileSync(process.execPath, ["-e", CHILD], { encoding: "utf8" }));
    // one WebAssembly.Memory for the module's bytes; Automerge's own comes from its module's exports
    expect(result).toEqual({ name: "left-pad", memories: 1, ownReadFileSync: true, reads: true });
  });
});
