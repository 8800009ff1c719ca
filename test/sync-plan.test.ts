/**
 * The sync planner alone: which documents a heads summary and the remembered checkpoints say to
 * exchange, and when the whole listing is asked for instead.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { headsDigest, isHeadsSummary, summarize, type Heads, type HeadsSummary } from "../src/protocol/heads-summary.js";
import type { RemoteMemory } from "../src/sync/checkpoints.js";
import { advancePlan, changedSinceLastSync, planSync, rememberAfterSync } from "../src/sync/sync-plan.js";

const h = (n: number): string => n.toString(16).padStart(64, "0");
const URL_A = "ws://relay.example/sync";

/** A server holding `docs` (id -> [heads, seq]) under `epoch`, answering like the relay does. */
function server(docs: Record<string, [Heads, number]>, epoch = "e1", access: HeadsSummary["access"] = "read-write") {
  const asked: number[] = [];
  const index = { epoch: () => epoch, documents: () => Object.entries(docs).map(([docId, [heads, seq]]) => ({ docId, heads, seq })) };
  return {
    asked,
    fetch: async (since: number) => {
      asked.push(since);
      return summarize(index, "automerge:root", "root", since, access);
    },
  };
}

const memoryOf = (docs: Record<string, Heads>, seq: number, epoch = "e1", shared: Record<string, Heads> = docs): RemoteMemory => ({
  remoteUrl: URL_A,
  epoch,
  seq,
  remoteHeads: new Map(Object.entries(docs)),
  sharedHeads: new Map(Object.entries(shared)),
});

describe("planning a sync from a heads summary", () => {
  it("exchanges nothing when the server wrote nothing since the checkpoint and nothing changed here", async () => {
    const s = server({ root: [[h(1)], 1], s1: [[h(2)], 2] });
    const local = new Map<string, Heads | undefined>([["root", [h(1)]], ["s1", [h(2)]]]);
    const plan = await planSync(s.fetch, memoryOf({ root: [h(1)], s1: [h(2)] }, 2), URL_A, local);
    expect(plan?.documents.size).toBe(0);
    expect(plan?.fullListing).toBeUndefined();
    expect(s.asked).toEqual([2]);
    expect(plan?.summary.documents).toEqual({});
  });

  it("exchanges a document changed here, and one the server changed, and nothing else", async () => {
    const s = server({ root: [[h(1)], 1], s1: [[h(2)], 2], s2: [[h(9)], 5] });
    const local = new Map<string, Heads | undefined>([["root", [h(1)]], ["s1", [h(7)]], ["s2", [h(3)]]]);
    const plan = await planSync(s.fetch, memoryOf({ root: [h(1)], s1: [h(2)], s2: [h(3)] }, 2), URL_A, local);
    expect([...plan!.documents].sort()).toEqual(["s1", "s2"]);
    expect(plan!.fullListing).toBeUndefined();
    // only s1 has changes to send: s2 here is still what the server was last seen to hold
    expect([...plan!.changedHere]).toEqual(["s1"]);
  });

  it("knows before asking which documents changed here since the last sync: those the plan sends", async () => {
    const s = server({ root: [[h(1)], 1], s1: [[h(2)], 2], s2: [[h(9)], 5] });
    const local = new Map<string, Heads | undefined>([["root", [h(1)]], ["s1", [h(7)]], ["s2", [h(3)]], ["s3", undefined]]);
    const memory = memoryOf({ root: [h(1)], s1: [h(2)], s2: [h(3)] }, 2);
    const plan = await planSync(s.fetch, memory, URL_A, local);
    expect([...changedSinceLastSync(memory, URL_A, local)]).toEqual([...plan!.changedHere]);
    // nothing is known of a remote never synced with, or synced with at another URL
    expect(changedSinceLastSync(undefined, URL_A, local).size).toBe(0);
    expect(changedSinceLastSync(memory, "ws://elsewhere.example/sync", local).size).toBe(0);
  });

  it("asks for the whole listing on a first sync, a new epoch, or a picture that does not add up", async () => {
    const docs: Record<string, [Heads, number]> = { root: [[h(1)], 1], s1: [[h(2)], 2] };
    const local = new Map<string, Heads | undefined>([["root", [h(1)]], ["s1", [h(2)]]]);
    expect((await planSync(server(docs).fetch, undefined, URL_A, local))?.fullListing).toBe("first");
    const epoch = server(docs, "e2");
    expect((await planSync(epoch.fetch, memoryOf({ root: [h(1)], s1: [h(2)] }, 2), URL_A, local))?.fullListing).toBe("epoch");
    expect(epoch.asked).toEqual([2, 0]);
    // the server lost s1's row without its sequence going back: the digest tells
    const lost = await planSync(server({ root: [[h(1)], 2] }).fetch, memoryOf({ root: [h(1)], s1: [h(2)] }, 2), URL_A, local);
    expect(lost?.fullListing).toBe("digest");
    expect([...lost!.documents]).toEqual(["s1"]);
    // remembered under another URL: starts afresh
    expect((await planSync(server(docs).fetch, { ...memoryOf({}, 2), remoteUrl: "ws://other/sync" }, URL_A, local))?.fullListing).toBe("first");
  });

  it("exchanges every document with a server whose sequence went backwards", async () => {
    const s = server({ root: [[h(1)], 1], s1: [[h(2)], 2] });
    const local = new Map<string, Heads | undefined>([["root", [h(1)]], ["s1", [h(2)]]]);
    const plan = await planSync(s.fetch, memoryOf({ root: [h(1)], s1: [h(2)] }, 9), URL_A, local);
    expect(plan?.fullListing).toBe("regressed");
    expect([...plan!.documents].sort()).toEqual(["root", "s1"]);
  });

  it("with a read-only token, fetches only what the server holds that was not taken yet", async () => {
    const s = server({ root: [[h(1)], 1], s1: [[h(2)], 2], s2: [[h(5)], 3] }, "e1", "read-only");
    // s1 changed here only (nothing to fetch); s2 changed on the server
    const local = new Map<string, Heads | undefined>([["root", [h(1)]], ["s1", [h(8)]], ["s2", [h(4)]]]);
    const plan = await planSync(s.fetch, memoryOf({ root: [h(1)], s1: [h(2)], s2: [h(4)] }, 2), URL_A, local);
    expect([...plan!.documents]).toEqual(["s2"]);
    expect(plan!.changedHere.size).toBe(0);
  });

  it("a server without summaries gives no plan: every document is exchanged", async () => {
    expect(await planSync(async () => undefined, undefined, URL_A, new Map([["root", undefined]]))).toBeUndefined();
  });

  it("remembers checkpoints only for documents both sides were seen to hold, and the sequence after its own pushes", async () => {
    const s = server({ root: [[h(1)], 1], s1: [[h(2)], 2] });
    const local = new Map<string, Heads | undefined>([["root", [h(1)]], ["s1", [h(7)]]]);
    const plan = (await planSync(s.fetch, undefined, URL_A, local))!;
    const after = advancePlan(plan, await server({ root: [[h(1)], 1], s1: [[h(7)], 3] }).fetch(2));
    const memory = rememberAfterSync(after, URL_A, local, new Map([["s1", [h(7)]]]), undefined);
    expect(memory.seq).toBe(3);
    expect(Object.fromEntries(memory.sharedHeads)).toEqual({ root: [h(1)], s1: [h(7)] });
    // a sync cut off before s1 was exchanged claims nothing for it
    const cut = rememberAfterSync(plan, URL_A, local, new Map(), undefined);
    expect(cut.sharedHeads.has("s1")).toBe(false);
    expect(cut.seq).toBe(2);
  });

  it("the digest ignores order, and summaries are told apart from other JSON", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 3 })), { maxLength: 20 }), (pairs) => {
        const entries = [...new Map(pairs).entries()].map(([docId, ns]) => ({ docId, heads: ns.map(h) }));
        const shuffled = [...entries].reverse().map((e) => ({ ...e, heads: [...e.heads].reverse() }));
        expect(headsDigest(shuffled)).toBe(headsDigest(entries));
      }),
    );
    expect(headsDigest([{ docId: "a", heads: [h(1)] }])).not.toBe(headsDigest([{ docId: "a", heads: [h(2)] }]));
    expect(isHeadsSummary({ error: "not found" })).toBe(false);
    expect(isHeadsSummary({ ...summarize({ epoch: () => "e", documents: () => [] }, "automerge:r", "r", 0, "read-write"), documents: { a: ["zz"] } })).toBe(false);
  });
});
