/**
 * One home, many processes: four writer processes make random edits on the same few records at
 * once while `shelf daemon` runs on the home and CLI reads run beside them. Every write either is
 * acknowledged or fails with a documented error; every acknowledged write is in the view as soon
 * as it returns (checked by each writer) and at the end; and the view kept this way is identical
 * to the one `shelf rebuild` makes from the CRDT alone.
 *
 * Writes per process: SHELF_STRESS_WRITES (default 40, so `npm test` stays within about two minutes
 * on a loaded 2-core machine; the figure is 200: `SHELF_STRESS_WRITES=200 npx vitest run
 * test/many-writers.test.ts`).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectExit, finished, makeTempDir, parseJson, ROOT, shelf, shelfJson, startCli } from "./helpers/cli.js";
import { spawn } from "node:child_process";

const WRITERS = 4;
const WRITES = Number(process.env.SHELF_STRESS_WRITES ?? 40);
const SHARED = Array.from({ length: 6 }, (_, i) => `npm:shared-${i}`);

interface Ack {
  op?: "meta" | "tag" | "add";
  id?: string;
  value?: string;
  tag?: string;
  i: number;
  visible?: boolean;
  failed?: boolean;
  code?: string | null;
  message?: string;
}

function runWriter(home: string, k: number): Promise<{ code: number | null; acks: Ack[]; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, "test", "helpers", "home-writer.mjs"), join(ROOT, "dist", "src"), home, String(k), String(WRITES), SHARED.join(",")], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return finished(child).then((r) => ({ code: r.code, stderr: r.stderr, acks: r.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Ack) }));
}

/** The whole view as a user sees it, in a stable order. */
async function viewOf(home: string): Promise<unknown> {
  const list = await shelfJson(home, "list");
  const conflicts = await shelfJson(home, "conflicts");
  return { list, conflicts };
}

describe("many processes on one home", () => {
  it(`${WRITERS} writers x ${WRITES} writes beside a daemon and readers: nothing acknowledged is lost, the view equals a rebuild`, { timeout: 300_000 }, async () => {
    const { dir, remove } = makeTempDir("shelf-many-");
    try {
      const home = join(dir, "home");
      expectExit(await shelf(home, "init", "--name", "main"), 0);
      for (const id of SHARED) expectExit(await shelf(home, "add", id, "--name", id.slice(4)), 0);

      const daemon = startCli(["--home", home, "daemon"], { env: { SHELF_DAEMON_POLL_MS: "300" } });
      const daemonDone = finished(daemon);
      let writing = true;
      // Readers run while the writers write: each must answer, never fail.
      const readerFailures: string[] = [];
      const reader = (async () => {
        let reads = 0;
        while (writing || reads === 0) {
          const r = await shelf(home, "list", "--json");
          reads++;
          if (r.code !== 0) readerFailures.push(`exit ${r.code}: ${r.stderr}`);
          else parseJson(r);
        }
        return reads;
      })();
      const results = await Promise.all(Array.from({ length: WRITERS }, (_, k) => runWriter(home, k)));
      writing = false;
      const reads = await reader;
      daemon.kill("SIGTERM");
      const daemonResult = await daemonDone;

      for (const [k, r] of results.entries()) expect(r.code, `writer ${k} exit\n${r.stderr}`).toBe(0);
      const acks = results.flatMap((r, k) => r.acks.map((a) => ({ ...a, k })));
      const failures = acks.filter((a) => a.failed);
      // A failure may only be a documented error a person can act on (the home was busy).
      for (const f of failures) expect(f.code, f.message).toMatch(/^SHELF_E_(?!INTERNAL)/);
      expect(failures.length, JSON.stringify(failures.slice(0, 3))).toBeLessThanOrEqual(acks.length * 0.02);
      const invisible = acks.filter((a) => !a.failed && !a.visible);
      expect(invisible, "acknowledged writes missing from the view right after they returned").toEqual([]);
      expect(readerFailures).toEqual([]);
      expect(reads).toBeGreaterThan(0);
      expect(daemonResult.stderr).not.toMatch(/internal error|error: materializing failed/);

      // Every acknowledged write is in the final view.
      const before = await viewOf(home);
      const records = new Map(((before as any).list.records as any[]).map((r) => [r.id, r]));
      for (const [k, r] of results.entries()) {
        const lastMeta = new Map<string, string>();
        for (const a of r.acks) {
          if (a.failed) continue;
          const record = records.get(a.id!);
          expect(record, `${a.op} ${a.id} by writer ${k}`).toBeDefined();
          if (a.op === "tag") expect(record.tags).toContain(a.tag);
          if (a.op === "meta") lastMeta.set(a.id!, a.value!);
        }
        for (const [id, value] of lastMeta) expect(records.get(id).meta[`w${k}`], `meta.w${k} of ${id}`).toBe(value);
      }

      // The view kept incrementally by all these processes is the one the CRDT alone gives.
      expectExit(await shelf(home, "rebuild"), 0);
      expect(await viewOf(home)).toEqual(before);
      const doctor = await shelfJson(home, "doctor");
      expect(doctor.doctor.ok, JSON.stringify(doctor)).toBe(true);
    } finally {
      remove();
    }
  });

  it("two imports started together both complete: the second waits for the first and says so", { timeout: 240_000 }, async () => {
    const { dir, remove } = makeTempDir("shelf-imports-");
    try {
      const home = join(dir, "home");
      expectExit(await shelf(home, "init", "--name", "main"), 0);
      const tsv = (name: string, n: number) => {
        const path = join(dir, `${name}.tsv`);
        writeFileSync(path, ["name\tversion\tdownloads_a_month\tsummary", ...Array.from({ length: n }, (_, i) => `${name}-${i}\t1.${i}.0\t${i}\t${name} package ${i}`)].join("\n") + "\n");
        return path;
      };
      const [a, b] = [tsv("alpha", 400), tsv("beta", 400)];
      // B starts once A holds the import lock (A names itself in import.lock.holder), so B must wait.
      const first = shelf(home, "import", "tsv", a, "--json");
      const deadline = Date.now() + 120_000;
      while (!existsSync(join(home, "import.lock.holder")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const [ra, rb] = await Promise.all([first, shelf(home, "import", "tsv", b, "--json")]);
      expectExit(ra, 0);
      expectExit(rb, 0);
      expect(parseJson(ra).import.added + parseJson(rb).import.added).toBe(800);
      expect(ra.stderr + rb.stderr).toMatch(/another import is running on this home .*waiting for it to finish/);
      const before = await viewOf(home);
      expect((before as any).list.count).toBe(800);
      expectExit(await shelf(home, "rebuild"), 0);
      expect(await viewOf(home)).toEqual(before);
    } finally {
      remove();
    }
  });
});
