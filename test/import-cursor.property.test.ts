/**
 * An import's memory of its source across runs (the cursor's ids, kept in SQLite: import-ids.ts),
 * checked against a model over random sequences of runs: each run reads some of a few packages,
 * with or without --prune. Whatever the sequence, every run reports as vanished exactly the
 * packages an earlier run read, that it does not read and that were not tombstoned since; --prune
 * tombstones those, and a package that comes back is restored.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runImport } from "../src/import/run-import.js";
import { getRecord } from "../src/view/queries.js";
import { tempCatalog, tempDir } from "./helpers/temp-home.js";

const NAMES = ["a", "b", "c", "d", "e", "f"];

interface Run {
  read: string[];
  prune: boolean;
}

const run = fc.record({ read: fc.subarray(NAMES), prune: fc.boolean() });

describe("import cursor across runs", () => {
  it("vanished, tombstoned and restored records follow the model for any sequence of runs", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(run, { minLength: 1, maxLength: 6 }), async (runs: Run[]) => {
        const { store, instance } = await tempCatalog(4);
        const source = join(tempDir(), "packages.tsv");
        // the model: per package, whether the cursor knows it and tombstoned it; per record, deleted
        const cursor = new Map<string, boolean>();
        const deleted = new Map<string, boolean>();
        for (const [i, { read, prune }] of runs.entries()) {
          writeFileSync(source, ["name\tversion\tdownloads_a_month\tsummary", ...read.map((name) => `${name}\t1.${i}\t1\t`)].join("\n") + "\n");
          const vanished = [...cursor].filter(([name, pruned]) => !pruned && !read.includes(name)).map(([name]) => `npm:${name}`).sort();
          const summary = await runImport(store, { provider: "tsv", source, prune });
          expect(summary).toMatchObject({ vanished: vanished.length, vanishedIds: vanished, tombstoned: prune ? vanished.length : 0, rejected: 0 });
          for (const name of read) {
            cursor.set(name, false);
            deleted.set(name, false);
          }
          if (prune) {
            for (const id of vanished) {
              cursor.set(id.slice("npm:".length), true);
              deleted.set(id.slice("npm:".length), true);
            }
          }
          for (const name of NAMES) expect(getRecord(instance.db, store.catalog.catId, `npm:${name}`)?.deleted).toBe(deleted.get(name));
        }
      }),
      { numRuns: 25 },
    );
  });
});
