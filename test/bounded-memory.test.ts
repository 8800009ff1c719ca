/**
 * Bulk work holds a bounded number of documents at once, whatever the catalog's size: imports and
 * rebuilds one shard document at a time, a join and a first upload a few documents (through a
 * WebDAV folder, one at a time). Memory is
 * measured in `npm run bench`; this pins the shape that keeps it bounded, by counting documents.
 */
import { afterAll, describe, expect, it } from "vitest";
import { SHARDS_IN_MEMORY, type WriteItem } from "../src/catalog/catalog-store.js";
import { Instance } from "../src/instance.js";
import { DOCUMENTS_IN_FLIGHT } from "../src/sync/relay-exchange.js";
import { joinCatalog, syncCatalog } from "../src/sync/sync-catalog.js";
import { joinWebdav, syncWebdav } from "../src/sync/webdav/sync.js";
import { countRecords, searchRecords } from "../src/view/queries.js";
import { tempCatalog, tempDir, tempInstance } from "./helpers/temp-home.js";
import { tempRelayRemote } from "./helpers/relay-process.js";
import { startRclone, type DavServer } from "./helpers/webdav-servers.js";

// More shards than two batches of bulk work, and many times the documents a sync exchanges at once.
const SHARDS = 2 * SHARDS_IN_MEMORY + 7;

const items = (count: number): WriteItem[] =>
  Array.from({ length: count }, (_, i) => ({ id: `npm:bounded-${i}`, patch: { name: `bounded-${i}`, version: "1.0.0", summary: `package number ${i}` } }));

/** Calls `look` at every progress report of bulk work, and keeps the largest number it saw. */
function watchMost(look: () => number): { onProgress: () => void; most: () => number } {
  let most = 0;
  return { onProgress: () => void (most = Math.max(most, look())), most: () => most };
}

describe("import and rebuild", () => {
  it("hold one shard document at a time, and none in the CRDT store", async () => {
    const { instance, store } = await tempCatalog(SHARDS);
    const documents = await instance.storedDocuments();
    const inStore = watchMost(() => instance.documentsInStore);

    expect(await store.writeMany(items(1000), "import tsv", inStore.onProgress)).toStrictEqual({ created: 1000, updated: 0, unchanged: 0 });
    expect(await store.writeMany(items(1000).map((it) => ({ ...it, patch: { ...it.patch, version: "2.0.0" } })), "import tsv", inStore.onProgress)).toMatchObject({ updated: 1000 });
    await store.rebuild(inStore.onProgress);

    expect(documents.mostHeld).toBe(1);
    expect(inStore.most()).toBe(0);
    expect(countRecords(instance.db, store.catalog.catId).records).toBe(1000);
    expect(searchRecords(instance.db, store.catalog.catId, "bounded-999").map((r) => r.version)).toContain("2.0.0");
  });
});

describe("through a relay", () => {
  it("a first upload and a join hold a few documents at once, and none in the CRDT store", async () => {
    const { instance: a, store } = await tempCatalog(SHARDS);
    await store.writeMany(items(600), "import tsv");
    const remote = await tempRelayRemote(store.catalog.url);

    const upload = watchMost(() => a.documentsInStore);
    const sent = await syncCatalog(a, store.catalog, remote, { timeoutMs: 120_000, onProgress: upload.onProgress });
    expect(sent.documents).toBe(SHARDS + 1);
    expect(upload.most()).toBe(0);
    expect((await a.storedDocuments()).mostHeld).toBeLessThanOrEqual(DOCUMENTS_IN_FLIGHT);

    const b: Instance = tempInstance();
    const join = watchMost(() => b.documentsInStore);
    const joined = await joinCatalog(b, store.catalog.url, "joined", remote, { timeoutMs: 120_000, onProgress: join.onProgress });
    expect(joined).toMatchObject({ documents: SHARDS + 1, added: 600 });
    expect(join.most()).toBe(0);
    const held = (await b.storedDocuments()).mostHeld;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(DOCUMENTS_IN_FLIGHT);
    const catalog = b.catalog("joined");
    expect(searchRecords(b.db, catalog.catId, "bounded-599").map((r) => r.id)).toStrictEqual(["npm:bounded-599"]);
  }, 240_000);
});

describe("through a WebDAV folder", () => {
  let server: DavServer | undefined;
  afterAll(async () => server?.stop());

  it("a first upload, a join and a compaction hold one document at a time, and none in the CRDT store", async () => {
    const { instance: a, store } = await tempCatalog(SHARDS);
    await store.writeMany(items(600), "import tsv");
    server = await startRclone(tempDir("shelf-bounded-dav-"));
    const remote = { name: "dav", url: server.remoteUrl, token: null, addedAt: new Date().toISOString() };

    const upload = watchMost(() => a.documentsInStore);
    const sent = await syncWebdav(a, store.catalog, remote, { timeoutMs: 120_000, onProgress: upload.onProgress, compact: true });
    expect(sent.webdav.compacted).toBe(true);
    expect(upload.most()).toBe(0);
    expect(a.documentsInStore).toBe(0);
    expect((await a.storedDocuments()).mostHeld).toBe(1);

    const b: Instance = tempInstance();
    const join = watchMost(() => b.documentsInStore);
    const joined = await joinWebdav(b, store.catalog.url, "joined", remote, { timeoutMs: 120_000, onProgress: join.onProgress });
    expect(joined).toMatchObject({ added: 600 });
    expect(join.most()).toBe(0);
    expect(b.documentsInStore).toBe(0);
    expect((await b.storedDocuments()).mostHeld).toBe(1);
    const catalog = b.catalog("joined");
    expect(searchRecords(b.db, catalog.catId, "bounded-599").map((r) => r.id)).toStrictEqual(["npm:bounded-599"]);
  }, 240_000);
});
