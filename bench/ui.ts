/**
 * 13. the web app (`shelf ui`): a real `shelf ui` process on figure 1's catalog, asked over real
 * HTTP on loopback as a browser asks it. Times what a user waits for: a search-as-you-type
 * refresh (the whole Catalog page for a query, with its counts), the Record page (which reads the
 * record's history from its shard), a page of the plain list deep in the catalog, the Conflicts
 * page, and how soon an open page hears of an edit made by the CLI. A static asset of the same
 * server is the same-run baseline: what HTTP itself costs on this machine now.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { expectExit, runChild } from "./proc.js";
import { makeQueries, type BenchContext, type Figure } from "./figures.js";
import { dbPathOf, fmtBytes, fmtMs, mean, median, pick, quantile, round, seededRandom } from "./util.js";

interface Latency {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

const latency = (ms: number[]): Latency => ({ n: ms.length, p50: round(quantile(ms, 0.5), 2), p95: round(quantile(ms, 0.95), 2), p99: round(quantile(ms, 0.99), 2), max: round(Math.max(...ms), 2) });

async function timedGet(url: string): Promise<{ ms: number; status: number; body: string }> {
  const t = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  return { ms: performance.now() - t, status: response.status, body };
}

export async function uiFigure(ctx: BenchContext, count = 300): Promise<Figure> {
  const items = await ctx.rows();
  const queries = makeQueries(items, count, 0x5eed);
  const warmups = makeQueries(items, 30, 0xbeef);
  ctx.log("ui: starting shelf ui on the catalog");
  const child = spawn(process.execPath, [ctx.cli, "--home", ctx.home, "ui", "--port", "0", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  try {
    const startedAt = performance.now();
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /"listening":"([^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`shelf ui exited (${code}) before listening: ${stderr.slice(0, 500)}`)));
    });
    const startMs = performance.now() - startedAt;
    const get = async (path: string) => {
      const r = await timedGet(url + path);
      if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
      return r;
    };
    const firstPage = await get("");

    ctx.log(`ui: ${queries.length} searches over HTTP`);
    for (const q of warmups) await get(`?q=${encodeURIComponent(q.text)}`);
    const assetMs: number[] = [];
    const searchMs: number[] = [];
    const slowest: { text: string; ms: number }[] = [];
    for (const q of queries) {
      assetMs.push((await get("assets/app.css")).ms);
      const r = await get(`?q=${encodeURIComponent(q.text)}`);
      searchMs.push(r.ms);
      slowest.push({ text: q.text, ms: round(r.ms, 2) });
    }
    slowest.sort((a, b) => b.ms - a.ms);

    ctx.log("ui: record pages (history read from the shard), list pages, conflicts");
    const rand = seededRandom(0x1d);
    const recordMs: number[] = [];
    const recordAgainMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const id = pick(rand, items).id;
      recordMs.push((await get(`record?id=${encodeURIComponent(id)}`)).ms);
      recordAgainMs.push((await get(`record?id=${encodeURIComponent(id)}`)).ms);
    }
    const records = items.length;
    const lastPage = Math.max(1, Math.floor(records / 100));
    const listFirst = await get("?size=100");
    const listDeep = await get(`?size=100&page=${lastPage}`);
    const byProvider = await get("?provider=npm&size=100&page=2");
    const conflicts = await get("conflicts");

    ctx.log("ui: 5 edits by the CLI, timed until an open event stream tells of them");
    const liveMs: number[] = [];
    const events = await fetch(`${url}events`);
    const reader = events.body!.getReader();
    const decoder = new TextDecoder();
    let seen = 0;
    let buffered = "";
    const nextChange = async () => {
      for (;;) {
        const at = buffered.indexOf("event: change", seen);
        if (at >= 0) {
          seen = at + 1;
          return performance.now();
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("the event stream ended");
        buffered += decoder.decode(value, { stream: true });
      }
    };
    // The moment the edit is in the view is seen by reading the view's write sequence every 2 ms.
    const db = new Database(dbPathOf(ctx.home), { readonly: true });
    const viewSeq = db.prepare("SELECT value FROM settings WHERE key = 'view_seq'").pluck();
    try {
      for (let i = 0; i < 5; i++) {
        const id = pick(rand, items).id;
        const before = viewSeq.get();
        let committedAt = 0;
        const watch = setInterval(() => {
          if (!committedAt && viewSeq.get() !== before) committedAt = performance.now();
        }, 2);
        const waiting = nextChange();
        const edit = await runChild([process.execPath, ctx.cli, "--home", ctx.home, "set", id, `summary=edited by the ui bench ${i}`], { scratch: ctx.scratch });
        expectExit(edit);
        const toldAt = await waiting;
        clearInterval(watch);
        committedAt ||= toldAt;
        liveMs.push(Math.max(0, toldAt - committedAt));
      }
    } finally {
      db.close();
    }
    await reader.cancel();

    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    const rss = kb("VmRSS");
    const peak = kb("VmHWM");

    const search = latency(searchMs);
    const asset = latency(assetMs);
    return {
      key: "ui",
      title: `16. web app (shelf ui over HTTP on loopback, ${queries.length} searches)`,
      lines: [
        ["start-up to listening (process spawn included)", fmtMs(startMs)],
        ["first Catalog page (counts and facets computed)", fmtMs(firstPage.ms)],
        ["search page p50 / p95 / p99 / max", `${fmtMs(search.p50)} / ${fmtMs(search.p95)} / ${fmtMs(search.p99)} / ${fmtMs(search.max)}`],
        ["baseline: static asset p50 / p99", `${fmtMs(asset.p50)} / ${fmtMs(asset.p99)} (search p50 is ${(search.p50 / asset.p50).toFixed(1)}x)`],
        ["slowest searches", slowest.slice(0, 3).map((s) => `${JSON.stringify(s.text)} ${fmtMs(s.ms)}`).join(", ")],
        ["Record page, first view / again (history cached)", `median ${fmtMs(median(recordMs))} (max ${fmtMs(Math.max(...recordMs))}) / ${fmtMs(median(recordAgainMs))}`],
        ["list page 1 / last page / npm page 2 (100 rows)", `${fmtMs(listFirst.ms)} / ${fmtMs(listDeep.ms)} / ${fmtMs(byProvider.ms)}`],
        ["Conflicts page", fmtMs(conflicts.ms)],
        ["edit in the view -> open page told, median / max", `${fmtMs(median(liveMs))} / ${fmtMs(Math.max(...liveMs))}`],
        ["RSS after all this / peak", `${fmtBytes(rss)} / ${fmtBytes(peak)}`],
      ],
      notes: [
        "the same query mix as figure 2 (a seeded draw); each search is the whole page a search-as-you-type refresh fetches, with the match count (capped at 1,000) and facets",
        "a page's counts and facets are cached until the view changes; the first Catalog page pays for them",
        "the edit's own time (a fresh CLI process) is not counted: only how long after the view held it the event reached the page (a CLI edit signals the app; a daemon's is read within 250 ms)",
      ],
      data: { startMs: round(startMs), firstPageMs: round(firstPage.ms), search, asset, slowest: slowest.slice(0, 10), recordMs: recordMs.map((m) => round(m)), recordAgainMs: recordAgainMs.map((m) => round(m)), listFirstMs: round(listFirst.ms), listLastPageMs: round(listDeep.ms), providerPageMs: round(byProvider.ms), conflictsMs: round(conflicts.ms), liveMs: liveMs.map((m) => round(m)), liveMeanMs: round(mean(liveMs)), rssBytes: rss, peakRssBytes: peak },
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)));
  }
}
