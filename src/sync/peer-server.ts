/**
 * `shelf serve`: an instance that accepts sync connections from other instances directly, on the
 * relay's protocol, so two machines sync with no relay at all. It reuses the relay's hardened
 * pieces (frame checks, admission) but serves the instance's own Repo, and only its catalog.
 *
 *   WS  /sync      automerge-repo sync protocol; token in ?token= (or Authorization: Bearer)
 *   GET /healthz   200 {"status":"ok"}
 *
 * Without a token it serves only clients on its own machine; with one (--token or
 * SHELF_SERVE_TOKEN) it serves whoever presents it, on any address it listens on.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { DocumentId, Repo } from "@automerge/automerge-repo";
import websocket from "@fastify/websocket";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type WebSocket from "ws";
import { admit, isLoopback, type RelayAuth } from "../protocol/admission.js";
import { ConnectionLimits } from "../protocol/connection-limits.js";
import { DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, DEFAULT_MAX_MESSAGE_BYTES, tokenOf, viaProxy } from "../protocol/sync-request.js";
import { GuardedServerAdapter } from "../protocol/guarded-adapter.js";
import { ShelfError } from "../errors.js";
import { registerHeadsRoute } from "../protocol/heads-route.js";
import type { HeadsIndex } from "../protocol/heads-summary.js";

/** Shorter tokens are guessable; `openssl rand -hex 16` gives 32 characters. */
const MIN_TOKEN_LENGTH = 16;

export interface PeerServerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  /** the shared secret peers must present; required when `host` is not a loopback address */
  token?: string;
  /** the catalog served: the only one a token reaches */
  catalogUrl: string;
  /** what answers heads summaries (the instance's view heads) */
  heads: HeadsIndex;
  log: (line: string) => void;
  maxMessageBytes?: number;
  /** sync connections from one address, and other connections besides them (connection-limits.ts) */
  maxConnectionsPerAddress?: number;
  /** a request must finish its headers within this time */
  headerTimeoutMs?: number;
  keepAliveMs?: number;
}

export interface PeerServer {
  /** the network adapter to give the instance's Repo */
  adapter: GuardedServerAdapter;
  /**
   * Starts listening, sending through `repo` (created with `adapter`); resolves to the sync URL.
   * `materialize` brings the view up to what is stored: heads summaries are answered from the
   * view, so it runs before a peer is told which heads this instance has.
   */
  listen(repo: Repo, materialize: () => Promise<void>): Promise<string>;
  peerCount(): number;
  close(): Promise<void>;
}

/** Refuses a configuration that would open the catalog to anyone on the network. */
export function checkServeOptions(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ShelfError("SHELF_E_USAGE", `the serve token must be at least ${MIN_TOKEN_LENGTH} characters`, "make one with `openssl rand -hex 16`");
  }
  const loopbackHost = host === "localhost" || isLoopback(host);
  if (!loopbackHost && token === undefined) {
    throw new ShelfError(
      "SHELF_E_USAGE",
      `serving on ${host} without a token would let anyone who reaches this machine read and change the catalog`,
      "give peers a shared secret: `shelf serve --host HOST --token T` (or SHELF_SERVE_TOKEN=T), and `shelf remote add NAME ws://HOST:PORT/sync --token T` on each peer",
    );
  }
}

export function createPeerServer(options: PeerServerOptions): PeerServer {
  checkServeOptions(options.host, options.token);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxConnectionsPerAddress = options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  const expected = options.token === undefined ? undefined : digest(options.token);
  let repo: Repo | undefined;
  let materialize: (() => Promise<void>) | undefined;
  const line = (obj: object, msg: string) => options.log(`${msg} ${JSON.stringify(obj)}`);

  const adapter = new GuardedServerAdapter({
    log: { warn: line, info: line },
    keepAliveMs: options.keepAliveMs,
    // A sync message tells the peer which heads we have: write them to disk first, as the relay
    // does, and into the view, so that the next heads summary says the same.
    beforeSend: async (message) => {
      if (message.type !== "sync" || !repo) return;
      const documentId = (message as { documentId: DocumentId }).documentId;
      if (!repo.handles[documentId]?.isReady()) return;
      await repo.flush([documentId]);
      await materialize?.();
    },
    onMalformed: (why) => options.log(`closed a peer connection: ${why}`),
  });

  /** Admits a sync request (a connection, or a heads summary), or answers its refusal. */
  async function admitRequest(request: FastifyRequest, reply: FastifyReply, openConnections: number): Promise<RelayAuth | undefined> {
    const address = request.socket.remoteAddress ?? "";
    const decision = admit(
      { token: tokenOf(request), remoteAddress: address, forwarded: viaProxy(request), openConnections },
      {
        tokenCount: () => (expected ? 1 : 0),
        verify: (token) => (expected && timingSafeEqual(digest(token), expected) ? { id: 0, catalogUrl: options.catalogUrl, readOnly: false } : undefined),
        maxConnectionsPerAddress,
        allowRemoteWithoutTokens: false,
      },
    );
    if (decision.ok) return decision.auth;
    options.log(`refused a peer from ${address}: ${decision.reason}`);
    const error = { ...decision.error, hint: servingHint(decision.reason) ?? decision.error.hint };
    await reply.code(decision.status).send({ error });
    return undefined;
  }

  const limits = new ConnectionLimits({
    maxPerAddress: maxConnectionsPerAddress,
    headerTimeoutMs: options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS,
    onRefused: (address, first) => {
      if (first) options.log(`${address} holds ${maxConnectionsPerAddress} connections: closing its new ones at once until it holds fewer`);
    },
  });
  const app: FastifyInstance = Fastify({ logger: false, serverFactory: limits.serverFactory });
  const authByRequest = new WeakMap<FastifyRequest, RelayAuth>();

  app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: maxMessageBytes } });
    scope.get(
      "/sync",
      {
        websocket: true,
        preValidation: async (request, reply) => {
          const auth = await admitRequest(request, reply, limits.syncConnections(request.socket.remoteAddress));
          if (auth) authByRequest.set(request, auth);
        },
      },
      (socket: WebSocket, request) => {
        const auth = authByRequest.get(request);
        if (!auth) return socket.close(1008, "not admitted");
        limits.trackSync(request.socket.remoteAddress, socket);
        adapter.accept(socket, auth);
      },
    );
    // A summary request holds no sync connection open: only the limit on other connections applies.
    registerHeadsRoute(scope, { index: options.heads, servedCatalog: options.catalogUrl, admit: (request, reply) => admitRequest(request, reply, 0) });
    scope.get("/healthz", async () => ({ status: "ok" }));
  });
  app.addHook("onClose", async () => adapter.stop());

  return {
    adapter,
    async listen(withRepo, withMaterialize) {
      repo = withRepo;
      materialize = withMaterialize;
      try {
        await app.listen({ host: options.host, port: options.port });
      } catch (err) {
        throw new ShelfError("SHELF_E_RELAY_LISTEN", `cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`, "choose another --port (or --host), or stop the process that uses it");
      }
      const { port } = app.server.address() as AddressInfo;
      return `ws://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}/sync`;
    },
    peerCount: () => adapter.peerCount(),
    close: () => app.close(),
  };
}

const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest();

/** The relay's hints name relay commands; a served instance's peers need these instead. */
function servingHint(reason: string): string | undefined {
  if (reason === "no_token" || reason === "bad_token") return "this instance is served with a token: add the remote with `--token T`, T being the token given to `shelf serve`";
  if (reason === "not_loopback") return "this instance serves only its own machine; start it with `shelf serve --host HOST --token T`";
  return undefined;
}
