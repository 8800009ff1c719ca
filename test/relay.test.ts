/**
 * The relay: real relay processes (`shelf relay`, the built CLI) and real automerge-repo clients
 * over real WebSockets for what is the network's behaviour; fastify's inject() for the plain HTTP
 * routes. Run by hand with: npm run build && npx vitest run test/relay.test.ts
 */
import { randomBytes } from "node:crypto";
import { get as httpGet } from "node:http";
import { Writable } from "node:stream";
import * as A from "@automerge/automerge";
import { cbor, Repo, type AutomergeUrl, type DocHandle } from "@automerge/automerge-repo";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import WebSocket from "ws";
import { admit, isLoopback, type AdmissionPolicy } from "../src/protocol/admission.js";
import { buildRelay, type Relay } from "../relay/app.js";
import { parseFrame } from "../src/protocol/guarded-adapter.js";
import { openRelayDb } from "../relay/relay-db.js";
import { TokenStore } from "../relay/token-store.js";
import { plain } from "../src/model/crdt-record.js";
import { makeTempDir, runCli, expectExit, parseJson } from "./helpers/cli.js";
import { closeCode, connectClient, createToken, eventually, openIdleConnections, rawSocket, sleep, startRelayProcess, untilOpenAtMost, type RelayProcess, type SyncClient } from "./helpers/relay-process.js";
import { tempDir } from "./helpers/temp-home.js";

interface ShardDoc {
  records: Record<string, A.ImmutableString>;
}
interface RootDoc {
  shelf: "catalog";
  format: number;
  name: A.ImmutableString;
  shards: A.ImmutableString[];
}
interface TestCatalog {
  url: AutomergeUrl;
  root: DocHandle<RootDoc>;
  shards: DocHandle<ShardDoc>[];
  all: DocHandle<unknown>[];
}

const imm = (s: string) => new A.ImmutableString(s);

/** A catalog-like root document naming two shard documents, made in `repo` (no network). */
function makeCatalog(repo: Repo, name: string): TestCatalog {
  const shards = [0, 1].map((i) => repo.create<ShardDoc>({ records: { [`npm:${name}-${i} name`]: imm(`${name}-${i}`) } }));
  const root = repo.create<RootDoc>({ shelf: "catalog", format: 1, name: imm(name), shards: shards.map((h) => imm(h.url)) });
  return { url: root.url, root, shards, all: [root, ...shards] as DocHandle<unknown>[] };
}

/** Puts copies of `catalog`'s documents (same ids) in the client's repo and waits until the relay has them. */
async function push(client: SyncClient, catalog: TestCatalog): Promise<DocHandle<unknown>[]> {
  const handles = catalog.all.map((h) => client.repo.import<unknown>(A.save(h.doc() as A.Doc<unknown>), { docId: h.documentId }));
  await client.waitForRelay(handles);
  return handles;
}

async function client(url: string, token?: string): Promise<SyncClient> {
  const c = await connectClient(url, token);
  onTestFinished(() => c.close());
  return c;
}

/** Fetches a document through the relay and waits until we hold everything the relay has of it. */
async function fetchAll<T>(c: SyncClient, url: string): Promise<DocHandle<T>> {
  const handle = await c.find<T>(url as AutomergeUrl);
  await c.waitForRelay([handle as DocHandle<unknown>]);
  return handle;
}

/** A counter's value in Prometheus text, 0 when absent. */
function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function getText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

/** The next binary message on a raw socket, decoded. */
function nextMessage(ws: WebSocket, timeoutMs = 5_000): Promise<{ type: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message")), timeoutMs);
    ws.once("message", (data: Buffer) => {
      clearTimeout(timer);
      resolve(cbor.decode(new Uint8Array(data)) as { type: string });
    });
  });
}

const join = (senderId: string) => cbor.encode({ type: "join", senderId, peerMetadata: {}, supportedProtocolVersions: ["1"] });

describe("a relay with tokens, over real sockets", () => {
  const MAX_MESSAGE_BYTES = 256 * 1024;
  let dir: ReturnType<typeof makeTempDir>;
  let relay: RelayProcess;
  const author = new Repo({ network: [] });
  const catA = makeCatalog(author, "team-a");
  const catB = makeCatalog(author, "team-b");
  let tokenA: string;
  let tokenAReadOnly: string;
  let tokenB: string;

  beforeAll(async () => {
    dir = makeTempDir("shelf-relay-");
    [tokenA, tokenAReadOnly, tokenB] = await Promise.all([createToken(dir.dir, catA.url), createToken(dir.dir, catA.url, { readOnly: true }), createToken(dir.dir, catB.url)]);
    relay = await startRelayProcess(dir.dir, ["--max-message-bytes", String(MAX_MESSAGE_BYTES)]);
    // Each catalog is pushed by a writer holding its token.
    for (const [catalog, token] of [[catA, tokenA], [catB, tokenB]] as const) {
      const writer = await connectClient(relay.url, token);
      try {
        await push(writer, catalog);
      } finally {
        await writer.close();
      }
    }
  });

  afterAll(async () => {
    await relay?.stop();
    dir?.remove();
  });

  it("(a) keeps a pushed catalog (root and shards) for a fresh client to fetch by id", async () => {
    const reader = await client(relay.url, tokenA);
    const root = await fetchAll<RootDoc>(reader, catA.url);
    expect(plain(root.doc().name)).toBe("team-a");
    const shardUrls = root.doc().shards.map((s) => plain(s));
    expect(shardUrls).toEqual(catA.shards.map((h) => h.url));
    const shards = await Promise.all(shardUrls.map((url) => fetchAll<ShardDoc>(reader, url)));
    expect(shards.map((s) => Object.keys(s.doc().records))).toEqual([["npm:team-a-0 name"], ["npm:team-a-1 name"]]);
  });

  it("(b) gives a client of catalog A nothing of catalog B: not by id, not by writing, not by listing B's ids in A's root", async () => {
    const intruder = await client(relay.url, tokenA);
    for (const handle of catB.all) await expect(intruder.find(handle.url)).rejects.toThrow(/unavailable/);

    // The intruder holds copies of B's documents (obtained elsewhere) and edits them.
    const copies = catB.all.map((h) => intruder.repo.import<ShardDoc & RootDoc>(A.save(h.doc() as A.Doc<unknown>), { docId: h.documentId }));
    for (const copy of copies) copy.change((d) => void (d.shards ? d.shards.push(imm("automerge:evil")) : (d.records["npm:evil name"] = imm("evil"))));
    await expect(intruder.waitForRelay(copies, 1_000)).rejects.toThrow(/did not confirm/);

    // A writer of A lists B's first shard in A's root: the shard still belongs to B.
    const writerA = await client(relay.url, tokenA);
    const rootA = await fetchAll<RootDoc>(writerA, catA.url);
    rootA.change((d) => void d.shards.push(imm(catB.shards[0]!.url)));
    await writerA.waitForRelay([rootA as DocHandle<unknown>]);
    const intruder2 = await client(relay.url, tokenA);
    await expect(intruder2.find(catB.shards[0]!.url)).rejects.toThrow(/unavailable/);

    // B, seen by its own members, is untouched.
    const memberB = await client(relay.url, tokenB);
    const rootB = await fetchAll<RootDoc>(memberB, catB.url);
    expect(rootB.doc().shards.map((s) => plain(s))).toEqual(catB.shards.map((h) => h.url));
    for (const shard of catB.shards) {
      const fetched = await fetchAll<ShardDoc>(memberB, shard.url);
      expect(Object.keys(fetched.doc().records)).not.toContain("npm:evil name");
    }
  });

  it("(c) lets a read-only token fetch, and never lets its changes reach the relay", async () => {
    const reader = await client(relay.url, tokenAReadOnly);
    const root = await fetchAll<RootDoc>(reader, catA.url);
    expect(plain(root.doc().name)).toBe("team-a");
    const shard = await fetchAll<ShardDoc>(reader, catA.shards[0]!.url);
    shard.change((d) => void (d.records["npm:read-only name"] = imm("should not arrive")));
    await expect(reader.waitForRelay([shard as DocHandle<unknown>], 1_000)).rejects.toThrow(/did not confirm/);

    const writer = await client(relay.url, tokenA);
    const seen = await fetchAll<ShardDoc>(writer, catA.shards[0]!.url);
    expect(Object.keys(seen.doc().records)).toEqual(["npm:team-a-0 name"]);
  });

  it("(d) refuses a connection without a token, or with an unknown one, with 401, and counts it", async () => {
    await expect(rawSocket(relay.url)).rejects.toMatchObject({ status: 401 });
    await expect(rawSocket(`${relay.url}?token=shelf_${"A".repeat(43)}`)).rejects.toMatchObject({ status: 401 });
    await expect(rawSocket(`${relay.url}?token=nonsense`)).rejects.toMatchObject({ status: 401 });
    const { text } = await getText(`${relay.http}/metrics`);
    expect(metric(text, 'shelf_relay_rejected_connections_total{reason="no_token"}')).toBe(1);
    expect(metric(text, 'shelf_relay_rejected_connections_total{reason="bad_token"}')).toBe(2);
  });

  it("(e) closes a connection that sends garbage or an oversized message, and keeps serving the others", async () => {
    const withToken = `${relay.url}?token=${tokenA}`;
    const bystander = await rawSocket(withToken);
    bystander.send(join("bystander"));
    expect((await nextMessage(bystander)).type).toBe("peer");

    const frames: [string, string | Uint8Array, number][] = [
      ["text frame", "hello", 1003],
      ["CBOR null", Buffer.from([0xf6]), 1003],
      ["CBOR integer", Buffer.from([0x01]), 1003],
      ["random bytes", randomBytes(512), 1003],
      ["join without senderId", cbor.encode({ type: "join", supportedProtocolVersions: ["1"] }), 1003],
      ["join in a protocol the relay does not speak", cbor.encode({ type: "join", senderId: "from-the-future", supportedProtocolVersions: ["9"] }), 1002],
      ["sync with junk data", cbor.encode({ type: "sync", senderId: "bystander-2", targetId: "x", documentId: catA.root.documentId, data: new Uint8Array([1, 2, 3]) }), 1003],
      ["oversized message", Buffer.alloc(MAX_MESSAGE_BYTES + 1, 7), 1009],
    ];
    for (const [name, frame, expected] of frames) {
      const ws = await rawSocket(withToken);
      if (name === "sync with junk data") {
        ws.send(join("bystander-2"));
        await nextMessage(ws);
      }
      const closed = closeCode(ws);
      ws.send(frame);
      expect(await closed, name).toBe(expected);
    }

    expect(bystander.readyState).toBe(WebSocket.OPEN);
    bystander.close();
    expect((await getText(`${relay.http}/healthz`)).status).toBe(200);
    const c = await client(relay.url, tokenA);
    expect(plain((await fetchAll<RootDoc>(c, catA.url)).doc().name)).toBe("team-a");
    const { text } = await getText(`${relay.http}/metrics`);
    expect(metric(text, 'shelf_relay_rejected_connections_total{reason="malformed"}')).toBeGreaterThanOrEqual(7);
    expect(metric(text, 'shelf_relay_rejected_connections_total{reason="oversized"}')).toBe(1);
  });

  it("refuses a join that takes the peer id of a client with another token", async () => {
    const owner = await rawSocket(`${relay.url}?token=${tokenA}`);
    owner.send(join("shared-peer-id"));
    expect((await nextMessage(owner)).type).toBe("peer");
    const thief = await rawSocket(`${relay.url}?token=${tokenB}`);
    const closed = closeCode(thief);
    thief.send(join("shared-peer-id"));
    expect(await closed).toBe(1008);
    await sleep(100);
    expect(owner.readyState).toBe(WebSocket.OPEN);
    owner.close();
  });
});

describe("relay memory: idle documents", () => {
  it("drops a catalog no client holds once idle, serves it again from disk, and keeps one a client holds live", async () => {
    const dir = makeTempDir("shelf-relay-idle-");
    onTestFinished(() => dir.remove());
    const author = new Repo({ network: [] });
    const catalog = makeCatalog(author, "idle");
    const token = await createToken(dir.dir, catalog.url);
    const relay = await startRelayProcess(dir.dir, ["--unload-idle-after", "1"]);
    onTestFinished(async () => void (await relay.stop()));
    const loaded = async () => metric((await getText(`${relay.http}/metrics`)).text, "shelf_relay_catalogs_loaded");
    const unloaded = async () => metric((await getText(`${relay.http}/metrics`)).text, "shelf_relay_documents_unloaded_total");

    const writer = await connectClient(relay.url, token);
    await push(writer, catalog);
    expect(await loaded()).toBe(1);
    // while the writer is connected, its documents stay, however idle
    await sleep(2_500);
    expect(await loaded()).toBe(1);
    await writer.close();
    expect(await eventually(async () => (await loaded()) === 0, 10_000)).toBe(true);
    expect(await unloaded()).toBe(3);

    // asked for again: loaded from disk, whole, and live for a client that stays
    const watcher = await client(relay.url, token);
    const shard = await fetchAll<ShardDoc>(watcher, catalog.shards[0]!.url);
    expect(plain(shard.doc().records["npm:idle-0 name"])).toBe("idle-0");
    await sleep(2_500); // longer than the idle time: the watcher's documents must stay
    const editor = await client(relay.url, token);
    const copy = await fetchAll<ShardDoc>(editor, catalog.shards[0]!.url);
    copy.change((d) => void (d.records["npm:idle-0 summary"] = imm("changed while the watcher waited")));
    await editor.waitForRelay([copy as DocHandle<unknown>]);
    expect(await eventually(async () => plain(shard.doc().records["npm:idle-0 summary"]) === "changed while the watcher waited", 10_000)).toBe(true);
  });

  it("drops the shards of clients that hold the root while they stay connected, and they still get and send changes", async () => {
    const dir = makeTempDir("shelf-relay-unpin-");
    onTestFinished(() => dir.remove());
    const author = new Repo({ network: [] });
    const catalog = makeCatalog(author, "live");
    const token = await createToken(dir.dir, catalog.url);
    const relay = await startRelayProcess(dir.dir, ["--unload-idle-after", "1"]);
    onTestFinished(async () => void (await relay.stop()));
    const metrics = async () => (await getText(`${relay.http}/metrics`)).text;
    const onlyRootLoaded = async () => metric(await metrics(), "shelf_relay_documents_loaded") === 1;

    // The writer pushes the catalog and keeps every document loaded on its side; the relay keeps
    // only the root, which the writer holds.
    const writer = await client(relay.url, token);
    const [writerRoot, writerShard] = (await push(writer, catalog)) as [DocHandle<RootDoc>, DocHandle<ShardDoc>];
    const notices: string[] = [];
    writerRoot.on("ephemeral-message", ({ message }) => notices.push(...Object.keys((message as { documents?: object }).documents ?? {})));
    expect(await eventually(onlyRootLoaded, 15_000, 200)).toBe(true);
    expect(metric(await metrics(), "shelf_relay_catalogs_loaded")).toBe(1);

    // Another client changes the dropped shard: the relay loads it again, and the writer, whose
    // copy stayed loaded all along, gets the change (and a "changed" notice on the root).
    const editor = await client(relay.url, token);
    await fetchAll<RootDoc>(editor, catalog.url);
    const editorShard = await fetchAll<ShardDoc>(editor, catalog.shards[0]!.url);
    editorShard.change((d) => void (d.records["npm:live-0 summary"] = imm("from the editor")));
    await editor.waitForRelay([editorShard as DocHandle<unknown>]);
    expect(await eventually(async () => plain(writerShard.doc().records["npm:live-0 summary"]) === "from the editor", 15_000, 100)).toBe(true);
    expect(notices).toContain(catalog.shards[0]!.documentId);

    // Dropped again; now the writer changes its copy, and the editor gets it.
    expect(await eventually(onlyRootLoaded, 15_000, 200)).toBe(true);
    writerShard.change((d) => void (d.records["npm:live-0 summary"] = imm("from the writer")));
    await writer.waitForRelay([writerShard as DocHandle<unknown>], 15_000);
    expect(await eventually(async () => plain(editorShard.doc().records["npm:live-0 summary"]) === "from the writer", 15_000, 100)).toBe(true);
    expect(metric(await metrics(), "shelf_relay_documents_unloaded_total")).toBeGreaterThanOrEqual(3);

    // What the relay stored is whole: a fresh client reads both changes' result from disk.
    expect(await eventually(onlyRootLoaded, 15_000, 200)).toBe(true);
    const reader = await client(relay.url, token);
    await fetchAll<RootDoc>(reader, catalog.url);
    const readerShard = await fetchAll<ShardDoc>(reader, catalog.shards[0]!.url);
    expect(plain(readerShard.doc().records["npm:live-0 summary"])).toBe("from the writer");
    expect(A.getHeads(readerShard.doc())).toEqual(A.getHeads(writerShard.doc()));
  });
});

describe("relay durability and shutdown", () => {
  let dir: ReturnType<typeof makeTempDir>;
  const running: RelayProcess[] = [];
  const start = async (data: string) => {
    const r = await startRelayProcess(data);
    running.push(r);
    return r;
  };
  beforeAll(() => void (dir = makeTempDir("shelf-relay-durable-")));
  afterAll(async () => {
    for (const r of running) await r.stop("SIGKILL");
    dir?.remove();
  });

  it("(f) keeps an acknowledged change through a kill -9 of the relay", async () => {
    const relay = await start(dir.dir + "/f");
    const writer = await client(relay.url);
    const doc = writer.repo.create<{ edits: string[] }>({ edits: [] });
    for (let i = 0; i < 20; i++) doc.change((d) => void d.edits.push(`edit ${i}`));
    await writer.waitForRelay([doc as DocHandle<unknown>]);
    const killed = await relay.stop("SIGKILL");
    expect(killed.signal).toBe("SIGKILL");

    const restarted = await start(dir.dir + "/f");
    const reader = await client(restarted.url);
    const fetched = await fetchAll<{ edits: string[] }>(reader, doc.url);
    expect(fetched.doc().edits).toHaveLength(20);
    expect(A.getHeads(fetched.doc())).toEqual(A.getHeads(doc.doc()));
  });

  it("(g) shuts down on SIGTERM with exit code 0, one line on stdout, and the data kept", async () => {
    const relay = await start(dir.dir + "/g");
    const writer = await client(relay.url);
    const doc = writer.repo.create<{ n: number }>({ n: 1 });
    await writer.waitForRelay([doc as DocHandle<unknown>]);
    const result = await relay.stop("SIGTERM");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`shelf relay listening on ${relay.url}\n`);

    const restarted = await start(dir.dir + "/g");
    const reader = await client(restarted.url);
    expect((await fetchAll<{ n: number }>(reader, doc.url)).doc().n).toBe(1);
    expect((await restarted.stop("SIGINT")).code).toBe(0);
  });
});

/** GET /healthz from the local address `from`: the status, or the error's code. */
function healthzFrom(from: string, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpGet({ host: "127.0.0.1", port, path: "/healthz", localAddress: from, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

// Linux only: other systems do not route 127.0.0.2 to loopback without configuration.
describe.skipIf(process.platform !== "linux")("a relay under a slowloris from one address", () => {
  // The flood comes from 127.0.0.2, the test's own requests from 127.0.0.1: two clients.
  const FLOOD = 600;
  const LIMIT = 16;
  const HEADER_TIMEOUT_S = 5;

  it("closes connections over the per-address limit at once and silent ones after the header timeout, while /healthz and sync keep answering", async () => {
    const dir = makeTempDir("shelf-relay-slowloris-");
    onTestFinished(() => dir.remove());
    // fewer open files than the flood has connections, as on the small server of issue #13
    const relay = await startRelayProcess(dir.dir, ["--max-connections-per-address", String(LIMIT), "--header-timeout", String(HEADER_TIMEOUT_S)], 15_000, { maxOpenFiles: 256 });
    onTestFinished(async () => void (await relay.stop("SIGKILL")));
    const port = Number(new URL(relay.http).port);

    const flood = await openIdleConnections(port, "127.0.0.2", FLOOD);
    onTestFinished(() => flood.forEach((c) => c.socket.destroy()));
    // all but LIMIT closed at once: well before the header timeout could have closed them
    expect(await untilOpenAtMost(flood, LIMIT, (HEADER_TIMEOUT_S - 1) * 1000)).toBe(true);
    expect(flood.filter((c) => c.closedAfterMs === undefined)).toHaveLength(LIMIT);

    // while the flood holds its LIMIT connections: other clients are served at once
    const health = await fetch(`${relay.http}/healthz`, { signal: AbortSignal.timeout(2_000) });
    expect(health.status).toBe(200);
    const ws = await rawSocket(relay.url, 2_000);
    ws.close();
    // and one more connection from the flooding address is closed without an answer
    const [more] = await openIdleConnections(port, "127.0.0.2", 1);
    expect(await untilOpenAtMost([more!], 0, 1_000)).toBe(true);

    // the silent connections it still held are closed once the header timeout is over
    expect(await untilOpenAtMost(flood, 0, (HEADER_TIMEOUT_S + 5) * 1000)).toBe(true);
    expect(Math.min(...flood.map((c) => c.closedAfterMs!).sort((a, b) => b - a).slice(0, LIMIT))).toBeGreaterThanOrEqual((HEADER_TIMEOUT_S - 1) * 1000);

    // the address is served again once it holds fewer connections: once the relay has seen them
    // close, which on a busy machine can be a moment after the flood saw it (each refusal meanwhile
    // is one more over the limit)
    let refusedMeanwhile = 0;
    const servedAgain = await eventually(async () => {
      if ((await healthzFrom("127.0.0.2", port)) === 200) return true;
      refusedMeanwhile++;
      return false;
    }, 10_000, 100);
    expect(servedAgain).toBe(true);
    const metrics = (await getText(`${relay.http}/metrics`)).text;
    expect(metric(metrics, 'shelf_relay_rejected_connections_total{reason="connection_limit"}')).toBe(FLOOD - LIMIT + 1 + refusedMeanwhile);
    expect(metric(metrics, 'shelf_relay_rejected_connections_total{reason="header_timeout"}')).toBe(LIMIT);
  });
});

describe("relay HTTP routes and limits (in process)", () => {
  async function relayIn(options: Partial<Parameters<typeof buildRelay>[0]> = {}): Promise<Relay> {
    const relay = await buildRelay({ dataDir: tempDir("shelf-relay-app-"), ...options });
    onTestFinished(() => relay.close());
    return relay;
  }

  it("(h) answers /healthz, /metrics and a status page that escapes what clients wrote", async () => {
    const relay = await relayIn();
    const health = await relay.app.inject({ method: "GET", url: "/healthz" });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: "ok" });

    const root = relay.repo.create({ shelf: "catalog", format: 1, name: imm(`<script>alert("x")</script> & co`), shards: [] });
    relay.tokens.create(root.url);

    const metrics = await relay.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers["content-type"]).toMatch(/^text\/plain/);
    for (const name of ["shelf_relay_peers", "shelf_relay_catalogs_loaded", "shelf_relay_messages_total", "shelf_relay_bytes_total", "shelf_relay_rejected_connections_total"]) {
      expect(metrics.body).toContain(`# TYPE ${name} `);
    }
    expect(metric(metrics.body, "shelf_relay_catalogs_loaded")).toBe(1);
    expect(metric(metrics.body, 'shelf_relay_rejected_connections_total{reason="too_many"}')).toBe(0);

    const page = await relay.app.inject({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).not.toContain("<script>alert");
    expect(page.body).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co");
    expect(page.body).toContain(root.url);
    expect(page.body).toMatch(/clients connected: 0/);

    // Catalog names are for the relay's own machine only.
    const remote = await relay.app.inject({ method: "GET", url: "/", remoteAddress: "203.0.113.9" });
    expect(remote.body).not.toContain("alert");
    expect(remote.body).not.toContain(root.url);
    // ...remote viewers see the catalog by its fingerprint, the same one the local viewer sees
    const print = /<tr><td><code>([0-9a-f]{8})<\/code><\/td>/.exec(remote.body)?.[1];
    expect(print).toBeDefined();
    expect(page.body).toContain(`<code>${print}</code>`);
  });

  it("cuts off a client that stops answering pings, but not the clients it could not hear while busy", async () => {
    const relay = await relayIn({ keepAliveMs: 150 });
    await relay.app.listen({ host: "127.0.0.1", port: 0 });
    const url = `ws://127.0.0.1:${(relay.app.server.address() as { port: number }).port}/sync`;
    const silent = await new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { autoPong: false });
      ws.once("open", () => resolve(ws));
      ws.once("error", reject);
    });
    const healthy = await rawSocket(url);
    healthy.send(join("healthy-peer"));
    await nextMessage(healthy);
    expect(await closeCode(silent, 2_000)).toBe(1006); // terminated: no pong for a whole round

    // This process (the relay's) is blocked for several rounds: the pongs that arrive meanwhile
    // are read only after the late keep-alive round, which must not count them as missing.
    const until = Date.now() + 700;
    while (Date.now() < until) {
      // busy, as when merging a large document
    }
    await sleep(100);
    expect(healthy.readyState).toBe(WebSocket.OPEN);
    healthy.close();
  });

  it("without tokens, refuses other machines (403) before the upgrade, proxied requests included", async () => {
    const relay = await relayIn();
    const remote = await relay.app.inject({ method: "GET", url: "/sync", remoteAddress: "203.0.113.9" });
    expect(remote.statusCode).toBe(403);
    expect(remote.json().error.code).toBe("SHELF_E_RELAY_FORBIDDEN");
    const proxied = await relay.app.inject({ method: "GET", url: "/sync", headers: { "x-forwarded-for": "203.0.113.9" } });
    expect(proxied.statusCode).toBe(403);
    const metrics = await relay.app.inject({ method: "GET", url: "/metrics" });
    expect(metric(metrics.body, 'shelf_relay_rejected_connections_total{reason="not_loopback"}')).toBe(2);
  });

  it("with tokens, refuses a request without one (401) with the error code", async () => {
    const relay = await relayIn();
    relay.tokens.create(relay.repo.create({ shelf: "catalog" }).url);
    const res = await relay.app.inject({ method: "GET", url: "/sync" });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("SHELF_E_RELAY_UNAUTHORIZED");
  });

  it("refuses more than maxConnectionsPerAddress open connections with 429", async () => {
    const relay = await relayIn({ maxConnectionsPerAddress: 2 });
    await relay.app.listen({ host: "127.0.0.1", port: 0 });
    const url = `ws://127.0.0.1:${(relay.app.server.address() as { port: number }).port}/sync`;
    const first = await rawSocket(url);
    const second = await rawSocket(url);
    await expect(rawSocket(url)).rejects.toMatchObject({ status: 429 });
    const closed = closeCode(first);
    first.close();
    await closed;
    await sleep(50);
    const third = await rawSocket(url);
    second.close();
    third.close();
    const metrics = await relay.app.inject({ method: "GET", url: "/metrics" });
    expect(metric(metrics.body, 'shelf_relay_rejected_connections_total{reason="too_many"}')).toBe(1);
  });

  it("never writes a token to its logs", async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    const relay = await relayIn({ logger: { level: "debug", stream } });
    const root = relay.repo.create({ shelf: "catalog", format: 1, name: imm("logged"), shards: [] });
    const token = relay.tokens.create(root.url);
    await relay.app.listen({ host: "127.0.0.1", port: 0 });
    const url = `ws://127.0.0.1:${(relay.app.server.address() as { port: number }).port}/sync`;
    const c = await client(url, token);
    await fetchAll(c, root.url);
    await expect(rawSocket(`${url}?token=shelf_${"B".repeat(43)}`)).rejects.toMatchObject({ status: 401 });
    const log = lines.join("");
    expect(log).toContain("/sync?[redacted]");
    expect(log).not.toContain(token);
    expect(log).not.toContain("shelf_BBBB");
  });
});

describe("relay parts", () => {
  it("knows loopback addresses", () => {
    for (const a of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) expect(isLoopback(a), a).toBe(true);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "203.0.113.9", "::", "0.0.0.0", "fe80::1", "", undefined, "127.0.0.1.evil"]) expect(isLoopback(a), String(a)).toBe(false);
  });

  it("admits by token when there are tokens, by address when there are none", () => {
    const grant = { id: 7, catalogUrl: "automerge:x", readOnly: true };
    const policy = (tokens: number, extra: Partial<AdmissionPolicy> = {}): AdmissionPolicy => ({
      tokenCount: () => tokens,
      verify: (t) => (t === "good" ? grant : undefined),
      maxConnectionsPerAddress: 2,
      allowRemoteWithoutTokens: false,
      ...extra,
    });
    const req = (r: Partial<Parameters<typeof admit>[0]>) => ({ token: undefined, remoteAddress: "127.0.0.1", forwarded: false, openConnections: 0, ...r });
    expect(admit(req({}), policy(0))).toEqual({ ok: true, auth: { kind: "open" } });
    expect(admit(req({ remoteAddress: "10.1.1.1" }), policy(0))).toMatchObject({ ok: false, status: 403, reason: "not_loopback" });
    expect(admit(req({ forwarded: true }), policy(0))).toMatchObject({ ok: false, status: 403 });
    expect(admit(req({ remoteAddress: "10.1.1.1" }), policy(0, { allowRemoteWithoutTokens: true }))).toMatchObject({ ok: true });
    expect(admit(req({}), policy(1))).toMatchObject({ ok: false, status: 401, reason: "no_token" });
    expect(admit(req({ token: "bad" }), policy(1))).toMatchObject({ ok: false, status: 401, reason: "bad_token" });
    expect(admit(req({ token: "bad" }), policy(0))).toMatchObject({ ok: false, status: 401, reason: "bad_token" });
    expect(admit(req({ token: "good", remoteAddress: "10.1.1.1" }), policy(1))).toEqual({ ok: true, auth: { kind: "token", ...grant } });
    expect(admit(req({ token: "good", openConnections: 2 }), policy(1))).toMatchObject({ ok: false, status: 429, reason: "too_many" });
  });

  it("stores only a token's hash, and knows its catalog and whether it is read-only", () => {
    const db = openRelayDb(tempDir("shelf-relay-tokens-"));
    onTestFinished(() => void db.close());
    const tokens = new TokenStore(db);
    const url = new Repo({ network: [] }).create({}).url;
    const token = tokens.create(url, { readOnly: true });
    expect(token).toMatch(/^shelf_[A-Za-z0-9_-]{43}$/);
    expect(tokens.verify(token)).toEqual({ id: 1, catalogUrl: url, readOnly: true });
    expect(tokens.verify(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"))).toBeUndefined();
    expect(tokens.count()).toBe(1);
    const stored = JSON.stringify(db.prepare("SELECT * FROM relay_tokens").all());
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.slice(6));
    expect(() => tokens.create("https://example.com/not-a-catalog")).toThrow(/not a catalog URL/);
  });

  it("tells automerge-repo messages from garbage", () => {
    expect(parseFrame(cbor.encode(null))).toBe("not a message");
    expect(parseFrame(cbor.encode([1, 2]))).toBe("not a message");
    expect(parseFrame(cbor.encode({ type: "join" }))).toBe("message without a valid senderId");
    expect(parseFrame(cbor.encode({ type: "join", senderId: "p", peerMetadata: { storageId: 5 } }))).toBe("join with invalid peerMetadata");
    expect(parseFrame(cbor.encode({ type: "sync", senderId: "p", documentId: "../etc", data: new Uint8Array([1]) }))).toMatch(/invalid documentId/);
    expect(parseFrame(join("p"))).toMatchObject({ kind: "join", senderId: "p" });
    expect(parseFrame(cbor.encode({ type: "remote-heads-changed", senderId: "p" }))).toMatchObject({ kind: "ignored" });
  });

  it("`shelf relay token create` prints the token once, as JSON with --json", async () => {
    const data = tempDir("shelf-relay-cli-");
    const url = new Repo({ network: [] }).create({}).url;
    const json = parseJson(await runCli(["relay", "token", "create", "--catalog", url, "--read-only", "--data", data, "--json"]));
    expect(json).toEqual({ schemaVersion: 1, token: expect.stringMatching(/^shelf_/), catalog: url, readOnly: true });
    const plainRun = await runCli(["relay", "token", "create", "--catalog", url, "--data", data]);
    expectExit(plainRun, 0);
    expect(plainRun.stdout).toMatch(/^shelf_[A-Za-z0-9_-]{43}\n$/);
    const bad = await runCli(["relay", "token", "create", "--catalog", "nope", "--data", data, "--json"]);
    expectExit(bad, 2);
    const db = new Database(`${data}/relay.db`, { readonly: true });
    onTestFinished(() => void db.close());
    expect(db.prepare("SELECT count(*) AS n FROM relay_tokens").get()).toEqual({ n: 2 });
  });
});

describe("shelf relay --json", () => {
  it("prints its listening line as one JSON document, and still serves", async () => {
    const data = tempDir("shelf-relay-json-");
    const relay = await startRelayProcess(data, ["--json"]);
    try {
      const health = await fetch(`${relay.http}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      expectExit(await relay.stop(), 0);
    }
    expect(JSON.parse((await relay.exited).stdout)).toEqual({ schemaVersion: 1, listening: relay.url });
  });
});
