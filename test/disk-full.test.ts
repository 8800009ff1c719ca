/**
 * A home that cannot be written, with the real CLI: a disk that fills up during an import, and a
 * read-only home. Writes fail with SHELF_E_DISK_FULL / SHELF_E_READ_ONLY_HOME and the fix (with
 * --json, one JSON error document); reads keep answering from the last view; nothing acknowledged
 * is lost once the disk can be written again.
 *
 * Three ways to make a disk refuse writes, each used where the platform allows and skipped with
 * the reason otherwise:
 * - RLIMIT_FSIZE (`ulimit -f` in bash) on the command's process: writes past the limit fail with
 *   EFBIG, which SQLite reports as SQLITE_IOERR_WRITE (as it does a quota's EDQUOT). Unprivileged.
 * - a small tmpfs: a real full file system (ENOSPC, SQLITE_FULL). Needs root and mount rights.
 * - a read-only bind mount of the home (root), or a home without write permission (non-root).
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, expectExit, expectJsonError, finished, parseJson, ROOT, shelf, shelfJson, type CliResult } from "./helpers/cli.js";

const isLinux = process.platform === "linux";
const isRoot = process.getuid?.() === 0;

/** Runs the CLI with its file size limit set to `kib` KiB (bash's ulimit -f counts KiB). */
function shelfLimited(kib: number, home: string, ...args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.SHELF_HOME;
  const child = spawn("bash", ["-c", `ulimit -f ${kib} && exec "$0" "$@"`, process.execPath, CLI, "--home", home, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  return finished(child);
}

/** A TSV of `n` npm packages with long summaries, enough to fill a small limit. */
function bigTsv(dir: string, n: number, tag: string): string {
  const path = join(dir, `${tag}.tsv`);
  const lines = ["name\tversion\tdownloads_a_month\tsummary"];
  for (let i = 0; i < n; i++) lines.push(`${tag}-pkg-${i}\t1.0.${i}\t${i}\t${"a summary that takes room ".repeat(12)}${i}`);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

function homeBytes(home: string): number {
  return readdirSync(home).reduce((sum, f) => sum + statSync(join(home, f)).size, 0);
}

function canRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "shelf-diskfull-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What every write refusal must look like to a person and to a script. */
function expectRefusal(result: CliResult, code: string): void {
  const error = expectJsonError(result, 1, code);
  expect(result.stderr).not.toMatch(/internal error|Please report/);
  expect(error.hint).toBeTruthy();
}

/** A home with a catalog and one record, its database already past `minBytes` on disk. */
async function preparedHome(name: string): Promise<string> {
  const home = join(dir, name);
  expectExit(await shelf(home, "init", "--name", "main"), 0);
  expectExit(await shelf(home, "add", "npm:kept", "--name", "kept", "--summary", "acknowledged before the disk filled"), 0);
  return home;
}

describe.skipIf(!isLinux)("a disk that fills up (RLIMIT_FSIZE)", () => {
  it("an import past the limit fails with SHELF_E_DISK_FULL; reads answer; nothing acknowledged is lost", { timeout: 240_000 }, async () => {
    const home = await preparedHome("fsize");
    // Room for the home as it is plus a little: the import's WAL outgrows it.
    const limitKib = Math.ceil(homeBytes(home) / 1024) + 256;
    const tsv = bigTsv(dir, 3000, "big");

    const failed = await shelfLimited(limitKib, home, "import", "tsv", tsv, "--json");
    expectRefusal(failed, "SHELF_E_DISK_FULL");
    expect(parseJson(failed).error.hint).toMatch(/free space/);

    // While the disk stays full, reads answer from the view (warning when it may be behind).
    const listed = await shelfLimited(limitKib, home, "list", "--json");
    expectExit(listed, 0);
    expect(parseJson(listed).records.map((r: any) => r.id)).toContain("npm:kept");
    // The list first tries to catch the view up; if that could not be written, it said so.
    const status = parseJson(await shelfLimited(limitKib, home, "status", "--json")).status;
    if (status.pendingDocuments > 0) expect(listed.stderr).toMatch(/warning: the view may be behind/);
    const show = await shelfLimited(limitKib, home, "show", "npm:kept", "--json");
    expectExit(show, 0);
    // A small edit past the limit is refused the same way, never an internal error.
    const set = await shelfLimited(limitKib, home, "set", "npm:kept", `summary=${"x".repeat(2000)}`, "--json");
    if (set.code !== 0) expectRefusal(set, "SHELF_E_DISK_FULL");

    // Space again: everything acknowledged is there, the import completes, the home is sound.
    expect((await shelfJson(home, "show", "npm:kept")).record.name).toBe("kept");
    const imported = await shelfJson(home, "import", "tsv", tsv);
    expect(imported.import ?? imported).toBeTruthy();
    expect((await shelfJson(home, "list")).count).toBe(3001);
    expect((await shelfJson(home, "doctor")).doctor.ok).toBe(true);
  });
});

const tmpfsReason = !isLinux ? "not Linux" : !isRoot ? "mounting a tmpfs needs root" : undefined;

describe("a full tmpfs", () => {
  let mountPoint: string | undefined;
  let skipReason = tmpfsReason;
  beforeAll(() => {
    if (skipReason) return;
    mountPoint = join(dir, "tmpfs");
    mkdirSync(mountPoint);
    if (!canRun("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mountPoint])) {
      skipReason = "this container may not mount a tmpfs";
      mountPoint = undefined;
    }
  });
  afterAll(() => {
    if (mountPoint) canRun("umount", ["-l", mountPoint]);
  });

  it("an import that fills the file system fails with SHELF_E_DISK_FULL; reads answer; nothing acknowledged is lost", { timeout: 240_000 }, async (ctx) => {
    if (!mountPoint) {
      ctx.skip(`skipped: ${skipReason}`);
      return;
    }
    const home = join(mountPoint, "home");
    expectExit(await shelf(home, "init", "--name", "main"), 0);
    expectExit(await shelf(home, "add", "npm:kept", "--name", "kept"), 0);
    const failed = await shelf(home, "import", "tsv", bigTsv(dir, 12000, "huge"), "--json");
    expectRefusal(failed, "SHELF_E_DISK_FULL");
    const listed = await shelf(home, "list", "--json");
    expectExit(listed, 0);
    expect(parseJson(listed).records.map((r: any) => r.id)).toContain("npm:kept");
    // Space again (the bigger file system a user would free or grow): nothing acknowledged lost.
    expect(canRun("mount", ["-o", "remount,size=64m", mountPoint])).toBe(true);
    expect((await shelfJson(home, "show", "npm:kept")).record.name).toBe("kept");
    expect((await shelfJson(home, "doctor")).doctor.ok).toBe(true);
  });
});

describe("a read-only home", () => {
  it("writes fail with SHELF_E_READ_ONLY_HOME; reads answer", { timeout: 120_000 }, async (ctx) => {
    const home = await preparedHome("readonly");
    let readOnly = home;
    let undo = () => {};
    if (isRoot) {
      // root ignores permissions: a read-only bind mount is what a read-only disk looks like
      readOnly = join(dir, "readonly-view");
      mkdirSync(readOnly);
      if (!canRun("mount", ["--bind", home, readOnly]) || !canRun("mount", ["-o", "remount,bind,ro", readOnly])) {
        canRun("umount", [readOnly]);
        ctx.skip("skipped: running as root in a container that may not bind-mount read-only");
        return;
      }
      undo = () => void canRun("umount", ["-l", readOnly]);
    } else {
      for (const f of readdirSync(home)) chmodSync(join(home, f), 0o444);
      chmodSync(home, 0o555);
      undo = () => {
        chmodSync(home, 0o755);
        for (const f of readdirSync(home)) chmodSync(join(home, f), 0o644);
      };
    }
    try {
      expectRefusal(await shelf(readOnly, "set", "npm:kept", "version=2.0.0", "--json"), "SHELF_E_READ_ONLY_HOME");
      expect((await shelfJson(readOnly, "show", "npm:kept")).record.version).toBe("");
      expect((await shelfJson(readOnly, "list")).count).toBe(1);
    } finally {
      undo();
    }
    expect((await shelfJson(home, "set", "npm:kept", "version=2.0.0")).record.version).toBe("2.0.0");
  });
});

describe("a home another process holds too long", () => {
  it("a write fails with SHELF_E_HOME_BUSY after the busy timeout; reads answer meanwhile, a record's history too", { timeout: 120_000 }, async () => {
    const home = await preparedHome("busy");
    // What only a pathological transaction would do: hold the write lock past the 10 s timeout.
    const holder = new Database(join(home, "shelf.db"));
    holder.exec("BEGIN IMMEDIATE");
    try {
      const [set, listed, history] = await Promise.all([
        shelf(home, "set", "npm:kept", "version=2.0.0", "--json"),
        shelf(home, "list", "--json"),
        shelf(home, "history", "npm:kept", "--json"),
      ]);
      expectRefusal(set, "SHELF_E_HOME_BUSY");
      expectExit(listed, 0);
      expect(parseJson(listed).count).toBe(1);
      expectExit(history, 0);
      expect(parseJson(history).count).toBeGreaterThan(0);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expect((await shelfJson(home, "set", "npm:kept", "version=2.0.0")).record.version).toBe("2.0.0");
  });
});
