/**
 * Syncs that cost what changed: a heads summary from a real relay process, per-remote
 * checkpoints, and what happens when the relay is not what the instance remembers.
 */
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DocHandle } from "@automerge/automerge-repo";
import { documentIdOf, shardIndex } from "../src/model/catalog-doc.js";
import { ROOT, expectExit, finished, makeTempDir, shelf, shelfJson, startCli } from "./helpers/cli.js";
import { connectClient, createToken, eventually, freePort, metricValue, startRelayProcess } from "./helpers/relay-process.js";
import { shardIdFor } from "../src/model/catalog-ids.js";

const HOOK = join(ROOT, "test", "helpers", "record-imports.mjs");

interface Report {
  documents: number;
  loaded: number;
  loads: number;
  added: number;
  updated: number;
  summary?: { requests: number; bytesDown: number; fullListing: string | null };
}

async function syncReport(home: string): Promise<Report> {
  const out = await shelfJson<{ sync: Report[]; failures: unknown[] }>(home, "sync", "--json");
  expect(out.failures).toEqual([]);
  return out.sync[0]!;
}

/** Ids that fall in `count` different shards of a 256-shard catalog. */
function idsInDistinctShards(count: number, prefix: string): string[] {
  const ids: string[] = [];
  const shards = new Set<number>();
  for (let i = 0; ids.length < count; i++) {
    const id = `npm:${prefix}-${i}`;
    const shard = shardIndex(id, 256);
    if (shards.has(shard)) continue;
    shards.add(shard);
    ids.push(id);
  }
  return ids;
}

async function setup(dir: string) {
  const [a, b] = [join(dir, "a"), join(dir, "b")];
  const url = (await shelf(a, "init", "--name", "team")).stdout.trim();
  for (const id of ["npm:left-pad", "npm:react"]) expectExit(await shelf(a, "add", id, "--name", id.slice(4)), 0);
  const dataDir = join(dir, "relay");
  const token = await createToken(dataDir, url);
  const port = await freePort();
  const relay = await startRelayProcess(dataDir, ["--port", String(port)]);
  expectExit(await shelf(a, "remote", "add", "team", relay.url, "--token", token), 0);
  expectExit(await shelf(a, "sync"), 0);
  expectExit(await shelf(b, "join", url, "--relay", relay.url, "--token", token, "--name", "team"), 0);
  return { a, b, url, dataDir, token, port, relay };
}

describe("a sync with a relay that gives heads summaries", () => {
  it("with nothing changed, makes one small request and loads no document (nor Automerge) on either side", async () => {
    const tmp = makeTempDir("shelf-checkpoint-nochange-");
    try {
      const { a, relay } = await setup(tmp.dir);
      try {
        await syncReport(a); // the first summary with a checkpoint lists every document once
        const report = await syncReport(a);
        expect(report).toMatchObject({ documents: 0, loaded: 0, added: 0, updated: 0, summary: { requests: 1, fullListing: null } });
        expect(report.summary!.bytesDown).toBeLessThan(1024);
        const log = join(tmp.dir, "imports.log");
        const result = await finished(startCli(["--home", a, "sync", "--json"], { nodeArgs: ["--import", HOOK], env: { SHELF_RECORD_IMPORTS: log } }));
        expectExit(result, 0);
        const loaded = readFileSync(log, "utf8");
        expect(loaded).toMatch(/better-sqlite3/);
        expect(loaded).not.toMatch(/@automerge\//);
      } finally {
        await relay.stop("SIGTERM");
      }
    } finally {
      tmp.remove();
    }
  });

  it("after another instance changed 3 shards, exchanges and loads exactly those 3", async () => {
    const tmp = makeTempDir("shelf-checkpoint-three-");
    try {
      const { a, b, relay } = await setup(tmp.dir);
      try {
        await syncReport(b);
        for (const id of idsInDistinctShards(3, "three")) expectExit(await shelf(a, "add", id, "--name", id.slice(4)), 0);
        const pushed = await syncReport(a);
        expect(pushed).toMatchObject({ documents: 3, loaded: 3 });
        const pulled = await syncReport(b);
        // each shard loaded once: materialized from the copy the exchange stored, not loaded again
        expect(pulled).toMatchObject({ documents: 3, loaded: 3, loads: 3, added: 3 });
        expect((await shelfJson<{ records: unknown[] }>(b, "list", "--json")).records).toHaveLength(5);
        expect(await syncReport(b)).toMatchObject({ documents: 0, loaded: 0 });
      } finally {
        await relay.stop("SIGTERM");
      }
    } finally {
      tmp.remove();
    }
  });

  it("a prefetch makes the relay load the documents a sync is about to exchange, before the sync connects", async () => {
    const tmp = makeTempDir("shelf-checkpoint-prefetch-");
    try {
      const { url, token, relay } = await setup(tmp.dir);
      try {
        const loaded = async () => (await metricValue(relay, "shelf_relay_documents_loaded")) ?? -1;
        // with no client connected, the relay drops what it holds once in step
        expect(await eventually(async () => (await loaded()) === 0, 60_000, 200)).toBe(true);
        const shards = [0, 1, 2].map((i) => shardIdFor(url.slice("automerge:".length), i));
        const res = await fetch(`${relay.http}/sync/heads/prefetch`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ catalog: url, documents: shards }),
        });
        expect(res.status).toBe(202);
        expect(await res.json()).toEqual({ prefetching: 3 });
        expect(await eventually(async () => (await loaded()) === 3, 10_000, 50)).toBe(true);
      } finally {
        await relay.stop("SIGTERM");
      }
    } finally {
      tmp.remove();
    }
  });

  it("a relay restored from an older copy of its data: the next sync sees it went back, exchanges everything, and nothing is lost", async () => {
    const tmp = makeTempDir("shelf-checkpoint-restore-");
    try {
      const setupResult = await setup(tmp.dir);
      const { a, url, dataDir, token, port } = setupResult;
      let relay = setupResult.relay;
      try {
        await syncReport(a);
        await relay.stop("SIGTERM");
        const backup = join(tmp.dir, "relay-backup");
        cpSync(dataDir, backup, { recursive: true });
        relay = await startRelayProcess(dataDir, ["--port", String(port)]);
        expectExit(await shelf(a, "set", "npm:react", "summary=acknowledged by the relay"), 0);
        expect(await syncReport(a)).toMatchObject({ documents: 1 });
        await relay.stop("SIGTERM");
        rmSync(dataDir, { recursive: true });
        cpSync(backup, dataDir, { recursive: true });
        relay = await startRelayProcess(dataDir, ["--port", String(port)]);
        const report = await syncReport(a);
        expect(report.summary?.fullListing).toBe("regressed");
        expect(report.documents).toBe(257);
        // what the relay lost came back from the instance: a fresh join gets it
        const c = join(tmp.dir, "c");
        expectExit(await shelf(c, "join", url, "--relay", relay.url, "--token", token, "--name", "team"), 0);
        const show = await shelfJson<{ record: { summary: string } }>(c, "show", "npm:react", "--json");
        expect(show.record.summary).toBe("acknowledged by the relay");
      } finally {
        await relay.stop("SIGTERM");
      }
    } finally {
      tmp.remove();
    }
  });

  it("a stock automerge-repo client still reads and writes the catalog by URL with a token, and instances see its edit", async () => {
    const tmp = makeTempDir("shelf-checkpoint-stock-");
    try {
      const { a, b, url, token, relay } = await setup(tmp.dir);
      try {
        await syncReport(b);
        const client = await connectClient(relay.url, token);
        try {
          const root = await client.find<{ shards: unknown[] }>(url as never);
          const shardUrls = root.doc().shards.map(String);
          const shardUrl = shardUrls[shardIndex("npm:react", shardUrls.length)]!;
          const shard = await client.find<{ records: Record<string, unknown> }>(shardUrl as never);
          expect(Object.keys(shard.doc().records).some((k) => k.startsWith("npm:react "))).toBe(true);
          shard.change((doc) => {
            doc.records["npm:react version"] = "19.1.0";
          });
          await client.waitForRelay([shard as DocHandle<unknown>]);
          const pulled = await syncReport(b);
          expect(pulled).toMatchObject({ documents: 1, loaded: 1, loads: 1, updated: 1 });
          expect(pulled.summary?.fullListing).toBeNull();
          const show = await shelfJson<{ record: { version: string } }>(b, "show", "npm:react", "--json");
          expect(show.record.version).toBe("19.1.0");
          expect(documentIdOf(shardUrl)).toBe(shard.documentId);
        } finally {
          await client.close();
        }
        expect(await syncReport(a)).toMatchObject({ documents: 1, updated: 1 });
      } finally {
        await relay.stop("SIGTERM");
      }
    } finally {
      tmp.remove();
    }
  });
});
