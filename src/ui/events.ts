/**
 * GET /events: Server-Sent Events that tell open pages the view changed, so they refresh their
 * live regions. Each event carries only the view's new version; the page asks for what it shows.
 *
 *   event: change
 *   data: {"version":"<epoch>.<seq>"}
 */
import type { FastifyInstance } from "fastify";
import type { ServerResponse } from "node:http";
import type { UiContext } from "./context.js";

/** A comment line this often keeps proxies and the browser from taking the stream for dead. */
const HEARTBEAT_MS = 15_000;

export function registerEvents(app: FastifyInstance, ctx: UiContext): void {
  const open = new Set<ServerResponse>();
  app.get("/events", (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-content-type-options": "nosniff" });
    // The browser reconnects this soon after a dropped stream.
    res.write(`retry: 1000\n\n`);
    const send = (version: string) => res.write(`event: change\ndata: ${JSON.stringify({ version })}\n\n`);
    const unsubscribe = ctx.changes.subscribe(send);
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
    open.add(res);
    request.raw.on("close", () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(res);
    });
  });
  // A stream never ends by itself: close them so the server can stop.
  app.addHook("preClose", async () => {
    for (const res of open) res.end();
  });
}
