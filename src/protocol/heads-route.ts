/**
 * `GET /sync/heads`: the heads summary route (heads-summary.ts), the same on the relay and on
 * `shelf serve`. The caller admits the request with the rules a sync connection gets (the same
 * token reaches the same catalog); a token's catalog is the only one it can ask about.
 *
 * `POST /sync/heads/prefetch` (relay): a client that has planned its sync names the documents it
 * is about to exchange, at most PREFETCH_MAX_DOCUMENTS of its catalog, and the relay starts
 * loading them while the client loads its own copies; otherwise each side's load waits for the
 * other's. Those it names under `changing` are the ones it is about to send changes for: the relay
 * tells the catalog's live clients (changing-notice.ts), unless the token is read-only. Answered
 * at once (202); a server without it answers 404, and the sync is the same.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { RelayAuth } from "./admission.js";
import { PREFETCH_MAX_DOCUMENTS, summarize, type HeadsIndex } from "./heads-summary.js";

const CATALOG_URL = /^automerge:([1-9A-HJ-NP-Za-km-z]+)$/;
const DOCUMENT_ID = /^[1-9A-HJ-NP-Za-km-z]{1,64}$/;

export interface HeadsRouteOptions {
  index: HeadsIndex;
  /** Admits the request, or answers the refusal itself and returns undefined. */
  admit(request: FastifyRequest, reply: FastifyReply): Promise<RelayAuth | undefined>;
  /** called before a catalog is summarized, to bring the index up to date (relay) */
  prepare?(rootId: string): Promise<void>;
  /** the only catalog served (`shelf serve`); a relay without tokens answers for any it holds */
  servedCatalog?: string;
  /**
   * Starts loading these documents of the catalog (ids already checked to be well formed) and
   * announces those `changing` (a subset, empty for a read-only token); returns how many it loads.
   */
  prefetch?(rootId: string, documentIds: string[], changing: string[]): number;
}

export function registerHeadsRoute(app: FastifyInstance, options: HeadsRouteOptions): void {
  /** The catalog the request may ask about, or undefined once the refusal is answered. */
  const catalogOf = (auth: RelayAuth, asked: string | undefined, reply: FastifyReply): { catalogUrl: string; rootId: string } | undefined => {
    const catalogUrl = auth.kind === "token" ? auth.catalogUrl : (options.servedCatalog ?? asked);
    if (asked !== undefined && asked !== catalogUrl) {
      void reply.code(403).send({ error: { code: "SHELF_E_RELAY_FORBIDDEN", message: "this token (or this server) is for another catalog", hint: "ask about the catalog the token was created for" } });
      return undefined;
    }
    const rootId = catalogUrl === undefined ? undefined : CATALOG_URL.exec(catalogUrl)?.[1];
    if (catalogUrl === undefined || rootId === undefined) {
      void reply.code(400).send({ error: { code: "SHELF_E_USAGE", message: "name the catalog: ?catalog=automerge:...", hint: "a relay without tokens serves every catalog it holds" } });
      return undefined;
    }
    return { catalogUrl, rootId };
  };

  app.get("/sync/heads", async (request, reply) => {
    const auth = await options.admit(request, reply);
    if (!auth) return reply;
    const query = (request.query ?? {}) as Record<string, unknown>;
    const catalog = catalogOf(auth, typeof query.catalog === "string" ? query.catalog : undefined, reply);
    if (!catalog) return reply;
    const since = typeof query.since === "string" && /^\d{1,15}$/.test(query.since) ? Number(query.since) : 0;
    const access = auth.kind === "token" && auth.readOnly ? "read-only" : "read-write";
    await options.prepare?.(catalog.rootId);
    return summarize(options.index, catalog.catalogUrl, catalog.rootId, since, access);
  });

  const prefetch = options.prefetch;
  if (!prefetch) return;
  app.post("/sync/heads/prefetch", async (request, reply) => {
    const auth = await options.admit(request, reply);
    if (!auth) return reply;
    const body = (request.body ?? {}) as { catalog?: unknown; documents?: unknown; changing?: unknown };
    const catalog = catalogOf(auth, typeof body.catalog === "string" ? body.catalog : undefined, reply);
    if (!catalog) return reply;
    const { documents, changing = [] } = body;
    const wellFormed = (ids: unknown): ids is string[] => Array.isArray(ids) && ids.length <= PREFETCH_MAX_DOCUMENTS && ids.every((id) => typeof id === "string" && DOCUMENT_ID.test(id));
    if (!wellFormed(documents) || !wellFormed(changing) || !changing.every((id) => documents.includes(id))) {
      return reply.code(400).send({ error: { code: "SHELF_E_USAGE", message: `name at most ${PREFETCH_MAX_DOCUMENTS} document ids: {"catalog", "documents": [...], "changing": [some of them]}`, hint: "document ids are base58, as in automerge: URLs" } });
    }
    const readOnly = auth.kind === "token" && auth.readOnly;
    return reply.code(202).send({ prefetching: prefetch(catalog.rootId, documents, readOnly ? [] : changing) });
  });
}
