/**
 * Real WebDAV servers for tests, on free loopback ports:
 * - `rclone serve webdav` and Apache httpd with mod_dav, from Debian packages, as child processes
 *   (CI installs both in .ci/run; a missing binary fails the test with the command to install it);
 * - the `webdav-server` npm package in-process, for fast tests.
 * And a fault-injecting HTTP proxy to put in front of any of them, for server quirks a real server
 * cannot be made to show on demand (no ETags, lowercased or encoded names, 207 partial errors,
 * slowness, 5xx, 507). It also counts requests and bytes.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { v2 as webdav } from "webdav-server";
import { freePort, sleep } from "./relay-process.js";

export interface DavServer {
  /** http://127.0.0.1:PORT */
  http: string;
  /** the shelf remote URL of the base folder: webdav+http://127.0.0.1:PORT/shelf */
  remoteUrl: string;
  /** kills the server without warning and starts it again on the same data and port */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

function requireBinary(name: string, pkg: string): string {
  // Debian keeps apache2 in /usr/sbin, which a non-root user's PATH lacks (as scripts/test-setup.mjs).
  const path = `${process.env.PATH ?? ""}:/usr/local/sbin:/usr/sbin:/sbin`;
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8", env: { ...process.env, PATH: path } }).stdout.trim();
  if (!found) throw new Error(`${name} is not installed: run \`apt-get install -y ${pkg}\` (npm test does this when run as root)`);
  return found;
}

/** Waits until something answers HTTP at `url` (any status), or fails after `timeoutMs`. */
async function waitForHttp(url: string, child: ChildProcess, output: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited (code ${child.exitCode}) before answering: ${output().slice(-2000)}`);
    try {
      await fetch(url, { method: "OPTIONS", signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms: ${output().slice(-2000)}`);
}

async function startProcess(command: string, args: string[], url: string): Promise<{ child: ChildProcess; stop: (signal: NodeJS.Signals) => Promise<void> }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitForHttp(url, child, () => output);
  return {
    child,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function wrap(port: number, start: () => Promise<{ stop: (signal: NodeJS.Signals) => Promise<void> }>): Promise<DavServer> {
  return start().then((first) => {
    let current = first;
    return {
      http: `http://127.0.0.1:${port}`,
      remoteUrl: `webdav+http://127.0.0.1:${port}/shelf`,
      async crashAndRestart() {
        await current.stop("SIGKILL");
        current = await start();
      },
      stop: () => current.stop("SIGTERM"),
    };
  });
}

/** `rclone serve webdav DIR` (with basic auth when `auth` is given). */
export async function startRclone(dir: string, auth?: { user: string; password: string }): Promise<DavServer> {
  const rclone = requireBinary("rclone", "rclone");
  mkdirSync(join(dir, "shelf"), { recursive: true });
  const port = await freePort();
  const args = ["serve", "webdav", dir, "--addr", `127.0.0.1:${port}`, "--config", "/dev/null", ...(auth ? ["--user", auth.user, "--pass", auth.password] : [])];
  return wrap(port, () => startProcess(rclone, args, `http://127.0.0.1:${port}/`));
}

/** Apache httpd with mod_dav_fs serving DIR/www, in the foreground (-X), as www-data. */
export async function startApache(dir: string): Promise<DavServer> {
  const apache = requireBinary("apache2", "apache2");
  const www = join(dir, "www");
  mkdirSync(join(www, "shelf"), { recursive: true });
  mkdirSync(join(dir, "lock"), { recursive: true });
  const port = await freePort();
  const modules = "/usr/lib/apache2/modules";
  writeFileSync(
    join(dir, "httpd.conf"),
    `ServerRoot ${dir}
Listen 127.0.0.1:${port}
ServerName 127.0.0.1
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LoadModule mpm_event_module ${modules}/mod_mpm_event.so
LoadModule authz_core_module ${modules}/mod_authz_core.so
LoadModule dav_module ${modules}/mod_dav.so
LoadModule dav_fs_module ${modules}/mod_dav_fs.so
User www-data
Group www-data
DocumentRoot ${www}
DavLockDB ${dir}/lock/DavLock
<Directory ${www}>
  Dav On
  Require all granted
</Directory>
`,
  );
  // Apache drops root for www-data, which must own what it serves and reach it (temporary
  // directories are 0700).
  if (process.getuid?.() === 0) {
    for (const p of [dirname(dir), dir]) chmodSync(p, 0o755);
    const ids = spawnSync("id", ["-u", "www-data"], { encoding: "utf8" }).stdout.trim();
    const gid = spawnSync("id", ["-g", "www-data"], { encoding: "utf8" }).stdout.trim();
    for (const p of [www, join(www, "shelf"), join(dir, "lock")]) chownSync(p, Number(ids), Number(gid));
  }
  return wrap(port, () => startProcess(apache, ["-X", "-f", join(dir, "httpd.conf")], `http://127.0.0.1:${port}/`));
}

/** The `webdav-server` npm package, in this process, on a directory. */
export async function startInProcess(dir: string): Promise<DavServer> {
  mkdirSync(join(dir, "shelf"), { recursive: true });
  const port = await freePort();
  const start = async () => {
    const server = new webdav.WebDAVServer({ port, hostname: "127.0.0.1" });
    await new Promise<void>((resolve, reject) => server.setFileSystem("/", new webdav.PhysicalFileSystem(dir), (ok) => (ok ? resolve() : reject(new Error("cannot mount")))));
    await new Promise<void>((resolve) => server.start(() => resolve()));
    return { stop: () => new Promise<void>((resolve) => server.stop(() => resolve())) };
  };
  return wrap(port, start);
}

export interface ProxyRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** What the proxy does with one request: forward it (possibly altered) or answer itself. */
export type Fault =
  | { answer: number; body?: string; headers?: Record<string, string> }
  | { delayMs: number }
  | { rewriteListing: (xml: string) => string }
  | { dropHeaders: string[] }
  | { cutBodyAfter: number }
  | undefined;

export interface FaultProxy {
  /** the proxied remote URL: webdav+http://127.0.0.1:PORT/shelf */
  remoteUrl: string;
  /** called for every request; return a fault, or undefined to pass it through */
  fault: (req: ProxyRequest, n: number) => Fault;
  requests: ProxyRequest[];
  bytesIn: number;
  bytesOut: number;
  reset(): void;
  stop(): Promise<void>;
}

/** An HTTP proxy to `target` (http://127.0.0.1:PORT) that injects faults and counts traffic. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const port = await freePort();
  const proxy: FaultProxy = {
    remoteUrl: `webdav+http://127.0.0.1:${port}/shelf`,
    fault: () => undefined,
    requests: [],
    bytesIn: 0,
    bytesOut: 0,
    reset() {
      this.requests = [];
      this.bytesIn = 0;
      this.bytesOut = 0;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const info = { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers };
    proxy.requests.push(info);
    proxy.bytesIn += body.byteLength;
    const fault = proxy.fault(info, proxy.requests.length);
    const send = (status: number, headers: http.OutgoingHttpHeaders, payload: Buffer) => {
      proxy.bytesOut += payload.byteLength;
      res.writeHead(status, { ...headers, "content-length": String(payload.byteLength) });
      res.end(payload);
    };
    if (fault && "answer" in fault) return send(fault.answer, fault.headers ?? {}, Buffer.from(fault.body ?? ""));
    if (fault && "delayMs" in fault) await sleep(fault.delayMs);
    if (res.destroyed) return;
    const headers = { ...req.headers };
    // The Destination of a MOVE names the proxy; the server must see its own address.
    if (typeof headers.destination === "string") headers.destination = headers.destination.replace(/^http:\/\/[^/]+/, target);
    delete headers["content-length"];
    let upstream: Response;
    try {
      upstream = await fetch(target + info.url, { method: info.method, headers: headers as Record<string, string>, body: body.byteLength > 0 ? body : undefined });
    } catch {
      res.destroy();
      return;
    }
    let payload = Buffer.from(await upstream.arrayBuffer());
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (k !== "content-length" && k !== "transfer-encoding" && k !== "connection" && k !== "content-encoding") out[k] = v;
    });
    if (fault && "rewriteListing" in fault && info.method === "PROPFIND") payload = Buffer.from(fault.rewriteListing(payload.toString("utf8")));
    if (fault && "dropHeaders" in fault) for (const h of fault.dropHeaders) delete out[h.toLowerCase()];
    if (fault && "cutBodyAfter" in fault) {
      // Promise a whole body, send part of it, and hang up.
      proxy.bytesOut += Math.min(payload.byteLength, fault.cutBodyAfter);
      res.writeHead(upstream.status, { ...out, "content-length": String(payload.byteLength) });
      res.write(payload.subarray(0, fault.cutBodyAfter));
      res.destroy();
      return;
    }
    send(upstream.status, out, payload);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return proxy;
}
