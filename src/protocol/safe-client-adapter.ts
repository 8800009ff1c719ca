/**
 * automerge-repo's WebSocket client adapter, made safe for a command-line process:
 * - send() on a socket that is not open drops the message instead of throwing (a throw inside
 *   automerge-repo's sync loop leaves the document unusable for the rest of the process);
 * - a failed connection (refused, 401 at the upgrade) is recorded, not thrown from an event
 *   listener, so the caller can report it;
 * - after disconnect() no reconnect timer can open a new socket, so the process can exit;
 * - a close by the server for a protocol or policy reason (1002, 1003, 1008, 1009: the relay
 *   refused what it was sent) is reported through `onRefused` rather than retried for ever.
 *
 * With `backoff` set (the daemon), reconnection waits grow: the base adapter retries on a fixed
 * timer (`retryInterval`, created once per outage), so here every attempt is gated: after each
 * close or failed attempt the next one waits the current delay (±jitter), and the delay doubles up
 * to `maxMs`; an open connection sets it back to `initialMs`.
 */
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import WebSocket from "ws";
import { ACCESS_HEADER, type RemoteAccess } from "./access-header.js";

const REFUSING_CLOSE_CODES = new Set([1002, 1003, 1008, 1009]);
/** An attempt still connecting after this long is abandoned for a new one. */
const STALE_ATTEMPT_MS = 20_000;

export interface ReconnectBackoff {
  initialMs: number;
  maxMs: number;
  /** 0.2 = each wait is the delay ±20% */
  jitter: number;
}

export interface ConnectionClosed {
  /** the socket had opened (a connection was lost) rather than failed to connect */
  wasOpen: boolean;
  code: number;
  reason: string;
  /** the error of a failed attempt, if the socket reported one */
  error: Error | undefined;
  /** when the next attempt will be made (with backoff) */
  retryInMs: number;
}

export class SafeClientAdapter extends WebSocketClientAdapter {
  #stopped = false;
  readonly #onRefused: ((code: number, reason: string) => void) | undefined;
  /** the last connection error, for the message the user sees */
  lastError: Error | undefined;
  /** reconnect with exponential backoff and jitter instead of a fixed interval */
  backoff: ReconnectBackoff | undefined;
  /** what the remote said this client may do, once connected (undefined: it did not say) */
  access: RemoteAccess | undefined;
  /** called after each close of a socket, opened or not */
  onClosed: ((info: ConnectionClosed) => void) | undefined;
  #delayMs = 0;
  #nextAttemptAt = 0;
  #attemptStartedAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(url: string, retryInterval?: number, onRefused?: (code: number, reason: string) => void) {
    super(url, retryInterval);
    this.#onRefused = onRefused;
  }

  override connect(...args: Parameters<WebSocketClientAdapter["connect"]>): void {
    if (this.#stopped) return;
    if (this.backoff && !this.#mayAttempt(args)) return;
    const previous = this.socket;
    // A one-shot sync reports the first failure; the daemon reports each attempt's own.
    if (this.backoff) this.lastError = undefined;
    this.#attemptStartedAt = Date.now();
    super.connect(...args);
    // The base adapter drops its listeners from an abandoned socket without closing it.
    if (previous && previous !== this.socket && previous.readyState === WebSocket.CONNECTING) {
      previous.addEventListener("error", () => {});
      previous.close();
    }
    const socket = this.socket;
    if (!socket) return;
    let opened = false;
    (socket as unknown as WebSocket).on("upgrade", (response) => {
      const access = response.headers[ACCESS_HEADER.toLowerCase()];
      this.access = access === "read-only" || access === "read-write" ? access : undefined;
    });
    socket.addEventListener("open", () => {
      opened = true;
      if (this.backoff) {
        this.#delayMs = this.backoff.initialMs;
        this.#nextAttemptAt = 0;
      }
    });
    socket.addEventListener("close", (event) => {
      if (REFUSING_CLOSE_CODES.has(event.code)) this.#onRefused?.(event.code, String(event.reason ?? ""));
      if (socket !== this.socket || this.#stopped) return;
      let retryInMs = this.retryInterval;
      if (this.backoff) {
        const { initialMs, maxMs, jitter } = this.backoff;
        const delay = this.#delayMs || initialMs;
        retryInMs = Math.round(delay * (1 + jitter * (2 * Math.random() - 1)));
        this.#nextAttemptAt = Date.now() + retryInMs;
        this.#delayMs = Math.min(maxMs, delay * 2);
        this.#scheduleRetry(args, retryInMs);
      }
      this.onClosed?.({ wasOpen: opened, code: event.code, reason: String(event.reason ?? ""), error: this.lastError, retryInMs });
    });
  }

  /** With backoff: whether an attempt may start now; if not, makes sure one is scheduled. */
  #mayAttempt(args: Parameters<WebSocketClientAdapter["connect"]>): boolean {
    const now = Date.now();
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) return false;
    if (socket && socket.readyState === WebSocket.CONNECTING && now - this.#attemptStartedAt < STALE_ATTEMPT_MS) return false;
    if (now < this.#nextAttemptAt) {
      this.#scheduleRetry(args, this.#nextAttemptAt - now);
      return false;
    }
    // Until this attempt ends, the base adapter's retry timer must not start another one.
    this.#nextAttemptAt = now + STALE_ATTEMPT_MS;
    return true;
  }

  #scheduleRetry(args: Parameters<WebSocketClientAdapter["connect"]>, inMs: number): void {
    if (this.#retryTimer || this.#stopped) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.connect(...args);
    }, inMs);
  }

  override disconnect(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    // Closing a socket that is still connecting makes ws emit "error" after the base adapter has
    // removed its listener: unheard, that error would end the process.
    (this.socket as unknown as WebSocket | undefined)?.on("error", () => {});
    if (this.socket) super.disconnect();
  }

  override send(message: Parameters<WebSocketClientAdapter["send"]>[0]): void {
    if (this.socket && this.socket.readyState !== WebSocket.OPEN) return;
    super.send(message);
  }

  override onError = (event: unknown): void => {
    const error = (event as { error?: unknown }).error;
    this.lastError = error instanceof Error ? error : new Error(String((event as { message?: string }).message ?? "connection failed"));
  };
}
