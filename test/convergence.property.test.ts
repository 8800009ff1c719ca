/**
 * Convergence, by property-based testing: several replicas of one catalog make random edits while
 * apart, exchange bundles in random partial orders, then all meet. Whatever happened, every replica
 * must end with the same records and the same SQLite rows, and no replica's edit may be missing.
 */
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBundle } from "../src/bundle/bundle-file.js";
import { writeBundle } from "../src/bundle/write-bundle.js";
import { CatalogStore, documentIdOf } from "../src/catalog/catalog-store.js";
import { importBundle } from "../src/commands/bundle.js";
import { Instance } from "../src/instance.js";
import type { RecordPatch } from "../src/model/record.js";
import type { Db } from "../src/store/db.js";
import { countRecords, getRecordConflicts, listConflicts, listRecords } from "../src/view/queries.js";
import { recordHistory } from "../src/model/history.js";
import { tempDir } from "./helpers/temp-home.js";

const IDS = ["npm:a", "npm:b", "pypi:c", "winget:D.E"];
const WORDS = ["alpha", "beta", "gamma"];

type Op =
  | { kind: "add"; id: string; name: string }
  | { kind: "set"; id: string; field: "name" | "version" | "summary"; value: string }
  | { kind: "meta"; id: string; key: string; value: string }
  | { kind: "tag"; id: string; add: boolean; tag: string }
  | { kind: "rm" | "restore"; id: string }
  | { kind: "resolve"; id: string; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), id: fc.constantFrom(...IDS), name: fc.constantFrom(...WORDS) }),
  fc.record({ kind: fc.constant("set" as const), id: fc.constantFrom(...IDS), field: fc.constantFrom("name" as const, "version" as const, "summary" as const), value: fc.constantFrom(...WORDS) }),
  fc.record({ kind: fc.constant("meta" as const), id: fc.constantFrom(...IDS), key: fc.constantFrom("license", "homepage"), value: fc.constantFrom(...WORDS) }),
  fc.record({ kind: fc.constant("tag" as const), id: fc.constantFrom(...IDS), add: fc.boolean(), tag: fc.constantFrom(...WORDS) }),
  fc.record({ kind: fc.constantFrom("rm" as const, "restore" as const), id: fc.constantFrom(...IDS) }),
  fc.record({ kind: fc.constant("resolve" as const), id: fc.constantFrom(...IDS), pick: fc.nat(3) }),
);

/** A step: replica `at` edits, or replica `to` takes a bundle from replica `from`. */
type Step = { edit: Op; at: number } | { from: number; to: number };

function patchOf(op: Exclude<Op, { kind: "resolve" }>): { patch: RecordPatch; mode: "require" | "forbid" } {
  switch (op.kind) {
    case "add":
      return { patch: { name: op.name }, mode: "require" };
    case "set":
      return { patch: { [op.field]: op.value }, mode: "forbid" };
    case "meta":
      return { patch: { meta: { [op.key]: op.value } }, mode: "forbid" };
    case "tag":
      return { patch: op.add ? { addTags: [op.tag] } : { removeTags: [op.tag] }, mode: "forbid" };
    case "rm":
    case "restore":
      return { patch: { deleted: op.kind === "rm" }, mode: "forbid" };
  }
}

/** The view's rows for a catalog, canonical and without surrogate keys. */
function viewRows(db: Db, catId: number): string {
  const records = db.prepare("SELECT id, kind, provider, name, version, summary, meta, deleted, deleted_at, deleted_by, updated_at, updated_by FROM records WHERE cat_id = ? ORDER BY id").all(catId);
  const tags = db.prepare("SELECT r.id, t.tag FROM record_tags t JOIN records r USING (rid) WHERE r.cat_id = ? ORDER BY r.id, t.tag").all(catId);
  const conflicts = db.prepare("SELECT r.id, c.field, c.n, c.value, c.winner, c.written_by, c.written_at FROM record_conflicts c JOIN records r USING (rid) WHERE r.cat_id = ? ORDER BY r.id, c.field, c.n").all(catId);
  return JSON.stringify({ records, tags, conflicts });
}

/** Settles the first conflict of a record with one of its values, as `shelf resolve --pick` does. */
async function resolveSome(store: CatalogStore, id: string, pick: number): Promise<boolean> {
  const conflicts = getRecordConflicts(store.instance.db, store.catalog.catId, id);
  if (conflicts?.editedWhileDeleted && pick % 2 === 0) {
    await store.resolve(id, "deleted", false);
    return true;
  }
  const field = conflicts?.fields[0];
  if (!field) return false;
  await store.resolve(id, field.field, field.values[pick % field.values.length]!.value);
  return true;
}

async function sendBundle(from: CatalogStore, to: CatalogStore, file: string): Promise<void> {
  writeBundle(file, { url: from.catalog.url, name: from.catalog.name }, from.instance.id, await from.exportDocuments());
  for (const doc of readBundle(file).documents) await to.mergeDocument(documentIdOf(doc.documentId), doc.data);
  await to.flush();
  const before = countRecords(to.instance.db, to.catalog.catId);
  const { counts } = await to.catchUp();
  const after = countRecords(to.instance.db, to.catalog.catId);
  // What a sync reports as added and deleted comes from these counts, not from counting the view.
  expect(counts).toStrictEqual({ records: after.records - before.records, deleted: after.deleted - before.deleted });
}

describe("convergence", () => {
  it("replicas that exchanged everything hold identical records and rows, with every edit kept", async () => {
    let runsWithConflicts = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 4 }).chain((replicas) =>
          fc.tuple(
            fc.constant(replicas),
            fc.array(
              fc.oneof(
                { weight: 3, arbitrary: fc.record({ edit: opArb, at: fc.nat(replicas - 1) }) },
                { weight: 1, arbitrary: fc.record({ from: fc.nat(replicas - 1), to: fc.nat(replicas - 1) }) },
              ),
              { minLength: 5, maxLength: 25 },
            ),
          ),
        ),
        async ([replicaCount, steps]: [number, Step[]]) => {
          const dir = tempDir();
          const first = Instance.open(join(dir, "r0"), { create: true });
          const origin = await CatalogStore.create(first, "prop", 4);
          writeBundle(join(dir, "seed.bundle"), { url: origin.catalog.url, name: "prop" }, first.id, await origin.exportDocuments());
          const stores = [origin];
          for (let i = 1; i < replicaCount; i++) {
            await importBundle(join(dir, "seed.bundle"), { home: join(dir, `r${i}`) });
            const instance = Instance.open(join(dir, `r${i}`));
            stores.push(await CatalogStore.open(instance, instance.catalog()));
          }
          try {
            const written: { at: number; id: string }[] = [];
            for (const [n, step] of steps.entries()) {
              if ("edit" in step && step.edit.kind === "resolve") {
                if (await resolveSome(stores[step.at]!, step.edit.id, step.edit.pick)) written.push({ at: step.at, id: step.edit.id });
              } else if ("edit" in step) {
                const { patch, mode } = patchOf(step.edit as Exclude<Op, { kind: "resolve" }>);
                try {
                  const outcome = await stores[step.at]!.write(step.edit.id, patch, mode, step.edit.kind);
                  if (outcome !== "unchanged") written.push({ at: step.at, id: step.edit.id });
                } catch {
                  // a set on a record this replica has not seen, an add of one it has: refused, fine
                }
              } else if (step.from !== step.to) {
                await sendBundle(stores[step.from]!, stores[step.to]!, join(dir, `step${n}.bundle`));
              }
            }
            // Everyone meets: a ring pass twice carries every change to every replica.
            for (let round = 0; round < 2; round++) {
              for (let i = 0; i < stores.length; i++) await sendBundle(stores[i]!, stores[(i + 1) % stores.length]!, join(dir, `final${round}-${i}.bundle`));
            }
            const lists = stores.map((s) => JSON.stringify(listRecords(s.instance.db, s.catalog.catId, { includeDeleted: true })));
            const rows = stores.map((s) => viewRows(s.instance.db, s.catalog.catId));
            const conflicts = stores.map((s) => JSON.stringify(listConflicts(s.instance.db, s.catalog.catId)));
            if (conflicts[0] !== "[]") runsWithConflicts++;
            for (let i = 1; i < stores.length; i++) {
              expect(lists[i]).toBe(lists[0]);
              expect(rows[i]).toBe(rows[0]);
              expect(conflicts[i]).toBe(conflicts[0]);
            }
            // A rebuild from the CRDT alone gives the same rows, conflicts included.
            await stores[0]!.rebuild();
            expect(viewRows(stores[0]!.instance.db, stores[0]!.catalog.catId)).toBe(rows[0]);
            // Every change any replica made to a record is in its history on every replica.
            for (const s of stores) {
              for (const id of new Set(written.map((w) => w.id))) {
                const changes = (await s.readShard(id, (core) => recordHistory(core, id))).length;
                expect(changes).toBe((await stores[0]!.readShard(id, (core) => recordHistory(core, id))).length);
                expect(changes).toBeGreaterThanOrEqual(written.filter((w) => w.id === id).length);
              }
            }
            // Every record any replica wrote is there on every replica (tombstoned or not).
            const ids = new Set(listRecords(stores[0]!.instance.db, stores[0]!.catalog.catId, { includeDeleted: true }).map((r) => r.id));
            for (const w of written) expect(ids.has(w.id)).toBe(true);
          } finally {
            for (const s of stores) await s.instance.close();
          }
        },
      ),
      {
        numRuns: Number(process.env.SHELF_PROPERTY_RUNS ?? 40),
        verbose: true,
        // About one random run in nine ends with a conflict, so 40 runs can miss it (about 1% of
        // the time): this one always does, two replicas renaming the same record apart.
        examples: [
          [
            [
              3,
              [
                { edit: { kind: "add", id: "npm:a", name: "alpha" }, at: 0 },
                { from: 0, to: 1 },
                { edit: { kind: "set", id: "npm:a", field: "name", value: "beta" }, at: 0 },
                { edit: { kind: "set", id: "npm:a", field: "name", value: "gamma" }, at: 1 },
              ],
            ],
          ],
        ],
      },
    );
    // The case under test must really be there: merges that leave conflicts.
    expect(runsWithConflicts).toBeGreaterThan(0);
  }, 300_000);
});
