/**
 * One catalog must not reach or take another's documents at the relay (issue #13, item 3): a real
 * relay process, the real CLI for the victim, and a raw automerge-repo client for the attacker,
 * who holds a write token for their own catalog and knows the victim's document ids.
 * Run by hand with: npm run build && npx vitest run test/relay-tenancy.test.ts
 */
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { Repo, type AutomergeUrl, type DocHandle } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shardIdFor } from "../src/model/catalog-ids.js";
import { readChangingNotice } from "../src/protocol/changing-notice.js";
import { readBundle } from "../src/bundle/bundle-file.js";
import { FIXTURES, expectExit, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { writeLegacyCatalog } from "./helpers/legacy-catalog.js";
import { connectClient, createToken, startRelayProcess, type RelayProcess } from "./helpers/relay-process.js";

const imm = (s: string) => new A.ImmutableString(s);
type Root = { shelf: "catalog"; format: number; name: A.ImmutableString; shards: A.ImmutableString[] };
type Shard = { records: Record<string, A.ImmutableString> };

describe("a catalog's documents at the relay belong to that catalog alone", () => {
  const tmp = makeTempDir("shelf-relay-tenancy-");
  const dataDir = join(tmp.dir, "relay");
  const victim = join(tmp.dir, "victim");
  const joiner = join(tmp.dir, "joiner");
  let relay: RelayProcess;
  let victimUrl: string;
  let victimShards: string[];
  let tokenA: string;
  let attackerUrl: AutomergeUrl;
  let tokenC: string;

  beforeAll(async () => {
    victimUrl = (await shelf(victim, "init", "--name", "victim")).stdout.trim();
    expectExit(await shelf(victim, "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);
    // Derived ids are public: anyone who knows the catalog URL can compute them.
    victimShards = Array.from({ length: 256 }, (_, i) => `automerge:${shardIdFor(victimUrl.slice("automerge:".length), i)}`);
    relay = await startRelayProcess(dataDir);
    tokenC = await createToken(dataDir, victimUrl);
  });

  afterAll(async () => {
    await relay?.stop();
    tmp.remove();
  });

  it("a writer of another catalog who lists the victim's shards in its root before the victim's first push takes nothing: the victim syncs and a fresh join gets it whole", async () => {
    // The attacker's own catalog, with a token of its own, pushed to the relay.
    const author = new Repo({ network: [] });
    const ownShard = author.create<Shard>({ records: { "npm:mine name": imm("mine") } });
    const ownRoot = author.create<Root>({ shelf: "catalog", format: 1, name: imm("attacker"), shards: [imm(ownShard.url)] });
    tokenA = await createToken(dataDir, ownRoot.url);
    attackerUrl = ownRoot.url;
    const attacker = await connectClient(relay.url, tokenA);
    try {
      const root = attacker.repo.import<Root>(A.save(ownRoot.doc()), { docId: ownRoot.documentId });
      const shard = attacker.repo.import<Shard>(A.save(ownShard.doc()), { docId: ownShard.documentId });
      await attacker.waitForRelay([root, shard] as DocHandle<unknown>[]);

      // The hijack: the victim's root and shards listed in the attacker's root, before the victim pushed.
      root.change((d) => void d.shards.push(imm(victimUrl), ...victimShards.map(imm)));
      await attacker.waitForRelay([root as DocHandle<unknown>]);
      // ... and records planted under the victim's shard ids: the relay takes none of them.
      const planted = victimShards.slice(0, 3).map((url) => attacker.repo.import<Shard>(A.save(A.from<Shard>({ records: { "npm:planted name": imm("planted") } })), { docId: url.slice("automerge:".length) as never }));
      await expect(attacker.waitForRelay(planted as DocHandle<unknown>[], 1_500)).rejects.toThrow(/did not confirm/);
    } finally {
      await attacker.close();
    }

    // The victim's first push goes through, and a fresh join gets every record and nothing planted.
    expectExit(await shelf(victim, "remote", "add", "origin", relay.url, "--token", tokenC), 0);
    expectExit(await shelf(victim, "sync", "--timeout", "60"), 0);
    expectExit(await shelf(joiner, "join", victimUrl, "--relay", relay.url, "--token", tokenC, "--timeout", "60"), 0);
    const expected = (await shelfJson(victim, "list")).records.map((r: { id: string }) => r.id).sort();
    expect(expected.length).toBeGreaterThan(5);
    expect((await shelfJson(joiner, "list")).records.map((r: { id: string }) => r.id).sort()).toEqual(expected);

    // The attacker reaches none of the victim's documents.
    const again = await connectClient(relay.url, tokenA);
    try {
      for (const url of [victimUrl, ...victimShards.slice(0, 3)]) await expect(again.find(url as AutomergeUrl, 2_000)).rejects.toThrow(/unavailable/);
    } finally {
      await again.close();
    }
  }, 240_000);

  it("a catalog made before derived ids whose shards another catalog listed first gets a clear error, not a timeout", async () => {
    const bundle = join(tmp.dir, "legacy.bundle");
    const legacyUrl = writeLegacyCatalog(bundle, "old", ["a", "b", "c"]);
    const shardUrls = readBundle(bundle).documents.map((d) => `automerge:${d.documentId}`).filter((u) => u !== legacyUrl);
    const old = join(tmp.dir, "old");
    expectExit(await shelf(old, "import-bundle", bundle), 0);
    const token = await createToken(dataDir, legacyUrl);

    // A writer of the attacker's catalog lists the old catalog's shards first.
    const attacker = await connectClient(relay.url, tokenA);
    try {
      const root = await attacker.find<Root>(attackerUrl);
      await attacker.waitForRelay([root as DocHandle<unknown>]);
      root.change((d) => void d.shards.push(...shardUrls.map(imm)));
      await attacker.waitForRelay([root as DocHandle<unknown>]);
    } finally {
      await attacker.close();
    }

    expectExit(await shelf(old, "remote", "add", "origin", relay.url, "--token", token), 0);
    const started = Date.now();
    const result = await shelf(old, "sync", "--json", "--timeout", "120");
    expectExit(result, 1);
    const { error } = JSON.parse(result.stdout).failures[0];
    expect(error.code).toBe("SHELF_E_RELAY_SHARD_TAKEN");
    expect(error.message).toMatch(/shard documents as another catalog's/);
    expect(Date.now() - started).toBeLessThan(90_000);
  });

  it("a token for one catalog gets no heads summary of another", async () => {
    const url = `${relay.url.replace(/^ws/, "http")}/heads?catalog=${encodeURIComponent(victimUrl)}&since=0`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${tokenA}` } });
    expect(res.status).toBe(403);
  });

  it("a token for one catalog makes the relay load none of another's documents", async () => {
    const url = `${relay.url.replace(/^ws/, "http")}/heads/prefetch`;
    const prefetch = (token: string, body: unknown) =>
      fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const victimIds = [victimUrl, ...victimShards.slice(0, 3)].map((u) => u.slice("automerge:".length));
    expect((await prefetch(tokenA, { catalog: victimUrl, documents: victimIds })).status).toBe(403);
    // named under the attacker's own catalog, the victim's documents are not its own: none loaded
    const asOwn = await prefetch(tokenA, { catalog: attackerUrl, documents: victimIds });
    expect(asOwn.status).toBe(202);
    expect(await asOwn.json()).toEqual({ prefetching: 0 });
    // the victim's token: its root and the stored shards among those named
    const stored = victimShards.filter((u) => u !== victimUrl).map((u) => u.slice("automerge:".length));
    const own = await prefetch(tokenC, { catalog: victimUrl, documents: [victimIds[0], ...stored.slice(0, 15)] });
    expect(own.status).toBe(202);
    expect(((await own.json()) as { prefetching: number }).prefetching).toBeGreaterThanOrEqual(1);
    expect((await prefetch(tokenC, { catalog: victimUrl, documents: stored.slice(0, 17) })).status).toBe(400);
    expect((await prefetch(tokenC, { catalog: victimUrl, documents: ["not/an id"] })).status).toBe(400);
  });

  it("only a writer of the catalog can tell its live clients that shards are about to change", async () => {
    const url = `${relay.url.replace(/^ws/, "http")}/heads/prefetch`;
    const prefetch = (token: string, body: unknown) =>
      fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const [first, second, third] = victimShards.slice(0, 3).map((u) => u.slice("automerge:".length));
    const readOnly = await createToken(dataDir, victimUrl, { readOnly: true });
    const live = await connectClient(relay.url, tokenC);
    try {
      const root = await live.find<Root>(victimUrl as AutomergeUrl);
      const notices: string[][] = [];
      root.on("ephemeral-message", ({ message }) => {
        const notice = readChangingNotice(message);
        if (notice) notices.push(notice);
      });
      // a reader, and a writer of another catalog naming the victim's shards, announce nothing
      expect((await prefetch(readOnly, { catalog: victimUrl, documents: [first], changing: [first] })).status).toBe(202);
      expect((await prefetch(tokenA, { catalog: attackerUrl, documents: [second], changing: [second] })).status).toBe(202);
      expect((await prefetch(tokenC, { catalog: victimUrl, documents: [first], changing: [second] })).status).toBe(400);
      // the catalog's writer does; the notices come in order, so the earlier ones would be here
      expect((await prefetch(tokenC, { catalog: victimUrl, documents: [first, third], changing: [third] })).status).toBe(202);
      const deadline = Date.now() + 10_000;
      while (notices.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(notices).toEqual([[third]]);
    } finally {
      await live.close();
    }
  });

  it("a token made for one of a catalog's shard ids reaches nothing", async () => {
    const tokenShard = await createToken(dataDir, victimShards[0]!);
    const client = await connectClient(relay.url, tokenShard);
    try {
      await expect(client.find(victimShards[0] as AutomergeUrl, 2_000)).rejects.toThrow(/unavailable/);
    } finally {
      await client.close();
    }
  });
});
