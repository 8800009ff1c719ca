/**
 * `shelf daemon` with only a WebDAV remote syncs it on the `sync config --every` schedule: edits
 * from another instance arrive, local edits leave, each run is a recorded sync, SIGTERM stops it.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectExit, finished, makeTempDir, shelf, shelfJson, startCli } from "./helpers/cli.js";
import { sleep } from "./helpers/relay-process.js";
import { startRclone, type DavServer } from "./helpers/webdav-servers.js";

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(1000);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

describe("shelf daemon with a WebDAV remote", () => {
  const tmp = makeTempDir("shelf-webdav-daemon-");
  const home = (n: string) => join(tmp.dir, n);
  let server: DavServer;

  beforeAll(async () => {
    server = await startRclone(home("server"));
    const url = (await shelf(home("a"), "init", "--name", "team")).stdout.trim();
    expectExit(await shelf(home("a"), "add", "npm:react", "--name", "react"), 0);
    expectExit(await shelf(home("a"), "remote", "add", "dav", server.remoteUrl), 0);
    expectExit(await shelf(home("a"), "sync", "dav"), 0);
    expectExit(await shelf(home("b"), "join", url, "--webdav", server.remoteUrl, "--remote", "dav", "--name", "team"), 0);
  });

  afterAll(async () => {
    await server?.stop();
    tmp.remove();
  });

  it("syncs on the configured schedule, both ways, until SIGTERM", async () => {
    expectExit(await shelf(home("b"), "sync", "config", "--every", "10s"), 0);
    const daemon = startCli(["--home", home("b"), "daemon"]);
    const done = finished(daemon);
    try {
      expectExit(await shelf(home("a"), "set", "npm:react", "summary=from a"), 0);
      expectExit(await shelf(home("a"), "sync", "dav"), 0);
      await eventually("A's edit reaching B", async () => (await shelfJson(home("b"), "show", "npm:react")).record.summary === "from a");
      expectExit(await shelf(home("b"), "tag", "npm:react", "+from-b"), 0);
      await eventually("B's edit reaching A", async () => {
        expectExit(await shelf(home("a"), "sync", "dav"), 0);
        return (await shelfJson(home("a"), "show", "npm:react")).record.tags.includes("from-b");
      });
    } finally {
      daemon.kill("SIGTERM");
    }
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/scheduled sync with dav: /);
    const status = await shelfJson(home("b"), "sync", "status");
    expect(status.remotes[0].runs).toBeGreaterThanOrEqual(3);
    expect(status.remotes[0].lastError).toBeNull();
  });
});
