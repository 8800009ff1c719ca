/**
 * The app's stylesheet and script, served from src/ui/assets/ as they are written: there is no
 * build step for them. Read once at start-up; the package root is found from this module's place
 * (dist/src/ui/ when built, src/ui/ under the test runner).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";

const TYPES: Record<string, string> = { "app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8", "jobs.js": "text/javascript; charset=utf-8" };

export function assetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("shelf ui: cannot find the package root for its assets");
    dir = up;
  }
  return join(dir, "src", "ui", "assets");
}

export function registerAssets(app: FastifyInstance): void {
  const dir = assetsDir();
  const files = new Map(Object.entries(TYPES).map(([name, type]) => [name, { type, body: readFileSync(join(dir, name)) }]));
  app.get<{ Params: { name: string } }>("/assets/:name", async (request, reply) => {
    const file = files.get(request.params.name);
    if (!file) return reply.callNotFound();
    return reply.type(file.type).header("cache-control", "no-cache").send(file.body);
  });
}
