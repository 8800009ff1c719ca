/**
 * Relays and `shelf serve` peers (ws://, wss://). Only sync-catalog.ts is imported here: it loads
 * Automerge and the WebSocket exchange lazily, so a sync with nothing changed loads neither.
 */
import { joinCatalog, syncCatalog } from "./sync-catalog.js";
import type { Transport } from "./transport.js";

export const relayTransport: Transport = {
  kind: "relay",
  // a relay keeps its own storage compact
  compacts: false,
  sync: (instance, catalog, remote, { timeoutMs, onProgress }) => syncCatalog(instance, catalog, remote, { timeoutMs, onProgress }),
  join: (instance, url, name, remote, { timeoutMs, onProgress }) => joinCatalog(instance, url, name, remote, { timeoutMs, onProgress }),
};
