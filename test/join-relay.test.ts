/**
 * A join through a relay registers the catalog once its root has arrived and materializes each
 * document as it is stored, so it loads none twice; a join that fails takes back what it
 * registered, and the next one completes from the documents already stored.
 */
import { describe, expect, it } from "vitest";
import { CatalogStore, documentIdOf, type WriteItem } from "../src/catalog/catalog-store.js";
import { joinCatalog, syncCatalog } from "../src/sync/sync-catalog.js";
import { countRecords, searchRecords } from "../src/view/queries.js";
import { tempRelayRemote } from "./helpers/relay-process.js";
import { tempCatalog, tempInstance } from "./helpers/temp-home.js";

const SHARDS = 12;
const items = (count: number): WriteItem[] => Array.from({ length: count }, (_, i) => ({ id: `npm:joined-${i}`, patch: { name: `joined-${i}`, version: "1.0.0", summary: `package ${i}` } }));

describe("a join through a relay", () => {
  it("loads each document once; one cut off is taken back, and joining again completes it", async () => {
    const { instance: a, store } = await tempCatalog(SHARDS);
    await store.writeMany(items(300), "import tsv");
    const remote = await tempRelayRemote(store.catalog.url);
    await syncCatalog(a, store.catalog, remote, { timeoutMs: 120_000 });

    // B holds a catalog of its own already: a failed join must leave it, and only it, in place.
    const b = tempInstance();
    const own = CatalogStore.open(b, (await CatalogStore.create(b, "own", 4)).catalog);
    await own.write("npm:mine", { name: "mine", version: "1.0.0", summary: "package of my own" }, "allow", "add");

    let shardsStored = 0;
    const cutOff = new Error("cut off after three shards");
    const interrupted = joinCatalog(b, store.catalog.url, "team", remote, {
      timeoutMs: 120_000,
      onProgress: (done) => {
        shardsStored = done;
        if (done === 3) throw cutOff;
      },
    });
    await expect(interrupted).rejects.toThrow(cutOff.message);
    expect(shardsStored).toBe(3);
    expect(b.catalogs().map((c) => c.name)).toStrictEqual(["own"]);
    expect(b.db.prepare("SELECT count(*) AS n FROM records").get()).toStrictEqual({ n: 1 });
    expect(b.db.prepare("SELECT count(*) AS n FROM records_fts").get()).toStrictEqual({ n: 1 });
    expect(searchRecords(b.db, own.catalog.catId, "package").map((r) => r.id)).toStrictEqual(["npm:mine"]);
    // What the cut-off join stored waits, dirty, for the next attempt, and `shelf status` says so
    // apart from what is pending; a read of B's own catalog has nothing to catch up with, so it
    // still loads no Automerge.
    const teamIds = [store.catalog.url, ...store.catalog.shardUrls].map(documentIdOf);
    const storedIds = new Set(b.db.prepare<[], { id: string }>("SELECT DISTINCT substr(key, 1, instr(key, '/') - 1) AS id FROM crdt_chunks").all().map((r) => r.id));
    const teamStored = teamIds.filter((id) => storedIds.has(id)).length;
    expect(teamStored).toBeGreaterThanOrEqual(4); // the root and the three shards materialized
    expect(b.dirtyDocuments()).toStrictEqual({ held: 0, kept: teamStored });
    expect(b.hasDirtyDocuments(own.catalog)).toBe(false);

    const loadsBefore = b.documentLoads;
    const loadedBefore = new Set(b.documentsLoaded);
    const joined = await joinCatalog(b, store.catalog.url, "team", remote, { timeoutMs: 120_000 });
    expect(joined).toMatchObject({ documents: SHARDS + 1, added: 300 });
    // The root and the three shards stored by the first attempt are loaded to be synced, and
    // materialized from that copy; the rest arrive and are materialized as they are stored.
    const loadedNow = [...b.documentsLoaded].filter((id) => !loadedBefore.has(id)).length;
    expect(b.documentLoads - loadsBefore).toBe(loadedNow);
    expect(loadedNow).toBeGreaterThanOrEqual(4);
    const team = b.catalog("team");
    expect(countRecords(b.db, team.catId).records).toBe(300);
    expect(searchRecords(b.db, team.catId, "joined-299").map((r) => r.id)).toStrictEqual(["npm:joined-299"]);
    expect(b.catalogs().map((c) => c.name).sort()).toStrictEqual(["own", "team"]);
    expect(b.dirtyDocuments()).toStrictEqual({ held: 0, kept: 0 });
  }, 240_000);
});
