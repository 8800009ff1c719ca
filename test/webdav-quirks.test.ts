/**
 * Server quirks, through a fault-injecting proxy in front of a real server (the in-process
 * `webdav-server`): no ETags, encoded names, 207 answers with per-member errors, slow answers,
 * 5xx and 429, cut-off downloads, a full quota (507), refused credentials. Also what the client
 * sends: uploads to a temporary name then MOVE with Overwrite: F, If-None-Match / If-Match.
 * Credentials are tried against rclone serve webdav with basic auth.
 */
import { chmodSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { catalogFolder, parseName } from "../src/sync/webdav/layout.js";
import { expectExit, expectJsonError, FIXTURES, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { startFaultProxy, startInProcess, startRclone, type DavServer, type FaultProxy } from "./helpers/webdav-servers.js";

describe("WebDAV server quirks", () => {
  const tmp = makeTempDir("shelf-webdav-quirks-");
  const home = (n: string) => join(tmp.dir, n);
  let server: DavServer;
  let proxy: FaultProxy;
  let catalogUrl: string;
  let folder: string;
  let round = 0;
  /** an edit on A, synced up through the proxy as it is now */
  const editA = async () => {
    round++;
    expectExit(await shelf(home("a"), "set", "npm:react", `summary=edit ${round}`), 0);
    return shelf(home("a"), "sync", "dav", "--json");
  };
  const bHasLatest = async () => expect((await shelfJson(home("b"), "show", "npm:react")).record.summary).toBe(`edit ${round}`);

  beforeAll(async () => {
    process.env.SHELF_WEBDAV_REQUEST_TIMEOUT_MS = "1500";
    server = await startInProcess(home("server"));
    proxy = await startFaultProxy(server.http);
    catalogUrl = (await shelf(home("a"), "init", "--name", "team")).stdout.trim();
    expectExit(await shelf(home("a"), "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);
    expectExit(await shelf(home("a"), "remote", "add", "dav", proxy.remoteUrl), 0);
    expectExit(await shelf(home("a"), "sync", "dav"), 0);
    expectExit(await shelf(home("b"), "join", catalogUrl, "--webdav", proxy.remoteUrl, "--remote", "dav", "--name", "team"), 0);
    folder = join(home("server"), "shelf", catalogFolder(catalogUrl));
  });

  afterEach(() => {
    proxy.fault = () => undefined;
  });

  afterAll(async () => {
    delete process.env.SHELF_WEBDAV_REQUEST_TIMEOUT_MS;
    await proxy?.stop();
    await server?.stop();
    tmp.remove();
  });

  it("creates a base folder several levels deep that does not exist yet", async () => {
    expectExit(await shelf(home("a"), "remote", "add", "deep", `${proxy.remoteUrl}/team/2026/catalogs`), 0);
    expectExit(await shelf(home("a"), "sync", "deep"), 0);
    expect(readdirSync(join(home("server"), "shelf", "team", "2026", "catalogs", catalogFolder(catalogUrl))).length).toBeGreaterThan(0);
  });

  it("uploads to a temporary name, then MOVEs without overwriting, with If-None-Match on the PUT", async () => {
    proxy.reset();
    expectExit(await editA(), 0);
    const methods = proxy.requests.map((r) => r.method);
    expect(methods).toEqual(["PROPFIND", "PUT", "MOVE"]);
    const [, put, move] = proxy.requests;
    expect(put!.url).toMatch(/\/\.tmp-[a-z0-9-]+\.part$/);
    expect(put!.headers["if-none-match"]).toBe("*");
    expect(move!.headers.overwrite).toBe("F");
    expect(parseName(decodeURIComponent(String(move!.headers.destination).split("/").pop()!))).toBeDefined();
    expect(readdirSync(folder).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
    expectExit(await shelf(home("b"), "sync", "dav"), 0);
    await bHasLatest();
  });

  it("works with a server that sends no ETags at all, and compacts without If-Match", async () => {
    proxy.fault = (req) => (req.method === "PROPFIND" ? { rewriteListing: (xml: string) => xml.replace(/<([a-zA-Z]+:)?getetag>[^<]*<\/([a-zA-Z]+:)?getetag>/g, "") } : { dropHeaders: ["etag"] });
    expectExit(await editA(), 0);
    proxy.reset();
    const compacted = await shelfJson(home("a"), "sync", "compact", "dav");
    expect(compacted.sync[0].webdav.deleted).toBeGreaterThan(0);
    const deletes = proxy.requests.filter((r) => r.method === "DELETE");
    expect(deletes.length).toBeGreaterThan(0);
    for (const d of deletes) expect(d.headers["if-match"]).toBeUndefined();
    expectExit(await shelf(home("b"), "sync", "dav"), 0);
    await bHasLatest();
  });

  it("deletes with If-Match when the server has ETags", async () => {
    expectExit(await editA(), 0);
    proxy.reset();
    expectExit(await shelf(home("a"), "sync", "compact", "dav"), 0);
    const deletes = proxy.requests.filter((r) => r.method === "DELETE");
    expect(deletes.length).toBeGreaterThan(0);
    expect(deletes.some((d) => typeof d.headers["if-match"] === "string")).toBe(true);
  });

  it("reads names a server lists URL-encoded", async () => {
    const encodeAll = (s: string) => [...s].map((c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")).join("");
    proxy.fault = (req) => (req.method === "PROPFIND" ? { rewriteListing: (xml: string) => xml.replace(/(href>[^<]*\/)([^/<]+\.(?:shelf|part))</g, (_m, path: string, name: string) => `${path}${encodeAll(name)}<`) } : undefined);
    expectExit(await editA(), 0);
    expectExit(await shelf(home("b"), "sync", "dav"), 0);
    await bHasLatest();
    // the names are recognized as the ones already merged: nothing is downloaded again
    const again = await shelfJson(home("b"), "sync", "dav");
    expect(again.sync[0].webdav).toMatchObject({ requests: 1, downloaded: 0 });
  });

  it("uses a 207 listing with errors on some members, and names those", async () => {
    const bad = (name: string, status: string) => `<D:response><D:href>/shelf/${catalogFolder(catalogUrl)}/${name}</D:href><D:status>HTTP/1.1 ${status}</D:status></D:response>`;
    const broken = `zz-000000.0000000001.c.${"a".repeat(64)}.shelf`;
    const hidden = `zz-000000.0000000002.c.${"b".repeat(64)}.shelf`;
    proxy.fault = (req) => (req.method === "PROPFIND" ? { rewriteListing: (xml: string) => xml.replace(/<\/([a-zA-Z]+:)?multistatus>/, (end) => bad(broken, "500 Internal Server Error") + bad(hidden, "403 Forbidden") + end) } : undefined);
    expectExit(await editA(), 0);
    const result = await shelf(home("b"), "sync", "dav", "--json");
    expectExit(result, 0);
    const skipped = JSON.parse(result.stdout).sync[0].skipped;
    expect(skipped).toEqual(expect.arrayContaining([{ file: broken, reason: "the server listed it with status 500" }, { file: hidden, reason: "the server listed it with status 403" }]));
    expect(result.stderr).toContain(broken);
    await bHasLatest();
  });

  it("retries slow answers, 5xx, 429 and cut-off downloads with backoff, then succeeds", async () => {
    expectExit(await editA(), 0);
    let gets = 0;
    proxy.fault = (req, n) => {
      if (n === 1) return { delayMs: 3000 }; // slower than the 1.5 s request timeout
      if (n === 2) return { answer: 503 };
      if (n === 3) return { answer: 429, headers: { "retry-after": "1" } };
      if (req.method === "GET" && gets++ === 0) return { cutBodyAfter: 10 };
      return undefined;
    };
    proxy.reset();
    const result = await shelfJson(home("b"), "sync", "dav");
    expect(result.sync[0].webdav.retries).toBeGreaterThanOrEqual(4);
    await bHasLatest();
  });

  it("gives up on a server that keeps failing, with a clear error, and keeps local data", async () => {
    expectExit(await shelf(home("b"), "set", "npm:react", "version=9.9.9"), 0);
    proxy.fault = () => ({ answer: 503 });
    const failed = expectJsonError(await shelf(home("b"), "sync", "dav", "--json"), 1, "SHELF_E_WEBDAV_SERVER");
    expect(failed.message).toMatch(/answered 503 when asked to list the folder, 5 times/);
    proxy.fault = () => ({ delayMs: 3000 });
    const slow = expectJsonError(await shelf(home("b"), "sync", "dav", "--json", "--timeout", "60"), 1, "SHELF_E_WEBDAV_SERVER");
    expect(slow.message).toMatch(/did not answer when asked to list the folder \(no answer within 1500 ms; tried 5 times\)/);
    expect((await shelfJson(home("b"), "show", "npm:react")).record.version).toBe("9.9.9");
    const history = await shelfJson(home("b"), "sync", "history", "--limit", "1");
    expect(history.history[0]).toMatchObject({ remote: "dav", ok: false });
  });

  it("reports a full quota (507) clearly, leaves no partial file, and uploads once there is room", async () => {
    const before = readdirSync(folder).sort();
    proxy.fault = (req) => (req.method === "PUT" ? { answer: 507 } : undefined);
    const error = expectJsonError(await shelf(home("b"), "sync", "dav", "--json"), 1, "SHELF_E_WEBDAV_QUOTA");
    expect(error.message).toMatch(/out of space/);
    expect(readdirSync(folder).sort()).toEqual(before);
    proxy.fault = () => undefined;
    const ok = await shelfJson(home("b"), "sync", "dav");
    expect(ok.sync[0].webdav.uploaded).toHaveLength(1);
    expectExit(await shelf(home("a"), "sync", "dav"), 0);
    expect((await shelfJson(home("a"), "show", "npm:react")).record.version).toBe("9.9.9");
  });

  it("says so when the server refuses the credentials", async () => {
    proxy.fault = () => ({ answer: 401, headers: { "www-authenticate": 'Basic realm="dav"' } });
    const error = expectJsonError(await shelf(home("b"), "sync", "dav", "--json"), 1, "SHELF_E_WEBDAV_UNAUTHORIZED");
    expect(error.hint).toMatch(/SHELF_WEBDAV_USER/);
  });
});

describe("WebDAV credentials against rclone with basic auth", () => {
  const tmp = makeTempDir("shelf-webdav-auth-");
  const home = (n: string) => join(tmp.dir, n);
  const password = "s3cret-never-printed";
  let server: DavServer;

  beforeAll(async () => {
    server = await startRclone(home("server"), { user: "alice", password });
  });

  afterAll(async () => {
    delete process.env.SHELF_WEBDAV_USER;
    delete process.env.SHELF_WEBDAV_PASSWORD;
    await server?.stop();
    tmp.remove();
  });

  it("come from the environment or a 0600 file, are refused from a file others can read, and are never printed", async () => {
    expectExit(await shelf(home("a"), "init", "--name", "team"), 0);
    expectExit(await shelf(home("a"), "remote", "add", "dav", server.remoteUrl), 0);
    expectJsonError(await shelf(home("a"), "sync", "dav", "--json"), 1, "SHELF_E_WEBDAV_UNAUTHORIZED");

    const file = join(home("a"), "webdav-credentials.yaml");
    writeFileSync(file, `dav:\n  user: alice\n  password: "${password}"\n`);
    chmodSync(file, 0o644);
    const unsafe = await shelf(home("a"), "sync", "dav", "--json");
    expectJsonError(unsafe, 1, "SHELF_E_WEBDAV_CREDENTIALS");
    chmodSync(file, 0o600);
    const viaFile = await shelf(home("a"), "sync", "dav", "--json");
    expectExit(viaFile, 0);

    process.env.SHELF_WEBDAV_USER = "alice";
    process.env.SHELF_WEBDAV_PASSWORD = "wrong";
    const wrong = await shelf(home("a"), "sync", "dav", "--json");
    expectJsonError(wrong, 1, "SHELF_E_WEBDAV_UNAUTHORIZED");
    expect(wrong.stderr).toMatch(/credentials from environment/);
    process.env.SHELF_WEBDAV_PASSWORD = password;
    const viaEnv = await shelf(home("a"), "sync", "dav", "--json");
    expectExit(viaEnv, 0);

    const list = await shelf(home("a"), "remote", "list", "--json");
    const history = await shelf(home("a"), "sync", "history", "--json");
    for (const r of [unsafe, viaFile, wrong, viaEnv, list, history]) {
      expect(r.stdout + r.stderr).not.toContain(password);
    }
    const url = server.remoteUrl.replace("webdav+http://", "webdav+http://alice:x@");
    const inUrl = await shelf(home("a"), "remote", "add", "bad", url);
    expect(inUrl.code).toBe(2);
    expect(inUrl.stderr).toMatch(/not in the URL/);
  });
});
