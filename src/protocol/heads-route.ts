/**
 * `GET /sync/heads`: the heads summary route (heads-summary.ts), the same on the relay and on
 * `shelf serve`. The caller admits the request with the rules a sync connection gets (the same
 * token reaches the same catalog); a token's catalog is the only one it can ask about.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { RelayAuth } from "./admission.js";
import { summarize, type HeadsIndex } from "./heads-summary.js";

const CATALOG_URL = /^automerge:([1-9A-HJ-NP-Za-km-z]+)$/;

export interface HeadsRouteOptions {
  index: HeadsIndex;
  /** Admits the request, or answers the refusal itself and returns undefined. */
  admit(request: FastifyRequest, reply: FastifyReply): Promise<RelayAuth | undefined>;
  /** called before a catalog is summarized, to bring the index up to date (relay) */
  prepare?(rootId: string): Promise<void>;
  /** the only catalog served (`shelf serve`); a relay without tokens answers for any it holds */
  servedCatalog?: string;
}

export function registerHeadsRoute(app: FastifyInstance, options: HeadsRouteOptions): void {
  app.get("/sync/heads", async (request, reply) => {
    const auth = await options.admit(request, reply);
    if (!auth) return reply;
    const query = (request.query ?? {}) as Record<string, unknown>;
    const asked = typeof query.catalog === "string" ? query.catalog : undefined;
    const catalogUrl = auth.kind === "token" ? auth.catalogUrl : (options.servedCatalog ?? asked);
    if (asked !== undefined && asked !== catalogUrl) {
      return reply.code(403).send({ error: { code: "SHELF_E_RELAY_FORBIDDEN", message: "this token (or this server) is for another catalog", hint: "ask about the catalog the token was created for" } });
    }
    const rootId = catalogUrl === undefined ? undefined : CATALOG_URL.exec(catalogUrl)?.[1];
    if (catalogUrl === undefined || rootId === undefined) {
      return reply.code(400).send({ error: { code: "SHELF_E_USAGE", message: "name the catalog: ?catalog=automerge:...", hint: "a relay without tokens serves every catalog it holds" } });
    }
    const since = typeof query.since === "string" && /^\d{1,15}$/.test(query.since) ? Number(query.since) : 0;
    const access = auth.kind === "token" && auth.readOnly ? "read-only" : "read-write";
    await options.prepare?.(rootId);
    return summarize(options.index, catalogUrl, rootId, since, access);
  });
}
