/**
 * Who may use the app, and which requests it believes.
 *
 * - Admission, as `shelf serve`: without --token only clients on this machine are served (and no
 *   request that came through a proxy); with one, only a browser that presented it once
 *   (`?token=`, then a SameSite=Strict cookie) or sends it as a bearer token.
 * - Host: a request must name this server (its loopback names and port), so a page on another
 *   site cannot reach it through DNS rebinding.
 * - Forms: every POST must come from this origin (Origin, else Referer, else Sec-Fetch-Site) and
 *   carry the per-run token each form holds; a page from another site can do neither.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { admit, isLoopback } from "../protocol/admission.js";
import { tokenOf, viaProxy } from "../protocol/sync-request.js";
import { ShelfError } from "../errors.js";

/** Shorter tokens are guessable (the rule of `shelf serve`). */
export const MIN_UI_TOKEN_LENGTH = 16;
/** The form field and header that carry the per-run token. */
export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-shelf-csrf";
const TOKEN_COOKIE = "shelf_ui_token";

export interface SecurityOptions {
  /** the address listened on */
  host: string;
  /** the shared secret a browser must present; required when `host` is not a loopback address */
  token?: string;
}

/** Refuses a configuration that would open the catalog to anyone on the network. */
export function checkUiOptions(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_UI_TOKEN_LENGTH) {
    throw new ShelfError("SHELF_E_USAGE", `the ui token must be at least ${MIN_UI_TOKEN_LENGTH} characters`, "make one with `openssl rand -hex 16`");
  }
  if (!isLoopbackHost(host) && token === undefined) {
    throw new ShelfError(
      "SHELF_E_USAGE",
      `serving the app on ${host} without a token would let anyone who reaches this machine read and change the catalog`,
      "start it with `shelf ui --host HOST --token T` (or SHELF_UI_TOKEN=T) and open http://HOST:PORT/?token=T",
    );
  }
}

const isLoopbackHost = (host: string): boolean => host === "localhost" || isLoopback(host);

export class UiSecurity {
  /** put in every form; new for every run of `shelf ui` */
  readonly csrfToken = randomBytes(24).toString("base64url");
  readonly #expected: Buffer | undefined;
  readonly #host: string;
  #port = 0;

  constructor(options: SecurityOptions) {
    checkUiOptions(options.host, options.token);
    this.#host = options.host;
    this.#expected = options.token === undefined ? undefined : digest(options.token);
  }

  /** Set once listening: the port is part of every name the server answers to. */
  setPort(port: number): void {
    this.#port = port;
  }

  /** The Host header values this server answers: its loopback names, or any name when a token guards it. */
  hostAllowed(hostHeader: string | undefined): boolean {
    if (this.#expected) return true;
    if (!hostHeader) return false;
    const names = ["127.0.0.1", "localhost", "[::1]", this.#host.includes(":") ? `[${this.#host}]` : this.#host];
    return names.some((name) => hostHeader.toLowerCase() === `${name}:${this.#port}`);
  }

  /**
   * The onRequest hook: answers (and so stops) a request that may not be served. A token given as
   * ?token= is kept in a cookie and the browser sent on to the same page without it.
   */
  async guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!this.hostAllowed(request.headers.host)) {
      return void reply.code(421).type("text/plain; charset=utf-8").send("shelf ui answers only to its own address: open it at the URL `shelf ui` printed\n");
    }
    const queryToken = new URL(request.url, "http://x").searchParams.get("token") ?? undefined;
    const presented = queryToken || cookieOf(request, TOKEN_COOKIE) || tokenOf(request);
    const decision = admit(
      { token: this.#expected ? presented : undefined, remoteAddress: request.socket.remoteAddress, forwarded: viaProxy(request), openConnections: 0 },
      {
        tokenCount: () => (this.#expected ? 1 : 0),
        verify: (token) => (this.#expected && timingSafeEqual(digest(token), this.#expected) ? { id: 0, catalogUrl: "", readOnly: false } : undefined),
        maxConnectionsPerAddress: Number.MAX_SAFE_INTEGER,
        allowRemoteWithoutTokens: false,
      },
    );
    if (!decision.ok) {
      const message = this.#expected
        ? "this app needs its token\nhint: open it as http://HOST:PORT/?token=T, T being the token given to `shelf ui --token`"
        : "this app serves only its own machine\nhint: start it with `shelf ui --host HOST --token T` to reach it from elsewhere";
      return void reply.code(decision.status).type("text/plain; charset=utf-8").send(`${message}\n`);
    }
    if (this.#expected && queryToken && request.method === "GET") {
      const url = new URL(request.url, "http://x");
      url.searchParams.delete("token");
      reply.header("set-cookie", `${TOKEN_COOKIE}=${encodeURIComponent(queryToken)}; Path=/; HttpOnly; SameSite=Strict`);
      return void reply.redirect(url.pathname + url.search, 303);
    }
  }

  /** Whether a state-changing request came from one of this app's own pages. */
  sameOrigin(request: FastifyRequest): boolean {
    const fetchSite = request.headers["sec-fetch-site"];
    if (typeof fetchSite === "string" && fetchSite !== "same-origin" && fetchSite !== "none") return false;
    const origin = request.headers.origin ?? refererOrigin(request.headers.referer);
    // No browser leaves all three out of a cross-site POST; a script must still hold the form token.
    if (origin === undefined) return true;
    return origin === `${request.protocol}://${request.headers.host}`;
  }

  /** Whether `presented` is this run's form token. */
  csrfValid(presented: unknown): boolean {
    if (typeof presented !== "string") return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(this.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest();

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return "invalid";
  }
}

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
