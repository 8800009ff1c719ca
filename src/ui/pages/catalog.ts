/** The Catalog page. */
import type { FastifyInstance } from "fastify";
import type { UiContext } from "../context.js";
import { html } from "../html.js";
import { layout, sendPage } from "../layout.js";

export function registerCatalogPage(app: FastifyInstance, ctx: UiContext): void {
  app.get("/", async (_request, reply) => sendPage(reply, layout(ctx, { title: "Catalog", nav: "catalog", body: html`<h1>Catalog</h1><div data-live="main"></div>` })));
}
