/**
 * Read commands stay lean: on an up-to-date view, `search`, `show`, `list`, `status` and
 * `conflicts` answer from SQLite and load neither Automerge, nor the importers' parsers, nor the
 * sync transports. A write loads Automerge but still none of the rest. When the view is behind (a
 * document changed that the view has not caught up with), a read may load Automerge to catch up,
 * and must then print the record as it is.
 *
 * Each command runs the real, built CLI in its own process with test/helpers/record-imports.mjs,
 * which records every module resolved from node_modules.
 *
 * Run by hand with: npm run build && npx vitest run test/lean-reads.test.ts
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectExit, finished, makeTempDir, parseJson, shelf, startCli, type CliResult } from "./helpers/cli.js";

const HOOK = pathToFileURL(join(import.meta.dirname, "helpers", "record-imports.mjs")).href;

/** Packages a read never needs. */
const AUTOMERGE = ["@automerge/automerge", "@automerge/automerge-repo"];
const HEAVY = ["yaml", "fast-xml-parser", "mime-types", "webdav", "fastify"];

const ID = "npm:left-pad";

const CLI_DIR = "/dist/src/cli/";
/** The npm packages bundled into each file of the built CLI (written by scripts/bundle-cli.mjs). */
const BUNDLED: Record<string, string[]> = JSON.parse(readFileSync(join(import.meta.dirname, "..", "dist", "src", "cli", "chunks", "packages.json"), "utf8"));

/**
 * The packages a loaded URL stands for: its own (`@scope/name` or `name`) for a node_modules URL,
 * and the ones bundled into it for a file of the built CLI.
 */
function packagesOf(url: string): string[] {
  if (url.includes(CLI_DIR)) return BUNDLED[url.slice(url.lastIndexOf(CLI_DIR) + CLI_DIR.length)] ?? [];
  const rest = url.slice(url.lastIndexOf("/node_modules/") + "/node_modules/".length).split("/");
  return [rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!];
}

let dir: ReturnType<typeof makeTempDir>;
let runs = 0;

/** Runs `shelf --home HOME ...args` and returns its result and the packages it loaded. */
async function traced(home: string, ...args: string[]): Promise<CliResult & { packages: Set<string> }> {
  const log = join(dir.dir, `imports-${++runs}.log`);
  const result = await finished(startCli(["--home", home, ...args], { nodeArgs: ["--import", HOOK], env: { SHELF_RECORD_IMPORTS: log } }));
  let lines: string[] = [];
  try {
    lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
  } catch {
    // no module from node_modules was resolved at all: the checks below fail on it
  }
  return { ...result, packages: new Set(lines.flatMap(packagesOf)) };
}

/** A successful traced `--json` run: its parsed output and the packages it loaded. */
async function tracedJson(home: string, ...args: string[]): Promise<{ json: any; packages: Set<string> }> {
  const result = await traced(home, ...args, "--json");
  expectExit(result, 0);
  const json = parseJson(result);
  expect(json.schemaVersion).toBe(1);
  // The recorder works: every command opens the database through better-sqlite3.
  expect(result.packages).toContain("better-sqlite3");
  // ... and packages bundled into the CLI are seen too: every command parses its options with commander.
  expect(result.packages).toContain("commander");
  return { json, packages: result.packages };
}

const loaded = (packages: Set<string>, names: string[]) => names.filter((n) => packages.has(n));

/**
 * Home A holds a catalog with three records, one of them with a conflict on its version (made by
 * home B and exchanged both ways by bundles).
 */
let A: string;
beforeAll(async () => {
  dir = makeTempDir("shelf-lean-");
  A = join(dir.dir, "a");
  const B = join(dir.dir, "b");
  const bundle = (name: string) => join(dir.dir, name);
  const ok = async (home: string, ...args: string[]) => expectExit(await shelf(home, ...args), 0);
  await ok(A, "init");
  await ok(A, "add", ID, "--name", "left-pad", "--version", "1.0.0", "--summary", "pads strings on the left", "--tag", "strings");
  await ok(A, "add", "npm:right-pad", "--name", "right-pad", "--version", "1.1.0", "--summary", "pads strings on the right");
  await ok(A, "add", "npm:is-odd", "--name", "is-odd", "--version", "3.0.1", "--summary", "tells odd numbers");
  await ok(A, "export", bundle("a1.bundle"));
  await ok(B, "import-bundle", bundle("a1.bundle"));
  await ok(A, "set", ID, "version=2.0.0");
  await ok(B, "set", ID, "version=3.0.0");
  await ok(B, "export", bundle("b1.bundle"));
  await ok(A, "import-bundle", bundle("b1.bundle"));
});
afterAll(() => dir?.remove());

describe("on an up-to-date view, reads load neither Automerge nor importers nor transports", () => {
  it("search", async () => {
    const { json, packages } = await tracedJson(A, "search", "pads");
    expect(json.results.map((r: { id: string }) => r.id).sort()).toEqual([ID, "npm:right-pad"]);
    expect(loaded(packages, [...AUTOMERGE, ...HEAVY])).toEqual([]);
  });

  it("show", async () => {
    const { json, packages } = await tracedJson(A, "show", ID);
    expect(json.record).toMatchObject({ id: ID, name: "left-pad", summary: "pads strings on the left", tags: ["strings"] });
    expect(json.conflicts.fields.map((f: { field: string }) => f.field)).toEqual(["version"]);
    expect(loaded(packages, [...AUTOMERGE, ...HEAVY])).toEqual([]);
  });

  it("list", async () => {
    const { json, packages } = await tracedJson(A, "list");
    expect(json.records.map((r: { id: string }) => r.id)).toEqual(["npm:is-odd", ID, "npm:right-pad"]);
    expect(loaded(packages, [...AUTOMERGE, ...HEAVY])).toEqual([]);
  });

  it("status", async () => {
    const { json, packages } = await tracedJson(A, "status");
    expect(json.status.pendingDocuments).toBe(0);
    expect(json.status.catalogs[0]).toMatchObject({ name: "main", live: 3, deleted: 0 });
    expect(loaded(packages, [...AUTOMERGE, ...HEAVY])).toEqual([]);
  });

  it("conflicts", async () => {
    const { json, packages } = await tracedJson(A, "conflicts");
    expect(json.count).toBe(1);
    expect(json.conflicts[0]).toMatchObject({ id: ID, name: "left-pad" });
    expect(json.conflicts[0].fields[0].values.map((v: { value: string }) => v.value).sort()).toEqual(["2.0.0", "3.0.0"]);
    expect(loaded(packages, [...AUTOMERGE, ...HEAVY])).toEqual([]);
  });

  it("remote list, sync status, sync history", async () => {
    for (const args of [["remote", "list"], ["sync", "status"], ["sync", "history"]]) {
      const { packages } = await tracedJson(A, ...args);
      expect(loaded(packages, [...AUTOMERGE, ...HEAVY]), args.join(" ")).toEqual([]);
    }
  });
});

describe("an export", () => {
  it("copies the stored documents into the bundle without loading Automerge", async () => {
    const file = join(dir.dir, "lean.bundle");
    const { json, packages } = await tracedJson(A, "export", file);
    expect(json.export).toMatchObject({ file, catalog: "main" });
    expect(loaded(packages, [...AUTOMERGE, ...HEAVY])).toEqual([]);
    // and the bundle is whole: another home takes the catalog from it
    const taken = await tracedJson(join(dir.dir, "from-lean"), "import-bundle", file);
    expect(taken.json.importBundle).toMatchObject({ catalog: "main", records: 3 });
  });
});

describe("a write", () => {
  it("set loads Automerge, and no parser, WebDAV client or server", async () => {
    const { json, packages } = await tracedJson(A, "set", "npm:is-odd", "summary=tells whether a number is odd");
    expect(json).toMatchObject({ id: "npm:is-odd", outcome: "updated", record: { summary: "tells whether a number is odd" } });
    expect(packages).toContain("@automerge/automerge");
    expect(loaded(packages, HEAVY)).toEqual([]);
    // and the next read sees it without loading Automerge
    const after = await tracedJson(A, "show", "npm:is-odd");
    expect(after.json.record.summary).toBe("tells whether a number is odd");
    expect(loaded(after.packages, AUTOMERGE)).toEqual([]);
  });

  it("an edit that changes nothing is answered from the view, without Automerge", async () => {
    for (const args of [
      ["set", "npm:right-pad", "version=1.1.0", "summary=pads strings on the right"],
      ["tag", ID, "+strings"],
      ["tag", "npm:right-pad", "-nothing"],
      ["collect", ID, "-nowhere"],
      ["restore", "npm:right-pad"],
    ]) {
      const { json, packages } = await tracedJson(A, ...args);
      expect(json, args.join(" ")).toMatchObject({ outcome: "unchanged" });
      expect(loaded(packages, AUTOMERGE), args.join(" ")).toEqual([]);
    }
    // A tag or collection it lacks is a change, made in the CRDT.
    const tagged = await tracedJson(A, "tag", "npm:right-pad", "+strings", "-nothing");
    expect(tagged.json).toMatchObject({ outcome: "updated", record: { tags: ["strings"] } });
    expect(tagged.packages).toContain("@automerge/automerge");
  });

  it("an import loads the parser its source needs, and no other importer's", async () => {
    const C = join(dir.dir, "c");
    expectExit(await shelf(C, "init"), 0);
    const fixture = (name: string) => join(import.meta.dirname, "..", "fixtures", name);
    const tsv = await tracedJson(C, "import", "tsv", fixture("npm-sample.tsv"));
    expect(tsv.json.import.added).toBe(300);
    expect(loaded(tsv.packages, HEAVY)).toEqual([]);
    // the WinGet fixtures hold malformed manifests too, hence exit 1 with the good ones imported
    const winget = await traced(C, "import", "winget", fixture("winget"), "--json");
    expect(parseJson(winget).import.added).toBeGreaterThan(0);
    expect(loaded(winget.packages, HEAVY)).toEqual(["yaml"]);
  });

  it("long work without a terminal (a script, a pipe) loads no progress bar", async () => {
    const { packages, ...result } = await traced(A, "rebuild");
    expectExit(result, 0);
    expect(packages).toContain("@automerge/automerge");
    expect(loaded(packages, ["cli-progress"])).toEqual([]);
  });
});

/**
 * Makes the view of a record's shard stale, as if a change had been saved and the view not caught
 * up: a wrong version in the view, no heads for the shard, and the shard marked dirty.
 */
function makeStale(home: string, id: string, version: string): void {
  const db = new Database(join(home, "shelf.db"));
  try {
    const { shard } = db.prepare("SELECT shard FROM records WHERE id = ?").get(id) as { shard: number };
    const { shard_urls } = db.prepare("SELECT shard_urls FROM catalogs WHERE name = 'main'").get() as { shard_urls: string };
    const docId = (JSON.parse(shard_urls) as string[])[shard]!.replace(/^automerge:/, "");
    db.prepare("UPDATE records SET version = ? WHERE id = ?").run(version, id);
    db.prepare("DELETE FROM view_heads WHERE doc_id = ?").run(docId);
    db.prepare("INSERT INTO crdt_dirty (doc_id, seq) VALUES (?, 1) ON CONFLICT (doc_id) DO UPDATE SET seq = seq + 1").run(docId);
  } finally {
    db.close();
  }
}

describe("on a view that is behind", () => {
  it("a read catches up first and prints the record as it is", async () => {
    makeStale(A, "npm:right-pad", "0.0.0-stale");
    const behind = await tracedJson(A, "search", "right");
    expect(behind.json.results.map((r: { id: string; version: string }) => [r.id, r.version])).toEqual([["npm:right-pad", "1.1.0"]]);
    // catching up reads the CRDT, but still needs no importer or transport
    expect(behind.packages).toContain("@automerge/automerge");
    expect(loaded(behind.packages, HEAVY)).toEqual([]);

    // caught up: nothing pending, and reads are lean again
    const status = await tracedJson(A, "status");
    expect(status.json.status.pendingDocuments).toBe(0);
    const shown = await tracedJson(A, "show", "npm:right-pad");
    expect(shown.json.record.version).toBe("1.1.0");
    expect(loaded(shown.packages, [...AUTOMERGE, ...HEAVY])).toEqual([]);
  });

  it("an edit that matches only the stale view is still made", async () => {
    makeStale(A, "npm:is-odd", "0.0.0-stale");
    const { json } = await tracedJson(A, "set", "npm:is-odd", "version=0.0.0-stale");
    expect(json).toMatchObject({ outcome: "updated", record: { version: "0.0.0-stale" } });
    expect((await tracedJson(A, "status")).json.status.pendingDocuments).toBe(0);
  });
});
