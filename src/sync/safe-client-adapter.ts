/**
 * automerge-repo's WebSocket client adapter, made safe for a command-line process:
 * - send() on a socket that is not open drops the message instead of throwing (a throw inside
 *   automerge-repo's sync loop leaves the document unusable for the rest of the process);
 * - a failed connection (refused, 401 at the upgrade) is recorded, not thrown from an event
 *   listener, so the caller can report it;
 * - after disconnect() no reconnect timer can open a new socket, so the process can exit;
 * - a close by the server for a protocol or policy reason (1002, 1003, 1008, 1009: the relay
 *   refused what it was sent) is reported through `onRefused` rather than retried for ever.
 */
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import WebSocket from "ws";

const REFUSING_CLOSE_CODES = new Set([1002, 1003, 1008, 1009]);

export class SafeClientAdapter extends WebSocketClientAdapter {
  #stopped = false;
  readonly #onRefused: ((code: number, reason: string) => void) | undefined;
  /** the last connection error, for the message the user sees */
  lastError: Error | undefined;

  constructor(url: string, retryInterval?: number, onRefused?: (code: number, reason: string) => void) {
    super(url, retryInterval);
    this.#onRefused = onRefused;
  }

  override connect(...args: Parameters<WebSocketClientAdapter["connect"]>): void {
    if (this.#stopped) return;
    super.connect(...args);
    this.socket?.addEventListener("close", (event) => {
      if (REFUSING_CLOSE_CODES.has(event.code)) this.#onRefused?.(event.code, String(event.reason ?? ""));
    });
  }

  override disconnect(): void {
    this.#stopped = true;
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
