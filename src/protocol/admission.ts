/**
 * Who may open a sync connection, decided before the WebSocket upgrade from what the HTTP request
 * shows: its token, its address, and how many connections that address already holds.
 *
 * - A relay with tokens requires a valid one from everyone, on loopback too.
 * - A relay without tokens serves only loopback clients (127.0.0.0/8, ::1, ::ffff:127.x), unless
 *   started with allowRemoteWithoutTokens. A request that came through a proxy (it carries
 *   Forwarded or X-Forwarded-For) is not taken for a loopback one, whatever its socket says.
 */
import type { ErrorCode } from "../errors.js";

/** What a token gives: one catalog, read-write or read-only. */
export interface TokenGrant {
  id: number;
  /** automerge:<root document id> */
  catalogUrl: string;
  readOnly: boolean;
}

/** What a connection may do: everything (a relay without tokens), or one catalog by token. */
export type RelayAuth = { kind: "open" } | ({ kind: "token" } & TokenGrant);

/** Why a connection was refused or closed (connection_limit and header_timeout: connection-limits.ts). */
export type RejectReason = "no_token" | "bad_token" | "not_loopback" | "too_many" | "connection_limit" | "header_timeout" | "malformed" | "oversized";

export interface ConnectionRequest {
  /** the bearer token, undefined when none (or an empty one) was given */
  token: string | undefined;
  remoteAddress: string | undefined;
  /** the request names a client behind a proxy (Forwarded / X-Forwarded-For headers) */
  forwarded: boolean;
  /** sync connections this address holds open now */
  openConnections: number;
}

export interface AdmissionPolicy {
  tokenCount(): number;
  verify(token: string): TokenGrant | undefined;
  maxConnectionsPerAddress: number;
  allowRemoteWithoutTokens: boolean;
}

export type Admission =
  | { ok: true; auth: RelayAuth }
  | { ok: false; status: 401 | 403 | 429; reason: RejectReason; error: { code: ErrorCode; message: string; hint: string } };

export function admit(request: ConnectionRequest, policy: AdmissionPolicy): Admission {
  let auth: RelayAuth;
  if (policy.tokenCount() > 0 || request.token !== undefined) {
    if (request.token === undefined) {
      return refuse(401, "no_token", "SHELF_E_RELAY_UNAUTHORIZED", "this relay requires a token", "add ?token=TOKEN to the relay URL (create one on the relay host with `shelf relay token create --catalog URL`)");
    }
    const grant = policy.verify(request.token);
    if (!grant) {
      return refuse(401, "bad_token", "SHELF_E_RELAY_UNAUTHORIZED", "the relay does not know this token", "check the token, or create a new one on the relay host with `shelf relay token create --catalog URL`");
    }
    auth = { kind: "token", ...grant };
  } else {
    if (!policy.allowRemoteWithoutTokens && (request.forwarded || !isLoopback(request.remoteAddress))) {
      return refuse(403, "not_loopback", "SHELF_E_RELAY_FORBIDDEN", "this relay has no tokens, so it serves only clients on its own machine", "create a token on the relay host with `shelf relay token create --catalog URL` and add ?token=TOKEN to the relay URL");
    }
    auth = { kind: "open" };
  }
  if (request.openConnections >= policy.maxConnectionsPerAddress) {
    return refuse(429, "too_many", "SHELF_E_RELAY_BUSY", `this address already holds ${request.openConnections} connections to the relay`, "close other clients on this machine, or raise the relay's --max-connections-per-address");
  }
  return { ok: true, auth };
}

/** 127.0.0.0/8, ::1, and IPv4-mapped 127.x (::ffff:127.0.0.1). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return address === "::1" || address === "0:0:0:0:0:0:0:1";
}

/** Which principal a connection speaks for: two connections may share a peer id only if equal. */
export function principalOf(auth: RelayAuth): string {
  return auth.kind === "open" ? "open" : `token:${auth.id}`;
}

function refuse(status: 401 | 403 | 429, reason: RejectReason, code: ErrorCode, message: string, hint: string): Admission {
  return { ok: false, status, reason, error: { code, message, hint } };
}
