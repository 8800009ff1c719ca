/**
 * Compaction on a real server (rclone serve webdav): each instance replaces only its own files by
 * a snapshot. An instance that was offline through several compactions of the others comes back,
 * keeps its offline edits, and converges. A reader that already holds what a snapshot replaces
 * reads only its header.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogFolder, parseName } from "../src/sync/webdav/layout.js";
import { expectExit, FIXTURES, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { startRclone, type DavServer } from "./helpers/webdav-servers.js";

/** Rounds of edits and compactions by A and B while C is offline. */
const ROUNDS = 2;

describe("WebDAV compaction", () => {
  const tmp = makeTempDir("shelf-webdav-compact-");
  const home = (n: string) => join(tmp.dir, n);
  let server: DavServer;
  let catalogUrl: string;
  let folder: string;
  const ids: Record<string, string> = {};
  const filesOf = (who: string) => readdirSync(folder).filter((n) => parseName(n)?.writer === ids[who]);

  beforeAll(async () => {
    server = await startRclone(home("server"));
    catalogUrl = (await shelf(home("a"), "init", "--name", "team")).stdout.trim();
    expectExit(await shelf(home("a"), "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);
    expectExit(await shelf(home("a"), "remote", "add", "dav", server.remoteUrl), 0);
    expectExit(await shelf(home("a"), "sync", "dav"), 0);
    for (const who of ["b", "c"]) expectExit(await shelf(home(who), "join", catalogUrl, "--webdav", server.remoteUrl, "--remote", "dav", "--name", "team"), 0);
    for (const who of ["a", "b", "c"]) ids[who] = (await shelfJson(home(who), "status")).status.instanceId;
    folder = join(home("server"), "shelf", catalogFolder(catalogUrl));
  });

  afterAll(async () => {
    await server?.stop();
    tmp.remove();
  });

  it("an instance offline through several compactions converges with its offline edits intact", async () => {
    // C syncs once with an edit of its own, so it has a file in the folder, then goes offline
    expectExit(await shelf(home("c"), "tag", "npm:react", "+from-c-before"), 0);
    expectExit(await shelf(home("c"), "sync", "dav"), 0);
    const cFiles = filesOf("c");
    expect(cFiles).toHaveLength(1);
    expectExit(await shelf(home("c"), "set", "npm:lodash", "summary=edited by c while offline"), 0);
    expectExit(await shelf(home("c"), "rm", "npm:0x"), 0);

    // A and B edit and sync, and compact, twice over: each compaction after the first replaces a
    // snapshot, while C's file stays
    for (let round = 1; round <= ROUNDS; round++) {
      for (const who of ["a", "b"]) {
        expectExit(await shelf(home(who), "add", `npm:${who}-round-${round}`, "--name", `${who} ${round}`), 0);
        expectExit(await shelf(home(who), "sync", "dav"), 0);
        expectExit(await shelf(home(who), "set", `npm:${who}-round-${round}`, "version=2"), 0);
        const compacted = await shelfJson(home(who), "sync", "compact", "dav");
        expect(compacted.sync[0].webdav.compacted).toBe(true);
        // after its compaction, an instance has exactly one file: its snapshot
        expect(filesOf(who).map((n) => parseName(n)!.kind)).toEqual(["s"]);
      }
    }
    // nobody deleted C's file
    expect(filesOf("c")).toEqual(cFiles);

    // C comes back
    const back = await shelfJson(home("c"), "sync", "dav");
    expect(back.sync[0].skipped).toEqual([]);
    for (const who of ["a", "b", "c", "a", "b"]) expectExit(await shelf(home(who), "sync", "dav"), 0);
    const list = await shelfJson(home("a"), "list", "--include-deleted");
    expect(await shelfJson(home("b"), "list", "--include-deleted")).toEqual(list);
    expect(await shelfJson(home("c"), "list", "--include-deleted")).toEqual(list);
    const byId = new Map(list.records.map((r: { id: string }) => [r.id, r]));
    expect(byId.get("npm:lodash")).toMatchObject({ summary: "edited by c while offline" });
    expect(byId.get("npm:0x")).toMatchObject({ deleted: true });
    expect((byId.get("npm:react") as { tags: string[] }).tags).toContain("from-c-before");
    for (let round = 1; round <= ROUNDS; round++) for (const who of ["a", "b"]) expect(byId.get(`npm:${who}-round-${round}`)).toMatchObject({ version: "2" });
    // a fresh instance joining now gets the same catalog
    expectExit(await shelf(home("d"), "join", catalogUrl, "--webdav", server.remoteUrl, "--name", "team"), 0);
    expect(await shelfJson(home("d"), "list", "--include-deleted")).toEqual(list);
  }, 300_000);

  it("a reader holding everything a snapshot replaces reads only its header", async () => {
    expectExit(await shelf(home("a"), "set", "npm:react", "summary=before compaction"), 0);
    expectExit(await shelf(home("a"), "sync", "dav"), 0);
    expectExit(await shelf(home("b"), "sync", "dav"), 0);
    // A compacts with nothing new: its snapshot replaces files B has merged already
    const compacted = await shelfJson(home("a"), "sync", "compact", "dav");
    expect(compacted.sync[0].webdav.compacted).toBe(true);
    const [snapshot] = filesOf("a");
    const size = statSync(join(folder, snapshot!)).size;
    expect(size).toBeGreaterThan(100_000);
    const read = await shelfJson(home("b"), "sync", "dav");
    // one listing and one ranged GET of at most 64 KiB
    expect(read.sync[0].webdav.requests).toBe(2);
    expect(read.sync[0].webdav.bytesDown).toBeLessThan(70_000);
    // and nothing more next time
    expect((await shelfJson(home("b"), "sync", "dav")).sync[0].webdav.requests).toBe(1);
  });
});
