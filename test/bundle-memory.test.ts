/**
 * Bundles cost the memory of one document, whatever the catalog's size: `export` loads no
 * Automerge document at all (it copies stored chunks), and `import-bundle` holds at most one at a
 * time while it checks, merges and materializes. Counted, not timed: every Automerge document
 * shelf's code creates (init, load, from, clone) is held until it is freed, and the test checks
 * the most held at once; and neither opens the CRDT store (automerge-repo keeps every document it
 * loads until the store is recycled). Run in-process, so Automerge can be watched; the CLI runs
 * the same code.
 *
 * Run by hand with: npx vitest run test/bundle-memory.test.ts
 */
import { join } from "node:path";
import type * as Automerge from "@automerge/automerge";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CatalogStore } from "../src/catalog/catalog-store.js";
import { importBundle } from "../src/commands/bundle.js";
import { exportBundle } from "../src/commands/export.js";
import { Instance } from "../src/instance.js";
import type { WriteItem } from "../src/catalog/catalog-store.js";
import { listRecords } from "../src/view/queries.js";
import { makeTempDir } from "./helpers/cli.js";

const held = vi.hoisted(() => ({ live: new Set<unknown>(), most: 0, created: 0 }));

vi.mock("@automerge/automerge", async (importOriginal) => {
  const A = await importOriginal<typeof import("@automerge/automerge")>();
  const hold = <T>(doc: Automerge.Doc<T>): Automerge.Doc<T> => {
    held.live.add(A.getBackend(doc));
    held.created++;
    held.most = Math.max(held.most, held.live.size);
    return doc;
  };
  return {
    ...A,
    init: ((...args: Parameters<typeof A.init>) => hold(A.init(...args))) as typeof A.init,
    load: ((...args: Parameters<typeof A.load>) => hold(A.load(...args))) as typeof A.load,
    from: ((...args: Parameters<typeof A.from>) => hold(A.from(...args))) as typeof A.from,
    clone: ((...args: Parameters<typeof A.clone>) => hold(A.clone(...args))) as typeof A.clone,
    free: (doc: Automerge.Doc<unknown>) => {
      held.live.delete(A.getBackend(doc));
      A.free(doc);
    },
  };
});

/**
 * Counts the Automerge documents `fn` creates, the most it holds at once, and how often it asks
 * for the CRDT store.
 */
async function watch(fn: () => Promise<unknown>): Promise<{ created: number; mostHeld: number; storeOpened: number }> {
  held.live.clear();
  held.most = 0;
  held.created = 0;
  const repo = vi.spyOn(Instance.prototype, "repo");
  try {
    await fn();
    return { created: held.created, mostHeld: held.most, storeOpened: repo.mock.calls.length };
  } finally {
    repo.mockRestore();
  }
}

const SHARDS = 32;
const RECORDS = 600;

describe("bundles hold one document at a time", () => {
  let tmp: ReturnType<typeof makeTempDir>;
  const path = (name: string) => join(tmp.dir, name);

  beforeAll(async () => {
    tmp = makeTempDir("shelf-bundle-memory-");
    const instance = Instance.open(path("a"), { create: true });
    try {
      const store = await CatalogStore.create(instance, "main", SHARDS);
      const items: WriteItem[] = Array.from({ length: RECORDS }, (_, i) => ({ id: `npm:pkg-${i}`, patch: { name: `pkg-${i}`, summary: `package number ${i}`, addTags: [`t${i % 7}`] } }));
      await store.writeMany(items, "test");
    } finally {
      await instance.close();
    }
  });
  afterAll(() => tmp.remove());

  const records = (home: string) => {
    const instance = Instance.open(home);
    try {
      return listRecords(instance.db, instance.catalog().catId, { includeDeleted: true }).length;
    } finally {
      void instance.close();
    }
  };

  it("export loads no Automerge document", async () => {
    let documents = 0;
    const watched = await watch(async () => (documents = (await exportBundle(path("a.bundle"), { home: path("a") })).documents));
    expect(documents).toBe(SHARDS + 1);
    expect(watched).toEqual({ created: 0, mostHeld: 0, storeOpened: 0 });
  });

  it("import-bundle into an empty home holds at most one document at a time", async () => {
    const watched = await watch(() => importBundle(path("a.bundle"), { home: path("b") }));
    expect(records(path("b"))).toBe(RECORDS);
    // each document was checked, then merged: all went through, one at a time
    expect(watched.created).toBeGreaterThanOrEqual(2 * (SHARDS + 1));
    expect(watched.mostHeld).toBe(1);
    expect(watched.storeOpened).toBe(0);
  });

  it("import-bundle of a bundle this home holds byte for byte parses only the root, and merges nothing", async () => {
    let result: Awaited<ReturnType<typeof importBundle>> | undefined;
    const watched = await watch(async () => (result = await importBundle(path("a.bundle"), { home: path("b") })));
    expect(result).toMatchObject({ documentsChanged: 0, recordsChanged: 0, records: RECORDS });
    // each document is stored here as the bundle's bytes (matched by checksum), so none is parsed
    // to check it or to find what it adds; the root is read for its list of shards
    expect(watched.created).toBe(1);
    expect(watched.storeOpened).toBe(0);
  });

  it("merging a bundle into a catalog that has its own edits holds at most one document at a time", async () => {
    const instance = Instance.open(path("b"));
    try {
      const store = await CatalogStore.open(instance, instance.catalog());
      await store.writeMany(Array.from({ length: 40 }, (_, i) => ({ id: `npm:pkg-${i * 13}`, patch: { summary: `edited on b ${i}` } })), "test");
    } finally {
      await instance.close();
    }
    await exportBundle(path("b.bundle"), { home: path("b") });
    let changed = 0;
    const watched = await watch(async () => (changed = (await importBundle(path("b.bundle"), { home: path("a") })).recordsChanged));
    expect(changed).toBe(40);
    expect(watched.mostHeld).toBe(1);
    expect(watched.storeOpened).toBe(0);
    expect(records(path("a"))).toBe(RECORDS);
  });
});
