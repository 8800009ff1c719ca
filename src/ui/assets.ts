/**
 * The app's stylesheet and script (assets/app-css.ts, assets/app-js.ts): no build step of their
 * own, and no file to find at run time.
 */
import type { FastifyInstance } from "fastify";
import { APP_CSS } from "./assets/app-css.js";
import { APP_JS } from "./assets/app-js.js";
import { JOBS_JS } from "./assets/jobs-js.js";

const FILES = new Map([
  ["app.css", { type: "text/css; charset=utf-8", body: APP_CSS }],
  ["app.js", { type: "text/javascript; charset=utf-8", body: APP_JS }],
  ["jobs.js", { type: "text/javascript; charset=utf-8", body: JOBS_JS }],
]);

export function registerAssets(app: FastifyInstance): void {
  app.get<{ Params: { name: string } }>("/assets/:name", async (request, reply) => {
    const file = FILES.get(request.params.name);
    if (!file) return reply.callNotFound();
    return reply.type(file.type).header("cache-control", "no-cache").send(file.body);
  });
}
