/**
 * Connection limits the relay and `shelf serve` apply before any request is read, so that one
 * address cannot starve the others by opening connections and sending nothing (slowloris):
 *
 * - An address may hold `maxPerAddress` sync connections (WebSockets; the 429 is admission.ts's)
 *   and, besides them, `maxPerAddress` other connections: requests in progress, health checks,
 *   connections that have not finished their headers. A connection past that is closed at once,
 *   in the server's 'connection' event, before a byte of it is parsed.
 * - A request must finish its headers within `headerTimeoutMs` and arrive whole within
 *   `requestTimeoutMs` (Node's own headersTimeout / requestTimeout, checked every second at most
 *   rather than Node's 30 s); else Node answers 408 and closes it. An upgraded WebSocket has left
 *   the HTTP parser and is not concerned.
 *
 * Addresses are counted as the socket shows them: behind a reverse proxy every client is the
 * proxy, which must apply its own limits. IPv6 clients are counted per /64, the block one
 * host or subscriber usually holds.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface ConnectionLimitOptions {
  maxPerAddress: number;
  headerTimeoutMs: number;
  /** a connection over the limit was closed; `first` when its address was under the limit until now */
  onRefused?: (address: string, first: boolean) => void;
  /** a connection was closed for not finishing its request (headers or body) in time */
  onTimeout?: () => void;
}

/** Longest time a request (headers and body: sync routes take no body) may take to arrive. */
const MIN_REQUEST_TIMEOUT_MS = 30_000;

export class ConnectionLimits {
  readonly #options: ConnectionLimitOptions;
  /** every TCP connection, by address key */
  readonly #all = new Map<string, number>();
  /** upgraded sync connections, by address key */
  readonly #sync = new Map<string, number>();
  /** address keys refused since they last were under the limit */
  readonly #refusing = new Set<string>();

  constructor(options: ConnectionLimitOptions) {
    for (const [name, value] of [["maxPerAddress", options.maxPerAddress], ["headerTimeoutMs", options.headerTimeoutMs]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    this.#options = options;
  }

  /**
   * fastify's `serverFactory`: an HTTP server with these limits. (With a factory fastify binds one
   * address only, so no server it makes goes unguarded.)
   */
  readonly serverFactory = (handler: RequestListener<typeof IncomingMessage, typeof ServerResponse>): Server => {
    const headersTimeout = this.#options.headerTimeoutMs;
    const server = createServer(
      {
        headersTimeout,
        requestTimeout: Math.max(MIN_REQUEST_TIMEOUT_MS, headersTimeout),
        connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersTimeout / 4))),
      },
      handler,
    );
    server.on("connection", (socket: Socket) => this.#admit(socket));
    server.on("clientError", (err: NodeJS.ErrnoException) => {
      if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") this.#options.onTimeout?.();
    });
    return server;
  };

  /** Sync connections `address` holds now (admission refuses one more with 429 at the limit). */
  syncConnections(address: string | undefined): number {
    return this.#sync.get(addressKey(address)) ?? 0;
  }

  /** Counts an upgraded sync connection of `address` as such until it closes. */
  trackSync(address: string | undefined, socket: { on(event: "close", listener: () => void): unknown }): void {
    const key = addressKey(address);
    increment(this.#sync, key);
    socket.on("close", () => decrement(this.#sync, key));
  }

  #admit(socket: Socket): void {
    const key = addressKey(socket.remoteAddress);
    const others = (this.#all.get(key) ?? 0) - (this.#sync.get(key) ?? 0);
    if (others >= this.#options.maxPerAddress) {
      const first = !this.#refusing.has(key);
      this.#refusing.add(key);
      socket.destroy();
      this.#options.onRefused?.(key, first);
      return;
    }
    increment(this.#all, key);
    socket.once("close", () => {
      decrement(this.#all, key);
      if ((this.#all.get(key) ?? 0) - (this.#sync.get(key) ?? 0) < this.#options.maxPerAddress) this.#refusing.delete(key);
    });
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 0) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}

/**
 * What connections are counted under: an IPv4 address (IPv4-mapped IPv6 included), or the /64
 * prefix of an IPv6 one.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return "";
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address;
  const groups = expandIpv6(address.split("%")[0]!);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

/** The eight 16-bit groups of an IPv6 address, as hex without leading zeros; undefined if malformed. */
function expandIpv6(address: string): string[] | undefined {
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  // an embedded IPv4 tail (::1.2.3.4) stands for two groups
  const parts = (half: string) => (half === "" ? [] : half.split(":").flatMap((p) => (p.includes(".") ? ["0", "0"] : [p])));
  const head = parts(halves[0]!);
  const tail = halves.length === 2 ? parts(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16).toString(16));
}
