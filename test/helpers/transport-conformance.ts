/**
 * The scenarios every transport must pass (a relay, an instance served directly, WebDAV), run with
 * real CLI processes in temporary homes: a fresh join, offline edits on several instances synced
 * in different orders, delete against edit, an unreachable remote, a server that dies and comes
 * back, and one killed in the middle of a sync. A transport plugs in by saying how to start its server and connect an instance.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, expectExit, finished, makeTempDir, shelf, shelfJson, startCli, type CliResult } from "./cli.js";

export interface TransportServer {
  /** connects `home` (an existing instance) to the server as remote `name` */
  addRemote(home: string, name: string): Promise<void>;
  /** makes `home` a new instance holding `catalogUrl`, fetched through the server (`options`: more `shelf join` options) */
  join(home: string, catalogUrl: string, ...options: string[]): Promise<void>;
  /** kills the server without warning (SIGKILL) and starts it again on the same data and address */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

export interface Transport {
  name: string;
  /**
   * starts a server keeping its data under `dir`, serving the catalog `catalogUrl`; `seedHome` is
   * an instance that holds the catalog already (a served instance starts as a copy of it)
   */
  start(dir: string, catalogUrl: string, seedHome: string): Promise<TransportServer>;
  /** a remote URL where nothing answers */
  deadUrl: string;
}

const listJson = async (home: string) => (await shelf(home, "list", "--include-deleted", "--json")).stdout;
const conflictsJson = async (home: string) => (await shelf(home, "conflicts", "--json")).stdout;

/**
 * Runs one CLI step that must end by itself: past `limitMs` it is killed and the test fails
 * naming the step, with its output, rather than waiting for the test's own timeout.
 */
async function boundedStep(step: string, limitMs: number, args: string[]): Promise<CliResult> {
  const child = startCli(args);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, limitMs);
  const result = await finished(child).finally(() => clearTimeout(timer));
  if (killed) throw new Error(`${step} was still running after ${limitMs / 1000} s and was killed\nstderr: ${result.stderr.slice(-3000)}`);
  return result;
}

async function syncOk(home: string, remote = "origin"): Promise<void> {
  expectExit(await shelf(home, "sync", remote), 0);
}

export function describeTransportConformance(transport: Transport): void {
  describe(`transport conformance: ${transport.name}`, () => {
    const tmp = makeTempDir(`shelf-${transport.name}-`);
    const home = (name: string) => join(tmp.dir, name);
    let server: TransportServer;
    let catalogUrl: string;

    beforeAll(async () => {
      const init = await shelf(home("a"), "init", "--name", "team");
      expectExit(init, 0);
      catalogUrl = init.stdout.trim();
      expectExit(await shelf(home("a"), "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);
      server = await transport.start(home("server"), catalogUrl, home("a"));
      await server.addRemote(home("a"), "origin");
      await syncOk(home("a"));
    });

    afterAll(async () => {
      await server?.stop();
      tmp.remove();
    });

    it("a fresh instance joins and holds exactly what the first one holds", async () => {
      await server.join(home("b"), catalogUrl);
      await server.join(home("c"), catalogUrl);
      expect(await listJson(home("b"))).toBe(await listJson(home("a")));
      expect(await listJson(home("c"))).toBe(await listJson(home("a")));
      const status = await shelfJson(home("b"), "status");
      expect(status.status.catalogs[0]).toMatchObject({ url: catalogUrl, records: 300 });
      // the joining instance keeps the server as its remote, and status says how the sync went
      expect(status.status.remotes).toHaveLength(1);
      expect(status.status.remotes[0].lastSuccess).toMatchObject({ ok: true, added: 300 });
    });

    it("offline edits on three instances, synced in two different orders, converge with every edit and the conflict", async () => {
      // all three edit while apart: a conflict on lodash's version, tags from two sides, a delete
      // on one side and an edit of the same record on another, and a new record
      expectExit(await shelf(home("a"), "set", "npm:lodash", "version=5.0.0-a"), 0);
      expectExit(await shelf(home("b"), "set", "npm:lodash", "version=5.0.0-b"), 0);
      expectExit(await shelf(home("a"), "tag", "npm:react", "+frontend"), 0);
      expectExit(await shelf(home("c"), "tag", "npm:react", "+ui"), 0);
      expectExit(await shelf(home("b"), "rm", "npm:@types/node"), 0);
      expectExit(await shelf(home("c"), "set", "npm:@types/node", "summary=edited while b deleted it"), 0);
      expectExit(await shelf(home("c"), "add", "npm:made-offline", "--name", "made-offline"), 0);

      for (const who of ["c", "a", "b", "c", "b", "a"]) await syncOk(home(who));

      const list = await listJson(home("a"));
      expect(await listJson(home("b"))).toBe(list);
      expect(await listJson(home("c"))).toBe(list);
      const conflicts = await conflictsJson(home("a"));
      expect(await conflictsJson(home("b"))).toBe(conflicts);
      expect(await conflictsJson(home("c"))).toBe(conflicts);

      const records = new Map((JSON.parse(list) as { records: { id: string; tags: string[]; deleted: boolean; summary: string }[] }).records.map((r) => [r.id, r]));
      expect(records.get("npm:react")!.tags).toEqual(expect.arrayContaining(["frontend", "ui"]));
      expect(records.get("npm:@types/node")).toMatchObject({ deleted: true, summary: "edited while b deleted it" });
      expect(records.has("npm:made-offline")).toBe(true);
      const byId = new Map((JSON.parse(conflicts) as { conflicts: { id: string; editedWhileDeleted: boolean; fields: { field: string; values: { value: string }[] }[] }[] }).conflicts.map((c) => [c.id, c]));
      expect(byId.get("npm:lodash")!.fields[0]!.values.map((v) => v.value).sort()).toEqual(["5.0.0-a", "5.0.0-b"]);
      expect(byId.get("npm:@types/node")!.editedWhileDeleted).toBe(true);

      // settled on one instance, settled everywhere
      expectExit(await shelf(home("b"), "resolve", "npm:lodash", "version", "--value", "5.0.0"), 0);
      for (const who of ["b", "a", "c"]) await syncOk(home(who));
      for (const who of ["a", "b", "c"]) {
        const now = await shelfJson(home(who), "show", "npm:lodash");
        expect(now.record.version).toBe("5.0.0");
        expect(now.conflicts).toBeNull();
      }
    }, 240_000);

    it("a remote that cannot be reached is a clear error, recorded, and changes nothing", async () => {
      expectExit(await shelf(home("a"), "remote", "add", "nowhere", transport.deadUrl), 0);
      const before = await listJson(home("a"));
      const result = await shelf(home("a"), "sync", "nowhere", "--timeout", "20");
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/nowhere/);
      expect(result.stderr).toMatch(/hint:/);
      expect(await listJson(home("a"))).toBe(before);
      const history = await shelfJson(home("a"), "sync", "history", "--limit", "1");
      expect(history.history[0]).toMatchObject({ remote: "nowhere", ok: false });
      const status = await shelfJson(home("a"), "sync", "status");
      const nowhere = status.remotes.find((r: { remote: string }) => r.remote === "nowhere");
      expect(nowhere.lastError).not.toBeNull();
      expectExit(await shelf(home("a"), "remote", "rm", "nowhere"), 0);
    });

    it("a server killed without warning keeps what it acknowledged", async () => {
      expectExit(await shelf(home("a"), "set", "npm:react", "summary=acknowledged before the crash"), 0);
      await syncOk(home("a"));
      await server.crashAndRestart();
      await server.join(home("d"), catalogUrl);
      expect((await shelfJson(home("d"), "show", "npm:react")).record.summary).toBe("acknowledged before the crash");
      // and instances that held on keep syncing with the restarted server
      expectExit(await shelf(home("d"), "tag", "npm:react", "+after-restart"), 0);
      await syncOk(home("d"));
      await syncOk(home("a"));
      expect((await shelfJson(home("a"), "show", "npm:react")).record.tags).toContain("after-restart");
    });
    it("a server killed in the middle of a sync loses nothing: that sync ends cleanly, the next one completes", async () => {
      // enough new records that the transfer is under way when the server dies
      const rows = Array.from({ length: 4000 }, (_, i) => `bulk-${i}\t1.0.${i}\t${i}\tsent while the server died ${i}`);
      const tsv = join(tmp.dir, "bulk.tsv");
      writeFileSync(tsv, ["name\tversion\tdownloads_a_month\tsummary", ...rows].join("\n") + "\n");
      expectExit(await shelf(home("a"), "import", "tsv", tsv, "--provider", "bulk"), 0);
      const before = await listJson(home("a"));

      const syncing = boundedStep("the sync cut off by the crash", 150_000, ["--home", home("a"), "sync", "origin", "--timeout", "60"]);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await server.crashAndRestart();
      const interrupted = await syncing;
      // it finished after the server came back, or failed saying why; either way nothing is lost
      if (interrupted.code !== 0) {
        expect(interrupted.code).toBe(1);
        expect(interrupted.stderr).toMatch(/hint:/);
      }
      expect(await listJson(home("a"))).toBe(before);

      expectExit(await boundedStep("the sync after the crash", 150_000, ["--home", home("a"), "sync", "origin", "--timeout", "90"]), 0);
      await server.join(home("e"), catalogUrl, "--timeout", "90");
      expect(await listJson(home("e"))).toBe(before);
    }, 420_000); // a bulk import, a sync cut off by a crash, another sync and a join: minutes on a busy 2-core machine
  });
}
