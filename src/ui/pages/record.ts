/** The Record page. */
import type { FastifyInstance } from "fastify";
import type { UiContext } from "../context.js";
import { html } from "../html.js";
import { layout, sendPage } from "../layout.js";

export function registerRecordPage(app: FastifyInstance, ctx: UiContext): void {
  app.get("/record", async (_request, reply) => sendPage(reply, layout(ctx, { title: "Record", nav: "record", body: html`<h1>Record</h1><div data-live="main"></div>` })));
}
