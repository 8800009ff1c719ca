/** The pieces of WebDAV sync that need no server: names, the file format, URLs, credentials, listings. */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import { credentialsFor } from "../src/sync/webdav/credentials.js";
import { catalogFolder, formatName, parseName, sha256Hex, writerOf } from "../src/sync/webdav/layout.js";
import { parseListing } from "../src/sync/webdav/multistatus.js";
import { webdavBaseUrl } from "../src/sync/webdav/remote-url.js";
import { BadFile, encodeFile, verifyFile } from "../src/sync/webdav/snapshot-file.js";
import { tempDir } from "./helpers/temp-home.js";

const CATALOG = "automerge:2DpYHfejXvGi7hpdWB21ZcvkXyee";

function sampleFile(seq = 1) {
  const doc = A.change(A.init<{ n: number }>(), (d) => (d.n = 1));
  return encodeFile({ catalog: CATALOG, writer: "laptop-3f9a2c", seq, kind: "c", documents: [{ documentId: "doc1", data: A.save(doc), heads: A.getHeads(doc) }] });
}

describe("file names", () => {
  it("carry writer, sequence, kind and the content hash, and survive lowercasing", () => {
    const file = sampleFile(7);
    expect(file.name).toMatch(/^laptop-3f9a2c\.0000000007\.c\.[0-9a-f]{64}\.shelf$/);
    expect(parseName(file.name)).toMatchObject({ writer: "laptop-3f9a2c", seq: 7, kind: "c", sha256: sha256Hex(file.body) });
    expect(parseName(file.name.toUpperCase())).toEqual(parseName(file.name));
    expect(parseName("notes.txt")).toBeUndefined();
    expect(parseName("x.1.q.abc.shelf")).toBeUndefined();
    expect(catalogFolder(CATALOG)).toBe("shelf-2dpyhfejxvgi7hpdwb21zcvkxyee");
    expect(() => writerOf("Bad Id!")).toThrow();
    expect(formatName("a", 12, "s", "f".repeat(64))).toBe(`a.0000000012.s.${"f".repeat(64)}.shelf`);
  });
});

describe("the file format", () => {
  const expected = (name: string) => ({ name: parseName(name)!, catalog: CATALOG });

  it("verifies a good file and hands back its documents", () => {
    const file = sampleFile();
    const read = verifyFile(file.body, expected(file.name));
    expect(read.documents).toHaveLength(1);
    expect(read.header.writer).toBe("laptop-3f9a2c");
  });

  it("refuses truncated, altered, renamed, foreign and non-Automerge files, saying why", () => {
    const file = sampleFile();
    const bad = (body: Uint8Array, name = file.name) => {
      try {
        verifyFile(body, expected(name));
      } catch (err) {
        expect(err).toBeInstanceOf(BadFile);
        return (err as Error).message;
      }
      throw new Error("accepted a bad file");
    };
    expect(bad(file.body.subarray(0, file.body.length - 5))).toMatch(/does not match the hash in its name/);
    const flipped = new Uint8Array(file.body);
    flipped[flipped.length - 3] = flipped[flipped.length - 3]! ^ 0xff;
    expect(bad(flipped)).toMatch(/does not match the hash/);
    expect(bad(file.body, formatName("laptop-3f9a2c", 1, "c", "0".repeat(64)))).toMatch(/does not match the hash/);
    // consistent hashes, but the document is not Automerge
    const garbage = encodeFile({ catalog: CATALOG, writer: "laptop-3f9a2c", seq: 1, kind: "c", documents: [{ documentId: "doc1", data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), heads: [] }] });
    expect(bad(garbage.body, garbage.name)).toMatch(/not Automerge data/);
    const foreign = encodeFile({ catalog: "automerge:other", writer: "laptop-3f9a2c", seq: 1, kind: "c", documents: [] });
    expect(bad(foreign.body, foreign.name)).toMatch(/another catalog/);
    const text = new TextEncoder().encode("just some notes somebody left in the folder\n");
    expect(bad(text, formatName("laptop-3f9a2c", 1, "c", sha256Hex(text)))).toMatch(/signature/);
    // a header that disagrees with the name (another writer's name on it)
    expect(bad(file.body, formatName("mallory-000000", 1, "c", sha256Hex(file.body)))).toMatch(/does not agree with its name/);
  });
});

describe("WebDAV URLs", () => {
  it("turn into the base folder's http(s) URL, and refuse what would leak or mislead", () => {
    expect(webdavBaseUrl("webdav+https://cloud.example/remote.php/dav/files/alice/shelf")).toBe("https://cloud.example/remote.php/dav/files/alice/shelf/");
    expect(webdavBaseUrl("webdav+http://127.0.0.1:8080/shelf/")).toBe("http://127.0.0.1:8080/shelf/");
    expect(() => webdavBaseUrl("webdav+http://cloud.example/shelf")).toThrow(/only allowed to this machine/);
    expect(() => webdavBaseUrl("webdav+https://alice:secret@cloud.example/shelf")).toThrow(/not in the URL/);
    expect(() => webdavBaseUrl("webdav+ftp://x/y")).toThrow();
  });
});

describe("credentials", () => {
  it("come from the environment, else from a file only its owner can read", () => {
    const home = tempDir();
    expect(credentialsFor(home, "team", {})).toBeUndefined();
    expect(credentialsFor(home, "team", { SHELF_WEBDAV_USER: "alice", SHELF_WEBDAV_PASSWORD: "pw" })).toMatchObject({ user: "alice", password: "pw", source: "environment" });
    expect(() => credentialsFor(home, "team", { SHELF_WEBDAV_USER: "alice" })).toThrow(/only one of/);
    const file = join(home, "webdav-credentials.yaml");
    writeFileSync(file, "team:\n  user: bob\n  password: 'hunter2'\n");
    chmodSync(file, 0o644);
    let message = "";
    try {
      credentialsFor(home, "team", {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/can be read by other users \(mode 0644\)/);
    expect(message).not.toContain("hunter2");
    chmodSync(file, 0o600);
    expect(credentialsFor(home, "team", {})).toMatchObject({ user: "bob", password: "hunter2" });
    expect(credentialsFor(home, "other", {})).toBeUndefined();
    writeFileSync(file, "team: [unclosed\n  password: hunter2");
    let yamlError = "";
    try {
      credentialsFor(home, "team", {});
    } catch (err) {
      yamlError = (err as Error).message;
    }
    expect(yamlError).toMatch(/not valid YAML/);
    expect(yamlError).not.toContain("hunter2");
  });
});

describe("listings", () => {
  it("read 207 answers with encoded names, missing ETags and per-member errors", () => {
    const xml = `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">
      <d:response><d:href>/dav/shelf/shelf-x/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
      <d:response><d:href>http://h/dav/shelf/shelf-x/a%2Eb.shelf</d:href><d:propstat><d:prop><d:getcontentlength>12</d:getcontentlength><d:resourcetype/></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop><d:getetag/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>
      <d:response><d:href>/dav/shelf/shelf-x/c.shelf</d:href><d:propstat><d:prop><d:getetag>"e1"</d:getetag><d:getcontentlength>3</d:getcontentlength></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
      <d:response><d:href>/dav/shelf/shelf-x/broken.shelf</d:href><d:status>HTTP/1.1 500 Internal Server Error</d:status></d:response>
    </d:multistatus>`;
    const listing = parseListing(xml, "/dav/shelf/shelf-x/");
    expect(listing.entries).toEqual([
      { name: "a.b.shelf", size: 12, etag: null },
      { name: "c.shelf", size: 3, etag: '"e1"' },
    ]);
    expect(listing.problems).toEqual([{ name: "broken.shelf", reason: "the server listed it with status 500" }]);
  });
});
