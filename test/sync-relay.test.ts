/**
 * Syncing through a real relay process over real sockets, with a token for the catalog: the
 * transport conformance scenarios, plus what only a relay does (refusing a client without a token).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectExit, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { createToken, freePort, startRelayProcess, type RelayProcess } from "./helpers/relay-process.js";
import { describeTransportConformance, type TransportServer } from "./helpers/transport-conformance.js";

async function startRelay(dataDir: string, catalogUrl: string): Promise<TransportServer & { relay: () => RelayProcess; token: string }> {
  const port = await freePort();
  const token = await createToken(dataDir, catalogUrl);
  let relay = await startRelayProcess(dataDir, ["--port", String(port)]);
  return {
    token,
    relay: () => relay,
    async addRemote(home, name) {
      expectExit(await shelf(home, "remote", "add", name, relay.url, "--token", token), 0);
    },
    async join(home, url, ...options) {
      expectExit(await shelf(home, "join", url, "--relay", relay.url, "--token", token, "--name", "team", ...options), 0);
    },
    async crashAndRestart() {
      await relay.stop("SIGKILL");
      relay = await startRelayProcess(dataDir, ["--port", String(port)]);
    },
    async stop() {
      await relay.stop("SIGTERM");
    },
  };
}

describeTransportConformance({ name: "relay", start: startRelay, deadUrl: "ws://127.0.0.1:1/sync" });

describe("sync through a relay that has tokens", () => {
  it("refuses a client without a token, and says how to get one", async () => {
    const tmp = makeTempDir("shelf-relay-token-");
    try {
      const home = join(tmp.dir, "a");
      const catalogUrl = (await shelf(home, "init")).stdout.trim();
      const server = await startRelay(join(tmp.dir, "relay"), catalogUrl);
      try {
        expectExit(await shelf(home, "remote", "add", "team", server.relay().url), 0);
        const result = await shelf(home, "sync", "team", "--json");
        expect(result.code).toBe(1);
        expect(JSON.parse(result.stdout).error).toMatchObject({ code: "SHELF_E_RELAY_UNAUTHORIZED" });
        expect(result.stderr).toMatch(/--token/);

        // A join that fails takes back the instance it made, and leaves what was there alone.
        const fresh = join(tmp.dir, "fresh");
        const refused = await shelf(fresh, "join", catalogUrl, "--relay", server.relay().url, "--token", "shelf_not-a-token-of-this-relay", "--json");
        expect(refused.code).toBe(1);
        expect(JSON.parse(refused.stdout).error).toMatchObject({ code: "SHELF_E_RELAY_UNAUTHORIZED" });
        expect(existsSync(fresh)).toBe(false);
        const used = join(tmp.dir, "used");
        mkdirSync(used);
        writeFileSync(join(used, "notes.txt"), "mine");
        expect((await shelf(used, "join", catalogUrl, "--relay", server.relay().url)).code).toBe(1);
        expect(readdirSync(used)).toEqual(["notes.txt"]);
        // An instance that was there before stays.
        expect((await shelf(home, "join", catalogUrl, "--relay", server.relay().url, "--remote", "again")).code).not.toBe(0);
        expect((await shelfJson<{ status: { catalogs: unknown[] } }>(home, "status")).status.catalogs).toHaveLength(1);
      } finally {
        await server.stop();
      }
    } finally {
      tmp.remove();
    }
  });
  it("a catalog split into other than 256 shards syncs and joins with its own shard count", async () => {
    const tmp = makeTempDir("shelf-relay-shards-");
    try {
      const [a, b] = [join(tmp.dir, "a"), join(tmp.dir, "b")];
      const refused = await shelf(a, "init", "--shards", "5000");
      expectExit(refused, 2);
      expect(refused.stderr).toMatch(/--shards "5000" is not a whole number from 1 to 4096/);
      const catalogUrl = (await shelf(a, "init", "--shards", "8")).stdout.trim();
      const tsv = join(tmp.dir, "rows.tsv");
      writeFileSync(tsv, ["name\tversion\tdownloads_a_month\tsummary", ...Array.from({ length: 40 }, (_, i) => `pkg-${i}\t1.0.${i}\t0\tpackage ${i}`)].join("\n") + "\n");
      expectExit(await shelf(a, "import", "tsv", tsv), 0);
      const server = await startRelay(join(tmp.dir, "relay"), catalogUrl);
      try {
        await server.addRemote(a, "team");
        expectExit(await shelf(a, "sync", "team"), 0);
        await server.join(b, catalogUrl);
        const status = await shelfJson<{ status: { catalogs: { shards: number; live: number }[] } }>(b, "status");
        expect(status.status.catalogs[0]).toMatchObject({ shards: 8, live: 40 });
        // an edit on B goes back to A through the same eight documents
        expectExit(await shelf(b, "set", "npm:pkg-7", "summary=edited on b"), 0);
        expectExit(await shelf(b, "sync"), 0);
        expectExit(await shelf(a, "sync"), 0);
        expect((await shelfJson(a, "show", "npm:pkg-7")).record.summary).toBe("edited on b");
      } finally {
        await server.stop();
      }
    } finally {
      tmp.remove();
    }
  });

  it("with a read-only token, fetches what the relay has without waiting for it to take local edits", async () => {
    const tmp = makeTempDir("shelf-relay-read-only-");
    try {
      const [writer, reader, other] = ["writer", "reader", "other"].map((n) => join(tmp.dir, n)) as [string, string, string];
      const catalogUrl = (await shelf(writer, "init")).stdout.trim();
      expectExit(await shelf(writer, "add", "npm:shared", "--name", "shared"), 0);
      const server = await startRelay(join(tmp.dir, "relay"), catalogUrl);
      try {
        await server.addRemote(writer, "origin");
        expectExit(await shelf(writer, "sync"), 0);
        const readOnlyToken = await createToken(join(tmp.dir, "relay"), catalogUrl, { readOnly: true });
        expectExit(await shelf(reader, "join", catalogUrl, "--relay", server.relay().url, "--token", readOnlyToken), 0);

        expectExit(await shelf(reader, "add", "npm:local-only", "--name", "local-only"), 0);
        expectExit(await shelf(writer, "set", "npm:shared", "summary=from the writer"), 0);
        expectExit(await shelf(writer, "sync"), 0);
        const synced = await shelf(reader, "sync", "--json", "--timeout", "30");
        expectExit(synced, 0);
        expect(JSON.parse(synced.stdout).sync[0]).toMatchObject({ readOnly: true, updated: 1 });
        // the note is for people: on stderr with --json too, and stdout stays one JSON document
        expect(synced.stderr).toMatch(/read-only .*local edits were not sent/);
        expect((await shelfJson(reader, "show", "npm:shared")).record.summary).toBe("from the writer");
        expect((await shelf(reader, "sync")).stderr).toMatch(/read-only .*local edits were not sent/);

        // the local edit stayed local: a member with a read-write token does not get it
        await server.join(other, catalogUrl);
        expect((await shelf(other, "show", "npm:local-only")).code).toBe(1);
        expect(JSON.parse((await shelf(writer, "sync", "--json")).stdout).sync[0].readOnly).toBe(false);
      } finally {
        await server.stop();
      }
    } finally {
      tmp.remove();
    }
  });
  it("a remote that accepts the connection but never answers is a clear error, not a crash", async () => {
    const tmp = makeTempDir("shelf-relay-silent-");
    // takes TCP connections and never answers the WebSocket upgrade
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const home = join(tmp.dir, "a");
      expectExit(await shelf(home, "init"), 0);
      expectExit(await shelf(home, "remote", "add", "silent", `ws://127.0.0.1:${(silent.address() as { port: number }).port}/sync`), 0);
      const result = await shelf(home, "sync", "silent", "--timeout", "3", "--json");
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout).error.code).toBe("SHELF_E_REMOTE_UNREACHABLE");
      expect(result.stderr).not.toMatch(/Unhandled|internal error/);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      tmp.remove();
    }
  });
});
