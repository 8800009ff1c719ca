/**
 * End-to-end tests of the command line: every test runs the real, built CLI
 * (dist/src/cli/main.cjs) as a child process in a temporary home, and checks what a user would:
 * exit codes, stdout (one JSON document with --json), and messages on stderr.
 *
 * Run by hand with: npm run build && npx vitest run test/cli-e2e.test.ts
 */
import { spawn } from "node:child_process";
import { createReadStream, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CatalogRecord } from "../src/model/record.js";
import { CLI, crdtSize, expectExit, expectJsonError, finished, FIXTURES, makeTempDir, parseJson, runCli, shelf, shelfJson, startCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp-home.js";

const SAMPLE = join(FIXTURES, "npm-sample.tsv");
const BAD = join(FIXTURES, "npm-bad.tsv");
const SAMPLE_ROWS = 300;
const DATASET = "/work/shared/datasets/npm-packages.tsv.gz";

interface EditJson {
  id: string;
  outcome: "created" | "updated" | "unchanged";
  record: CatalogRecord;
}
interface ListJson {
  count: number;
  records: CatalogRecord[];
}
interface SearchJson extends ListJson {
  query: string;
  results: CatalogRecord[];
}
interface ImportJson {
  import: { dryRun: boolean; added: number; updated: number; unchanged: number; tombstoned: number; rejected: number; rejects: { where: string; reason: string }[] };
}
interface StatusJson {
  status: {
    instanceId: string;
    home: string;
    pendingDocuments: number;
    catalogs: { name: string; url: string; default: boolean; records: number; live: number; deleted: number; byProvider: Record<string, number> }[];
  };
}

const ids = (records: CatalogRecord[]) => records.map((r) => r.id);

/** A home holding one fresh catalog "main", shared by the tests of one describe block. */
function sharedHome(): { home: () => string } {
  let dir: ReturnType<typeof makeTempDir> | undefined;
  beforeAll(async () => {
    dir = makeTempDir();
    expectExit(await shelf(dir.dir, "init"), 0);
  });
  afterAll(() => dir?.remove());
  return { home: () => dir!.dir };
}

describe("usage", () => {
  it("--help exits 0 and lists the commands", async () => {
    const result = await runCli(["--help"]);
    expectExit(result, 0);
    for (const command of ["init", "add", "set", "tag", "collect", "rm", "restore", "show", "search", "list", "status", "rebuild", "import", "export", "import-bundle"]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
    }
  });

  it("an unknown command or a missing argument exits 2 with a message on stderr only, and creates nothing", async () => {
    const home = join(tempDir(), "never-created");
    const cases = [
      { args: ["frobnicate"], mentions: "frobnicate" },
      { args: ["show"], mentions: "id" }, // missing required argument
      { args: ["set", "npm:react"], mentions: "assignments" }, // missing field=value
      { args: ["add", "npm:react"], mentions: "--name" }, // missing required option
      { args: ["search", "react", "--limit", "0"], mentions: "--limit" }, // bad value
      { args: ["list", "--no-such-flag"], mentions: "--no-such-flag" },
    ];
    const results = await Promise.all(cases.map(({ args }) => shelf(home, ...args)));
    results.forEach((result, i) => {
      const { args, mentions } = cases[i]!;
      expectExit(result, 2);
      expect(result.stdout, `stdout of ${args.join(" ")}`).toBe("");
      expect(result.stderr, `stderr of ${args.join(" ")}`).toContain(mentions);
    });
    expect(existsSync(home)).toBe(false);
  });

  it("a read command on a home without an instance exits 1 and says to run `shelf init`", async () => {
    const home = tempDir();
    const result = await shelf(home, "list");
    expectExit(result, 1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("shelf init");

    const error = expectJsonError(await shelf(home, "show", "npm:react", "--json"), 1, "SHELF_E_NOT_INITIALIZED");
    expect(error.hint).toContain("shelf init");
    expect(readdirSync(home)).toEqual([]); // a read does not create an instance
  });
});

describe("one instance, from init to record edits", () => {
  // The tests run in order on this one home: init and a second catalog first, then edits to one
  // record of the default catalog, main.
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => void (tmp = makeTempDir()));
  afterAll(() => tmp.remove());
  const home = () => tmp.dir;
  const ID = "npm:demo";
  let last: CatalogRecord; // the record as the previous step left it

  const edit = async (...args: string[]) => shelfJson<EditJson>(home(), ...args);
  const show = async (id = ID) => (await shelfJson<{ record: CatalogRecord }>(home(), "show", id)).record;

  it("init prints the catalog URL; names are unique; --catalog selects by name or URL", async () => {
    const init = await shelf(home(), "init");
    expectExit(init, 0);
    expect(init.stdout).toMatch(/^automerge:[1-9A-HJ-NP-Za-km-z]+\n$/);
    const mainUrl = init.stdout.trim();

    const { status } = await shelfJson<StatusJson>(home(), "status");
    expect(status.home).toBe(home());
    expect(status.catalogs).toEqual([expect.objectContaining({ name: "main", url: mainUrl, default: true, records: 0, live: 0, deleted: 0 })]);

    expectJsonError(await shelf(home(), "init", "--name", "main", "--json"), 1, "SHELF_E_CATALOG_EXISTS");

    const other = await shelf(home(), "init", "--name", "other");
    expectExit(other, 0);
    const otherUrl = other.stdout.trim();
    expect(otherUrl).toMatch(/^automerge:/);
    expect(otherUrl).not.toBe(mainUrl);

    expectExit(await shelf(home(), "--catalog", "other", "add", "npm:only-in-other", "--name", "only-in-other"), 0);
    const [byName, byUrl, byDefault, { status: after }] = await Promise.all([
      shelfJson<ListJson>(home(), "list", "--catalog", "other"),
      shelfJson<ListJson>(home(), "list", "--catalog", otherUrl),
      shelfJson<ListJson>(home(), "list"),
      shelfJson<StatusJson>(home(), "status"),
    ]);
    expect(ids(byName.records)).toEqual(["npm:only-in-other"]);
    expect(ids(byUrl.records)).toEqual(["npm:only-in-other"]);
    expect(byDefault.count).toBe(0); // the default is still main

    expect(after.catalogs.map((c) => [c.name, c.default, c.live])).toEqual(
      expect.arrayContaining([
        ["main", true, 0],
        ["other", false, 1],
      ]),
    );
    expectJsonError(await shelf(home(), "list", "--catalog", "nope", "--json"), 1, "SHELF_E_CATALOG_NOT_FOUND");
  });

  it("add creates the record with every field given", async () => {
    const added = await edit("add", ID, "--name", "demo", "--version", "1.0.0", "--summary", "A demo package", "--tag", "cli", "--tag", "old", "--meta", "license=MIT");
    expect(added.outcome).toBe("created");
    expect(added.record).toMatchObject({
      id: ID,
      kind: "package",
      provider: "npm",
      name: "demo",
      version: "1.0.0",
      summary: "A demo package",
      tags: ["cli", "old"],
      collections: [],
      meta: { license: "MIT" },
      deleted: false,
    });
    expect(await show()).toEqual(added.record);
    last = added.record;
  });

  it("add of an existing id fails with SHELF_E_RECORD_EXISTS and changes nothing", async () => {
    expectJsonError(await shelf(home(), "add", ID, "--name", "other", "--json"), 1, "SHELF_E_RECORD_EXISTS");
    expect(await show()).toEqual(last);
  });

  it("set edits fields; setting the same values again reports unchanged", async () => {
    const set = await edit("set", ID, "version=1.1.0", "summary=A better demo");
    expect(set.outcome).toBe("updated");
    expect(set.record).toMatchObject({ version: "1.1.0", summary: "A better demo", name: "demo", tags: ["cli", "old"] });

    const crdtBefore = crdtSize(home());
    const again = await edit("set", ID, "version=1.1.0", "summary=A better demo");
    expect(again.outcome).toBe("unchanged");
    expect(again.record).toEqual(set.record); // not even updatedAt moves
    expect(crdtSize(home())).toEqual(crdtBefore); // and no CRDT change was written
    last = again.record;
  });

  it("set meta.KEY=text stores a string and meta.KEY:=JSON a JSON value", async () => {
    const set = await edit("set", ID, "meta.homepage=https://example.org/demo", "meta.port=8080", "meta.stars:=42", "meta.extra:={\"ok\":true,\"list\":[1,null]}");
    expect(set.outcome).toBe("updated");
    expect(set.record.meta).toEqual({ license: "MIT", homepage: "https://example.org/demo", port: "8080", stars: 42, extra: { ok: true, list: [1, null] } });
    expect((await edit("set", ID, "meta.stars:=42")).outcome).toBe("unchanged");
    last = set.record;
  });

  it("tag +a -b and collect +x change labels; repeating them is unchanged", async () => {
    const tagged = await edit("tag", ID, "+a", "-old");
    expect(tagged.outcome).toBe("updated");
    expect(tagged.record.tags).toEqual(["a", "cli"]);
    expect((await edit("tag", ID, "+a", "-old")).outcome).toBe("unchanged");

    const collected = await edit("collect", ID, "+x");
    expect(collected.outcome).toBe("updated");
    expect(collected.record.collections).toEqual(["x"]);
    expect(collected.record.tags).toEqual(["a", "cli"]);
    last = collected.record;
  });

  it("rm tombstones the record and restore brings it back", async () => {
    const removed = await edit("rm", ID);
    expect(removed.outcome).toBe("updated");
    expect(removed.record.deleted).toBe(true);
    expect(removed.record.deletedAt).toEqual(expect.any(String));
    expect(removed.record.deletedBy).toBe(removed.record.updatedBy);
    expect((await edit("rm", ID)).outcome).toBe("unchanged");
    expect((await show()).deleted).toBe(true); // still there, marked deleted

    const restored = await edit("restore", ID);
    expect(restored.outcome).toBe("updated");
    expect(restored.record).toMatchObject({ deleted: false, deletedAt: null, deletedBy: null });
    expect(restored.record).toMatchObject({ version: "1.1.0", tags: ["a", "cli"], collections: ["x"], meta: last.meta });
    last = restored.record;
  });

  it("bad input fails with the right code and leaves the record alone", async () => {
    const failures: { args: string[]; exit: number; code: string }[] = [
      // malformed ids: usage errors (exit 2)
      { args: ["show", "not an id"], exit: 2, code: "SHELF_E_INVALID_ID" },
      { args: ["set", "no-provider", "version=1"], exit: 2, code: "SHELF_E_INVALID_ID" },
      // a well-formed id that does not exist
      { args: ["set", "npm:missing", "version=1"], exit: 1, code: "SHELF_E_RECORD_NOT_FOUND" },
      { args: ["show", "npm:missing"], exit: 1, code: "SHELF_E_RECORD_NOT_FOUND" },
      // fields set cannot touch, and values that are not what they claim
      { args: ["set", ID, "colour=blue"], exit: 2, code: "SHELF_E_INVALID_FIELD" },
      { args: ["set", ID, "deleted=true"], exit: 2, code: "SHELF_E_INVALID_FIELD" },
      { args: ["set", ID, "meta.bad:={not json"], exit: 2, code: "SHELF_E_INVALID_FIELD" },
      { args: ["set", ID, "kind=folder"], exit: 2, code: "SHELF_E_INVALID_FIELD" },
      { args: ["tag", ID, "+has space"], exit: 2, code: "SHELF_E_INVALID_FIELD" },
    ];
    const results = await Promise.all(failures.map(({ args }) => shelf(home(), ...args, "--json")));
    results.forEach((result, i) => expectJsonError(result, failures[i]!.exit, failures[i]!.code));

    // without --json: the same exit code, the message on stderr, nothing on stdout
    const plain = await shelf(home(), "set", ID, "colour=blue");
    expectExit(plain, 2);
    expect(plain.stdout).toBe("");
    expect(plain.stderr).toContain("colour");

    expect(await show()).toEqual(last);
  });
});

describe("import, search and list over the npm sample", () => {
  // The tests run in order on one catalog: dry run, import, re-import, bad rows, then searches
  // and listings over the 305 records that leaves (plus the edits the filter tests make).
  const { home } = sharedHome();
  const search = (...args: string[]) => shelfJson<SearchJson>(home(), "search", ...args);
  const list = (...args: string[]) => shelfJson<ListJson>(home(), "list", ...args);

  it("import --dry-run reports what it would add and writes nothing", async () => {
    const before = crdtSize(home());
    const { import: result } = await shelfJson<ImportJson>(home(), "import", "tsv", SAMPLE, "--dry-run");
    expect(result).toMatchObject({ dryRun: true, added: SAMPLE_ROWS, updated: 0, unchanged: 0, rejected: 0 });
    expect((await list()).count).toBe(0);
    expect(crdtSize(home())).toEqual(before);
  });

  it("imports the 300 sample rows", async () => {
    const { import: result } = await shelfJson<ImportJson>(home(), "import", "tsv", SAMPLE);
    expect(result).toMatchObject({ dryRun: false, added: SAMPLE_ROWS, updated: 0, unchanged: 0, rejected: 0, rejects: [] });
    const { status } = await shelfJson<StatusJson>(home(), "status");
    expect(status.catalogs[0]).toMatchObject({ live: SAMPLE_ROWS, deleted: 0, byProvider: { npm: SAMPLE_ROWS } });
    expect((await shelfJson<{ record: CatalogRecord }>(home(), "show", "npm:react")).record).toMatchObject({ name: "react", provider: "npm" });
  });

  it("importing the same file again changes nothing and does not grow the CRDT", async () => {
    const before = crdtSize(home());
    const { import: result } = await shelfJson<ImportJson>(home(), "import", "tsv", SAMPLE);
    expect(result).toMatchObject({ added: 0, updated: 0, unchanged: SAMPLE_ROWS, tombstoned: 0, rejected: 0 });
    expect(crdtSize(home())).toEqual(before);
  });

  it("a file with bad rows exits 1, names each rejected line, and still adds the good rows", async () => {
    const json = await shelf(home(), "import", "tsv", BAD, "--json");
    expectExit(json, 1);
    const { import: result } = parseJson<ImportJson>(json);
    expect(result.rejects.map((r) => r.where)).toEqual([3, 5, 6, 7, 9].map((line) => `${BAD}:${line}`));
    expect(result).toMatchObject({ added: 5, updated: 0, rejected: 5 });
    for (const id of ["npm:chalk", "npm:@babel/core", "npm:commander", "npm:left-pad", "npm:no-downloads"]) {
      expectExit(await shelf(home(), "show", id), 0);
    }
    expect((await list()).count).toBe(SAMPLE_ROWS + 5);

    // the human-readable run says the same on stderr, file:line for each rejected row
    const plain = await shelf(home(), "import", "tsv", BAD);
    expectExit(plain, 1);
    expect(plain.stdout).toBe("");
    for (const line of [3, 5, 6, 7, 9]) expect(plain.stderr).toContain(`${BAD}:${line}: rejected`);
    expect(plain.stderr).toMatch(/0 changed \(added 0, updated 0, tombstoned 0\), unchanged 5, rejected 5/);
  });

  it("search --json prints one JSON document with the exact name first", async () => {
    const react = await search("react");
    expect(react.query).toBe("react");
    expect(react.count).toBe(react.results.length);
    expect(react.count).toBeGreaterThan(5);
    expect(react.results[0]!.id).toBe("npm:react");

    const lodash = await search("lodash");
    expect(ids(lodash.results)).toEqual(["npm:lodash", "npm:lodash.isinteger"]);
  });

  it("hostile queries exit 0 with valid JSON", async () => {
    const queries = ['"', "'; DROP TABLE records; --", "NEAR(a b)", "*", "🔥", "AND OR NOT", "(", "name:react", "^react", "-"];
    const results = await Promise.all(queries.map((q) => shelf(home(), "search", "--json", "--", q)));
    results.forEach((result, i) => {
      expectExit(result, 0);
      const json = parseJson<SearchJson>(result);
      expect(json).toMatchObject({ schemaVersion: 1, query: queries[i], count: json.results.length });
    });
    expect((await list()).count).toBe(SAMPLE_ROWS + 5); // nothing was dropped
  });

  it("deleted records are hidden unless --include-deleted", async () => {
    expectExit(await shelf(home(), "rm", "npm:lodash"), 0);
    expect(ids((await search("lodash")).results)).toEqual(["npm:lodash.isinteger"]);
    const withDeleted = await search("lodash", "--include-deleted");
    expect(ids(withDeleted.results)).toEqual(["npm:lodash", "npm:lodash.isinteger"]);
    expect(withDeleted.results[0]!.deleted).toBe(true);

    expect(ids((await list()).records)).not.toContain("npm:lodash");
    expect(ids((await list("--include-deleted")).records)).toContain("npm:lodash");
  });

  it("--provider, --tag and --limit filter the results", async () => {
    expectExit(await shelf(home(), "add", "pypi:requests", "--name", "requests", "--summary", "Python HTTP for Humans", "--tag", "http"), 0);
    expectExit(await shelf(home(), "tag", "npm:react", "+http"), 0);

    expect(ids((await search("http", "--provider", "pypi")).results)).toEqual(["pypi:requests"]);
    expect(ids((await search("http", "--tag", "http")).results).sort()).toEqual(["npm:react", "pypi:requests"]);
    expect(ids((await search("react", "--tag", "http")).results)).toEqual(["npm:react"]);
    const limited = await search("react", "--limit", "3");
    expect(limited.count).toBe(3);
    expect(limited.results[0]!.id).toBe("npm:react");
    expect(ids((await list("--provider", "pypi")).records)).toEqual(["pypi:requests"]);
    expect((await list("--provider", "npm")).count).toBe(SAMPLE_ROWS + 5 - 1); // lodash is deleted
  });

  it("list --json is byte-identical after rebuild", async () => {
    const before = await Promise.all([shelf(home(), "list", "--json"), shelf(home(), "list", "--json", "--include-deleted")]);
    before.forEach((r) => expectExit(r, 0));
    expectExit(await shelf(home(), "rebuild"), 0);
    const after = await Promise.all([shelf(home(), "list", "--json"), shelf(home(), "list", "--json", "--include-deleted")]);
    expect(after[0]!.stdout).toBe(before[0]!.stdout);
    expect(after[1]!.stdout).toBe(before[1]!.stdout);
    expect(parseJson<ListJson>(after[1]!).count).toBe(SAMPLE_ROWS + 5 + 1);
  });

  it("a reader that closes the pipe early (`shelf list --json | head -c 100`) ends the command quietly", async () => {
    // as a user types it: bash reports the CLI's own exit code (pipefail), and its stderr
    const pipeline = `set -o pipefail; "$0" "$1" --home "$2" list --json | head -c 100 > /dev/null`;
    const { code, stderr } = await finished(spawn("bash", ["-c", pipeline, process.execPath, CLI, home()], { stdio: ["ignore", "pipe", "pipe"] }));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("--json output of every read command is one JSON document with schemaVersion 1", async () => {
    const reads = [
      ["show", "npm:react"],
      ["show", "npm:lodash"],
      ["search", "react"],
      ["search", "no-such-word-anywhere"],
      ["list"],
      ["list", "--provider", "nobody"],
      ["status"],
    ];
    const results = await Promise.all(reads.map((args) => shelf(home(), ...args, "--json")));
    results.forEach((result, i) => {
      expectExit(result, 0);
      expect(result.stdout.endsWith("}\n"), reads[i]!.join(" ")).toBe(true);
      expect(parseJson(result).schemaVersion, reads[i]!.join(" ")).toBe(1);
    });
  });
});

describe("a killed import", () => {
  // Header included. The brief suggested 20,000 lines; 8,000 keeps the re-run near 7 s instead of
  // 30 s while the import is still well under way when it is killed (it takes ~6 s).
  const LINES = 8_000;

  /** A TSV of LINES lines: the dataset's first rows, or the sample's rows renamed over and over. */
  async function largeTsv(dir: string): Promise<{ path: string; names: string[] }> {
    let lines: string[] = [];
    if (existsSync(DATASET)) {
      const input = createReadStream(DATASET).pipe(createGunzip());
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        lines.push(line);
        if (lines.length === LINES) break;
      }
      input.destroy();
    } else {
      const [header, ...rows] = readFileSync(SAMPLE, "utf8").trimEnd().split("\n");
      lines = [header!];
      for (let copy = 0; lines.length < LINES; copy++) {
        for (const row of rows) {
          if (lines.length === LINES) break;
          const [name, ...rest] = row.split("\t");
          lines.push([`${name}-copy${copy}`, ...rest].join("\t"));
        }
      }
    }
    const path = join(dir, "large.tsv");
    writeFileSync(path, lines.join("\n") + "\n");
    return { path, names: lines.slice(1).map((l) => l.split("\t")[0]!) };
  }

  it("leaves an instance that opens, and a re-run completes it without loss or duplicates", { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const home = join(dir, "home");
    const { path, names } = await largeTsv(dir);
    expect(new Set(names).size).toBe(LINES - 1); // every row is its own record
    expectExit(await shelf(home, "init"), 0);

    const child = startCli(["--home", home, "import", "tsv", path]);
    const run = finished(child);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill("SIGKILL");
    const killed = await run;
    expect(killed.signal, "the import finished before it could be killed; use a larger file").toBe("SIGKILL");

    // the database opens, and shows what the killed run had finished
    const status = await shelf(home, "status", "--json");
    expectExit(status, 0);
    const main = parseJson<StatusJson>(status).status.catalogs[0]!;
    expect(main.name).toBe("main");
    expect(main.live).toBeLessThan(LINES - 1);

    // the re-run finds every record the killed run wrote complete (none half-written, so none
    // "updated"), and adds the rest
    const { import: rerun } = await shelfJson<ImportJson>(home, "import", "tsv", path);
    expect(rerun).toMatchObject({ rejected: 0, updated: 0 });
    expect(rerun.unchanged).toBeGreaterThanOrEqual(main.live);
    expect(rerun.added).toBeGreaterThan(0);
    expect(rerun.added + rerun.unchanged).toBe(LINES - 1);

    const listed = await shelfJson<ListJson>(home, "list", "--include-deleted");
    expect(listed.count).toBe(LINES - 1);
    const listedIds = ids(listed.records);
    expect(new Set(listedIds).size).toBe(listedIds.length);
    expect(new Set(listedIds)).toEqual(new Set(names.map((n) => `npm:${n}`)));
    expect(listed.records.every((r) => !r.deleted)).toBe(true);
  });
});
