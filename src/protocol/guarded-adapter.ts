/**
 * automerge-repo's WebSocket server adapter, hardened for a relay that untrusted clients reach:
 *
 * - Every frame is decoded and its shape checked before automerge-repo sees it: the stock adapter
 *   throws (and ends the process) on some malformed frames. A connection that sends something that
 *   is not an automerge-repo message is closed with 1003, and only that connection.
 * - Each connection carries the RelayAuth it was admitted with. A peer id belongs to the connection
 *   that joined with it: a join that takes the peer id of another principal is refused (1008), and
 *   messages whose senderId is not the connection's own peer are dropped.
 * - Read-only connections cannot change anything: sync and request messages that carry changes,
 *   and ephemeral messages, are dropped.
 * - Outgoing messages wait for `beforeSend`, in order per connection: the relay uses it to write a
 *   document to disk before it tells a peer which heads it has, so an acknowledged change is stored.
 *   When that fails the message is not sent and the connection is closed, so the peer reconnects
 *   instead of waiting for an answer that will not come.
 *
 * The stock adapter listens to a ws server's "connection" and "close" events. Here that "server" is
 * a small hub fed by the fastify route (accept()), so a socket reaches automerge-repo only after
 * the route admitted it, and stop() (on fastify's onClose) ends the keep-alive timer.
 */
import { EventEmitter } from "node:events";
import * as A from "@automerge/automerge";
import { cbor, isValidDocumentId, type Message, type PeerId } from "@automerge/automerge-repo";
import { ProtocolV1, WebSocketServerAdapter, type FromServerMessage } from "@automerge/automerge-repo-network-websocket";
import WebSocket from "ws";
import { principalOf, type RelayAuth } from "./admission.js";

export interface AdapterLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface GuardedAdapterOptions {
  /** awaited before each outgoing message (in order per connection); a rejection drops the message */
  beforeSend?: (message: FromServerMessage) => Promise<void>;
  /** every frame in and every message out, with its size, document and peer (when known) */
  onTraffic?: (direction: "in" | "out", bytes: number, documentId: string | undefined, peer: PeerId | undefined) => void;
  /** a connection closed for what it sent */
  onMalformed?: (why: string) => void;
  log?: AdapterLog;
  keepAliveMs?: number;
  /** peer ids no client may join with (the upstream relay's): true refuses the join (1008) */
  isReservedPeerId?: (peerId: PeerId) => boolean;
}

/** WebSocket close codes the relay uses. */
export const CLOSE = { protocolError: 1002, unsupportedData: 1003, policyViolation: 1008 } as const;

const MAX_PEER_ID_LENGTH = 256;
/**
 * How often each client is pinged; one that has not answered the previous ping is cut off.
 * Generous, because a client busy applying a large catalog may not answer for seconds.
 */
export const DEFAULT_KEEP_ALIVE_MS = 30_000;

type Hub = EventEmitter & { clients: Set<WebSocket> };
type KeptAlive = WebSocket & { isAlive?: boolean };

/**
 * The hub's client set, which the base adapter's keep-alive walks every interval: a socket that
 * has not answered the last ping is cut off. When that walk comes late, this process was busy (a
 * large document being merged blocks it for seconds), and pongs that arrived meanwhile are not read
 * yet: every client gets the benefit of the doubt for that round instead of being cut off.
 */
class KeepAliveClients extends Set<WebSocket> {
  readonly #intervalMs: number;
  #lastWalk = Date.now();

  constructor(intervalMs: number) {
    super();
    this.#intervalMs = intervalMs;
  }

  override forEach(callback: (socket: WebSocket, again: WebSocket, set: Set<WebSocket>) => void, thisArg?: unknown): void {
    const now = Date.now();
    if (now - this.#lastWalk > this.#intervalMs * 1.5) for (const socket of this) (socket as KeptAlive).isAlive = true;
    this.#lastWalk = now;
    super.forEach(callback, thisArg);
  }
}

export class GuardedServerAdapter extends WebSocketServerAdapter {
  readonly #hub: Hub;
  readonly #options: GuardedAdapterOptions;
  readonly #authBySocket = new WeakMap<WebSocket, RelayAuth>();
  readonly #peerOfSocket = new WeakMap<WebSocket, PeerId>();
  readonly #peers = new Map<PeerId, { auth: RelayAuth; socket: WebSocket }>();
  readonly #outbox = new WeakMap<WebSocket, Promise<void>>();

  constructor(options: GuardedAdapterOptions = {}) {
    const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
    const hub: Hub = Object.assign(new EventEmitter(), { clients: new KeepAliveClients(keepAliveMs) });
    super(hub as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0], keepAliveMs);
    this.#hub = hub;
    this.#options = options;
  }

  /** Hands an admitted, upgraded socket to automerge-repo. Call it synchronously in the route. */
  accept(socket: WebSocket, auth: RelayAuth): void {
    this.#authBySocket.set(socket, auth);
    this.#hub.clients.add(socket);
    const openedAt = Date.now();
    socket.on("close", (code, reason) => {
      // 1006 without a reason: the keep-alive cut it off, or the network dropped it
      this.#options.log?.info({ peerId: this.#peerOfSocket.get(socket), code, reason: reason.toString("utf8"), openForMs: Date.now() - openedAt }, "connection closed");
      this.#hub.clients.delete(socket);
      const peerId = this.#peerOfSocket.get(socket);
      if (peerId !== undefined && this.#peers.get(peerId)?.socket === socket) this.#peers.delete(peerId);
    });
    // Registered before the base adapter's listener, so a text frame closes the socket first and
    // receiveMessage then ignores it.
    socket.on("message", (_data, isBinary) => {
      if (!isBinary) this.#reject(socket, CLOSE.unsupportedData, "text frames are not accepted");
    });
    this.#hub.emit("connection", socket);
  }

  /** Closes every connection and stops the keep-alive timer. */
  stop(): void {
    this.#hub.emit("close");
  }

  /** The auth of a joined peer, for the relay's access decisions. */
  authOf(peerId: PeerId): RelayAuth | undefined {
    return this.#peers.get(peerId)?.auth;
  }

  peerCount(): number {
    return Object.keys(this.sockets).length;
  }

  override receiveMessage(bytes: Uint8Array, socket: WebSocket): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    // a client that speaks is alive, whether or not its last pong has been read yet
    (socket as KeptAlive).isAlive = true;
    const frame = parseFrame(bytes);
    // the peer this socket joined as, never the frame's own claim
    this.#options.onTraffic?.("in", bytes.byteLength, typeof frame === "string" ? undefined : frame.documentId, this.#peerOfSocket.get(socket));
    if (typeof frame === "string") return this.#reject(socket, CLOSE.unsupportedData, frame);
    const auth = this.#authBySocket.get(socket);
    if (!auth) return this.#reject(socket, CLOSE.policyViolation, "connection was not admitted");
    const { senderId } = frame;

    if (frame.kind === "join") {
      if (frame.protocols !== undefined && !frame.protocols.includes(ProtocolV1)) {
        return this.#reject(socket, CLOSE.protocolError, `unsupported protocol version; this relay speaks ${ProtocolV1}`);
      }
      if (this.#options.isReservedPeerId?.(senderId)) return this.#reject(socket, CLOSE.policyViolation, "peer id in use by another client");
      const own = this.#peerOfSocket.get(socket);
      if (own !== undefined && own !== senderId) return this.#reject(socket, CLOSE.policyViolation, "one peer id per connection");
      const holder = this.#peers.get(senderId);
      if (holder && holder.socket !== socket && principalOf(holder.auth) !== principalOf(auth)) {
        return this.#reject(socket, CLOSE.policyViolation, "peer id in use by another client");
      }
      // Before super: it announces the peer to the repo synchronously, and access checks need it.
      this.#peers.set(senderId, { auth, socket });
      this.#peerOfSocket.set(socket, senderId);
      return super.receiveMessage(bytes, socket);
    }
    // Only the peer that joined on this socket may speak on it (the base adapter's rule too).
    if (this.sockets[senderId] !== socket) return;
    if (frame.kind === "ignored") return;
    // A read-only peer's message that would change a document is dropped whole: with its changes
    // stripped, the relay would ask for them again and again.
    if (auth.kind === "token" && auth.readOnly && (frame.type === "ephemeral" || frame.changes > 0)) return;
    this.emit("message", frame.message);
  }

  override send(message: FromServerMessage): void {
    if ("data" in message && (message.data as Uint8Array | undefined)?.byteLength === 0) return;
    const socket = this.sockets[message.targetId];
    if (!socket) return;
    const previous = this.#outbox.get(socket) ?? Promise.resolve();
    const next = previous
      .then(() => this.#options.beforeSend?.(message))
      .then(() => {
        if (socket.readyState !== WebSocket.OPEN) return;
        const encoded = cbor.encode(message);
        // a copy: ws may hold the buffer after send() returns, and cbor-x reuses its own
        const bytes = encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.byteLength);
        this.#options.onTraffic?.("out", encoded.byteLength, "documentId" in message ? (message.documentId as string) : undefined, message.targetId);
        socket.send(bytes);
      })
      .catch((err: unknown) => {
        this.#options.log?.warn({ err, type: message.type }, "relay message not sent");
        // The peer would wait for this answer until its own timeout: closing makes it reconnect
        // and ask again, once what could not be stored is stored.
        if (socket.readyState === WebSocket.OPEN) socket.close(1011, "could not store a document");
      });
    this.#outbox.set(socket, next);
  }

  #reject(socket: WebSocket, code: number, why: string): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    this.#options.onMalformed?.(why);
    this.#options.log?.warn({ peerId: this.#peerOfSocket.get(socket), why }, "closing a relay connection");
    socket.close(code, why);
  }
}

type Frame =
  | { kind: "join"; type: "join"; senderId: PeerId; protocols: string[] | undefined; documentId?: undefined }
  | { kind: "repo"; type: string; senderId: PeerId; documentId: string | undefined; changes: number; message: Message }
  | { kind: "ignored"; type: string; senderId: PeerId; documentId?: undefined };

/** Decodes and checks one frame; a string says why it is not an automerge-repo message. */
export function parseFrame(bytes: Uint8Array): Frame | string {
  let decoded: unknown;
  try {
    decoded = cbor.decode(bytes);
  } catch {
    return "not CBOR";
  }
  if (!isRecord(decoded)) return "not a message";
  const { type, senderId } = decoded;
  if (typeof type !== "string") return "message without a type";
  if (typeof senderId !== "string" || senderId === "" || senderId.length > MAX_PEER_ID_LENGTH) return "message without a valid senderId";
  const peer = senderId as PeerId;
  switch (type) {
    case "join": {
      const { peerMetadata, supportedProtocolVersions } = decoded;
      if (supportedProtocolVersions !== undefined && !(Array.isArray(supportedProtocolVersions) && supportedProtocolVersions.every((v) => typeof v === "string"))) {
        return "join with invalid supportedProtocolVersions";
      }
      if (peerMetadata !== undefined && !validPeerMetadata(peerMetadata)) return "join with invalid peerMetadata";
      return { kind: "join", type, senderId: peer, protocols: supportedProtocolVersions as string[] | undefined };
    }
    case "sync":
    case "request":
    case "ephemeral": {
      const { documentId, data } = decoded;
      if (typeof documentId !== "string" || !isValidDocumentId(documentId)) return `${type} message with an invalid documentId`;
      if (!(data instanceof Uint8Array) || data.byteLength === 0) return `${type} message without data`;
      let changes = 0;
      if (type === "ephemeral") {
        if (typeof decoded.sessionId !== "string" || typeof decoded.count !== "number") return "ephemeral message without sessionId or count";
      } else {
        try {
          changes = A.decodeSyncMessage(data).changes.length;
        } catch {
          return `${type} message with undecodable sync data`;
        }
      }
      return { kind: "repo", type, senderId: peer, documentId, changes, message: decoded as unknown as Message };
    }
    case "doc-unavailable": {
      const { documentId } = decoded;
      if (typeof documentId !== "string" || !isValidDocumentId(documentId)) return "doc-unavailable message with an invalid documentId";
      return { kind: "repo", type, senderId: peer, documentId, changes: 0, message: decoded as unknown as Message };
    }
    default:
      // remote-heads gossip (disabled on the relay), leave, and types of later protocol versions
      return { kind: "ignored", type, senderId: peer };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function validPeerMetadata(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const { storageId, isEphemeral } = value;
  if (storageId !== undefined && !(typeof storageId === "string" && storageId.length > 0 && storageId.length <= 128)) return false;
  if (isEphemeral !== undefined && typeof isEphemeral !== "boolean") return false;
  return true;
}
