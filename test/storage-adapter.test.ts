/**
 * The SQLite storage adapter against automerge-repo's own acceptance suite, plus the properties
 * shelf relies on beyond it: key encoding, durability across reopen, and the dirty-mark callback.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runStorageAdapterTests } from "@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js";
import type { StorageKey } from "@automerge/automerge-repo/slim";
import { openDb } from "../src/store/db.js";
import { SqliteStorageAdapter } from "../src/store/sqlite-storage-adapter.js";
import { tempDir } from "./helpers/temp-home.js";

runStorageAdapterTests(async () => {
  const dir = mkdtempSync(join(tmpdir(), "shelf-storage-"));
  const db = openDb(join(dir, "shelf.db"));
  return {
    adapter: new SqliteStorageAdapter(db),
    teardown: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, "SqliteStorageAdapter");

const bytes = (...values: number[]) => new Uint8Array(values);

/** An adapter on a fresh file, with every onDocumentSaved call recorded. */
function freshAdapter() {
  const path = join(tempDir("shelf-storage-"), "shelf.db");
  const db = openDb(path);
  const saved: string[] = [];
  const adapter = new SqliteStorageAdapter(db, (documentId) => saved.push(documentId));
  return { path, db, adapter, saved };
}

// The order of loadRange's results is the upstream suite's business; these tests compare sets.
const keysOf = (chunks: { key: StorageKey }[]) => chunks.map((c) => c.key).sort((x, y) => (x.join("\u0000") < y.join("\u0000") ? -1 : 1));

describe("SqliteStorageAdapter: keys", () => {
  it("round-trips key parts containing '/', '%' and other URI-special characters", async () => {
    const { db, adapter } = freshAdapter();
    try {
      const odd: StorageKey[] = [
        ["a/b", "incremental", "c"],
        ["a", "b/incremental", "c"],
        ["100%", "snapshot", "%2F"],
        ["sp ace", "?&=#", "ü€😀"],
        ["", "empty-first"],
      ];
      for (const [i, key] of odd.entries()) await adapter.save(key, bytes(i));
      for (const [i, key] of odd.entries()) expect(await adapter.load(key)).toStrictEqual(bytes(i));

      // "a/b" as one part is not the two parts "a", "b".
      expect(await adapter.load(["a", "b", "incremental", "c"])).toBeUndefined();
      expect(keysOf(await adapter.loadRange(["a/b"]))).toStrictEqual([["a/b", "incremental", "c"]]);
      expect(keysOf(await adapter.loadRange(["a"]))).toStrictEqual([["a", "b/incremental", "c"]]);
      // "%2F" literally is not "/" encoded.
      expect(await adapter.load(["100%", "snapshot", "/"])).toBeUndefined();
      expect(keysOf(await adapter.loadRange(["100%"]))).toStrictEqual([["100%", "snapshot", "%2F"]]);
      expect(keysOf(await adapter.loadRange(["sp ace", "?&=#"]))).toStrictEqual([["sp ace", "?&=#", "ü€😀"]]);
    } finally {
      db.close();
    }
  });

  it("never matches a part by its prefix: ['ab'] does not reach ['abc'] or ['ab.c']", async () => {
    const { db, adapter } = freshAdapter();
    try {
      await adapter.save(["ab", "x"], bytes(1));
      await adapter.save(["abc", "x"], bytes(2));
      await adapter.save(["ab.c", "x"], bytes(3));
      await adapter.save(["ab-", "x"], bytes(4));
      await adapter.save(["a", "x"], bytes(5));
      await adapter.save(["ab"], bytes(6));

      expect(keysOf(await adapter.loadRange(["ab"]))).toStrictEqual([["ab"], ["ab", "x"]]);
      expect(keysOf(await adapter.loadRange(["a"]))).toStrictEqual([["a", "x"]]);
      expect(keysOf(await adapter.loadRange(["ab", "x"]))).toStrictEqual([["ab", "x"]]);
      expect(await adapter.loadRange(["ab", "x", "y"])).toStrictEqual([]);

      await adapter.removeRange(["ab"]);
      expect(await adapter.load(["ab", "x"])).toBeUndefined();
      expect(await adapter.load(["ab"])).toBeUndefined();
      expect(await adapter.load(["abc", "x"])).toStrictEqual(bytes(2));
      expect(await adapter.load(["ab.c", "x"])).toStrictEqual(bytes(3));
      expect(await adapter.load(["ab-", "x"])).toStrictEqual(bytes(4));
      expect(await adapter.load(["a", "x"])).toStrictEqual(bytes(5));
    } finally {
      db.close();
    }
  });

  it("returns every key for the empty prefix", async () => {
    const { db, adapter } = freshAdapter();
    try {
      await adapter.save(["z", "incremental", "1"], bytes(1));
      await adapter.save(["storage-adapter-id"], bytes(2));
      await adapter.save(["ü"], bytes(3));
      expect(keysOf(await adapter.loadRange([]))).toStrictEqual([["storage-adapter-id"], ["z", "incremental", "1"], ["ü"]]);
    } finally {
      db.close();
    }
  });
});

describe("SqliteStorageAdapter: durability", () => {
  it("keeps data across closing and reopening the file", async () => {
    const { path, db, adapter } = freshAdapter();
    const large = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
    await adapter.save(["doc1", "snapshot", "h1"], large);
    await adapter.save(["doc1", "incremental", "h2"], bytes(7, 8, 9));
    await adapter.save(["storage-adapter-id"], bytes(1));
    await adapter.save(["gone", "incremental", "x"], bytes(1));
    await adapter.remove(["gone", "incremental", "x"]);
    db.close();

    const reopened = openDb(path);
    try {
      const again = new SqliteStorageAdapter(reopened);
      expect(await again.load(["doc1", "snapshot", "h1"])).toStrictEqual(large);
      expect(await again.load(["storage-adapter-id"])).toStrictEqual(bytes(1));
      expect(await again.load(["gone", "incremental", "x"])).toBeUndefined();
      const chunks = await again.loadRange(["doc1"]);
      expect(keysOf(chunks)).toStrictEqual([
        ["doc1", "incremental", "h2"],
        ["doc1", "snapshot", "h1"],
      ]);
      expect(chunks.find((c) => c.key[1] === "snapshot")?.data).toStrictEqual(large);
      expect(chunks.find((c) => c.key[1] === "incremental")?.data).toStrictEqual(bytes(7, 8, 9));
    } finally {
      reopened.close();
    }
  });
});

describe("SqliteStorageAdapter: onDocumentSaved", () => {
  it("fires for a document's incremental and snapshot chunks only", async () => {
    const { db, adapter, saved } = freshAdapter();
    try {
      await adapter.save(["storage-adapter-id"], bytes(1));
      await adapter.save(["docA", "sync-state", "peer1"], bytes(2));
      expect(saved).toStrictEqual([]);

      await adapter.save(["docA", "incremental", "h1"], bytes(3));
      await adapter.save(["docB", "snapshot", "h2"], bytes(4));
      expect(saved).toStrictEqual(["docA", "docB"]);

      // Removals (compaction) are not new data.
      await adapter.remove(["docA", "incremental", "h1"]);
      await adapter.removeRange(["docB"]);
      expect(saved).toStrictEqual(["docA", "docB"]);
    } finally {
      db.close();
    }
  });

  it("runs the callback in the save's transaction: a throwing callback leaves nothing stored", async () => {
    const path = join(tempDir("shelf-storage-"), "shelf.db");
    const db = openDb(path);
    try {
      const adapter = new SqliteStorageAdapter(db, () => {
        throw new Error("boom");
      });
      await expect(adapter.save(["docA", "incremental", "h1"], bytes(1))).rejects.toThrow("boom");
      expect(await adapter.load(["docA", "incremental", "h1"])).toBeUndefined();
    } finally {
      db.close();
    }
  });
});
