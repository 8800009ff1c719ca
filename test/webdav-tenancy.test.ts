/**
 * A writer of a WebDAV folder cannot replace one catalog by another (issue #13, item 4): files
 * planted in a catalog's folder with correct hashes, carrying another catalog's root history under
 * its root id, redirecting its shard list, or claiming to replace other writers' files. Real
 * `rclone serve webdav`, the real CLI. Run by hand with:
 * npm run build && npx vitest run test/webdav-tenancy.test.ts
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundle } from "../src/bundle/bundle-file.js";
import { catalogFolder, parseName } from "../src/sync/webdav/layout.js";
import { encodeFile, verifyFile, type FileDocument } from "../src/sync/webdav/snapshot-file.js";
import { expectExit, expectJsonError, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { writeLegacyCatalog } from "./helpers/legacy-catalog.js";
import { startRclone, type DavServer } from "./helpers/webdav-servers.js";

const idOf = (url: string) => url.slice("automerge:".length);

describe("a WebDAV folder cannot make one catalog another", () => {
  const tmp = makeTempDir("shelf-webdav-tenancy-");
  const home = (n: string) => join(tmp.dir, n);
  let server: DavServer;
  const folderOf = (url: string) => join(home("server"), "shelf", catalogFolder(url));

  /** Every document chunk of the files shelf instances wrote in a catalog's folder, verified. */
  function documentsIn(url: string): FileDocument[] {
    return readdirSync(folderOf(url))
      .filter((n) => parseName(n) && parseName(n)!.writer !== "mallory")
      .flatMap((n) => verifyFile(readFileSync(join(folderOf(url), n)), { name: parseName(n)!, catalog: url }).documents);
  }

  const fileUrl = (url: string, name: string) => `${server.http}/shelf/${catalogFolder(url)}/${name}`;

  /** Uploads a file as a writer of the folder could: correct hashes, header naming `url`. */
  async function plant(url: string, seq: number, kind: "c" | "s", documents: FileDocument[], supersedes: string[] = []): Promise<string> {
    const file = encodeFile({ catalog: url, writer: "mallory", seq, kind, supersedes, documents });
    const res = await fetch(fileUrl(url, file.name), { method: "PUT", body: Buffer.from(file.body) });
    expect(res.status).toBeLessThan(300);
    return file.name;
  }

  async function remove(url: string, name: string): Promise<void> {
    expect((await fetch(fileUrl(url, name), { method: "DELETE" })).status).toBeLessThan(300);
  }

  const recordIds = async (h: string) => (await shelfJson(h, "list")).records.map((r: { id: string }) => r.id).sort();
  const skippedOf = (stderr: string, name: string) => stderr.split("\n").find((l) => l.includes(`skipped ${name}`));

  let x: string;
  let y: string;
  const xRecords = ["npm:x1", "npm:x2", "npm:x3", "npm:x4", "npm:x5", "npm:x6"];

  beforeAll(async () => {
    server = await startRclone(home("server"));
    x = (await shelf(home("x"), "init", "--name", "team-x")).stdout.trim();
    for (const id of xRecords) expectExit(await shelf(home("x"), "add", id, "--name", id.slice(4)), 0);
    y = (await shelf(home("y"), "init", "--name", "other")).stdout.trim();
    expectExit(await shelf(home("y"), "add", "npm:y1", "--name", "y1"), 0);
    for (const h of ["x", "y"]) {
      expectExit(await shelf(home(h), "remote", "add", "dav", server.remoteUrl), 0);
      expectExit(await shelf(home(h), "sync", "dav"), 0);
    }
    expectExit(await shelf(home("holder"), "join", x, "--webdav", server.remoteUrl, "--name", "team-x"), 0);
  });

  afterAll(async () => {
    await server?.stop();
    tmp.remove();
  });

  it("skips a file carrying another catalog's root history under the catalog's root id: holders and fresh joiners keep the right catalog", async () => {
    // Y's documents, with Y's root renamed to X's root id, and a record planted in one of Y's shards.
    const yDocs = documentsIn(y);
    const shard = yDocs.find((d) => d.documentId !== idOf(y))!;
    const planted = A.change(A.load<{ records: Record<string, A.ImmutableString> }>(shard.data), (d) => void (d.records["npm:planted name"] = new A.ImmutableString("planted")));
    const forged = yDocs.map((d) =>
      d.documentId === idOf(y) ? { ...d, documentId: idOf(x) } : d === shard ? { documentId: d.documentId, data: A.save(planted), heads: A.getHeads(planted) } : d,
    );
    const name = await plant(x, 1, "c", forged);

    const synced = await shelf(home("holder"), "sync", "origin");
    expectExit(synced, 0);
    expect(skippedOf(synced.stderr, name)).toMatch(/root document has a history that is not this catalog's/);
    expect(await recordIds(home("holder"))).toEqual(xRecords);

    const joined = await shelf(home("joiner"), "join", x, "--webdav", server.remoteUrl, "--name", "team-x");
    expectExit(joined, 0);
    expect(skippedOf(joined.stderr, name)).toMatch(/not this catalog's/);
    expect(await recordIds(home("joiner"))).toEqual(xRecords);

    // An instance holding Y joins X: the file reaches nothing of Y there either.
    expectExit(await shelf(home("y"), "join", x, "--webdav", server.remoteUrl, "--name", "team-x"), 0);
    expect((await shelfJson(home("y"), "list", "--catalog", "other")).records.map((r: { id: string }) => r.id)).toEqual(["npm:y1"]);
  });

  it("skips a snapshot that claims to replace another writer's files", async () => {
    const xFiles = readdirSync(folderOf(x)).filter((n) => parseName(n)?.writer !== "mallory" && parseName(n));
    const name = await plant(x, 9_999, "s", [], xFiles);
    const joined = await shelf(home("joiner2"), "join", x, "--webdav", server.remoteUrl, "--name", "team-x");
    expectExit(joined, 0);
    expect(skippedOf(joined.stderr, name)).toMatch(/claims to replace files it did not write/);
    expect(await recordIds(home("joiner2"))).toEqual(xRecords);
    await remove(x, name);
  });

  it("refuses to join a catalog whose root was made to name another catalog's shards", async () => {
    // A writer of the folder edits X's own root (shared history) to list Y's shards.
    const rootChunks = documentsIn(x).filter((d) => d.documentId === idOf(x) && d.heads.length > 0);
    const root = rootChunks.reduce((doc, d) => A.loadIncremental(doc, d.data), A.init<{ shards: A.ImmutableString[] }>());
    const yShards = documentsIn(y).filter((d) => d.documentId !== idOf(y));
    const redirected = A.change(root, (d) => void d.shards.splice(0, d.shards.length, ...yShards.map((s) => new A.ImmutableString(`automerge:${s.documentId}`))));
    const data = A.saveSince(redirected, A.getHeads(root));
    const name = await plant(x, 20, "c", [{ documentId: idOf(x), data, heads: A.getHeads(redirected) }, ...yShards]);

    const error = expectJsonError(await shelf(home("joiner3"), "join", x, "--webdav", server.remoteUrl, "--name", "team-x", "--json"), 1, "SHELF_E_CATALOG_MISMATCH");
    expect(error.message).toMatch(/names \d+ shard documents that are not its own/);
    expect(JSON.parse((await shelf(home("joiner3"), "list", "--json")).stdout).error.code).toMatch(/NOT_INITIALIZED|CATALOG_NOT_FOUND/);
    await remove(x, name);
  });

  it("a catalog made before derived ids: a holder skips a foreign root history; a fresh joiner offered two refuses to guess", async () => {
    const legacy = writeLegacyCatalog(join(tmp.dir, "legacy.bundle"), "old", ["a", "b", "c"]);
    const foreign = writeLegacyCatalog(join(tmp.dir, "foreign.bundle"), "foreign", ["evil"]);
    expectExit(await shelf(home("l1"), "import-bundle", join(tmp.dir, "legacy.bundle")), 0);
    expectExit(await shelf(home("l1"), "remote", "add", "dav", server.remoteUrl), 0);
    expectExit(await shelf(home("l1"), "sync", "dav"), 0);
    expectExit(await shelf(home("l2"), "join", legacy, "--webdav", server.remoteUrl, "--name", "old"), 0);

    const forged = readBundle(join(tmp.dir, "foreign.bundle")).documents.map((d) => ({
      documentId: d.documentId === idOf(foreign) ? idOf(legacy) : d.documentId,
      data: d.data,
      heads: A.getHeads(A.load(d.data)),
    }));
    const name = await plant(legacy, 1, "c", forged);

    const synced = await shelf(home("l2"), "sync", "origin");
    expectExit(synced, 0);
    expect(skippedOf(synced.stderr, name)).toMatch(/history unrelated to this catalog's root/);
    expect(await recordIds(home("l2"))).toEqual(["npm:a", "npm:b", "npm:c"]);

    const error = expectJsonError(await shelf(home("l3"), "join", legacy, "--webdav", server.remoteUrl, "--name", "old", "--json"), 1, "SHELF_E_CATALOG_MISMATCH");
    expect(error.message).toMatch(/two unrelated histories/);
    expect(JSON.parse((await shelf(home("l3"), "list", "--json")).stdout).error.code).toMatch(/NOT_INITIALIZED|CATALOG_NOT_FOUND/);
  });
});
