/** The error registry and docs/errors.md stay in step: every code documented, with its exit code. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/errors.js";

const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
const documented = new Map([...doc.matchAll(/^\| `(SHELF_E_[A-Z_]+)` \| (\d) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

describe("error registry", () => {
  it("documents every code with its exit code, and nothing else", () => {
    const registry = new Map(Object.entries(ERROR_CODES).map(([code, { exit }]) => [code, exit]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(registry));
  });

  it("uses exit code 2 only for usage errors and 1 for the rest", () => {
    for (const [code, { exit }] of Object.entries(ERROR_CODES)) {
      expect([1, 2]).toContain(exit);
      if (exit === 2) expect(["SHELF_E_USAGE", "SHELF_E_INVALID_ID", "SHELF_E_INVALID_FIELD"]).toContain(code);
    }
  });
});
