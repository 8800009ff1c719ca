/** The Conflicts page. */
import type { FastifyInstance } from "fastify";
import type { UiContext } from "../context.js";
import { html } from "../html.js";
import { layout, sendPage } from "../layout.js";

export function registerConflictsPage(app: FastifyInstance, ctx: UiContext): void {
  app.get("/conflicts", async (_request, reply) => sendPage(reply, layout(ctx, { title: "Conflicts", nav: "conflicts", body: html`<h1>Conflicts</h1><div data-live="main"></div>` })));
}
