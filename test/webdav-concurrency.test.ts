/**
 * Two instances syncing with the same WebDAV folder (rclone serve webdav) at the same moment, round
 * after round, editing the same and different records, with compaction running in between (a low
 * threshold): no file is ever overwritten (each has one writer) and no edit is lost.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogFolder, parseName } from "../src/sync/webdav/layout.js";
import { expectExit, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { startRclone, type DavServer } from "./helpers/webdav-servers.js";

const ROUNDS = 8;

describe("concurrent WebDAV syncs", () => {
  const tmp = makeTempDir("shelf-webdav-concurrent-");
  const home = (n: string) => join(tmp.dir, n);
  let server: DavServer;
  let catalogUrl: string;

  beforeAll(async () => {
    process.env.SHELF_WEBDAV_COMPACT_AFTER = "3";
    server = await startRclone(home("server"));
    catalogUrl = (await shelf(home("a"), "init", "--name", "team")).stdout.trim();
    expectExit(await shelf(home("a"), "add", "npm:shared", "--name", "shared"), 0);
    expectExit(await shelf(home("a"), "remote", "add", "dav", server.remoteUrl), 0);
    expectExit(await shelf(home("a"), "sync", "dav"), 0);
    expectExit(await shelf(home("b"), "join", catalogUrl, "--webdav", server.remoteUrl, "--remote", "dav", "--name", "team"), 0);
  });

  afterAll(async () => {
    delete process.env.SHELF_WEBDAV_COMPACT_AFTER;
    await server?.stop();
    tmp.remove();
  });

  it(`loses no edit over ${ROUNDS} rounds of simultaneous syncs`, async () => {
    const folder = join(home("server"), "shelf", catalogFolder(catalogUrl));
    const instanceIds = new Set([(await shelfJson(home("a"), "status")).status.instanceId, (await shelfJson(home("b"), "status")).status.instanceId]);
    const seen = new Map<string, number>();
    for (let round = 1; round <= ROUNDS; round++) {
      await Promise.all(
        ["a", "b"].map(async (who) => {
          expectExit(await shelf(home(who), "add", `npm:${who}-${round}`, "--name", `${who} ${round}`), 0);
          expectExit(await shelf(home(who), "tag", "npm:shared", `+${who}-${round}`), 0);
        }),
      );
      const results = await Promise.all(["a", "b"].map((who) => shelf(home(who), "sync", "dav", "--json")));
      for (const r of results) expectExit(r, 0);
      // every file name is written once, by the instance it names, and never changes size after
      for (const name of readdirSync(folder)) {
        const file = parseName(name);
        if (!file) continue;
        expect(instanceIds.has(file.writer)).toBe(true);
        const size = statSync(join(folder, name)).size;
        if (seen.has(name)) expect(size).toBe(seen.get(name));
        seen.set(name, size);
      }
    }
    // two more rounds one after the other carry the last edits across
    for (const who of ["a", "b", "a"]) expectExit(await shelf(home(who), "sync", "dav"), 0);
    const a = await shelfJson(home("a"), "list", "--include-deleted");
    const b = await shelfJson(home("b"), "list", "--include-deleted");
    expect(b).toEqual(a);
    const ids = new Set(a.records.map((r: { id: string }) => r.id));
    const shared = a.records.find((r: { id: string }) => r.id === "npm:shared");
    for (let round = 1; round <= ROUNDS; round++) {
      for (const who of ["a", "b"]) {
        expect(ids.has(`npm:${who}-${round}`)).toBe(true);
        expect(shared.tags).toContain(`${who}-${round}`);
      }
    }
    // compaction ran (threshold 3), and each instance only ever replaced its own files
    const writers = new Set(readdirSync(folder).map((n) => parseName(n)?.writer).filter(Boolean));
    expect(writers.size).toBe(2);
    expect(readdirSync(folder).some((n) => parseName(n)?.kind === "s")).toBe(true);
    expect(readdirSync(folder).filter((n) => parseName(n)).length).toBeLessThanOrEqual(2 * 5);
  }, 300_000);
});
