/**
 * A damaged home, with real database files and the real CLI: a view table dropped, view pages
 * overwritten, 64 KiB of the file garbled. Every command ends with success or a documented error
 * (never an internal one, and with --json one JSON document); `shelf doctor` says what it found;
 * `shelf rebuild` recreates the view from the CRDT whenever the CRDT can still be read.
 */
import { closeSync, copyFileSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectExit, expectJsonError, makeTempDir, parseJson, shelf, shelfJson } from "./helpers/cli.js";

let tmp: { dir: string; remove: () => void };
let pristine: string;

beforeAll(async () => {
  tmp = makeTempDir("shelf-damaged-");
  const home = join(tmp.dir, "pristine");
  expectExit(await shelf(home, "init", "--name", "main"), 0);
  for (const [id, name] of [["npm:react", "react"], ["npm:vue", "vue"], ["pypi:requests", "requests"]]) {
    expectExit(await shelf(home, "add", id!, "--name", name!, "--summary", `${name} library`, "--tag", "web"), 0);
  }
  pristine = join(home, "shelf.db");
});

afterAll(() => tmp.remove());

/** A copy of the pristine home (its last command checkpointed the WAL into shelf.db), damaged by `damage`. */
function damagedHome(name: string, damage: (dbPath: string) => void): string {
  const home = join(tmp.dir, name);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const dbPath = join(home, "shelf.db");
  copyFileSync(pristine, dbPath);
  damage(dbPath);
  return home;
}

function overwrite(dbPath: string, offset: number, bytes: Buffer): void {
  const fd = openSync(dbPath, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Pseudo-random bytes, the same on every run. */
function garbage(length: number): Buffer {
  const b = Buffer.alloc(length);
  let x = 2463534242;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}

const READS = [["list"], ["search", "react"], ["show", "npm:react"], ["conflicts"], ["status"]];

describe("a damaged home", () => {
  it("with the FTS table dropped: search names the damage, rebuild recreates the view, nothing is lost", async () => {
    const home = damagedHome("fts-dropped", (dbPath) => {
      const db = new Database(dbPath);
      db.exec("DROP TABLE records_fts");
      db.close();
    });
    const failed = expectJsonError(await shelf(home, "search", "react", "--json"), 1, "SHELF_E_DB");
    expect(failed.hint).toContain("shelf rebuild");
    const before = await shelf(home, "doctor", "--json");
    expectExit(before, 1);
    const report = parseJson(before).doctor;
    expect(report.ok).toBe(false);
    expect(report.findings.find((f: any) => f.check === "view-tables").problems).toEqual(["view table records_fts is missing"]);

    expectExit(await shelf(home, "rebuild"), 0);
    const found = await shelfJson(home, "search", "react");
    expect(found.results.map((r: any) => r.id)).toEqual(["npm:react"]);
    expect((await shelfJson(home, "list")).count).toBe(3);
    expect((await shelfJson(home, "doctor")).doctor.ok).toBe(true);
  });

  it("with the view's pages overwritten: commands say SHELF_E_DB, doctor finds it, rebuild brings the view back from the CRDT", async () => {
    const home = damagedHome("view-pages", (dbPath) => {
      const db = new Database(dbPath, { readonly: true });
      const pageSize = db.pragma("page_size", { simple: true }) as number;
      const roots = db.prepare<[], { rootpage: number }>("SELECT rootpage FROM sqlite_master WHERE name IN ('view_heads', 'records', 'record_tags', 'records_fts_data', 'records_fts_config')").all();
      db.close();
      for (const { rootpage } of roots) overwrite(dbPath, (rootpage - 1) * pageSize, Buffer.alloc(pageSize, 0x5a));
    });
    for (const args of [...READS.filter((a) => a[0] !== "status"), ["set", "npm:vue", "version=3.5.0"]]) {
      const r = await shelf(home, ...args, "--json");
      const error = expectJsonError(r, 1, "SHELF_E_DB");
      expect(error.hint, args.join(" ")).toMatch(/shelf doctor|shelf rebuild/);
    }
    const doctor = await shelf(home, "doctor", "--json");
    expectExit(doctor, 1);
    expect(parseJson(doctor).doctor.ok).toBe(false);

    expectExit(await shelf(home, "rebuild"), 0);
    expect((await shelfJson(home, "list")).records.map((r: any) => r.id).sort()).toEqual(["npm:react", "npm:vue", "pypi:requests"]);
    expect((await shelfJson(home, "search", "requests")).count).toBe(1);
    expect((await shelfJson(home, "set", "npm:vue", "version=3.5.0")).record.version).toBe("3.5.0");
    expect((await shelfJson(home, "doctor")).doctor.ok).toBe(true);
  });

  it("with 64 KiB garbled: every command succeeds or fails with a documented error, never an internal one", { timeout: 180_000 }, async () => {
    for (const [name, offset] of [["garbled-head", 4096], ["garbled-middle", 128 * 1024]] as const) {
      const home = damagedHome(name, (dbPath) => overwrite(dbPath, offset, garbage(64 * 1024)));
      for (const args of [...READS, ["set", "npm:vue", "version=3.5.0"], ["doctor"], ["rebuild"]]) {
        const listBefore = args[0] === "rebuild" ? await shelf(home, "list", "--json") : undefined;
        const r = await shelf(home, ...args, "--json");
        const what = `${name}: shelf ${args.join(" ")}\nstderr: ${r.stderr}`;
        expect(r.stderr, what).not.toMatch(/internal error/);
        expect([0, 1], what).toContain(r.code);
        const json = parseJson(r);
        if (r.code === 1 && json.error) expect(json.error.code, what).toMatch(/^SHELF_E_(DB|DOC_UNAVAILABLE)$/);
        if (json.error?.code === "SHELF_E_DB") expect(json.error.hint, what).toMatch(/peer|bundle/);
        // A rebuild that cannot read the CRDT leaves the view it could not replace as it was.
        if (listBefore && r.code === 1 && listBefore.code === 0) expect((await shelf(home, "list", "--json")).stdout).toBe(listBefore.stdout);
      }
    }
  });
});
