/**
 * Figure 8: the relay, on the catalog figure 1 imported (instance A). A relay process is started
 * on a fresh data directory; A uploads its whole catalog with `shelf sync` and a fresh home B
 * joins it with `shelf join`. Then `shelf daemon` runs for A and for B, and edits made by the CLI
 * on A are timed until B's SQLite view shows them. Last, many in-process automerge-repo clients
 * hold the root document of a tiny catalog, and one more client changes it: how long until every
 * client has the change, for growing numbers of clients. Every wait is bounded; every process
 * started here is stopped (SIGTERM, then SIGKILL) before the figure returns.
 */
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { Repo, type AnyDocumentId, type DocHandle } from "@automerge/automerge-repo";
import type { WriteItem } from "../src/catalog/catalog-store.js";
import { SafeClientAdapter } from "../src/protocol/safe-client-adapter.js";
import type { BenchContext, Figure } from "./figures.js";
import { expectExit, parseJsonOutput, runChild, type ChildRun } from "./proc.js";
import { dbPathOf, fmtBytes, fmtInt, fmtMs, pick, quantile, round, seededRandom } from "./util.js";

export interface RelayFigureOptions {
  /** edits made on A and timed until visible on B */
  edits: number;
  /** numbers of concurrent clients, in the order tried */
  connections: number[];
}

export const LISTENING = /^shelf relay listening on (ws:\/\/\S+:\d+\/sync)$/m;
const DAEMONS_READY_TIMEOUT_MS = 600_000;
const EDIT_TIMEOUT_MS = 30_000;
/** a poll reads one row by the view's key: cheap enough to look often */
const EDIT_POLL_MS = 2;
const FANOUT_TIMEOUT_MS = 10_000;
const FANOUT_TARGET_MS = 1_000;
const TINY_RECORDS = 10;
const CONNECT_BATCH = 25;
/** bench/write-floor.cts, built beside this file */
const WRITE_FLOOR_SCRIPT = fileURLToPath(new URL("./write-floor.cjs", import.meta.url));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A long-running child (relay, daemon): its output so far, and a bounded stop. */
export interface LongChild {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startLong(command: string[]): LongChild {
  const [file, ...args] = command;
  const child = spawn(file!, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString("utf8")));
  child.stderr!.on("data", (b: Buffer) => (err += b.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("error", () => resolve({ code: null, signal: null }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Waits until `check()` holds, polling every `everyMs`; throws `what` with `logs()` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean, logs: () => string, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(everyMs);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms\n${logs().slice(-3000)}`);
}

/** VmRSS and VmHWM of a running process, from /proc (Linux); undefined elsewhere. */
export function procMemory(pid: number | undefined): { rssBytes?: number; hwmBytes?: number } {
  if (pid === undefined) return {};
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => {
      const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    return { rssBytes: kb("VmRSS"), hwmBytes: kb("VmHWM") };
  } catch {
    return {};
  }
}

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

const stats = (ms: number[]): Stats => ({ n: ms.length, p50: round(quantile(ms, 0.5)), p99: round(quantile(ms, 0.99)), max: round(ms.length > 0 ? Math.max(...ms) : NaN) });

/** A fresh in-memory client Repo connected to the relay (see test/helpers/relay-process.ts). */
async function connectClient(url: string, token: string, timeoutMs = 10_000): Promise<Repo> {
  const adapter = new SafeClientAdapter(`${url}?token=${encodeURIComponent(token)}`, 60_000);
  const repo = new Repo({ network: [adapter] });
  const deadline = Date.now() + timeoutMs;
  while (!adapter.remotePeerId && Date.now() < deadline) await sleep(20);
  if (!adapter.remotePeerId) {
    await repo.shutdown();
    throw new Error(`the relay at ${url} did not accept a client within ${timeoutMs} ms`);
  }
  return repo;
}

type Root = Record<string, unknown>;

interface FanoutRow {
  clients: number;
  connectMs: number;
  seen: number;
  p50Ms: number;
  maxMs: number;
  allWithinTarget: boolean;
  relayRssBytes?: number;
  relayHwmBytes?: number;
}

interface SyncRun {
  wallMs: number;
  peakRssBytes?: number;
  documents: number;
  loaded: number;
  summaryRequests: number;
  summaryBytesDown: number;
}

/**
 * What a sync costs when little or nothing changed, in fresh processes: a no-change sync on A,
 * a one-record `shelf set` on A, the sync that sends it and the sync on B that takes it, each
 * against `node -e 0` on the same machine and minute, and the `set` against the least any fresh
 * process writing through Automerge does (bench/write-floor.cts).
 */
async function measureSyncCost(ctx: BenchContext, cli: (home: string, ...args: string[]) => string[], homeA: string, homeB: string) {
  const sync = async (home: string): Promise<SyncRun> => {
    const run = expectExit(await runChild(cli(home, "sync", "--json"), { scratch: ctx.scratch, rss: true }));
    const r = parseJsonOutput<{ sync: { documents: number; loaded: number; summary?: { requests: number; bytesDown: number } }[] }>(run).sync[0]!;
    return { wallMs: round(run.wallMs), peakRssBytes: run.peakRssBytes, documents: r.documents, loaded: r.loaded, summaryRequests: r.summary?.requests ?? 0, summaryBytesDown: r.summary?.bytesDown ?? 0 };
  };
  const nodeRuns: number[] = [];
  for (let i = 0; i < 5; i++) nodeRuns.push(expectExit(await runChild([process.execPath, "-e", "0"], { scratch: ctx.scratch })).wallMs);
  const nodeMs = round(quantile(nodeRuns, 0.5));
  ctx.log("relay: sync cost (checkpoints first, then no change, then one edit)");
  await sync(homeA);
  await sync(homeB);
  const noChange: SyncRun[] = [];
  for (let i = 0; i < 3; i++) noChange.push(await sync(homeA));
  const quiet = noChange.sort((x, y) => x.wallMs - y.wallMs)[1]!;
  const someRecord = parseJsonOutput<{ results: { id: string }[] }>(expectExit(await runChild(cli(homeA, "search", "a", "--limit", "1", "--json"), { scratch: ctx.scratch }))).results[0]!.id;
  // Three sets, each after a run of the floor (a bare process changing the same record's shard):
  // the medians compare what shelf adds to what any fresh process writing through Automerge pays.
  const sets: ChildRun[] = [];
  const floorRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    floorRuns.push(expectExit(await runChild([process.execPath, WRITE_FLOOR_SCRIPT, homeA, someRecord], { scratch: ctx.scratch })).wallMs);
    sets.push(expectExit(await runChild(cli(homeA, "set", someRecord, `summary=bench ${Date.now()}`), { scratch: ctx.scratch, rss: true })));
  }
  const set = sets.sort((x, y) => x.wallMs - y.wallMs)[1]!;
  const floorMs = round(quantile(floorRuns, 0.5));
  const push = await sync(homeA);
  const pull = await sync(homeB);
  const ratio = (ms: number) => `${(ms / nodeMs).toFixed(1)}x node`;
  const describe = (r: SyncRun) => `${fmtMs(r.wallMs)} (${ratio(r.wallMs)}), ${r.documents} exchanged, ${r.loaded} loaded, summary ${r.summaryRequests} req / ${fmtBytes(r.summaryBytesDown)} down, peak RSS ${fmtBytes(r.peakRssBytes)}`;
  return {
    nodeMs,
    rows: [
      ["shelf sync, nothing changed (median of 3)", describe(quiet)],
      ["floor: a bare process changing that record's shard through Automerge (median of 3)", `${fmtMs(floorMs)} (${ratio(floorMs)})`],
      ["shelf set of one record, fresh process (median of 3)", `${fmtMs(set.wallMs)} (${ratio(set.wallMs)}; ${(set.wallMs / floorMs).toFixed(2)}x the floor), peak RSS ${fmtBytes(set.peakRssBytes)}`],
      ["shelf sync on A sending that edit", describe(push)],
      ["shelf sync on B taking it", describe(pull)],
    ] as [string, string][],
    data: { nodeMs, floorMs, noChange, setMs: round(set.wallMs), setPeakRssBytes: set.peakRssBytes, push, pull },
  };
}

/** N clients hold the root; one more changes it; per client, the time until its copy has the change. */
async function fanout(relay: LongChild, url: string, token: string, rootUrl: string, clients: number, log: (m: string) => void): Promise<FanoutRow> {
  const repos: Repo[] = [];
  try {
    log(`relay: connecting ${clients} clients`);
    const t0 = performance.now();
    const handles: DocHandle<Root>[] = [];
    while (repos.length < clients) {
      const batch = Math.min(CONNECT_BATCH, clients - repos.length);
      const connected = await Promise.all(
        Array.from({ length: batch }, async () => {
          const repo = await connectClient(url, token);
          repos.push(repo);
          return repo.find<Root>(rootUrl as AnyDocumentId, { signal: AbortSignal.timeout(FANOUT_TIMEOUT_MS) });
        }),
      );
      handles.push(...connected);
    }
    const connectMs = performance.now() - t0;
    const changerRepo = await connectClient(url, token);
    repos.push(changerRepo);
    const changer = await changerRepo.find<Root>(rootUrl as AnyDocumentId, { signal: AbortSignal.timeout(FANOUT_TIMEOUT_MS) });

    const stamp = `bench-${clients}-${Date.now()}`;
    const seenMs: number[] = [];
    let start = 0;
    const listeners = handles.map((h) => {
      let done = false;
      const onChange = () => {
        if (!done && h.doc()?.benchPing === stamp) {
          done = true;
          seenMs.push(performance.now() - start);
        }
      };
      h.on("change", onChange);
      return () => h.off("change", onChange);
    });
    start = performance.now();
    changer.change((d) => {
      d.benchPing = stamp;
    });
    const deadline = start + FANOUT_TIMEOUT_MS;
    while (seenMs.length < clients && performance.now() < deadline) await sleep(5);
    for (const off of listeners) off();
    const memory = procMemory(relay.child.pid);
    return {
      clients,
      connectMs: round(connectMs),
      seen: seenMs.length,
      p50Ms: round(quantile(seenMs, 0.5)),
      maxMs: round(seenMs.length > 0 ? Math.max(...seenMs) : NaN),
      allWithinTarget: seenMs.length === clients && Math.max(...seenMs) <= FANOUT_TARGET_MS,
      relayRssBytes: memory.rssBytes,
      relayHwmBytes: memory.hwmBytes,
    };
  } finally {
    await Promise.all(repos.map((r) => r.shutdown().catch(() => undefined)));
  }
}

export async function relayFigure(ctx: BenchContext, options: RelayFigureOptions): Promise<Figure> {
  const { log } = ctx;
  const cli = (home: string, ...args: string[]) => [process.execPath, ctx.cli, "--home", home, ...args];
  const homeA = ctx.home;
  const homeB = join(ctx.scratch, "relay-b");
  const homeTiny = join(ctx.scratch, "relay-tiny");
  const relayData = join(ctx.scratch, "relay-data");
  const started: LongChild[] = [];
  const notes: string[] = [];
  try {
    // --- 1. relay, first upload, join
    log(`relay: starting a relay on ${relayData}`);
    const relay = startLong([process.execPath, ctx.cli, "relay", "--port", "0", "--data", relayData, "--max-connections-per-address", "1000"]);
    started.push(relay);
    await waitUntil("the relay printed its listening line", () => LISTENING.test(relay.stdout()) || relay.child.exitCode !== null, relay.stderr, 15_000, 20);
    const match = LISTENING.exec(relay.stdout());
    if (!match) throw new Error(`the relay exited before listening\n${relay.stderr().slice(-2000)}`);
    const relayUrl = match[1]!;

    const status = parseJsonOutput<{ status: { catalogs: { url: string; default: boolean; records: number; shards: number }[] } }>(expectExit(await runChild(cli(homeA, "status", "--json"), { scratch: ctx.scratch })));
    const catalog = status.status.catalogs.find((c) => c.default) ?? status.status.catalogs[0]!;
    const tokenFor = async (catalogUrl: string) =>
      parseJsonOutput<{ token: string }>(expectExit(await runChild([process.execPath, ctx.cli, "relay", "token", "create", "--catalog", catalogUrl, "--data", relayData, "--json"], { scratch: ctx.scratch }))).token;
    const token = await tokenFor(catalog.url);
    expectExit(await runChild(cli(homeA, "remote", "add", "origin", relayUrl, "--token", token), { scratch: ctx.scratch }));

    log(`relay: shelf sync on A (first upload of ${catalog.records} records, ${catalog.shards} shards)`);
    const upload = expectExit(await runChild(cli(homeA, "sync", "--json"), { scratch: ctx.scratch, rss: true }));
    const afterUpload = procMemory(relay.child.pid);
    log("relay: shelf join into a fresh home B");
    const joinRun = expectExit(await runChild(cli(homeB, "join", catalog.url, "--relay", relayUrl, "--token", token, "--json"), { scratch: ctx.scratch, rss: true }));
    const joined = parseJsonOutput<{ join: { documents: number; added: number } }>(joinRun).join;
    const searchRun = expectExit(await runChild(cli(homeB, "search", "react", "--json"), { scratch: ctx.scratch }));
    const searchResults = parseJsonOutput<{ count: number }>(searchRun).count;
    if (searchResults === 0) notes.push("shelf search react on B returned no results (the dataset cut may hold no such record)");
    const afterJoin = procMemory(relay.child.pid);
    const syncCost = await measureSyncCost(ctx, cli, homeA, homeB);

    // --- 2. edit propagation between two daemons
    const daemons = { a: startLong(cli(homeA, "daemon")), b: startLong(cli(homeB, "daemon")) };
    started.push(daemons.a, daemons.b);
    const daemonLogs = () => `--- daemon A:\n${daemons.a.stderr().slice(-1500)}\n--- daemon B:\n${daemons.b.stderr().slice(-1500)}`;
    const tDaemons = performance.now();
    await waitUntil(
      "both daemons connected and loaded the catalog",
      () => [daemons.a, daemons.b].every((d) => /connected to origin/.test(d.stderr()) && /loaded catalog/.test(d.stderr())),
      daemonLogs,
      // bounded generously: a daemon that loaded every shard took minutes at 227k records
      DAEMONS_READY_TIMEOUT_MS,
    );
    const daemonsReadyMs = performance.now() - tDaemons;
    const daemonAtStart = procMemory(daemons.a.child.pid);
    log(`relay: both daemons live after ${fmtMs(daemonsReadyMs)}; ${options.edits} edits on A`);

    const items: WriteItem[] = await ctx.rows();
    const rand = seededRandom(0x7e1a);
    const chosen = new Set<string>();
    while (chosen.size < Math.min(options.edits, items.length)) chosen.add(pick(rand, items).id);
    const viewB = new Database(dbPathOf(homeB), { readonly: true, fileMustExist: true });
    const visibleMs: number[] = [];
    const cliMs: number[] = [];
    /** per edit, from `shelf set` exiting until B shows it (0 when B showed it first) */
    const afterSetMs: number[] = [];
    let timedOut = 0;
    try {
      // By (cat_id, id), the view's key, as `shelf show` reads it: by id alone SQLite scans every
      // row (35 to 40 ms at 227k records), and each poll would add that to the figure.
      const summaryOf = viewB.prepare<[string], { summary: string | null }>(
        "SELECT summary FROM records WHERE cat_id = (SELECT cat_id FROM catalogs WHERE is_default = 1) AND id = ?",
      );
      let n = 0;
      for (const id of chosen) {
        const value = `bench-${n++}`;
        const t0 = performance.now();
        let cliDone: number | undefined;
        const run = runChild(cli(homeA, "set", id, `summary=${value}`), { scratch: ctx.scratch }).then((r) => {
          cliDone = performance.now() - t0;
          return r;
        });
        let seenAt: number | undefined;
        while (performance.now() - t0 < EDIT_TIMEOUT_MS) {
          if (summaryOf.get(id)?.summary === value) {
            seenAt = performance.now() - t0;
            break;
          }
          await sleep(EDIT_POLL_MS);
        }
        expectExit(await run);
        cliMs.push(cliDone!);
        if (seenAt === undefined) timedOut++;
        else {
          visibleMs.push(seenAt);
          afterSetMs.push(Math.max(0, seenAt - cliDone!));
        }
      }
    } finally {
      viewB.close();
    }
    if (timedOut > 0) notes.push(`${timedOut} of ${chosen.size} edits were not visible on B within ${EDIT_TIMEOUT_MS / 1000} s (left out of the percentiles)`);
    const visible = stats(visibleMs);
    const cliStats = stats(cliMs);
    const propagation = stats(afterSetMs);
    const afterEdits = procMemory(relay.child.pid);
    const daemonAfterEdits = procMemory(daemons.b.child.pid);

    // --- 3. concurrent connections, on a tiny catalog
    log(`relay: tiny catalog of ${TINY_RECORDS} records for the connection test`);
    const tinyUrl = parseJsonOutput<{ catalog: { url: string } }>(expectExit(await runChild(cli(homeTiny, "init", "--name", "tiny", "--json"), { scratch: ctx.scratch }))).catalog.url;
    for (let i = 0; i < TINY_RECORDS; i++) {
      expectExit(await runChild(cli(homeTiny, "add", `npm:bench-tiny-${i}`, "--name", `bench-tiny-${i}`, "--version", "1.0.0"), { scratch: ctx.scratch }));
    }
    const tinyToken = await tokenFor(tinyUrl);
    expectExit(await runChild(cli(homeTiny, "remote", "add", "origin", relayUrl, "--token", tinyToken), { scratch: ctx.scratch }));
    expectExit(await runChild(cli(homeTiny, "sync"), { scratch: ctx.scratch }));
    const fanoutRows: FanoutRow[] = [];
    for (const clients of options.connections) {
      try {
        const row = await fanout(relay, relayUrl, tinyToken, tinyUrl, clients, log);
        fanoutRows.push(row);
        log(`relay: ${clients} clients: ${row.seen} saw the change, max ${fmtMs(row.maxMs)}`);
      } catch (err) {
        notes.push(`${clients} clients: ${(err as Error)?.message?.split("\n")[0] ?? err}`);
        break;
      }
      if (relay.child.exitCode !== null) throw new Error(`the relay exited during the connection test\n${relay.stderr().slice(-2000)}`);
    }
    const good = fanoutRows.filter((r) => r.allWithinTarget);
    const largest = good.length > 0 ? good.reduce((a, b) => (b.clients > a.clients ? b : a)) : undefined;

    // --- stop everything, daemons first
    const stops = await Promise.all([daemons.a.stop(), daemons.b.stop()]);
    const relayStop = await relay.stop();
    started.length = 0;
    stops.forEach((s, i) => {
      if (s.code !== 0) notes.push(`daemon ${i === 0 ? "A" : "B"} exited with ${s.code ?? s.signal} on SIGTERM`);
    });
    if (relayStop.code !== 0) notes.push(`the relay exited with ${relayStop.code ?? relayStop.signal} on SIGTERM`);
    notes.push(
      `edit times run from just before \`shelf set\` is spawned on A until B's shelf.db (read-only, polled every ${EDIT_POLL_MS} ms by catalog and id) shows the value; propagation is the part after \`shelf set\` exits; shelf set hands the edit to A's daemon, which makes it and sends it to the relay; B's daemon loads the shard when the relay's notice names it and materializes the change as soon as it arrives`,
      `fan-out: every client is an in-process automerge-repo Repo with its own WebSocket, all from 127.0.0.1 (--max-connections-per-address 1000); one more client changes the root document; bounded to ${FANOUT_TIMEOUT_MS / 1000} s`,
    );

    const uploadMs = upload.wallMs;
    return {
      key: "relay",
      title: `8. relay (shelf relay, sync, join and daemon; ${fmtInt(catalog.records)} records, ${catalog.shards} shards)`,
      lines: [
        ["first upload (shelf sync on A)", `${fmtMs(uploadMs)}, peak RSS ${fmtBytes(upload.peakRssBytes)}`],
        ["shelf join into a fresh home B", `${fmtMs(joinRun.wallMs)} (${joined.documents} documents, ${fmtInt(joined.added)} records), peak RSS ${fmtBytes(joinRun.peakRssBytes)}`],
        ["then shelf search react on B", `${fmtMs(searchRun.wallMs)} (${searchResults} results)`],
        ["node -e 0 (baseline for the rows below)", fmtMs(syncCost.nodeMs)],
        ...syncCost.rows,
        ["relay RSS after the upload", `${fmtBytes(afterUpload.rssBytes)}`],
        ["relay RSS / peak after the join", `${fmtBytes(afterJoin.rssBytes)} / ${fmtBytes(afterJoin.hwmBytes)}`],
        ["daemons A and B live after", fmtMs(daemonsReadyMs)],
        ["daemon A RSS once live", fmtBytes(daemonAtStart.rssBytes)],
        ["daemon B RSS / peak after the edits", `${fmtBytes(daemonAfterEdits.rssBytes)} / ${fmtBytes(daemonAfterEdits.hwmBytes)}`],
        [`edit on A visible on B (${visible.n} edits) p50 / p99 / max`, `${fmtMs(visible.p50)} / ${fmtMs(visible.p99)} / ${fmtMs(visible.max)}`],
        ["  of which shelf set itself (handed to A's daemon) p50 / p99 / max", `${fmtMs(cliStats.p50)} / ${fmtMs(cliStats.p99)} / ${fmtMs(cliStats.max)}`],
        ["  propagation, from shelf set exiting, p50 / p99 / max", `${fmtMs(propagation.p50)} / ${fmtMs(propagation.p99)} / ${fmtMs(propagation.max)}`],
        ["relay RSS / peak after the edits", `${fmtBytes(afterEdits.rssBytes)} / ${fmtBytes(afterEdits.hwmBytes)}`],
        [
          `largest N where all N clients saw a change within ${FANOUT_TARGET_MS / 1000} s`,
          largest ? `${largest.clients} (relay RSS ${fmtBytes(largest.relayRssBytes)})` : `none of ${options.connections.join(", ")}`,
        ],
      ],
      table: {
        head: ["clients", "connect all", "saw it", "p50", "max", `all <= ${FANOUT_TARGET_MS / 1000} s`, "relay RSS", "relay peak"],
        rows: fanoutRows.map((r) => [String(r.clients), fmtMs(r.connectMs), `${r.seen}/${r.clients}`, fmtMs(r.p50Ms), fmtMs(r.maxMs), r.allWithinTarget ? "yes" : "no", fmtBytes(r.relayRssBytes), fmtBytes(r.relayHwmBytes)]),
      },
      notes,
      data: {
        records: catalog.records,
        shards: catalog.shards,
        uploadMs: round(uploadMs),
        joinMs: round(joinRun.wallMs),
        uploadPeakRssBytes: upload.peakRssBytes,
        joinPeakRssBytes: joinRun.peakRssBytes,
        joinDocuments: joined.documents,
        joinAdded: joined.added,
        searchAfterJoinMs: round(searchRun.wallMs),
        searchAfterJoinResults: searchResults,
        syncCost: syncCost.data,
        relayAfterUpload: afterUpload,
        relayAfterJoin: afterJoin,
        daemonsReadyMs: round(daemonsReadyMs),
        daemonAtStart,
        daemonAfterEdits,
        edits: { asked: options.edits, made: chosen.size, timedOut, visibleOnB: visible, cliCommand: cliStats, afterSet: propagation, visibleMs: visibleMs.map((v) => round(v)), cliMs: cliMs.map((v) => round(v)) },
        relayAfterEdits: afterEdits,
        fanout: fanoutRows,
        fanoutTargetMs: FANOUT_TARGET_MS,
        largestClientsWithinTarget: largest?.clients ?? null,
        relayRssAtLargest: largest?.relayRssBytes ?? null,
      },
    };
  } finally {
    // on failure: stop whatever is still running, daemons before the relay
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
  }
}
