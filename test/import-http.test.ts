/**
 * The HTTP client and the HTTP sources, against a real local server that injects 429s with
 * Retry-After, 500s, answers slower than the timeout, bodies cut short, and answers 304 to a
 * matching ETag.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ShelfError } from "../src/errors.js";
import { HttpClient, parseRetryAfter } from "../src/import/http-client.js";
import { runImport } from "../src/import/run-import.js";
import { getRecord } from "../src/view/queries.js";
import { FIXTURES } from "./helpers/cli.js";
import { startFixtureServer, type FixtureServer } from "./helpers/fixture-server.js";
import { tempCatalog } from "./helpers/temp-home.js";

let server: FixtureServer;
beforeEach(async () => {
  server = await startFixtureServer();
});
afterEach(() => server.close());

// Short backoff; a timeout no answer of the local server reaches on a busy machine, except where a
// test sets its own to time out a slow answer.
const fast = { baseDelayMs: 10, maxDelayMs: 50, timeoutMs: 10_000 };
const fixture = (...path: string[]) => readFileSync(join(FIXTURES, ...path), "utf8");

describe("HttpClient", () => {
  it("retries a 429 after the Retry-After the server asked for", async () => {
    server.routes.set("/doc", '{"a":1}');
    server.faults.set("/doc", [{ status: 429, retryAfter: "1" }]);
    const client = new HttpClient(fast);
    const started = performance.now();
    const result = await client.get(`${server.url}/doc`);
    expect(result).toMatchObject({ status: "ok", body: '{"a":1}' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(server.log.map((r) => r.status)).toEqual([429, 200]);
    expect(client.stats).toMatchObject({ requests: 2, retries: 1 });
  });

  it("backs off and retries 500s, then succeeds", async () => {
    server.routes.set("/doc", "{}");
    server.faults.set("/doc", [{ status: 500 }, { status: 503 }, { status: 502 }]);
    const client = new HttpClient(fast);
    expect((await client.get(`${server.url}/doc`)).status).toBe("ok");
    expect(server.log.map((r) => r.status)).toEqual([500, 503, 502, 200]);
  });

  it("gives up after its retries with an error naming the URL and the last failure", async () => {
    server.routes.set("/doc", "{}");
    server.faults.set("/doc", Array.from({ length: 10 }, () => ({ status: 500 })));
    const client = new HttpClient({ ...fast, retries: 2 });
    const err = await client.get(`${server.url}/doc`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShelfError);
    expect((err as ShelfError).code).toBe("SHELF_E_HTTP");
    expect((err as ShelfError).message).toContain(`${server.url}/doc`);
    expect((err as ShelfError).message).toMatch(/3 attempts: HTTP 500/);
    expect(server.log).toHaveLength(3);
  });

  it("times out a slow answer and retries it", async () => {
    server.routes.set("/doc", '{"slow":false}');
    server.faults.set("/doc", [{ delayMs: 1500 }]);
    const client = new HttpClient({ ...fast, timeoutMs: 300 });
    const started = performance.now();
    expect(await client.get(`${server.url}/doc`)).toMatchObject({ status: "ok", body: '{"slow":false}' });
    expect(performance.now() - started).toBeLessThan(1400);
  });

  it("reports a timeout that never ends as an error naming the URL", async () => {
    server.routes.set("/doc", "{}");
    server.faults.set("/doc", [{ delayMs: 2000 }, { delayMs: 2000 }]);
    const err = (await new HttpClient({ ...fast, timeoutMs: 200, retries: 1 }).get(`${server.url}/doc`).catch((e: ShelfError) => e)) as ShelfError;
    expect(err.message).toMatch(/\/doc failed after 2 attempts: no complete answer within 200 ms/);
  });

  it("retries a body cut short instead of parsing half a document", async () => {
    const body = JSON.stringify({ padding: "x".repeat(5000) });
    server.routes.set("/doc", body);
    server.faults.set("/doc", [{ truncate: true }]);
    const client = new HttpClient(fast);
    const result = await client.get(`${server.url}/doc`);
    expect(result).toMatchObject({ status: "ok", body });
    expect(client.stats.retries).toBe(1);
  });

  it("sends If-None-Match and reports a 304 as not modified", async () => {
    server.routes.set("/doc", '{"v":1}');
    const client = new HttpClient(fast);
    const first = await client.get(`${server.url}/doc`);
    if (first.status !== "ok") throw new Error("expected ok");
    expect(first.etag).toBeTruthy();
    expect(await client.get(`${server.url}/doc`, { etag: first.etag })).toEqual({ status: "not-modified", url: `${server.url}/doc` });
    expect(server.log[1]).toMatchObject({ ifNoneMatch: first.etag, status: 304 });
    server.routes.set("/doc", '{"v":2}');
    expect(await client.get(`${server.url}/doc`, { etag: first.etag })).toMatchObject({ status: "ok", body: '{"v":2}' });
  });

  it("answers 404 as gone, without retrying, and other 4xx as an error", async () => {
    const client = new HttpClient(fast);
    expect(await client.get(`${server.url}/missing`)).toMatchObject({ status: "gone", httpStatus: 404 });
    server.routes.set("/forbidden", "x");
    server.faults.set("/forbidden", [{ status: 403 }]);
    await expect(client.get(`${server.url}/forbidden`)).rejects.toMatchObject({ code: "SHELF_E_HTTP", message: expect.stringContaining("HTTP 403") });
    expect(server.log).toHaveLength(2);
  });

  it("keeps at most `concurrency` requests in flight", async () => {
    for (let i = 0; i < 12; i++) {
      server.routes.set(`/d${i}`, "{}");
      server.faults.set(`/d${i}`, [{ delayMs: 60 }]);
    }
    const client = new HttpClient({ ...fast, concurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => client.get(`${server.url}/d${i}`)));
    expect(server.maxInFlight).toBe(3);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-11-26T10:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Thu, 26 Nov 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Thu, 26 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("registry sources over HTTP", () => {
  const serveNpm = () => {
    server.routes.set("/react", fixture("npm", "packuments", "react.json"));
    server.routes.set("/@types%2Fnode", fixture("npm", "packuments", "types__node.json"));
    server.routes.set("/left-pad", fixture("npm", "packuments", "left-pad.json"));
  };

  it("fetches the named packages, then refreshes them with conditional requests (304: nothing re-read)", async () => {
    serveNpm();
    const { store } = await tempCatalog();
    const first = await runImport(store, { provider: "npm", source: server.url, packages: ["react", "@types/node"], http: fast });
    expect(first).toMatchObject({ added: 2, rejected: 0 });
    expect(getRecord(store.instance.db, store.catalog.catId, "npm:@types/node")?.version).toBe("22.5.4");

    // no --package: the packages this source imported before are refreshed
    const second = await runImport(store, { provider: "npm", source: server.url, http: fast });
    expect(second).toMatchObject({ added: 0, updated: 0, unchanged: 2, rejected: 0, vanished: 0 });
    expect(second.stats).toMatchObject({ notModified: 2, requests: 2 });
    expect(server.log.slice(-2).map((r) => r.status)).toEqual([304, 304]);

    // a new version on the server is picked up
    const doc = JSON.parse(fixture("npm", "packuments", "react.json"));
    doc["dist-tags"].latest = "18.3.1";
    server.routes.set("/react", JSON.stringify(doc));
    expect(await runImport(store, { provider: "npm", source: server.url, http: fast })).toMatchObject({ updated: 1, unchanged: 1 });
    expect(getRecord(store.instance.db, store.catalog.catId, "npm:react")?.version).toBe("18.3.1");
  });

  it("survives 429s, 500s, slow and truncated answers in one import", async () => {
    serveNpm();
    server.faults.set("/react", [{ status: 429, retryAfter: "1" }, { status: 500 }]);
    server.faults.set("/left-pad", [{ truncate: true }]);
    server.faults.set("/@types%2Fnode", [{ delayMs: 1500 }]);
    const { store } = await tempCatalog();
    const result = await runImport(store, { provider: "npm", source: server.url, packages: ["react", "left-pad", "@types/node"], http: { ...fast, timeoutMs: 400 } });
    expect(result).toMatchObject({ added: 3, rejected: 0 });
    expect(result.stats.retries).toBe(4);
  });

  it("rejects a package that stays unreachable, names its URL, and keeps its record", async () => {
    serveNpm();
    const { store } = await tempCatalog();
    await runImport(store, { provider: "npm", source: server.url, packages: ["react", "left-pad"], http: fast });
    server.faults.set("/react", Array.from({ length: 5 }, () => ({ status: 503 })));
    const result = await runImport(store, { provider: "npm", source: server.url, prune: true, http: { ...fast, retries: 1 } });
    expect(result).toMatchObject({ rejected: 1, vanished: 0, tombstoned: 0, unchanged: 1 });
    expect(result.rejects[0]!.where).toBe(`${server.url}/react`);
    expect(result.rejects[0]!.reason).toMatch(/HTTP 503/);
    expect(getRecord(store.instance.db, store.catalog.catId, "npm:react")?.deleted).toBe(false);
  });

  it("a package the registry no longer has is vanished (tombstoned with --prune); a named one that never existed is rejected", async () => {
    serveNpm();
    const { store } = await tempCatalog();
    await runImport(store, { provider: "npm", source: server.url, packages: ["react", "left-pad"], http: fast });
    server.routes.delete("/left-pad");
    const kept = await runImport(store, { provider: "npm", source: server.url, http: fast });
    expect(kept).toMatchObject({ vanished: 1, tombstoned: 0, rejected: 0, vanishedIds: ["npm:left-pad"] });
    const pruned = await runImport(store, { provider: "npm", source: server.url, prune: true, http: fast });
    expect(pruned).toMatchObject({ vanished: 1, tombstoned: 1 });
    expect(getRecord(store.instance.db, store.catalog.catId, "npm:left-pad")?.deleted).toBe(true);
    const named = await runImport(store, { provider: "npm", source: server.url, packages: ["no-such-package"], http: fast });
    expect(named.rejects).toEqual([{ where: `${server.url}/no-such-package`, reason: expect.stringMatching(/no package "no-such-package" \(HTTP 404\)/) }]);
  });

  it("PyPI: fetches /pypi/NAME/json by normalized name", async () => {
    server.routes.set("/pypi/requests/json", fixture("pypi", "documents", "requests.json"));
    server.routes.set("/pypi/zope-interface/json", fixture("pypi", "documents", "zope.interface.json"));
    const { store } = await tempCatalog();
    const result = await runImport(store, { provider: "pypi", source: `${server.url}/`, packages: ["requests", "Zope.Interface"], http: fast });
    expect(result).toMatchObject({ added: 2, rejected: 0 });
    expect(getRecord(store.instance.db, store.catalog.catId, "pypi:zope-interface")).toMatchObject({ name: "zope.interface", version: "7.0.3" });
  });
});

describe("Chocolatey OData feed over HTTP", () => {
  const serveFeed = () => {
    const local = (xml: string) => xml.replaceAll("https://community.chocolatey.org/api/v2/", `${server.url}/api/v2/`);
    server.routes.set("/api/v2/Packages()", local(fixture("choco", "feed", "page1.xml")));
    server.routes.set("/api/v2/Packages?$skip=3", local(fixture("choco", "feed", "page2.xml")));
  };

  it("follows next links, keeps the latest version of each id, and re-reads nothing on 304", async () => {
    serveFeed();
    const { store } = await tempCatalog();
    const source = `${server.url}/api/v2/Packages()`;
    const first = await runImport(store, { provider: "choco", source, http: fast });
    expect(first).toMatchObject({ added: 4, rejected: 0 });
    expect(getRecord(store.instance.db, store.catalog.catId, "choco:git")?.version).toBe("2.45.2");
    expect(getRecord(store.instance.db, store.catalog.catId, "choco:nodejs.install")?.name).toBe("Node JS (Install)");

    const second = await runImport(store, { provider: "choco", source, prune: true, http: fast });
    expect(second).toMatchObject({ added: 0, updated: 0, unchanged: 4, vanished: 0, tombstoned: 0 });
    expect(server.log.slice(-2).map((r) => [r.path, r.status])).toEqual([
      ["/api/v2/Packages()", 304],
      ["/api/v2/Packages?$skip=3", 304],
    ]);
  });

  it("a later page that fails after retries: the pages read are imported, nothing is pruned", async () => {
    serveFeed();
    const { store } = await tempCatalog();
    const source = `${server.url}/api/v2/Packages()`;
    await runImport(store, { provider: "choco", source, http: fast });
    server.routes.set("/api/v2/Packages()", server.routes.get("/api/v2/Packages()") + " ");
    server.faults.set("/api/v2/Packages?$skip=3", Array.from({ length: 5 }, () => ({ status: 500 })));
    const result = await runImport(store, { provider: "choco", source, prune: true, http: { ...fast, retries: 1 } });
    expect(result).toMatchObject({ complete: false, rejected: 1, vanished: 0, tombstoned: 0 });
    expect(result.rejects[0]!.where).toBe(`${server.url}/api/v2/Packages?$skip=3`);
    expect(getRecord(store.instance.db, store.catalog.catId, "choco:vlc")?.deleted).toBe(false);
  });

  it("a first page that cannot be fetched fails the import and writes nothing", async () => {
    const { store } = await tempCatalog();
    server.faults.set("/api/v2/Packages()", Array.from({ length: 5 }, () => ({ status: 500 })));
    server.routes.set("/api/v2/Packages()", "<feed/>");
    await expect(runImport(store, { provider: "choco", source: `${server.url}/api/v2/Packages()`, http: { ...fast, retries: 1 } })).rejects.toMatchObject({ code: "SHELF_E_HTTP" });
  });
});
