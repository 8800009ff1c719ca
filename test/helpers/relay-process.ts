/**
 * A real relay (`shelf relay`, the built CLI) in a child process, and automerge-repo clients that
 * sync with it over real WebSockets. `npm test` builds dist/ first; by hand run `npm run build`.
 *
 * Every wait is bounded: a relay that does not start, a sync that does not finish, a socket that
 * does not close fails the test with a message instead of hanging it.
 */
import type { ChildProcess } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import * as A from "@automerge/automerge";
import { Repo, type AnyDocumentId, type DocHandle, type PeerId } from "@automerge/automerge-repo";
import { SafeClientAdapter } from "../../src/protocol/safe-client-adapter.js";
import WebSocket from "ws";
import { expectExit, parseJson, runCli, type CliResult, type NodeOptions } from "./cli.js";
import { startListening } from "./listening-process.js";
import { onTestFinished } from "vitest";
import type { Remote } from "../../src/sync/remotes.js";
import { tempDir } from "./temp-home.js";

export interface RelayProcess {
  /** ws://127.0.0.1:PORT/sync */
  url: string;
  /** http://127.0.0.1:PORT */
  http: string;
  child: ChildProcess;
  /** resolves when the process has ended, with its output */
  exited: Promise<CliResult>;
  /** sends `signal` and waits for the process to end (SIGKILL after timeoutMs) */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<CliResult>;
}

/** A loopback port free right now, so a restarted relay can listen where the first one did. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `shelf relay --port 0 --data DIR ...args` and waits for its "listening" line. */
export function startRelayProcess(dataDir: string, args: string[] = [], timeoutMs = 120_000, node: NodeOptions = {}): Promise<RelayProcess> {
  return startListeningOnSync(["relay", "--port", "0", "--data", dataDir, ...args], "relay", timeoutMs, node);
}

/** Starts `shelf serve --home HOME ...args` (a served instance) and waits for its "listening" line. */
export function startServeProcess(home: string, args: string[] = [], timeoutMs = 120_000, node: NodeOptions = {}): Promise<RelayProcess> {
  return startListeningOnSync(["--home", home, "serve", "--port", "0", ...args], "serve", timeoutMs, node);
}

/**
 * Runs the CLI with `args` until it prints `shelf <what> listening on ws://HOST:PORT/sync` (or,
 * with --json, `{"schemaVersion":1,"listening":"ws://HOST:PORT/sync"}`).
 */
async function startListeningOnSync(args: string[], what: "relay" | "serve", timeoutMs: number, node: NodeOptions): Promise<RelayProcess> {
  const LISTENING = new RegExp(`^(?:shelf ${what} listening on |\\{"schemaVersion":1,"listening":")(ws:\\/\\/(\\S+?):(\\d+)\\/sync)(?:"\\})?$`, "m");
  const { match, ...process } = await startListening(args, what, LISTENING, timeoutMs, node);
  return { ...process, url: match[1]!, http: `http://127.0.0.1:${match[3]!}` };
}

/** `shelf relay token create --catalog URL --data DIR --json [--read-only]`; returns the token. */
export async function createToken(dataDir: string, catalogUrl: string, options: { readOnly?: boolean } = {}): Promise<string> {
  const result = await runCli(["relay", "token", "create", "--catalog", catalogUrl, "--data", dataDir, "--json", ...(options.readOnly ? ["--read-only"] : [])]);
  expectExit(result, 0);
  const json = parseJson<{ schemaVersion: number; token: string; catalog: string; readOnly: boolean }>(result);
  return json.token;
}

/**
 * A relay on a fresh data directory, stopped when the current test finishes, and a remote that
 * reaches `catalogUrl` on it with a token of its own.
 */
export async function tempRelayRemote(catalogUrl: string): Promise<Remote> {
  const dataDir = tempDir("shelf-relay-");
  const relay = await startRelayProcess(dataDir);
  onTestFinished(() => relay.stop().then(() => {}));
  return { name: "origin", url: relay.url, token: await createToken(dataDir, catalogUrl), addedAt: new Date().toISOString() };
}

export interface SyncClient {
  repo: Repo;
  /** the relay's peer id, once it answered the join */
  relay: PeerId;
  /** finds a document through the relay (rejects "unavailable" when the relay will not give it) */
  find<T>(id: AnyDocumentId, timeoutMs?: number): Promise<DocHandle<T>>;
  /** resolves once the relay has told us it holds exactly our heads of every handle */
  waitForRelay(handles: DocHandle<unknown>[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A fresh in-memory client Repo connected to `url` (with ?token= when given). */
export async function connectClient(url: string, token?: string, timeoutMs = 5_000): Promise<SyncClient> {
  const adapter = new SafeClientAdapter(token === undefined ? url : `${url}?token=${encodeURIComponent(token)}`, 60_000);
  const repo = new Repo({ network: [adapter] });
  const theirHeads = trackRelayHeads(repo);
  const deadline = Date.now() + timeoutMs;
  while (!adapter.remotePeerId && Date.now() < deadline) await sleep(20);
  const relay = adapter.remotePeerId;
  if (!relay) {
    await repo.shutdown();
    throw new Error(`the relay at ${url} did not accept the connection within ${timeoutMs} ms`);
  }
  return {
    repo,
    relay,
    find: <T>(id: AnyDocumentId, findTimeoutMs = 5_000) => repo.find<T>(id, { signal: AbortSignal.timeout(findTimeoutMs) }),
    waitForRelay: (handles, waitTimeoutMs = 5_000) => theirHeads.waitFor(relay, handles, waitTimeoutMs),
    close: () => repo.shutdown(),
  };
}

function trackRelayHeads(repo: Repo) {
  const heads = new Map<string, A.Heads>();
  const listeners = new Set<() => void>();
  repo.synchronizer.on("sync-state", ({ peerId, documentId, syncState }) => {
    if (!syncState.theirHeads) return;
    heads.set(`${peerId} ${documentId}`, syncState.theirHeads);
    for (const listener of listeners) listener();
  });
  const same = (a: A.Heads, b: A.Heads) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
  return {
    waitFor(peer: PeerId, handles: DocHandle<unknown>[], timeoutMs: number): Promise<void> {
      return new Promise((resolve, reject) => {
        const inSync = () => handles.every((h) => h.isReady() && same(heads.get(`${peer} ${h.documentId}`) ?? [], A.getHeads(h.doc() as A.Doc<unknown>)));
        const check = () => {
          if (inSync()) finish();
        };
        const timer = setTimeout(() => finish(new Error(`the relay did not confirm ${handles.length} documents within ${timeoutMs} ms`)), timeoutMs);
        const finish = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          for (const h of handles) h.off("heads-changed", check);
          if (error) reject(error);
          else resolve();
        };
        listeners.add(check);
        for (const h of handles) h.on("heads-changed", check);
        check();
      });
    },
  };
}

/** A plain WebSocket to the relay, open (rejects with the HTTP status when the upgrade is refused). */
export function rawSocket(url: string, timeoutMs = 5_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      ws.terminate();
      reject(Object.assign(new Error(`upgrade refused: HTTP ${res.statusCode}`), { status: res.statusCode }));
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Resolves with the close code once `ws` is closed (by either side). */
export function closeCode(ws: WebSocket, timeoutMs = 5_000): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    ws.once("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retries `attempt` until it returns true, for up to `timeoutMs`; false when it never did. */
/** A value of the relay's Prometheus metrics (`/metrics`), undefined when it has none. */
export async function metricValue(relay: RelayProcess, name: string): Promise<number | undefined> {
  const res = await fetch(`${relay.http}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const line = (await res.text()).split("\n").find((l) => l.startsWith(name + " "));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

export async function eventually(attempt: () => Promise<boolean>, timeoutMs: number, pauseMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await attempt()) return true;
    if (Date.now() + pauseMs >= deadline) return false;
    await sleep(pauseMs);
  }
}

/** A TCP connection a test opened and left silent, and when the server closed it. */
export interface IdleConnection {
  socket: Socket;
  /** ms after the flood started; undefined while open */
  closedAfterMs?: number;
}

/**
 * Opens `count` TCP connections to 127.0.0.1:`port` from `localAddress` (another loopback address,
 * e.g. 127.0.0.2 on Linux, so that they count as another client than the test's own requests) and sends
 * nothing on them: a slowloris. Resolves once each is connected or already closed.
 */
export async function openIdleConnections(port: number, localAddress: string, count: number): Promise<IdleConnection[]> {
  const started = Date.now();
  return Promise.all(
    Array.from({ length: count }, () => {
      const idle: IdleConnection = { socket: connect({ port, host: "127.0.0.1", localAddress }) };
      idle.socket.on("error", () => {}); // a reset is one of the ways the server may close it
      idle.socket.resume(); // reads (and drops) what the server answers, or its close would go unseen
      idle.socket.once("close", () => (idle.closedAfterMs = Date.now() - started));
      return new Promise<IdleConnection>((resolve) => {
        idle.socket.once("connect", () => resolve(idle));
        idle.socket.once("close", () => resolve(idle));
      });
    }),
  );
}

/** Waits until `connections` has at most `open` connections still open; false after `timeoutMs`. */
export async function untilOpenAtMost(connections: IdleConnection[], open: number, timeoutMs: number): Promise<boolean> {
  return eventually(async () => connections.filter((c) => c.closedAfterMs === undefined).length <= open, timeoutMs, 50);
}
