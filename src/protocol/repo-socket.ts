/**
 * A client connection that speaks automerge-repo's WebSocket protocol (version 1) without a Repo:
 * CBOR frames, a "join" answered by the server's "peer", then document messages both ways. What
 * `shelf sync` and `join` use, since they exchange a few documents and end: automerge-repo's
 * Repo and client adapter cost CPU per document (a state machine per handle) and keep a
 * one-second fallback timer per connect that holds a finished process.
 *
 * - The server's access answer (ACCESS_HEADER on the upgrade) is kept in `access`.
 * - A failed connection is recorded in `lastError`, never thrown from a listener.
 * - A close for a protocol or policy reason (the server refused what it was sent) is reported
 *   through `onRefused` and not retried; any other close is retried after `retryMs`, and the
 *   server answers the new join under its current peer id (a restarted server has a new one).
 */
import { decode, Encoder } from "cbor-x";
import WebSocket from "ws";
import { ACCESS_HEADER, type RemoteAccess } from "./access-header.js";

/** A document message of automerge-repo's protocol (sync, request, doc-unavailable, ephemeral...). */
export interface RepoMessage {
  type: string;
  senderId: string;
  targetId: string;
  documentId?: string;
  data?: Uint8Array;
  [key: string]: unknown;
}

const REFUSING_CLOSE_CODES = new Set([1002, 1003, 1008, 1009]);
// automerge-repo's own encoding: byte strings untagged, no record extension.
const encoder = new Encoder({ tagUint8Array: false, useRecords: false });

export interface RepoSocketOptions {
  peerId: string;
  /** wait before reconnecting after a lost connection */
  retryMs: number;
  onRefused: (code: number, reason: string) => void;
  /** the server answered a join: a (re)connection is ready under `remotePeerId` */
  onPeer: (remotePeerId: string) => void;
  onMessage: (message: RepoMessage) => void;
}

export class RepoSocket {
  readonly #url: string;
  readonly #options: RepoSocketOptions;
  #socket: WebSocket | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** the server's peer id on the current connection; undefined while not joined */
  remotePeerId: string | undefined;
  access: RemoteAccess | undefined;
  lastError: Error | undefined;
  /** a connection was joined at least once */
  joinedOnce = false;

  constructor(url: string, options: RepoSocketOptions) {
    this.#url = url;
    this.#options = options;
    this.#connect();
  }

  /** Sends a message on the current connection; false when there is none (it is dropped). */
  send(message: { type: string; documentId?: string; data?: Uint8Array }): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || this.remotePeerId === undefined) return false;
    socket.send(encoder.encode({ ...message, senderId: this.#options.peerId, targetId: this.remotePeerId }));
    return true;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    const socket = this.#socket;
    this.#socket = undefined;
    this.remotePeerId = undefined;
    if (!socket) return;
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close();
  }

  #connect(): void {
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.binaryType = "nodebuffer";
    socket.on("upgrade", (response) => {
      const access = response.headers[ACCESS_HEADER.toLowerCase()];
      this.access = access === "read-only" || access === "read-write" ? access : undefined;
    });
    socket.on("open", () => {
      socket.send(encoder.encode({ type: "join", senderId: this.#options.peerId, peerMetadata: { isEphemeral: true }, supportedProtocolVersions: ["1"] }));
    });
    socket.on("message", (bytes: Buffer, isBinary: boolean) => {
      if (socket !== this.#socket || !isBinary) return;
      let message: RepoMessage;
      try {
        message = decode(bytes) as RepoMessage;
      } catch {
        return;
      }
      if (typeof message !== "object" || message === null) return;
      if (message.type === "peer") {
        this.remotePeerId = String(message.senderId);
        this.joinedOnce = true;
        this.#options.onPeer(this.remotePeerId);
      } else if (message.type === "error") {
        this.lastError = new Error(`the server said: ${String(message.message)}`);
      } else if (message.senderId === this.remotePeerId) {
        this.#options.onMessage(message);
      }
    });
    socket.on("error", (error) => {
      this.lastError = error;
    });
    socket.on("close", (code, reason) => {
      if (REFUSING_CLOSE_CODES.has(code)) this.#options.onRefused(code, reason.toString());
      if (socket !== this.#socket) return;
      this.remotePeerId = undefined;
      if (this.#closed || REFUSING_CLOSE_CODES.has(code)) return;
      this.#retry = setTimeout(() => {
        if (!this.#closed) this.#connect();
      }, this.#options.retryMs);
    });
  }
}
