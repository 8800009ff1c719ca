/**
 * What the relay and `shelf serve` read off a sync request the same way: its token, whether it
 * came through a proxy, and the limits both apply by default.
 */
import type { FastifyRequest } from "fastify";

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;
/** Time a request has to send its headers: enough for any real client, little for a slowloris. */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;

/** The request names a client behind a proxy: its socket address is not the client's. */
export function viaProxy(request: FastifyRequest): boolean {
  return request.headers.forwarded !== undefined || request.headers["x-forwarded-for"] !== undefined;
}

/** The token from ?token= or an Authorization: Bearer header; undefined when none or empty. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.token;
  const fromHeader = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
  const token = typeof fromQuery === "string" ? fromQuery : fromHeader;
  return token ? token : undefined;
}

/** A URL without its query string, which may hold a token. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q) + "?[redacted]";
}
