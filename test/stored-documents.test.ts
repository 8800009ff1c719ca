/**
 * A sync materializes a document it stored from the copy in hand only when that copy holds every
 * chunk stored for it (src/sync/relay-exchange.ts): another process on the same home may have
 * stored an edit of the same shard meanwhile, and the view must not skip it.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import { CatalogStore, documentIdOf } from "../src/catalog/catalog-store.js";
import { Instance } from "../src/instance.js";
import { searchRecords } from "../src/view/queries.js";
import { tempCatalog } from "./helpers/temp-home.js";
import { coreOf, recordKeys } from "../src/model/shard-core.js";

describe("a document loaded from its stored chunks", () => {
  it("holds every chunk until another writer on the home stores one; the view then catches up with both edits", async () => {
    const { home, instance, store } = await tempCatalog(1);
    await store.write("npm:first", { name: "first", version: "1.0.0" }, "allow", "add");
    const shardId = documentIdOf(store.catalog.shardUrls[0]!);
    const documents = await instance.storedDocuments();
    const loaded = documents.load(shardId)!;
    onTestFinished(() => documents.free(loaded));
    expect(documents.holdsEveryChunk(shardId, loaded)).toBe(true);

    // another process's edit of the same shard
    const other = Instance.open(home);
    onTestFinished(() => other.close());
    const otherStore = await CatalogStore.open(other, other.catalog());
    await otherStore.write("npm:second", { name: "second", version: "2.0.0" }, "allow", "add");
    expect(documents.holdsEveryChunk(shardId, loaded)).toBe(false);

    // This copy lacks the second record; the view, caught up from storage, has both.
    expect(recordKeys(coreOf(loaded.doc)).some((key) => key.startsWith("npm:second"))).toBe(false);
    await store.catchUp();
    expect(searchRecords(instance.db, store.catalog.catId, "second").map((r) => r.id)).toStrictEqual(["npm:second"]);
    expect(searchRecords(instance.db, store.catalog.catId, "first").map((r) => r.id)).toStrictEqual(["npm:first"]);
  });
});
