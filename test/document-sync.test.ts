/**
 * One document's sync with one peer (src/sync/document-sync.ts), against a plain Automerge peer:
 * a document this side holds nothing of is taken by loading the peer's first message whole.
 */
import type * as Automerge from "@automerge/automerge";
import * as A from "@automerge/automerge";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Instance } from "../src/instance.js";
import { SqliteStorageAdapter } from "../src/store/sqlite-storage-adapter.js";
import { DocumentSync } from "../src/sync/document-sync.js";
import { makeTempDir } from "./helpers/cli.js";

const loads = vi.hoisted(() => ({ count: 0, saves: 0 }));

vi.mock("../src/model/shard-core.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/model/shard-core.js")>();
  return {
    ...real,
    loadLean: ((...args: Parameters<typeof real.loadLean>) => {
      const doc = real.loadLean(...args);
      loads.count++;
      return doc;
    }) as typeof real.loadLean,
  };
});

vi.mock("@automerge/automerge", async (importOriginal) => {
  const real = await importOriginal<typeof import("@automerge/automerge")>();
  return {
    ...real,
    save: ((...args: Parameters<typeof real.save>) => {
      loads.saves++;
      return real.save(...args);
    }) as typeof real.save,
  };
});

type Shard = { records: Record<string, { name: string; summary: string }> };

/** A peer's copy of a shard: records written in one change, then one edited in another. */
function peerShard(records: number): Automerge.Doc<Shard> {
  const first = A.from<Shard>({ records: Object.fromEntries(Array.from({ length: records }, (_, i) => [`npm:pkg-${i}`, { name: `pkg-${i}`, summary: `package ${i}` }])) });
  return A.change(first, (d) => void (d.records["npm:pkg-0"]!.summary = "edited"));
}

/** Runs the sync protocol between the peer's copy and `sync` until neither has more to say. */
function syncWithPeer(peer: Automerge.Doc<Shard>, sync: DocumentSync, first = sync.restart()): Automerge.Doc<Shard> {
  let peerState = A.initSyncState();
  let outgoing = first;
  for (let round = 0; round < 20; round++) {
    if (outgoing) [peer, peerState] = A.receiveSyncMessage(peer, peerState, outgoing.data as A.SyncMessage);
    let answer: Uint8Array | null;
    [peerState, answer] = A.generateSyncMessage(peer, peerState);
    if (!answer && !outgoing) return peer;
    outgoing = answer ? sync.receive(answer) : sync.next();
  }
  throw new Error("the sync did not settle in 20 rounds");
}

describe("a document's sync with one peer", () => {
  beforeEach(() => {
    loads.count = 0;
    loads.saves = 0;
  });

  it("takes a document it holds nothing of by loading the peer's message once, and ends in sync with the peer's copy", () => {
    const peer = peerShard(300);
    const sync = new DocumentSync("shard", { doc: A.init(), chunks: [] });
    syncWithPeer(peer, sync);
    expect(loads.count).toBe(1);
    expect(A.getHeads(sync.stored.doc)).toEqual(A.getHeads(peer));
    expect(A.toJS(sync.stored.doc)).toEqual(A.toJS(peer));
    expect(sync.changed).toBe(true);
    expect(sync.inSync("both")).toBe(true);
  });

  it("stores a document it loaded whole as the bytes the peer sent, without encoding it again", async () => {
    const home = makeTempDir("shelf-document-sync-");
    const instance = Instance.open(home.dir, { create: true });
    try {
      const documents = await instance.storedDocuments();
      const peer = peerShard(300);
      const stored = documents.empty();
      const sync = new DocumentSync("shard", stored);
      // the peer answers the request with the whole document, in one chunk
      const [asked, askedState] = A.receiveSyncMessage(peer, A.initSyncState(), sync.restart()!.data as A.SyncMessage);
      const [, answer] = A.generateSyncMessage(asked, askedState);
      const sent = A.decodeSyncMessage(answer!).changes;
      expect(sent).toHaveLength(1);
      sync.receive(answer!);
      documents.save("shard", stored, sync.loadedHeads);
      const chunk = new SqliteStorageAdapter(instance.db).soleChunk("shard");
      expect(chunk).toEqual(sent[0]);
      expect(loads.saves).toBe(0);
      expect(A.toJS(A.load(chunk!))).toEqual(A.toJS(peer));
      documents.free(stored);
    } finally {
      await instance.close();
      home.remove();
    }
  });

  it("applies as usual changes that depend on changes it lacks, and still ends in sync", () => {
    const peer = peerShard(20);
    const [, second] = A.getAllChanges(peer);
    const sync = new DocumentSync("shard", { doc: A.init(), chunks: [] });
    // the edit alone: nothing it could be loaded from
    const partial = A.encodeSyncMessage({ heads: A.getHeads(peer), need: [], have: [], changes: [second!] });
    const reply = sync.receive(partial);
    expect(sync.stored.loadedWhole).toBeUndefined();
    expect(A.getHeads(sync.stored.doc)).toEqual([]);
    syncWithPeer(peer, sync, reply);
    expect(A.toJS(sync.stored.doc)).toEqual(A.toJS(peer));
    expect(sync.inSync("both")).toBe(true);
  });

  it("keeps applying messages once it holds the document", () => {
    let peer = peerShard(20);
    const sync = new DocumentSync("shard", { doc: A.init(), chunks: [] });
    peer = syncWithPeer(peer, sync);
    peer = A.change(peer, (d) => void (d.records["npm:pkg-1"]!.name = "renamed"));
    const before = loads.count;
    syncWithPeer(peer, sync, sync.next());
    expect(loads.count).toBe(before);
    expect((A.toJS(sync.stored.doc) as Shard).records["npm:pkg-1"]!.name).toBe("renamed");
  });
});
