/**
 * `shelf import PROVIDER SOURCE`, scheduled imports and `shelf compare`, end to end with the real
 * CLI: exit codes, the --json summary, rejections named with their place and reason, re-imports
 * that add nothing to the CRDT, --prune, the files scan's re-hashing, pacman --as on two
 * instances, and a scheduled import run by a real `shelf daemon`.
 */
import { cpSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CatalogRecord } from "../src/model/record.js";
import { FIXTURES, crdtSize, expectExit, expectJsonError, finished, parseJson, shelf, shelfJson, startCli } from "./helpers/cli.js";
import { startFixtureServer } from "./helpers/fixture-server.js";
import { tempDir } from "./helpers/temp-home.js";

interface Summary {
  provider: string;
  dryRun: boolean;
  added: number;
  updated: number;
  unchanged: number;
  tombstoned: number;
  vanished: number;
  rejected: number;
  rejects: { where: string; reason: string }[];
  vanishedIds: string[];
  stats: Record<string, number>;
}

async function newHome(): Promise<string> {
  const home = join(tempDir(), "home");
  expectExit(await shelf(home, "init"), 0);
  return home;
}

/** Runs an import with --json; returns the exit code and the summary. */
async function importJson(home: string, ...args: string[]): Promise<{ code: number | null; summary: Summary; stderr: string }> {
  const result = await shelf(home, "import", ...args, "--json");
  const json = parseJson<{ schemaVersion: number; import: Summary }>(result);
  expect(json.schemaVersion).toBe(1);
  return { code: result.code, summary: json.import, stderr: result.stderr };
}

const show = async (home: string, id: string) => (await shelfJson<{ record: CatalogRecord }>(home, "show", id)).record;

const SOURCES: [string, string, { added: number; rejected: number }][] = [
  ["npm", join(FIXTURES, "npm", "packuments"), { added: 3, rejected: 2 }],
  ["pypi", join(FIXTURES, "pypi", "documents"), { added: 3, rejected: 1 }],
  ["winget", join(FIXTURES, "winget", "manifests"), { added: 3, rejected: 3 }],
  ["choco", join(FIXTURES, "choco", "nuspecs"), { added: 2, rejected: 2 }],
  ["choco", join(FIXTURES, "choco", "feed", "page1.xml"), { added: 2, rejected: 0 }],
  ["pacman", join(FIXTURES, "pacman", "host-a", "local"), { added: 4, rejected: 1 }],
  ["pacman", join(FIXTURES, "pacman", "pacman-qi.txt"), { added: 3, rejected: 1 }],
];

describe("shelf import PROVIDER SOURCE", () => {
  it.each(SOURCES)("%s %s: good records kept, bad ones named, exit 1 if any; a second run writes no CRDT byte", async (provider, source, expected) => {
    const home = await newHome();
    const first = await importJson(home, provider, source);
    expect(first.code).toBe(expected.rejected > 0 ? 1 : 0);
    expect(first.summary).toMatchObject({ provider, added: expected.added, updated: 0, tombstoned: 0, rejected: expected.rejected });
    for (const r of first.summary.rejects) {
      expect(r.where.startsWith(source)).toBe(true);
      expect(r.reason.length).toBeGreaterThan(5);
    }
    const listed = await shelfJson<{ count: number }>(home, "list", "--provider", provider);
    expect(listed.count).toBe(expected.added);

    const before = crdtSize(home);
    const again = await shelf(home, "import", provider, source);
    expectExit(again, expected.rejected > 0 ? 1 : 0);
    expect(again.stderr).toMatch(/: 0 changed \(added 0, updated 0, tombstoned 0\), unchanged \d+/);
    expect(crdtSize(home)).toEqual(before);
  });

  it("names each rejected manifest with its path and reason on stderr, and still imports the rest", async () => {
    const home = await newHome();
    const manifests = join(FIXTURES, "winget", "manifests");
    const run = await shelf(home, "import", "winget", manifests);
    expectExit(run, 1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`${join(manifests, "b", "Broken", "App", "1.0.0", "Broken.App.installer.yaml")}: rejected: it is not valid YAML`);
    expect(run.stderr).toContain(`${join(manifests, "i", "Incomplete", "Tool", "3.1")}: rejected: version 3.1 has no defaultLocale manifest`);
    expect(await show(home, "winget:Git.Git")).toMatchObject({ name: "Git", version: "2.45.1" });
    expectExit(await shelf(home, "show", "winget:Broken.App"), 1);
  });

  it("--dry-run predicts and writes nothing", async () => {
    const home = await newHome();
    const before = crdtSize(home);
    const { code, summary } = await importJson(home, "pypi", join(FIXTURES, "pypi", "documents"), "--dry-run");
    expect(code).toBe(1);
    expect(summary).toMatchObject({ dryRun: true, added: 3, rejected: 1 });
    expect(crdtSize(home)).toEqual(before);
    expect((await shelfJson<{ count: number }>(home, "list")).count).toBe(0);
  });

  it("vanished records are reported and kept; --prune tombstones them; a return restores them", async () => {
    const home = await newHome();
    const tree = join(tempDir(), "manifests");
    cpSync(join(FIXTURES, "winget", "manifests"), tree, { recursive: true });
    rmSync(join(tree, "b"), { recursive: true });
    rmSync(join(tree, "i"), { recursive: true });
    expect((await importJson(home, "winget", tree)).summary).toMatchObject({ added: 3, rejected: 0 });

    const saved = join(tempDir(), "7zip");
    cpSync(join(tree, "7"), saved, { recursive: true });
    rmSync(join(tree, "7"), { recursive: true });
    const kept = await shelf(home, "import", "winget", tree);
    expectExit(kept, 0);
    expect(kept.stderr).toMatch(/1 record of this source is no longer in it and was kept \(run with --prune to tombstone them\): winget:7zip\.7zip/);
    expect((await show(home, "winget:7zip.7zip")).deleted).toBe(false);

    const pruned = await importJson(home, "winget", tree, "--prune");
    expect(pruned.summary).toMatchObject({ vanished: 1, tombstoned: 1, unchanged: 2 });
    expect(await show(home, "winget:7zip.7zip")).toMatchObject({ deleted: true });
    // a record that another source or a person made is never pruned by this source
    expectExit(await shelf(home, "add", "winget:Other.Tool", "--name", "Other"), 0);
    expect((await importJson(home, "winget", tree, "--prune")).summary).toMatchObject({ vanished: 0, tombstoned: 0 });
    expect((await show(home, "winget:Other.Tool")).deleted).toBe(false);

    cpSync(saved, join(tree, "7"), { recursive: true });
    expect((await importJson(home, "winget", tree, "--prune")).summary).toMatchObject({ updated: 1, tombstoned: 0 });
    expect(await show(home, "winget:7zip.7zip")).toMatchObject({ deleted: false, version: "24.08" });
  });

  it("files: hashes only what changed in size or mtime; identical contents are one record", async () => {
    const home = await newHome();
    const dir = join(tempDir(), "scan");
    mkdirSync(join(dir, "docs"), { recursive: true });
    writeFileSync(join(dir, "a.txt"), "alpha\n");
    writeFileSync(join(dir, "b.json"), '{"b":2}\n');
    writeFileSync(join(dir, "docs", "copy-of-a.txt"), "alpha\n");
    writeFileSync(join(dir, "docs", "image.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]));

    const first = await importJson(home, "files", dir);
    expect(first.summary).toMatchObject({ added: 3, rejected: 0, stats: { files: 4, hashed: 4 } });
    const alpha = "file:sha256:" + (await import("node:crypto")).createHash("sha256").update("alpha\n").digest("hex");
    expect(await show(home, alpha)).toMatchObject({ kind: "file", provider: "file", name: "a.txt", meta: { path: "a.txt", paths: ["a.txt", "docs/copy-of-a.txt"], size: 6, mime: "text/plain", sha256: alpha.slice(12) } });

    const before = crdtSize(home);
    const warm = await importJson(home, "files", dir);
    expect(warm.summary).toMatchObject({ added: 0, updated: 0, unchanged: 3, stats: { files: 4, hashed: 0 } });
    expect(crdtSize(home)).toEqual(before);

    // new content: one file hashed, a new record, the old content vanished
    writeFileSync(join(dir, "b.json"), '{"b":3}\n');
    const changed = await importJson(home, "files", dir, "--prune");
    expect(changed.summary).toMatchObject({ added: 1, tombstoned: 1, vanished: 1, stats: { hashed: 1 } });
    // only the mtime moved: hashed again, same id, its mtime updated
    utimesSync(join(dir, "docs", "image.png"), new Date("2024-01-02T03:04:05Z"), new Date("2024-01-02T03:04:05Z"));
    const touched = await importJson(home, "files", dir);
    expect(touched.summary).toMatchObject({ added: 0, updated: 1, stats: { hashed: 1 } });
    const png = (await shelfJson<{ records: CatalogRecord[] }>(home, "list", "--provider", "file")).records.find((r) => r.name === "image.png")!;
    expect(png.meta).toMatchObject({ mime: "image/png", mtime: "2024-01-02T03:04:05.000Z", size: 8 });
  });

  it("refuses usage errors with exit 2 and a missing source with SHELF_E_IO", async () => {
    const home = await newHome();
    expectJsonError(await shelf(home, "import", "apt", ".", "--json"), 2, "SHELF_E_USAGE");
    expectJsonError(await shelf(home, "import", "npm", join(FIXTURES, "npm", "packuments"), "--as", "web-01", "--json"), 2, "SHELF_E_USAGE");
    expectJsonError(await shelf(home, "import", "pacman", join(FIXTURES, "pacman", "host-a", "local"), "--as", "bad host", "--json"), 2, "SHELF_E_USAGE");
    const missing = expectJsonError(await shelf(home, "import", "npm", join(FIXTURES, "nope"), "--json"), 1, "SHELF_E_IO");
    expect(missing.message).toContain(join(FIXTURES, "nope"));
    expectJsonError(await shelf(home, "import", "npm", "http://127.0.0.1:9/", "--json"), 2, "SHELF_E_USAGE");
  });
});

describe("HTTP sources from the CLI", () => {
  it("retries a 429 with Retry-After; a feed that is not there fails with SHELF_E_HTTP naming the URL", async () => {
    const server = await startFixtureServer();
    try {
      const { readFileSync } = await import("node:fs");
      server.routes.set("/react", readFileSync(join(FIXTURES, "npm", "packuments", "react.json"), "utf8"));
      server.faults.set("/react", [{ status: 429, retryAfter: "1" }]);
      const home = await newHome();
      const { code, summary } = await importJson(home, "npm", server.url, "--package", "react", "--timeout", "5");
      expect(code).toBe(0);
      expect(summary).toMatchObject({ added: 1, stats: { requests: 2, retries: 1 } });
      expect(server.log.map((r) => r.status)).toEqual([429, 200]);
      const again = await importJson(home, "npm", server.url);
      expect(again.summary).toMatchObject({ unchanged: 1, stats: { notModified: 1 } });

      const err = expectJsonError(await shelf(home, "import", "choco", `${server.url}/api/v2/Packages()`, "--json"), 1, "SHELF_E_HTTP");
      expect(err.message).toContain(`${server.url}/api/v2/Packages()`);
      const history = await shelfJson<{ history: { status: string; error: string | null; provider: string }[] }>(home, "import", "history");
      expect(history.history.map((h) => h.status)).toEqual(["failed", "success", "success"]);
      expect(history.history[0]!.error).toContain("HTTP 404");
    } finally {
      await server.close();
    }
  });
});

describe("the fleet: pacman --as and shelf compare", () => {
  it("two instances import their own host concurrently, merge without a conflict, and compare", async () => {
    const a = await newHome();
    const bundle = join(tempDir(), "catalog.bundle");
    expectExit(await shelf(a, "export", bundle), 0);
    const b = join(tempDir(), "home-b");
    expectExit(await shelf(b, "import-bundle", bundle), 0);

    const hostA = join(tempDir(), "local");
    cpSync(join(FIXTURES, "pacman", "host-a", "local"), hostA, { recursive: true });
    const [ra, rb] = await Promise.all([
      importJson(a, "pacman", hostA, "--as", "web-01"),
      importJson(b, "pacman", join(FIXTURES, "pacman", "host-b", "local"), "--as", "web-02"),
    ]);
    expect(ra.summary).toMatchObject({ added: 4, rejected: 1 });
    expect(rb.summary).toMatchObject({ added: 4, rejected: 0 });

    // exchange both ways
    const fromA = join(tempDir(), "a.bundle");
    const fromB = join(tempDir(), "b.bundle");
    expectExit(await shelf(a, "export", fromA), 0);
    expectExit(await shelf(b, "export", fromB), 0);
    expectExit(await shelf(a, "import-bundle", fromB), 0);
    expectExit(await shelf(b, "import-bundle", fromA), 0);
    for (const home of [a, b]) expect((await shelfJson<{ count: number }>(home, "conflicts")).count).toBe(0);

    const linux = await show(a, "pacman:linux");
    expect(linux.meta).toEqual({
      "host.web-01": { version: "6.9.7.arch1-1", installedAt: new Date(1719100000 * 1000).toISOString(), reason: "explicit" },
      "host.web-02": { version: "6.10.2.arch1-1", installedAt: new Date(1722100000 * 1000).toISOString(), reason: "explicit" },
    });

    const { compare } = await shelfJson<{ compare: any }>(b, "compare", "web-01", "web-02");
    expect(compare).toEqual({
      hostA: "web-01",
      hostB: "web-02",
      onlyA: [{ id: "pacman:htop", name: "htop", version: "3.3.0-3" }],
      onlyB: [{ id: "pacman:vim", name: "vim", version: "9.1.0580-1" }],
      different: [{ id: "pacman:linux", name: "linux", versionA: "6.9.7.arch1-1", versionB: "6.10.2.arch1-1" }],
      same: 2,
    });
    const text = await shelf(b, "compare", "web-01", "web-02");
    expectExit(text, 0);
    expect(text.stdout).toContain("only on web-01: pacman:htop 3.3.0-3");
    expect(text.stdout).toContain("1 only on web-01, 1 only on web-02, 1 at different versions, 2 the same");
    const unknown = expectJsonError(await shelf(b, "compare", "web-01", "web-03", "--json"), 1, "SHELF_E_UNKNOWN_HOST");
    expect(unknown.hint).toContain("web-01, web-02");

    // --prune with --as removes only that host's entry
    rmSync(join(hostA, "glibc-2.39+r52+gf8e4623421-1"), { recursive: true });
    rmSync(join(hostA, "broken-1.0-1"), { recursive: true });
    // broken-1.0-1 vanished too (its unreadable desc kept it alive until now), but no record of it exists
    expect((await importJson(a, "pacman", hostA, "--as", "web-01", "--prune")).summary).toMatchObject({ vanished: 2, tombstoned: 1, vanishedIds: ["pacman:broken", "pacman:glibc"] });
    const glibc = await show(a, "pacman:glibc");
    expect(glibc.deleted).toBe(false);
    expect(Object.keys(glibc.meta)).toEqual(["host.web-02"]);
    // the host's cursor forgot them: they vanish once, not at every run
    expect((await importJson(a, "pacman", hostA, "--as", "web-01", "--prune")).summary).toMatchObject({ vanished: 0, tombstoned: 0 });
  });
});

describe("scheduled imports", () => {
  it("add, list, history and rm; bad intervals and names are usage errors", async () => {
    const home = await newHome();
    const source = join(FIXTURES, "pypi", "documents");
    const { scheduled } = await shelfJson<{ scheduled: any }>(home, "import", "add", "pypi-docs", "pypi", source, "--every", "6h", "--prune");
    expect(scheduled).toMatchObject({ name: "pypi-docs", provider: "pypi", source, everySeconds: 21600, every: "6h", options: { prune: true }, lastRun: null });
    expectJsonError(await shelf(home, "import", "add", "pypi-docs", "pypi", source, "--every", "daily", "--json"), 2, "SHELF_E_USAGE");
    expectJsonError(await shelf(home, "import", "add", "other", "pypi", source, "--every", "sometimes", "--json"), 2, "SHELF_E_USAGE");
    expectJsonError(await shelf(home, "import", "add", "list", "pypi", source, "--every", "daily", "--json"), 2, "SHELF_E_USAGE");
    const { imports } = await shelfJson<{ imports: any[] }>(home, "import", "list");
    expect(imports.map((i) => i.name)).toEqual(["pypi-docs"]);
    expect((await shelf(home, "import", "list")).stdout).toMatch(/^pypi-docs {2}pypi .* --prune {2}every 6h; next .*; never run\n$/);
    expect(await shelfJson(home, "import", "rm", "pypi-docs")).toMatchObject({ removed: "pypi-docs" });
    expectJsonError(await shelf(home, "import", "rm", "pypi-docs", "--json"), 2, "SHELF_E_USAGE");
  });

  it("shelf daemon runs a due import and records it in import history", { timeout: 90_000 }, async () => {
    const home = await newHome();
    const source = join(FIXTURES, "choco", "nuspecs");
    expectExit(await shelf(home, "import", "add", "choco-local", "choco", source, "--every", "daily"), 0);
    const daemon = startCli(["--home", home, "daemon"]);
    const exited = finished(daemon);
    try {
      let runs: any[] = [];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        runs = (await shelfJson<{ history: any[] }>(home, "import", "history", "choco-local")).history;
        if (runs.length > 0) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ schedule: "choco-local", provider: "choco", status: "partial", added: 2, rejected: 2 });
      expect(runs[0].error).toMatch(/2 rejected; first: .*broken\.nuspec/);
      expect(await show(home, "choco:git")).toMatchObject({ version: "2.45.2" });
      const { imports } = await shelfJson<{ imports: any[] }>(home, "import", "list");
      expect(Date.parse(imports[0].nextRunAt) - Date.parse(runs[0].startedAt)).toBeGreaterThan(86_000_000);
    } finally {
      daemon.kill("SIGTERM");
    }
    const result = await exited;
    expectExit(result, 0);
    expect(result.stderr).toMatch(/import choco-local: 2 changed \(added 2, updated 0, tombstoned 0\), 0 unchanged, 2 rejected/);
  });
});
