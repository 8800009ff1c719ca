/**
 * The relay as a fastify instance that is built but not listening (server.ts listens; tests use
 * inject()). It holds one automerge-repo Repo for every catalog it serves, stored in
 * `<dataDir>/relay.db`, and syncs it with clients over WebSocket at /sync.
 *
 *   GET /healthz   200 {"status":"ok"}
 *   GET /metrics   Prometheus text
 *   GET /          status page (HTML)
 *   WS  /sync      automerge-repo sync protocol; token in ?token= (or Authorization: Bearer)
 *
 * With `upstream`, the Repo is also a client of another relay: every document this relay holds or
 * is asked for is synced with it (see "Several relays" in docs/relay.md).
 *
 * See docs/relay.md for what a client may do, and what "acknowledged" means.
 */
import * as A from "@automerge/automerge";
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Repo, type DocumentId, type PeerId } from "@automerge/automerge-repo";
import websocket from "@fastify/websocket";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type WebSocket from "ws";
import { ShelfError } from "../src/errors.js";
import { plain } from "../src/model/crdt-record.js";
import { coreOf, shownValue } from "../src/model/shard-core.js";
import { SqliteStorageAdapter } from "../src/store/sqlite-storage-adapter.js";
import { unloadDocument } from "../src/store/unload-document.js";
import { ACCESS_HEADER } from "../src/protocol/access-header.js";
import { SafeClientAdapter, type ReconnectBackoff } from "../src/protocol/safe-client-adapter.js";
import { admit, isLoopback, type RelayAuth } from "../src/protocol/admission.js";
import { ConnectionLimits } from "../src/protocol/connection-limits.js";
import { CatalogAccess, shardIdsOf } from "./catalog-access.js";
import { GuardedServerAdapter } from "../src/protocol/guarded-adapter.js";
import { DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, DEFAULT_MAX_MESSAGE_BYTES, redactUrl, tokenOf, viaProxy } from "../src/protocol/sync-request.js";
import { IdleDocuments } from "./idle-documents.js";
import { createMetrics } from "./metrics.js";
import { openRelayDb } from "./relay-db.js";
import { RelayHeads } from "./relay-heads.js";
import { registerHeadsRoute } from "../src/protocol/heads-route.js";
import { sameHeads } from "../src/protocol/heads-summary.js";
import { changedNotice } from "../src/protocol/changed-notice.js";
import { changingNotice } from "../src/protocol/changing-notice.js";
import { takenNotice } from "../src/protocol/taken-notice.js";
import { deadline } from "../src/protocol/deadline.js";
import { MetricsHistory } from "./metrics-history.js";
import { renderStatusPage, STATUS_PAGE_CSP, type CatalogStatus } from "./status-page.js";
import { TokenStore } from "./token-store.js";

export { DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, DEFAULT_MAX_MESSAGE_BYTES };
/** How long an access check waits for a catalog's root document that the relay does not hold yet. */
const ROOT_WAIT_MS = 5_000;
/** How often automerge-repo writes a changed document; the relay also writes before acknowledging. */
const SAVE_DEBOUNCE_MS = 10;
/** How long a document no connected client pins stays in memory after its last traffic. */
export const DEFAULT_IDLE_UNLOAD_MS = 60_000;
/**
 * How long a document every client holds as the relay does stays in memory after its last
 * traffic: long enough for the other live clients a "changed" notice sends to fetch the change
 * from the loaded copy, short enough that an upload of a whole catalog never holds it all at once
 * (a shard of a 227k-record catalog takes about 5 MiB loaded).
 */
const IN_STEP_UNLOAD_MS = 2_000;
/** Reconnection to the upstream relay: 1 s, doubling up to a minute, ±20%. */
const UPSTREAM_BACKOFF: ReconnectBackoff = { initialMs: 1_000, maxMs: 60_000, jitter: 0.2 };

export interface UpstreamOptions {
  /** ws(s)://HOST:PORT/sync of the other relay */
  url: string;
  /** a token the other relay created for the catalog this relay shares with it */
  token?: string;
  /** reconnection waits (default: UPSTREAM_BACKOFF) */
  backoff?: ReconnectBackoff;
}

export interface RelayOptions {
  dataDir: string;
  /** fastify's pino logger: false (default) for none, true for info on stderr */
  logger?: boolean | { level?: string; stream?: NodeJS.WritableStream };
  /** largest WebSocket message accepted; a larger one closes the connection (1009) */
  maxMessageBytes?: number;
  /**
   * sync connections allowed from one address (more are refused with 429), and other connections
   * besides them (more are closed at once); see connection-limits.ts
   */
  maxConnectionsPerAddress?: number;
  /** a request must finish its headers within this time, or is answered 408 and closed */
  headerTimeoutMs?: number;
  /** let a relay without tokens serve clients that are not on its own machine */
  allowRemoteWithoutTokens?: boolean;
  /** WebSocket ping interval; a client that misses one is disconnected */
  keepAliveMs?: number;
  /** another relay this one syncs with as a client */
  upstream?: UpstreamOptions;
  /** drop a document from memory once no connected client holds it and it was idle this long */
  idleUnloadMs?: number;
}

export interface Relay {
  app: FastifyInstance;
  repo: Repo;
  tokens: TokenStore;
  peerId: PeerId;
  /** whether the connection to the upstream relay is open; undefined without an upstream */
  upstreamConnected(): boolean | undefined;
  /** Stops accepting, closes every connection, writes every document, closes the database. */
  close(): Promise<void>;
}

interface CatalogRootDoc {
  shelf: "catalog";
  name?: unknown;
  shards?: unknown;
}

/**
 * A loaded document as a catalog root, or undefined. Read from its core first: the bundled relay
 * loads documents without building their JavaScript object (scripts/bundle-cli.mjs), and a shard's
 * would cost thousands of fields to build.
 */
function catalogRootOf(doc: A.Doc<unknown>): CatalogRootDoc | undefined {
  const core = coreOf(doc);
  const shelf = core.getWithType("_root", "shelf");
  if (!shelf || plain(shownValue(core, shelf as [string, unknown])) !== "catalog") return undefined;
  return A.toJS(doc) as CatalogRootDoc;
}

export async function buildRelay(options: RelayOptions): Promise<Relay> {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxConnectionsPerAddress = options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  const headerTimeoutMs = options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
  const allowRemoteWithoutTokens = options.allowRemoteWithoutTokens ?? false;
  for (const [name, value] of [["maxMessageBytes", maxMessageBytes], ["maxConnectionsPerAddress", maxConnectionsPerAddress], ["headerTimeoutMs", headerTimeoutMs], ["idleUnloadMs", options.idleUnloadMs ?? 1]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new ShelfError("SHELF_E_USAGE", `relay option ${name} must be a positive integer, got ${value}`);
  }
  const db = openRelayDb(options.dataDir);
  const tokens = new TokenStore(db);
  const heads = new RelayHeads(db);
  const startedAt = Date.now();
  const activity = { last: undefined as number | undefined, byDocument: new Map<string, number>() };
  const idle = new IdleDocuments({ ownerOf: (id) => access.ownerOf(id) });
  const idleUnloadMs = options.idleUnloadMs ?? DEFAULT_IDLE_UNLOAD_MS;

  // The pieces below refer to each other through callbacks that run only once the relay serves.
  const limits = new ConnectionLimits({
    maxPerAddress: maxConnectionsPerAddress,
    headerTimeoutMs,
    onRefused: (address, first) => {
      metrics.rejected("connection_limit");
      if (first) app.log.warn({ remoteAddress: address, maxConnectionsPerAddress }, "an address holds as many connections as allowed; closing its new ones at once");
    },
    onTimeout: () => metrics.rejected("header_timeout"),
  });
  const app = Fastify({ logger: loggerOptions(options.logger), serverFactory: limits.serverFactory });
  const metrics = createMetrics({
    peers: () => adapter.peerCount(),
    catalogsLoaded: () => loadedRoots().length,
    documentsLoaded: () => loadedIds().length,
    upstreamConnected: options.upstream ? () => upstream?.connected() : undefined,
  });
  const history = new MetricsHistory(() => metrics.snapshot());
  const upstream = options.upstream ? connectUpstream(options.upstream, app.log) : undefined;

  const adapter = new GuardedServerAdapter({
    log: app.log,
    keepAliveMs: options.keepAliveMs,
    // A sync message tells the peer which heads the relay has: write them to disk first.
    beforeSend: async (message) => {
      if (message.type === "sync") await store((message as { documentId: DocumentId }).documentId);
    },
    onTraffic: (direction, bytes, documentId, peer) => {
      const now = Date.now();
      activity.last = now;
      if (documentId !== undefined) {
        activity.byDocument.set(documentId, now);
        // the upstream relay holds no document open here: it is asked again when one is needed
        idle.touch(documentId as DocumentId, now, peer === undefined || upstream?.isPeer(peer) ? undefined : peer);
      }
      metrics.traffic(direction, bytes);
    },
    onMalformed: () => metrics.rejected("malformed"),
    // A client must not pass for the upstream relay, or for this relay itself.
    isReservedPeerId: (peer) => peer === peerId || upstream?.isPeer(peer) === true,
  });

  const access: CatalogAccess = new CatalogAccess(
    db,
    {
      async load(rootId, onChange): Promise<unknown> {
        try {
          const signal = AbortSignal.timeout(ROOT_WAIT_MS);
          const handle = await repo.find<unknown>(rootId, { allowableStates: ["ready", "requesting", "unavailable"], signal });
          // "unavailable" is not final: while a client pushes a new catalog, the root is briefly
          // unavailable before its first changes arrive, and its shards are asked for meanwhile.
          if (!handle.isReady()) await handle.whenReady(["ready"], { signal });
          handle.on("change", ({ doc }) => onChange(A.toJS(doc)));
          return A.toJS(handle.doc());
        } catch {
          return undefined; // no one has sent it within ROOT_WAIT_MS
        }
      },
    },
    app.log,
    // A client waiting for a shard another catalog took would wait forever: tell it on the root.
    (rootId, documentId) => {
      const root = repo.handles[rootId];
      if (root?.isReady()) root.broadcast(takenNotice([documentId]));
    },
  );

  const peerId = `shelf-relay-${randomBytes(4).toString("hex")}` as PeerId;
  const repo: Repo = new Repo({
    storage: new SqliteStorageAdapter(db, (documentId) => heads.forget(documentId)),
    network: upstream ? [adapter, upstream.adapter] : [adapter],
    peerId,
    saveDebounceRate: SAVE_DEBOUNCE_MS,
    shareConfig: {
      // Never offer a document to a client that did not ask for it: that would leak its id and
      // heads. The upstream relay is offered every document, so that what clients here ask for
      // and change is asked for and sent there too.
      announce: async (peer) => adapter.authOf(peer) === undefined && upstream?.isPeer(peer) === true,
      access: async (peer, documentId): Promise<boolean> => {
        const auth = adapter.authOf(peer);
        if (!auth) return upstream?.isPeer(peer) === true;
        if (auth.kind === "open") return true;
        return access.allows(auth.catalogUrl, documentId);
      },
    },
  });

  /**
   * Writes a document to disk before a peer learns its heads (so what the relay acknowledges is
   * stored), then notes those heads for summaries, unless the document moved on meanwhile (the
   * write that follows notes the newer heads).
   */
  const store = async (documentId: DocumentId): Promise<void> => {
    const handle = repo.handles[documentId];
    if (!handle?.isReady()) return;
    const before = A.getHeads(handle.doc());
    await repo.flush([documentId]);
    if (db.open && handle.isReady() && sameHeads(before, A.getHeads(handle.doc())) && heads.record(documentId, before)) notifyChanged(documentId, before);
  };

  /** Tells the live clients of a shard's catalog (those holding its root) that the shard changed. */
  const notifyChanged = (documentId: DocumentId, at: A.Heads): void => {
    const rootId = access.ownerOf(documentId);
    const root = rootId === undefined || rootId === documentId ? undefined : repo.handles[rootId];
    if (root?.isReady()) root.broadcast(changedNotice({ [documentId]: at }));
  };

  const loadedRoots = (): [DocumentId, CatalogRootDoc][] => {
    const roots: [DocumentId, CatalogRootDoc][] = [];
    for (const [id, handle] of Object.entries(repo.handles)) {
      if (!handle.isReady()) continue;
      const root = catalogRootOf(handle.doc());
      if (root) roots.push([id as DocumentId, root]);
    }
    return roots;
  };

  const loadedIds = (): DocumentId[] => Object.values(repo.handles).filter((h) => h.isReady()).map((h) => h.documentId);

  adapter.on("peer-disconnected", ({ peerId: peer }) => idle.release(peer));
  upstream?.adapter.on("peer-disconnected", ({ peerId: peer }) => idle.release(peer));
  repo.synchronizer.on("sync-state", ({ peerId: peer, documentId, syncState }) => {
    if (syncState.theirHeads) idle.heard(documentId, peer, syncState.theirHeads);
  });

  // Memory stays bounded by what clients use: an idle document is written and dropped, and loaded
  // from disk again when a client asks for it.
  const inStepUnloadMs = Math.min(IN_STEP_UNLOAD_MS, idleUnloadMs);
  const unloadIdle = async (): Promise<void> => {
    const loaded = Object.values(repo.handles)
      .filter((h) => h.isReady())
      .map((h): [DocumentId, A.Heads] => [h.documentId, A.getHeads(h.doc() as A.Doc<unknown>)]);
    // With an upstream, what clients sent must reach it before the copy goes: while the link is
    // down, only the idle time applies.
    const link = upstream?.current();
    const inStepMs = upstream && link === undefined ? idleUnloadMs : inStepUnloadMs;
    const drop = idle.idle(loaded, { now: Date.now(), inStepMs, idleMs: idleUnloadMs, mustHold: link });
    if (drop.length === 0) return;
    await repo.flush(drop);
    for (const id of drop) {
      await unloadDocument(repo, id);
      idle.forget(id);
      access.forget(id);
    }
    metrics.unloaded(drop.length);
    // debug: with live clients this happens every few seconds
    app.log.debug({ documents: drop.length, loaded: Object.keys(repo.handles).length }, "dropped idle documents from memory");
  };
  let unloading: Promise<void> | undefined;
  const unloadTimer = setInterval(() => {
    unloading ??= unloadIdle()
      .catch((err: unknown) => app.log.warn({ err }, "dropping idle documents failed; will retry"))
      .finally(() => (unloading = undefined));
  }, Math.max(250, inStepUnloadMs / 2));
  unloadTimer.unref();

  /** Per catalog URL: the clients using it now, and its documents in memory. */
  const catalogUse = (roots: [DocumentId, CatalogRootDoc][]): Map<string, { clients: number; documentsLoaded: number }> => {
    const rootOf = new Map<DocumentId, DocumentId>();
    for (const [rootId, doc] of roots) for (const id of [rootId, ...shardIdsOf(doc)]) rootOf.set(id, rootId);
    const catalogOf = (id: DocumentId): string | undefined => {
      const rootId = rootOf.get(id) ?? access.ownerOf(id);
      return rootId && `automerge:${rootId}`;
    };
    const use = new Map<string, { clients: number; documentsLoaded: number }>();
    const entry = (url: string) => use.get(url) ?? use.set(url, { clients: 0, documentsLoaded: 0 }).get(url)!;
    for (const id of loadedIds()) {
      const url = catalogOf(id);
      if (url) entry(url).documentsLoaded++;
    }
    // A token names its catalog; a client of a relay without tokens uses what it touched.
    for (const peer of Object.keys(adapter.sockets) as PeerId[]) {
      const auth = adapter.authOf(peer);
      const urls = auth?.kind === "token" ? [auth.catalogUrl] : [...idle.documentsOf(peer)].map(catalogOf);
      for (const url of new Set(urls)) if (url) entry(url).clients++;
    }
    return use;
  };

  const catalogStatuses = (): CatalogStatus[] => {
    const roots = loadedRoots();
    const use = catalogUse(roots);
    const inUse = (url: string) => use.get(url) ?? { clients: 0, documentsLoaded: 0 };
    const byUrl = new Map<string, CatalogStatus>();
    for (const t of tokens.catalogs()) {
      const rootId = t.catalogUrl.slice("automerge:".length);
      byUrl.set(t.catalogUrl, { url: t.catalogUrl, name: undefined, shards: undefined, tokens: t.tokens, lastActivity: activity.byDocument.get(rootId), ...inUse(t.catalogUrl) });
    }
    for (const [rootId, doc] of roots) {
      const url = `automerge:${rootId}`;
      const shards = shardIdsOf(doc);
      const times = [rootId, ...shards].map((id) => activity.byDocument.get(id)).filter((t): t is number => t !== undefined);
      const last = times.length > 0 ? Math.max(...times) : undefined;
      const known = byUrl.get(url);
      byUrl.set(url, { url, name: plain(doc.name), shards: shards.length, tokens: known?.tokens ?? 0, lastActivity: last, ...inUse(url) });
    }
    return [...byUrl.values()].sort((a, b) => (a.name ?? "\uffff").localeCompare(b.name ?? "\uffff") || a.url.localeCompare(b.url));
  };

  await app.register(websocket, {
    options: { maxPayload: maxMessageBytes },
    // Protocol errors on an open connection (a message over maxPayload, an invalid frame): ws has
    // already started closing it with the right code (1009, 1002...); count it, log it.
    errorHandler(error, socket, request) {
      const code = (error as { code?: string }).code ?? "";
      if (code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
        metrics.rejected("oversized");
        request.log.warn({ maxMessageBytes }, "a client sent a message larger than the limit; connection closed");
      } else if (code.startsWith("WS_ERR_")) {
        metrics.rejected("malformed");
        request.log.warn({ code }, "a client broke the WebSocket protocol; connection closed");
      } else {
        request.log.info({ err: error }, "relay connection error");
      }
      if (socket.readyState === socket.OPEN) socket.terminate();
    },
  });

  const authByRequest = new WeakMap<FastifyRequest, RelayAuth>();
  // The upgrade response tells a client what its token allows, so that a read-only client knows
  // not to wait for the relay to take its changes.
  const accessByRaw = new WeakMap<IncomingMessage, "read-only" | "read-write">();
  app.websocketServer.on("headers", (headers: string[], raw: IncomingMessage) => {
    const access = accessByRaw.get(raw);
    if (access) headers.push(`${ACCESS_HEADER}: ${access}`);
  });

  /** Admits a sync request (a connection, or a heads summary), or answers its refusal. */
  async function admitRequest(request: FastifyRequest, reply: FastifyReply, openConnections: number): Promise<RelayAuth | undefined> {
    const address = request.socket.remoteAddress ?? "";
    const decision = admit(
      { token: tokenOf(request), remoteAddress: address, forwarded: viaProxy(request), openConnections },
      { tokenCount: () => tokens.count(), verify: (t) => tokens.verify(t), maxConnectionsPerAddress, allowRemoteWithoutTokens },
    );
    if (decision.ok) return decision.auth;
    metrics.rejected(decision.reason);
    request.log.info({ reason: decision.reason, remoteAddress: address }, "sync request refused");
    await reply.code(decision.status).send({ error: decision.error });
    return undefined;
  }

  async function admitConnection(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const auth = await admitRequest(request, reply, limits.syncConnections(request.socket.remoteAddress));
    if (!auth) return;
    authByRequest.set(request, auth);
    accessByRaw.set(request.raw, auth.kind === "token" && auth.readOnly ? "read-only" : "read-write");
  }

  app.get("/sync", { websocket: true, preValidation: admitConnection }, (socket: WebSocket, request) => {
    const auth = authByRequest.get(request);
    if (!auth) return socket.close(1008, "not admitted");
    limits.trackSync(request.socket.remoteAddress, socket);
    // Synchronously: the client sends its join as soon as the socket is open.
    adapter.accept(socket, auth);
  });

  // A summary request holds no sync connection open: only the limit on other connections applies.
  registerHeadsRoute(app, {
    index: heads,
    admit: (request, reply) => admitRequest(request, reply, 0),
    // Only a catalog whose root is stored here: an unknown one is answered at once, empty.
    prepare: async (rootId) => (heads.has(rootId) ? access.claimShards(rootId as DocumentId) : undefined),
    // The catalog's own documents that are stored here; the rest arrive by sync as always. A
    // prefetched document no client then syncs is dropped like any other idle one.
    prefetch: (rootId, documentIds, changing) => {
      const now = Date.now();
      const stored = documentIds.filter((id) => db.open && (id === rootId || access.ownerOf(id as DocumentId) === rootId) && heads.has(id));
      // Live clients load these now, so that the change finds their copies loaded.
      const announced = changing.filter((id) => id !== rootId && stored.includes(id));
      const root = repo.handles[rootId as DocumentId];
      if (announced.length > 0 && root?.isReady()) root.broadcast(changingNotice(announced));
      // After the notice and the answer have left: a load holds the event loop, and a message
      // sent meanwhile waits for it.
      setImmediate(() => {
        for (const id of stored) {
          idle.touch(id as DocumentId, now);
          // A plain timer, cleared once found: Node keeps an AbortSignal.timeout() with its
          // listeners until it fires, and through them the loaded document.
          const limit = deadline(ROOT_WAIT_MS);
          repo
            .find(id as DocumentId, { allowableStates: ["ready", "unavailable"], signal: limit.signal })
            .catch(() => undefined)
            .finally(() => limit.dispose());
        }
      });
      return stored.length;
    },
  });

  app.get("/healthz", async (_request, reply) => {
    if (!db.open) return reply.code(503).send({ status: "closing" });
    return { status: "ok" };
  });

  app.get("/metrics", async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });

  app.get("/", async (request, reply) => {
    const tokenCount = tokens.count();
    const now = await metrics.snapshot();
    const html = renderStatusPage({
      peerId,
      startedAt,
      access: tokenCount > 0 ? "tokens" : allowRemoteWithoutTokens ? "anyone (no tokens, remote allowed)" : "loopback only (no tokens yet)",
      metrics: now,
      current: history.current(now),
      history: history.points(now),
      upstream: upstream && { url: redactUrl(options.upstream!.url), connected: upstream.connected() },
      lastActivity: activity.last,
      catalogs: catalogStatuses(),
      showCatalogs: isLoopback(request.socket.remoteAddress) && !viaProxy(request),
      now: now.at,
    });
    reply.type("text/html; charset=utf-8").header("content-security-policy", STATUS_PAGE_CSP).header("cache-control", "no-store").header("x-content-type-options", "nosniff");
    return html;
  });

  app.addHook("onClose", async () => adapter.stop());
  await history.sample(); // the first point of the status page's chart

  if (tokens.count() === 0) {
    if (allowRemoteWithoutTokens) app.log.warn("the relay has no tokens and accepts every client: anyone who can reach it can read and write every catalog it holds");
    else app.log.warn("the relay has no tokens: it serves only clients on this machine (127.0.0.0/8, ::1). Create one with `shelf relay token create --catalog URL`");
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(unloadTimer);
      history.stop();
      await unloading;
      await app.close(); // stops accepting, closes the sockets, stops the keep-alive timer
      await repo.shutdown(); // writes every document
      if (db.open) db.close();
    })());

  return { app, repo, tokens, peerId, upstreamConnected: () => upstream?.connected(), close };
}

interface Upstream {
  adapter: SafeClientAdapter;
  connected(): boolean;
  /** the upstream relay's peer id while connected */
  current(): PeerId | undefined;
  /** `peer` is the upstream relay (as it joined on the current or a previous connection) */
  isPeer(peer: PeerId): boolean;
}

/**
 * The client side of the link to an upstream relay. It never throws: a refused or failed
 * connection is logged and retried with backoff (repo.shutdown() disconnects it for good).
 */
function connectUpstream(options: UpstreamOptions, log: FastifyInstance["log"]): Upstream {
  const target = redactUrl(options.url);
  const url = options.token === undefined ? options.url : `${options.url}${options.url.includes("?") ? "&" : "?"}token=${encodeURIComponent(options.token)}`;
  const adapter = new SafeClientAdapter(url, UPSTREAM_BACKOFF.initialMs, (code, reason) => {
    log.error({ upstream: target, code, reason }, "the upstream relay closed the connection for what this relay sent; retrying");
  });
  adapter.backoff = options.backoff ?? UPSTREAM_BACKOFF;
  const peers = new Set<PeerId>();
  let connected = false;
  let current: PeerId | undefined;
  let downSince: number | undefined = Date.now();
  adapter.on("peer-candidate", ({ peerId }) => {
    peers.add(peerId);
    current = peerId;
    connected = true;
    downSince = undefined;
    log.info({ upstream: target, peerId }, "connected to the upstream relay");
  });
  adapter.on("peer-disconnected", () => {
    // the base adapter says so again after each failed reconnection attempt
    if (!connected) return;
    connected = false;
    downSince = Date.now();
    log.warn({ upstream: target }, "lost the connection to the upstream relay; reconnecting");
  });
  adapter.onClosed = ({ wasOpen, code, error, retryInMs }) => {
    if (wasOpen) return; // reported by peer-disconnected
    // 401 (no or bad --upstream-token) shows as "Unexpected server response: 401"
    log.warn({ upstream: target, code, error: error?.message, retryInMs, downForMs: downSince === undefined ? 0 : Date.now() - downSince }, "cannot reach the upstream relay; retrying");
  };
  return { adapter, connected: () => connected, current: () => (connected ? current : undefined), isPeer: (peer) => peers.has(peer) };
}

function loggerOptions(logger: RelayOptions["logger"]) {
  if (!logger) return false;
  const { level = "info", stream = process.stderr } = logger === true ? {} : logger;
  return {
    level,
    stream,
    // fastify's default request serializer logs the URL, query string (and so the token) included
    serializers: {
      req: (req: { method?: string; url?: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url ?? ""), remoteAddress: req.ip }),
    },
    redact: ["req.headers.authorization"],
  };
}
