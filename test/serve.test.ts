/**
 * Two instances syncing with no relay: one runs `shelf serve` (a real child process on a real
 * socket), the others add it as a remote. The transport conformance scenarios, plus what only a
 * served instance does: it applies what peers send to its own view live, serves one catalog and
 * nothing else, and asks for a token before it listens beyond loopback.
 */
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectExit, expectJsonError, finished, makeTempDir, shelf, shelfJson, startCli } from "./helpers/cli.js";
import { eventually, freePort, openIdleConnections, startServeProcess, untilOpenAtMost, type RelayProcess } from "./helpers/relay-process.js";
import { describeTransportConformance, type TransportServer } from "./helpers/transport-conformance.js";

const TOKEN = "peer-secret-0123456789abcdef";

/** A served instance in `home`, a copy of `seedHome`'s catalog taken through a bundle. */
async function startServedCopy(home: string, seedHome: string, args: string[] = []): Promise<TransportServer & { process: () => RelayProcess }> {
  const bundle = `${home}.bundle`;
  expectExit(await shelf(seedHome, "export", bundle), 0);
  expectExit(await shelf(home, "import-bundle", bundle), 0);
  const port = String(await freePort());
  let served = await startServeProcess(home, ["--port", port, ...args]);
  const tokenArgs = args.includes("--token") ? ["--token", TOKEN] : [];
  return {
    process: () => served,
    async addRemote(peerHome, name) {
      expectExit(await shelf(peerHome, "remote", "add", name, served.url, ...tokenArgs), 0);
    },
    async join(peerHome, url, ...options) {
      expectExit(await shelf(peerHome, "join", url, "--relay", served.url, "--name", "team", ...tokenArgs, ...options), 0);
    },
    async crashAndRestart() {
      await served.stop("SIGKILL");
      served = await startServeProcess(home, ["--port", port, ...args]);
    },
    async stop() {
      const result = await served.stop("SIGTERM");
      expect(result.code).toBe(0);
    },
  };
}

describeTransportConformance({
  name: "direct peer",
  start: (dir, _catalogUrl, seedHome) => startServedCopy(dir, seedHome, ["--token", TOKEN]),
  deadUrl: "ws://127.0.0.1:1/sync",
});

describe("shelf serve", () => {
  it("applies a peer's edits to the served instance's own view, and serves its local edits back", async () => {
    const tmp = makeTempDir("shelf-serve-");
    const [a, b] = [join(tmp.dir, "a"), join(tmp.dir, "b")];
    try {
      const catalogUrl = (await shelf(a, "init", "--name", "team")).stdout.trim();
      expectExit(await shelf(a, "add", "npm:left-pad", "--name", "left-pad"), 0);
      const served = await startServeProcess(a);
      try {
        expectExit(await shelf(b, "join", catalogUrl, "--relay", served.url, "--name", "team"), 0);
        expectExit(await shelf(b, "set", "npm:left-pad", "summary=from the peer"), 0);
        expectExit(await shelf(b, "sync"), 0);
        // the served instance materializes what arrived: another process on its home sees it
        expect(await eventually(async () => (await shelfJson(a, "show", "npm:left-pad")).record.summary === "from the peer", 15_000)).toBe(true);

        // an edit made on the served home by the CLI reaches the peer on its next sync
        expectExit(await shelf(a, "add", "npm:right-pad", "--name", "right-pad"), 0);
        const reached = await eventually(async () => {
          expectExit(await shelf(b, "sync"), 0);
          return (await shelf(b, "show", "npm:right-pad")).code === 0;
        }, 15_000);
        expect(reached).toBe(true);
      } finally {
        expect((await served.stop("SIGTERM")).code).toBe(0);
      }
    } finally {
      tmp.remove();
    }
  });

  it("serves one catalog: a peer cannot fetch another catalog the instance holds", async () => {
    const tmp = makeTempDir("shelf-serve-one-");
    const [a, b] = [join(tmp.dir, "a"), join(tmp.dir, "b")];
    try {
      const served = (await shelf(a, "init", "--name", "shared")).stdout.trim();
      const privateUrl = (await shelf(a, "init", "--name", "private")).stdout.trim();
      expectExit(await shelf(a, "--catalog", "private", "add", "npm:secret", "--name", "secret"), 0);
      const server = await startServeProcess(a, ["--catalog", "shared"]);
      try {
        const refused = await shelf(b, "join", privateUrl, "--relay", server.url, "--timeout", "10", "--json");
        expect(refused.code).toBe(1);
        expect(JSON.parse(refused.stdout).error.code).toMatch(/SHELF_E_(DOC_UNAVAILABLE|SYNC_TIMEOUT)/);
        expectExit(await shelf(b, "join", served, "--relay", server.url, "--name", "shared"), 0);
        expect((await shelf(b, "show", "npm:secret")).code).toBe(1);
      } finally {
        await server.stop("SIGTERM");
      }
    } finally {
      tmp.remove();
    }
  });

  it("with a token, refuses a peer that lacks it", async () => {
    const tmp = makeTempDir("shelf-serve-token-");
    const [a, b] = [join(tmp.dir, "a"), join(tmp.dir, "b")];
    try {
      const catalogUrl = (await shelf(a, "init")).stdout.trim();
      const server = await startServeProcess(a, ["--token", TOKEN]);
      try {
        const refused = await shelf(b, "join", catalogUrl, "--relay", server.url, "--json");
        expect(refused.code).toBe(1);
        expect(JSON.parse(refused.stdout).error.code).toBe("SHELF_E_RELAY_UNAUTHORIZED");
        expect(server.child.exitCode).toBeNull(); // still serving
        expectExit(await shelf(b, "join", catalogUrl, "--relay", server.url, "--token", TOKEN), 0);
      } finally {
        await server.stop("SIGTERM");
      }
      expect((await server.exited).stderr).not.toContain(TOKEN);
    } finally {
      tmp.remove();
    }
  });

  it("will not listen beyond loopback without a token, nor with a short one", async () => {
    const tmp = makeTempDir("shelf-serve-open-");
    try {
      const home = join(tmp.dir, "a");
      expectExit(await shelf(home, "init"), 0);
      const open = await shelf(home, "serve", "--host", "0.0.0.0", "--port", "0");
      expect(open.code).toBe(2);
      expect(open.stderr).toMatch(/without a token/);
      expect(open.stderr).toMatch(/--token/);
      const short = await shelf(home, "serve", "--port", "0", "--token", "short");
      expect(short.code).toBe(2);
      expect(short.stderr).toMatch(/at least 16 characters/);
    } finally {
      tmp.remove();
    }
  });

  // Linux only: other systems do not route 127.0.0.2 to loopback without configuration.
  it.skipIf(process.platform !== "linux")("closes a slowloris's connections (over the per-address limit at once, silent ones after the header timeout) and keeps serving peers", async () => {
    const tmp = makeTempDir("shelf-serve-slowloris-");
    const [a, b] = [join(tmp.dir, "a"), join(tmp.dir, "b")];
    try {
      const catalogUrl = (await shelf(a, "init")).stdout.trim();
      const served = await startServeProcess(a, ["--max-connections-per-address", "4", "--header-timeout", "2"]);
      try {
        // 40 silent connections from 127.0.0.2; the test's own requests come from 127.0.0.1
        const flood = await openIdleConnections(Number(new URL(served.http).port), "127.0.0.2", 40);
        try {
          expect(await untilOpenAtMost(flood, 4, 1_500)).toBe(true);
          expect((await fetch(`${served.http}/healthz`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
          expectExit(await shelf(b, "join", catalogUrl, "--relay", served.url, "--timeout", "30"), 0);
          expect(await untilOpenAtMost(flood, 0, 10_000)).toBe(true);
        } finally {
          for (const c of flood) c.socket.destroy();
        }
      } finally {
        const stopped = await served.stop("SIGTERM");
        expect(stopped.code).toBe(0);
        expect(stopped.stderr).toMatch(/127\.0\.0\.2 holds 4 connections/);
      }
    } finally {
      tmp.remove();
    }
  });

  it("on a port already in use, exits 1 at once and says so, as the relay does", async () => {
    const tmp = makeTempDir("shelf-serve-in-use-");
    // the port is held by this test for the whole run
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const home = join(tmp.dir, "a");
      expectExit(await shelf(home, "init"), 0);
      const port = (holder.address() as AddressInfo).port;
      const child = startCli(["--home", home, "serve", "--port", String(port)]);
      // a serve that hangs is killed here, and so fails below with no exit code
      const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      const result = await finished(child).finally(() => clearTimeout(killer));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
      expect(result.stderr).toMatch(/hint: choose another --port/);
      expect(result.stdout).not.toMatch(/listening/);
      expect(result.stderr).not.toMatch(/materializing failed/);

      // with --json, the same failure is one JSON error document on stdout
      expectJsonError(await shelf(home, "serve", "--port", String(port), "--json"), 1, "SHELF_E_RELAY_LISTEN");
    } finally {
      await new Promise((resolve) => holder.close(resolve));
      tmp.remove();
    }
  });
});
