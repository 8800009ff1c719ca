/** Derived catalog ids (src/model/catalog-ids.ts) and root lineage (src/model/root-lineage.ts). */
import * as A from "@automerge/automerge";
import { generateAutomergeUrl, isValidDocumentId } from "@automerge/automerge-repo";
import { describe, expect, it } from "vitest";
import { isDerivedRootId, isDerivedShardId, isGenesisOf, rootIdFor, shardIdFor, shardIndexIn } from "../src/model/catalog-ids.js";
import { genesisInChunk, genesisOf, RootLineage } from "../src/model/root-lineage.js";

const randomId = () => generateAutomergeUrl().slice("automerge:".length);

describe("derived catalog ids", () => {
  const genesis = A.getHeads(A.from({ shelf: "catalog" }))[0]!;
  const root = rootIdFor(genesis);

  it("are valid automerge-repo document ids, told apart from random ones by their layout alone", () => {
    const shard = shardIdFor(root, 7);
    expect(isValidDocumentId(root) && isValidDocumentId(shard)).toBe(true);
    expect([isDerivedRootId(root), isDerivedShardId(root), isDerivedRootId(shard), isDerivedShardId(shard)]).toEqual([true, false, false, true]);
    for (let i = 0; i < 200; i++) {
      const id = randomId();
      expect(isDerivedRootId(id) || isDerivedShardId(id)).toBe(false);
    }
  });

  it("name a shard's catalog and index, and nothing else's", () => {
    expect(shardIndexIn(root, shardIdFor(root, 255))).toBe(255);
    const other = rootIdFor(A.getHeads(A.from({ shelf: "catalog" }))[0]!);
    expect(shardIndexIn(other, shardIdFor(root, 3))).toBeUndefined();
    expect(shardIndexIn(root, randomId())).toBeUndefined();
    expect(shardIndexIn(randomId(), shardIdFor(root, 3))).toBeUndefined();
  });

  it("bind a root id to its first change", () => {
    expect(isGenesisOf(root, genesis)).toBe(true);
    expect(isGenesisOf(root, A.getHeads(A.from({ shelf: "catalog" }))[0]!)).toBe(false);
  });
});

describe("root lineage", () => {
  const start = A.from({ name: "x" });
  const later = A.change(start, (d) => void (d.name = "y"));

  it("finds where a document's histories begin, in a whole save or in a chunk alone", () => {
    expect(genesisOf(later)).toEqual(A.getHeads(start));
    expect(genesisInChunk(A.saveSince(later, A.getHeads(start)))).toEqual([]);
    expect(genesisInChunk(A.save(A.merge(A.clone(later), A.from({ name: "z" }))))).toHaveLength(2);
  });

  it("admits only the catalog's own history: by its derived id, by what a holder holds, and flags a choice a joiner cannot make", () => {
    const derived = new RootLineage(rootIdFor(A.getHeads(start)[0]!), []);
    expect(derived.refuse(genesisOf(later))).toBeUndefined();
    expect(derived.refuse(genesisOf(A.from({ name: "x" })))).toMatch(/not this catalog's/);

    const holder = new RootLineage(randomId(), genesisOf(later));
    expect(holder.refuse(genesisOf(later))).toBeUndefined();
    expect(holder.refuse(genesisOf(A.from({ name: "x" })))).toMatch(/unrelated/);

    const joiner = new RootLineage(randomId(), undefined);
    joiner.refuse(genesisOf(later));
    expect(joiner.ambiguous()).toBe(false);
    joiner.refuse(genesisOf(A.from({ name: "x" })));
    expect(joiner.ambiguous()).toBe(true);
  });
});
