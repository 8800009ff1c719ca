/**
 * automerge-repo's WebSocket client adapter, made safe for a command-line process:
 * - send() on a socket that is not open drops the message instead of throwing (a throw inside
 *   automerge-repo's sync loop leaves the document unusable for the rest of the process);
 * - a failed connection (refused, 401 at the upgrade) is recorded, not thrown from an event
 *   listener, so the caller can report it;
 * - after disconnect() no reconnect timer can open a new socket, so the process can exit.
 */
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import WebSocket from "ws";

export class SafeClientAdapter extends WebSocketClientAdapter {
  #stopped = false;
  /** the last connection error, for the message the user sees */
  lastError: Error | undefined;

  override connect(...args: Parameters<WebSocketClientAdapter["connect"]>): void {
    if (!this.#stopped) super.connect(...args);
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
