/**
 * The web app as a fastify instance, built without listening (server.ts listens; tests may
 * inject). Every request passes the security guard; every POST must come from one of the app's
 * own pages and carry the run's form token. Each page lives in pages/<page>.ts and registers its
 * routes through register<Page>Page(app, ctx).
 */
import Fastify, { type FastifyInstance } from "fastify";
import { registerAssets } from "./assets.js";
import type { UiContext } from "./context.js";
import { registerEvents } from "./events.js";
import { html } from "./html.js";
import { errorNotice, layout, sendPage, statusOf } from "./layout.js";
import { registerCatalogPage } from "./pages/catalog.js";
import { registerConflictsPage } from "./pages/conflicts.js";
import { registerRecordPage } from "./pages/record.js";
import { registerComparePage } from "./pages/compare.js";
import { registerImportsPage } from "./pages/imports.js";
import { registerSyncPage } from "./pages/sync.js";
import { CSRF_FIELD, CSRF_HEADER } from "./security.js";

/** The largest form accepted: a summary is at most 4096 characters, meta at most 64 KiB. */
const MAX_BODY_BYTES = 256 * 1024;

/** The pages, in the order of the navigation. */
const PAGES: ((app: FastifyInstance, ctx: UiContext) => void)[] = [registerCatalogPage, registerRecordPage, registerConflictsPage, registerSyncPage, registerImportsPage, registerComparePage];

/** Content-Security-Policy: only the app's own script and stylesheet, no frames, forms to itself. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

export function buildUiApp(ctx: UiContext): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES });

  // Forms arrive as application/x-www-form-urlencoded; a page reads them as URLSearchParams.
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) => done(null, new URLSearchParams(body as string)));

  app.addHook("onRequest", async (request, reply) => {
    reply.header("content-security-policy", CSP).header("x-content-type-options", "nosniff").header("referrer-policy", "same-origin").header("x-frame-options", "DENY");
    await ctx.security.guard(request, reply);
  });
  app.addHook("preHandler", async (request, reply) => {
    if (request.method === "GET" || request.method === "HEAD") return;
    const form = request.body instanceof URLSearchParams ? request.body : undefined;
    const token = form?.get(CSRF_FIELD) ?? request.headers[CSRF_HEADER];
    if (!ctx.security.sameOrigin(request) || !ctx.security.csrfValid(token)) {
      ctx.log(`refused a ${request.method} to ${request.url.split("?")[0]} that did not come from the app's own pages`);
      return sendPage(
        reply,
        layout(ctx, { title: "Refused", body: html`<h1>Refused</h1>`, notice: { kind: "error", text: "this request did not come from one of this app's pages, so nothing was changed", hint: "reload the page (the app may have restarted since it was opened) and try again" } }),
        403,
      );
    }
  });

  registerAssets(app);
  registerEvents(app, ctx);
  for (const register of PAGES) register(app, ctx);

  app.setNotFoundHandler((request, reply) =>
    sendPage(reply, layout(ctx, { title: "Not found", body: html`<h1>Not found</h1><p>Nothing lives at <code>${request.url.split("?")[0]}</code>.</p><p><a href="/">Back to the catalog</a></p>` }), 404),
  );
  app.setErrorHandler((err, request, reply) => {
    // fastify's own errors (a body too large, a malformed form) carry their status; ours are mapped.
    const own = (err as { statusCode?: number }).statusCode;
    const status = own !== undefined && own >= 400 && own < 500 ? own : statusOf(err);
    if (status >= 500) ctx.log(`error: ${request.method} ${request.url.split("?")[0]}: ${(err as Error)?.stack ?? err}`);
    return sendPage(reply, layout(ctx, { title: "Error", body: html`<h1>Something went wrong</h1><p><a href="/">Back to the catalog</a></p>`, notice: errorNotice(err) }), status);
  });
  return app;
}
