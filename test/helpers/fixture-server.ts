/**
 * A real HTTP server for importer tests: serves documents by path (with an ETag, answering 304 to
 * a matching If-None-Match), and injects faults on request, one per request, in the order given:
 * a status (429 with Retry-After, 500...), a slow answer, or a body cut short.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | { status: number; retryAfter?: string }
  /** wait this long before answering (the client's timeout should fire first) */
  | { delayMs: number }
  /** declare the full length, send half of the body, then close the connection */
  | { truncate: true };

export interface FixtureServer {
  url: string;
  /** path (with query) -> body; replace entries to change what is served */
  routes: Map<string, string | (() => string)>;
  /** faults for a path, consumed one per request */
  faults: Map<string, Fault[]>;
  /** every request: path, If-None-Match sent, status answered */
  log: { path: string; ifNoneMatch: string | undefined; status: number }[];
  /** the most requests that were in flight at once */
  maxInFlight: number;
  close(): Promise<void>;
}

export const etagOf = (body: string) => `"${createHash("sha1").update(body).digest("hex").slice(0, 16)}"`;

export async function startFixtureServer(): Promise<FixtureServer> {
  const routes = new Map<string, string | (() => string)>();
  const faults = new Map<string, Fault[]>();
  const log: FixtureServer["log"] = [];
  let inFlight = 0;
  const state = { maxInFlight: 0 };
  const sockets = new Set<import("node:net").Socket>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    const ifNoneMatch = req.headers["if-none-match"];
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    const done = (status: number) => {
      log.push({ path, ifNoneMatch, status });
      inFlight--;
    };
    const fault = faults.get(path)?.shift();
    if (fault && "delayMs" in fault) {
      await new Promise((r) => setTimeout(r, fault.delayMs));
      if (res.destroyed) return done(0);
    }
    if (fault && "status" in fault) {
      res.writeHead(fault.status, fault.retryAfter ? { "retry-after": fault.retryAfter } : {});
      res.end(`injected ${fault.status}`);
      return done(fault.status);
    }
    const route = routes.get(path);
    if (route === undefined) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"Not found"}');
      return done(404);
    }
    const body = typeof route === "function" ? route() : route;
    const etag = etagOf(body);
    if (ifNoneMatch === etag) {
      res.writeHead(304, { etag });
      res.end();
      return done(304);
    }
    const bytes = Buffer.from(body);
    res.writeHead(200, { "content-type": path.includes("Packages") ? "application/atom+xml" : "application/json", etag, "content-length": bytes.length });
    if (fault && "truncate" in fault) {
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
      return done(200);
    }
    res.end(bytes);
    done(200);
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    routes,
    faults,
    log,
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
