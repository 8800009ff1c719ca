/**
 * Figure 13: the relay's memory with a whole catalog on it and many live clients. A relay process
 * on a fresh data directory takes the first upload of figure 1's catalog (`shelf sync`), a fresh
 * home joins it (`shelf join`, until its view answers a search), and the relay is restarted on
 * that data. Then `clients` live clients connect, each an in-process automerge-repo
 * Repo holding the catalog's root, as a lazy `shelf daemon` does (they receive the relay's
 * "changed" notices; a daemon would then sync the shard from its own disk, which these clients
 * have not got, so they only count the notices). Once a second for `seconds`, one of them (in
 * turn) fetches the shard of a random record, changes the record's summary, waits until the relay
 * acknowledged it, and drops the shard again. The relay's RSS is sampled every 250 ms.
 */
import Database from "better-sqlite3";
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { Repo, type AutomergeUrl, type DocHandle, type PeerId } from "@automerge/automerge-repo";
import { shardIndex } from "../src/model/catalog-doc.js";
import { plain } from "../src/model/crdt-record.js";
import { readChangedNotice } from "../src/protocol/changed-notice.js";
import { sameHeads } from "../src/protocol/heads-summary.js";
import { SafeClientAdapter } from "../src/protocol/safe-client-adapter.js";
import type { BenchContext, Figure } from "./figures.js";
import { expectExit, parseJsonOutput, runChild } from "./proc.js";
import { LISTENING, procMemory, startLong, waitUntil, type LongChild } from "./relay.js";
import { dbPathOf, fmtBytes, fmtInt, fmtMs, quantile, round } from "./util.js";

export interface RelayMemoryOptions {
  clients: number;
  seconds: number;
}

const REMOTE = "relaymem";
const SAMPLE_MS = 250;
const EDIT_TIMEOUT_MS = 30_000;
/** automerge-repo's interval between sends of a changed document (its DocSynchronizer's syncDebounceRate), with room */
const SYNC_TIMER_MS = 150;

interface RootLike {
  shards: unknown[];
}

interface LiveClient {
  repo: Repo;
  relay: PeerId;
  root: DocHandle<RootLike>;
  /** heads the relay last said it has, per document */
  theirHeads: Map<string, A.Heads>;
}

async function startRelay(ctx: BenchContext, data: string): Promise<{ relay: LongChild; url: string }> {
  const relay = startLong([process.execPath, ctx.cli, "relay", "--port", "0", "--data", data, "--max-connections-per-address", "1000"]);
  await waitUntil("the relay printed its listening line", () => LISTENING.test(relay.stdout()) || relay.child.exitCode !== null, relay.stderr, 60_000, 20);
  const match = LISTENING.exec(relay.stdout());
  if (!match) throw new Error(`the relay exited before listening\n${relay.stderr().slice(-2000)}`);
  return { relay, url: match[1]! };
}

async function connect(url: string, token: string, rootUrl: string): Promise<LiveClient> {
  const adapter = new SafeClientAdapter(`${url}?token=${encodeURIComponent(token)}`, 60_000);
  const repo = new Repo({ network: [adapter] });
  const theirHeads = new Map<string, A.Heads>();
  repo.synchronizer.on("sync-state", ({ documentId, syncState }) => {
    if (syncState.theirHeads) theirHeads.set(documentId, syncState.theirHeads);
  });
  await waitUntil("the relay accepted a client", () => adapter.remotePeerId !== undefined, () => "", 30_000, 20);
  const root = await repo.find<RootLike>(rootUrl as AutomergeUrl, { signal: AbortSignal.timeout(60_000) });
  return { repo, relay: adapter.remotePeerId!, root, theirHeads };
}

/**
 * One edit as a lazy client makes it: fetch the shard, change one record, wait for the relay.
 * Returns once the relay has it, with the shard's id and how to drop the shard (untimed).
 */
async function edit(client: LiveClient, id: string, value: string): Promise<{ documentId: string; drop: () => Promise<void> }> {
  const shards = client.root.doc().shards.map((u) => plain(u) as string);
  const url = shards[shardIndex(id, shards.length)]!;
  const shard = await client.repo.find<{ records: Record<string, unknown> }>(url as AutomergeUrl, { signal: AbortSignal.timeout(EDIT_TIMEOUT_MS) });
  shard.change((d) => void (d.records[`${id} summary`] = new A.ImmutableString(value)));
  const ours = A.getHeads(shard.doc() as A.Doc<unknown>);
  await waitUntil("the relay acknowledged an edit", () => sameHeads(client.theirHeads.get(shard.documentId) ?? [], ours), () => "", EDIT_TIMEOUT_MS, 10);
  const drop = async () => {
    // automerge-repo sends a changed document to its peers on a timer (100 ms, unless shelf's bundle
    // shortens it); a document dropped before the timer fires leaves that send waiting for it to be
    // ready again, until it gives up with an error. A timer has no event to wait on.
    await delay(SYNC_TIMER_MS);
    shard.removeAllListeners();
    await client.repo.removeFromCache(shard.documentId);
  };
  return { documentId: shard.documentId, drop };
}

/** The relay's HTTP base (for /metrics), from its WebSocket sync URL. */
const httpOf = (syncUrl: string) => syncUrl.replace(/^ws/, "http").replace(/\/sync$/, "");

async function loadedDocuments(http: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${http}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const line = text.split("\n").find((l) => l.startsWith("shelf_relay_documents_loaded "));
    return line ? Number(line.split(" ")[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function relayMemoryFigure(ctx: BenchContext, options: RelayMemoryOptions): Promise<Figure> {
  const { log } = ctx;
  const cli = (...args: string[]) => [process.execPath, ctx.cli, "--home", ctx.home, ...args];
  const data = join(ctx.scratch, "relaymem-data");
  const running: LongChild[] = [];
  const clients: LiveClient[] = [];
  try {
    // --- the first upload, on a fresh relay
    let { relay, url } = await startRelay(ctx, data);
    running.push(relay);
    const status = parseJsonOutput<{ status: { catalogs: { url: string; default: boolean; records: number; shards: number }[] } }>(expectExit(await runChild(cli("status", "--json"), { scratch: ctx.scratch })));
    const catalog = status.status.catalogs.find((c) => c.default) ?? status.status.catalogs[0]!;
    const token = parseJsonOutput<{ token: string }>(expectExit(await runChild([process.execPath, ctx.cli, "relay", "token", "create", "--catalog", catalog.url, "--data", data, "--json"], { scratch: ctx.scratch }))).token;
    await runChild(cli("remote", "rm", REMOTE), { scratch: ctx.scratch });
    expectExit(await runChild(cli("remote", "add", REMOTE, url, "--token", token), { scratch: ctx.scratch }));
    log(`relaymem: first upload of ${fmtInt(catalog.records)} records`);
    const upload = expectExit(await runChild(cli("sync", REMOTE, "--json", "--timeout", "7200"), { scratch: ctx.scratch, rss: true }));
    const afterUpload = procMemory(relay.child.pid);
    let http = httpOf(url);
    const settledAfterUpload = performance.now();
    let loadedAfterUpload = await loadedDocuments(http);
    while ((loadedAfterUpload ?? 0) > 1 && performance.now() - settledAfterUpload < 30_000) {
      await new Promise((r) => setTimeout(r, 500));
      loadedAfterUpload = await loadedDocuments(http);
    }
    log(`relaymem: a fresh home joins`);
    const joinHome = join(ctx.scratch, "relaymem-join");
    const joined = expectExit(await runChild([process.execPath, ctx.cli, "--home", joinHome, "join", catalog.url, "--relay", url, "--token", token, "--name", "joined", "--timeout", "7200"], { scratch: ctx.scratch, rss: true }));
    const joinedRecords = parseJsonOutput<{ status: { catalogs: { records: number }[] } }>(expectExit(await runChild([process.execPath, ctx.cli, "--home", joinHome, "status", "--json"], { scratch: ctx.scratch }))).status.catalogs[0]?.records;
    const relayAfterJoin = procMemory(relay.child.pid);
    await relay.stop();
    running.length = 0;

    // --- restarted on that data: live clients and one edit a second
    ({ relay, url } = await startRelay(ctx, data));
    http = httpOf(url);
    running.push(relay);
    const atStart = procMemory(relay.child.pid);
    log(`relaymem: connecting ${options.clients} clients`);
    const notices = new Map<string, number>();
    for (let i = 0; i < options.clients; i++) {
      const client = await connect(url, token, catalog.url);
      client.root.on("ephemeral-message", ({ message, senderId }) => {
        if (senderId !== client.relay) return;
        for (const id of Object.keys(readChangedNotice(message) ?? {})) notices.set(id, (notices.get(id) ?? 0) + 1);
      });
      clients.push(client);
    }
    const connected = procMemory(relay.child.pid);
    const view = new Database(dbPathOf(ctx.home), { readonly: true, fileMustExist: true });
    const ids = view.prepare<[number], { id: string }>("SELECT id FROM records ORDER BY random() LIMIT ?").all(options.seconds).map((r) => r.id);
    view.close();

    let peak = connected.rssBytes ?? 0;
    let loadedMost = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, procMemory(relay.child.pid).rssBytes ?? 0);
      void loadedDocuments(http).then((n) => (loadedMost = Math.max(loadedMost, n ?? 0)));
    }, SAMPLE_MS);
    log(`relaymem: ${ids.length} edits, one a second`);
    const editMs: number[] = [];
    const edited: string[] = [];
    let late = 0;
    const t0 = performance.now();
    try {
      for (let i = 0; i < ids.length; i++) {
        const due = t0 + i * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else late++;
        const start = performance.now();
        const made = await edit(clients[i % clients.length]!, ids[i]!, `relaymem ${i}`);
        editMs.push(performance.now() - start);
        edited.push(made.documentId);
        await made.drop();
      }
      await new Promise((r) => setTimeout(r, 5_000)); // the last notices, and the in-step drops
    } finally {
      clearInterval(sampler);
    }
    const final = procMemory(relay.child.pid);
    const loadedAtEnd = await loadedDocuments(http);
    // notices are counted per shard; a shard edited twice in the run is told of twice
    const noticed = edited.map((id) => (notices.get(id) ?? 0) / edited.filter((other) => other === id).length);
    await Promise.all(clients.map((c) => c.repo.shutdown().catch(() => undefined)));
    clients.length = 0;
    const stopped = await relay.stop();
    running.length = 0;

    const p50 = round(quantile(editMs, 0.5));
    const p99 = round(quantile(editMs, 0.99));
    return {
      key: "relaymem",
      title: `13. relay memory (${fmtInt(catalog.records)} records on the relay, ${options.clients} live clients, 1 edit/s for ${options.seconds} s)`,
      lines: [
        ["first upload (shelf sync)", `${fmtMs(upload.wallMs)}, peak RSS ${fmtBytes(upload.peakRssBytes)}; relay RSS after ${fmtBytes(afterUpload.rssBytes)}, peak ${fmtBytes(afterUpload.hwmBytes)}; ${loadedAfterUpload ?? "?"} documents loaded once settled`],
        ["fresh join until searchable (shelf join)", `${fmtMs(joined.wallMs)}, peak RSS ${fmtBytes(joined.peakRssBytes)}, ${fmtInt(joinedRecords ?? 0)} records in its view; relay peak RSS since start ${fmtBytes(relayAfterJoin.hwmBytes)}`],
        ["relay RSS restarted, before clients", fmtBytes(atStart.rssBytes)],
        [`relay RSS with ${options.clients} clients holding the root`, fmtBytes(connected.rssBytes)],
        ["relay RSS peak during the edits (sampled / VmHWM)", `${fmtBytes(peak)} / ${fmtBytes(final.hwmBytes)}`],
        ["relay RSS after the edits (+5 s)", fmtBytes(final.rssBytes)],
        ["documents loaded on the relay, most / at the end", `${loadedMost} / ${loadedAtEnd ?? "?"}`],
        ["edit (fetch shard, change, acknowledged) p50 / p99", `${fmtMs(p50)} / ${fmtMs(p99)}${late > 0 ? ` (${late} started late)` : ""}`],
        ["clients told of each edit (changed notice), min / max", `${Math.min(...noticed)} / ${Math.max(...noticed)} of ${options.clients}`],
      ],
      notes: [
        `clients: in-process automerge-repo Repos without storage, each with its own WebSocket, holding the catalog root as a lazy shelf daemon does; the editing client fetches the whole shard (a daemon would load it from its own disk), the others only count the relay's notices`,
        ...(stopped.code !== 0 ? [`the relay exited with ${stopped.code ?? stopped.signal} on SIGTERM`] : []),
      ],
      data: {
        records: catalog.records,
        clients: options.clients,
        seconds: options.seconds,
        uploadMs: round(upload.wallMs),
        uploadPeakRssBytes: upload.peakRssBytes ?? null,
        joinMs: round(joined.wallMs),
        joinPeakRssBytes: joined.peakRssBytes ?? null,
        joinedRecords: joinedRecords ?? null,
        relayAfterJoin,
        relayAfterUpload: afterUpload,
        documentsLoadedAfterUpload: loadedAfterUpload ?? null,
        relayAtStart: atStart,
        relayWithClients: connected,
        relayPeakRssBytes: peak,
        relayFinal: final,
        documentsLoadedMost: loadedMost,
        documentsLoadedAtEnd: loadedAtEnd ?? null,
        editMs: { p50, p99, n: editMs.length, late },
        noticedPerEdit: noticed,
      },
    };
  } finally {
    await Promise.all(clients.map((c) => c.repo.shutdown().catch(() => undefined)));
    for (const c of running.reverse()) await c.stop().catch(() => undefined);
  }
}
