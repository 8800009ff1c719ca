/**
 * Bad files in a WebDAV folder (the in-process `webdav-server`, fast): a truncated upload, flipped
 * bytes, a file that is not Automerge data, a name that does not match its content. Each is skipped
 * with an error naming it, never merged, not downloaded again, and does not stop the sync: a good
 * edit arriving beside them is merged.
 */
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogFolder, formatName, sha256Hex } from "../src/sync/webdav/layout.js";
import { encodeFile } from "../src/sync/webdav/snapshot-file.js";
import { expectExit, FIXTURES, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { startInProcess, type DavServer } from "./helpers/webdav-servers.js";

describe("corrupt and partial files in a WebDAV folder", () => {
  const tmp = makeTempDir("shelf-webdav-corrupt-");
  const home = (n: string) => join(tmp.dir, n);
  let server: DavServer;
  let catalogUrl: string;
  let folder: string;

  beforeAll(async () => {
    server = await startInProcess(home("server"));
    catalogUrl = (await shelf(home("a"), "init", "--name", "team")).stdout.trim();
    expectExit(await shelf(home("a"), "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);
    expectExit(await shelf(home("a"), "remote", "add", "dav", server.remoteUrl), 0);
    expectExit(await shelf(home("a"), "sync", "dav"), 0);
    expectExit(await shelf(home("b"), "join", catalogUrl, "--webdav", server.remoteUrl, "--name", "team"), 0);
    expectExit(await shelf(home("c"), "join", catalogUrl, "--webdav", server.remoteUrl, "--name", "team"), 0);
    folder = join(home("server"), "shelf", catalogFolder(catalogUrl));
  });

  afterAll(async () => {
    await server?.stop();
    tmp.remove();
  });

  it("skips each bad file by name, merges nothing from it, and merges the good file beside it", async () => {
    // C writes a real changes file adding npm:evil; it is taken out of the folder and planted back
    // only in damaged forms (under C's name, as a broken upload of C's would look).
    const before = new Set(readdirSync(folder));
    expectExit(await shelf(home("c"), "add", "npm:evil", "--name", "evil"), 0);
    expectExit(await shelf(home("c"), "sync", "origin"), 0);
    const [good] = readdirSync(folder).filter((n) => !before.has(n));
    expect(good).toMatch(/\.c\.[0-9a-f]{64}\.shelf$/);
    const bytes = readFileSync(join(folder, good!));
    rmSync(join(folder, good!));
    const [writer, seq] = good!.split(".");

    const truncated = good!;
    writeFileSync(join(folder, truncated), bytes.subarray(0, bytes.length - 100));
    const flippedBytes = Buffer.from(bytes);
    flippedBytes[flippedBytes.length - 20] = flippedBytes[flippedBytes.length - 20]! ^ 0x5a;
    const flipped = formatName(writer!, Number(seq) + 1, "c", sha256Hex(bytes));
    writeFileSync(join(folder, flipped), flippedBytes);
    const garbage = encodeFile({ catalog: catalogUrl, writer: writer!, seq: Number(seq) + 2, kind: "c", documents: [{ documentId: catalogUrl.slice("automerge:".length), data: Buffer.from("definitely not automerge"), heads: [] }] });
    writeFileSync(join(folder, garbage.name), garbage.body);
    const renamed = formatName(writer!, Number(seq), "c", "0".repeat(64));
    writeFileSync(join(folder, renamed), bytes);

    // and a good edit from A beside them
    expectExit(await shelf(home("a"), "set", "npm:react", "summary=good edit beside bad files"), 0);
    expectExit(await shelf(home("a"), "sync", "dav"), 0);

    const result = await shelf(home("b"), "sync", "origin", "--json");
    expectExit(result, 0);
    const report = JSON.parse(result.stdout).sync[0];
    const skipped = new Map<string, string>(report.skipped.map((s: { file: string; reason: string }) => [s.file, s.reason]));
    expect(skipped.get(truncated)).toMatch(/does not match the hash in its name/);
    expect(skipped.get(flipped)).toMatch(/does not match the hash in its name/);
    expect(skipped.get(garbage.name)).toMatch(/not Automerge data/);
    expect(skipped.get(renamed)).toMatch(/does not match the hash in its name/);
    for (const name of [truncated, flipped, garbage.name, renamed]) expect(result.stderr).toContain(`skipped ${name}`);
    expect((await shelfJson(home("b"), "show", "npm:react")).record.summary).toBe("good edit beside bad files");
    expect((await shelf(home("b"), "show", "npm:evil")).code).toBe(1);

    // known bad files are not downloaded again, but still reported
    const again = JSON.parse((await shelf(home("b"), "sync", "origin", "--json")).stdout).sync[0];
    expect(again.webdav).toMatchObject({ requests: 1, downloaded: 0 });
    expect(again.skipped).toHaveLength(4);

    // once the real file is back, it is merged
    rmSync(join(folder, truncated));
    writeFileSync(join(folder, good!), bytes);
    renameSync(join(folder, renamed), join(tmp.dir, "gone"));
    expectExit(await shelf(home("b"), "sync", "origin"), 0);
    expect((await shelfJson(home("b"), "show", "npm:evil")).record.name).toBe("evil");
    const history = await shelfJson(home("b"), "sync", "history", "--limit", "3");
    expect(history.history.every((r: { ok: boolean }) => r.ok)).toBe(true);
  });
});
