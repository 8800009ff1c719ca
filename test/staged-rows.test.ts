/**
 * The rows an import keeps on disk until its source is read (src/import/staged-rows.ts), on a
 * real SQLite file: duplicates named by where they were first read, patches that come back as
 * they went in, and batches that never split a shard.
 */
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { StagedRows } from "../src/import/staged-rows.js";
import type { RecordPatch } from "../src/model/record.js";
import { openDb } from "../src/store/db.js";
import { tempDir } from "./helpers/temp-home.js";

function staged(predict: (id: string, patch: RecordPatch) => "created" | "updated" | "unchanged" = () => "created") {
  const db = openDb(join(tempDir("shelf-staged-"), "shelf.db"));
  onTestFinished(() => void db.close());
  // ids end in their shard's number, so a test can tell which shard a row went to
  const shardOf = (id: string) => Number(id.split("-").at(-1));
  return { db, rows: new StagedRows(db, shardOf, predict) };
}

describe("staged import rows", () => {
  it("names where a duplicate id was first read, before and after the rows reach the table", () => {
    const { rows } = staged();
    expect(rows.add("npm:a-1", "f.tsv:2", { name: "a" })).toBeUndefined();
    expect(rows.add("npm:a-1", "f.tsv:3", { name: "a again" })).toBe("f.tsv:2");
    for (let i = 0; i < 2_500; i++) rows.add(`npm:p${i}-${i % 7}`, `f.tsv:${i + 10}`, { name: `p${i}` });
    rows.finish();
    expect(rows.add("npm:a-1", "f.tsv:9999", { name: "late" })).toBe("f.tsv:2");
    expect(rows.add("npm:p5-5", "g.tsv:1", { name: "p5" })).toBe("f.tsv:15");
    expect(rows.has("npm:p2499-0")).toBe(true);
    expect(rows.has("npm:nowhere-1")).toBe(false);
  });

  it("gives back each changing row's patch as it was, a meta key set to undefined included, and counts what the view predicted", () => {
    const { rows } = staged((id) => (id.startsWith("npm:same") ? "unchanged" : id.startsWith("npm:old") ? "updated" : "created"));
    const patch: RecordPatch = { name: "x", summary: "émoji 🚀", meta: { license: "MIT", homepage: undefined, keywords: ["a", "b"] }, addTags: ["t"], deleted: false };
    rows.add("npm:new-3", "a:1", patch);
    rows.add("npm:old-3", "a:2", { version: "2.0.0" });
    rows.add("npm:same-3", "a:3", { version: "1.0.0" });
    rows.finish();
    expect(rows.predicted).toEqual({ created: 1, updated: 1, unchanged: 1 });
    const written = [...rows.changedBatches(100)].flat();
    expect(written).toEqual([
      { id: "npm:new-3", patch },
      { id: "npm:old-3", patch: { version: "2.0.0" } },
    ]);
    expect(Object.hasOwn(written[0]!.patch.meta!, "homepage")).toBe(true);
  });

  it("writes in batches of whole shards, every changing row once, and drops its table", () => {
    const { db, rows } = staged();
    const ids: string[] = [];
    for (let i = 0; i < 3_000; i++) ids.push(`npm:r${i}-${(i * 7) % 40}`);
    for (const id of ids) rows.add(id, "src", { name: id });
    rows.finish();
    const batches = [...rows.changedBatches(500)];
    expect(batches.flat().map((w) => w.id).sort()).toEqual([...ids].sort());
    const shardsOf = (batch: { id: string }[]) => new Set(batch.map((w) => Number(w.id.split("-").at(-1))));
    for (const [i, batch] of batches.entries()) {
      // at least the asked size, except the last; no shard in two batches
      if (i < batches.length - 1) expect(batch.length).toBeGreaterThanOrEqual(500);
      for (const other of batches.slice(i + 1)) for (const shard of shardsOf(batch)) expect(shardsOf(other).has(shard)).toBe(false);
    }
    rows.drop();
    expect(db.prepare("SELECT count(*) AS n FROM temp.sqlite_master WHERE name = 'import_rows'").get()).toEqual({ n: 0 });
  });
});
