/**
 * Two relays linked by `shelf relay --upstream`: relay 2 is a client of relay 1 with a token relay 1
 * created for the catalog. Instance A syncs through relay 1 only, instance B through relay 2 only
 * (with relay 2's own token), and they still see each other's records. Real processes throughout.
 * Run by hand with: npm run build && npx vitest run test/relay-upstream.test.ts
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectExit, FIXTURES, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { createToken, eventually, metricValue, sleep, startRelayProcess, type RelayProcess } from "./helpers/relay-process.js";

describe("shelf relay --upstream", () => {
  it("a catalog synced through relay 1 reaches a client of relay 2, and back", async () => {
    const tmp = makeTempDir("shelf-relay-upstream-");
    const relays: RelayProcess[] = [];
    try {
      const home = (name: string) => join(tmp.dir, name);
      const data1 = home("relay1");
      const data2 = home("relay2");

      // the catalog first: tokens are per catalog URL
      const init = await shelf(home("a"), "init", "--name", "team");
      expectExit(init, 0);
      const catalogUrl = init.stdout.trim();
      expectExit(await shelf(home("a"), "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);

      const tokenA = await createToken(data1, catalogUrl); // A's token on relay 1
      const upstreamToken = await createToken(data1, catalogUrl); // relay 2's token on relay 1
      const tokenB = await createToken(data2, catalogUrl); // B's token on relay 2

      const relay1 = await startRelayProcess(data1);
      relays.push(relay1);
      const relay2 = await startRelayProcess(data2, ["--upstream", relay1.url, "--upstream-token", upstreamToken]);
      relays.push(relay2);

      // A pushes the catalog to relay 1 only
      expectExit(await shelf(home("a"), "remote", "add", "one", relay1.url, "--token", tokenA), 0);
      expectExit(await shelf(home("a"), "sync", "one"), 0);

      // relay 2 reports its link to relay 1
      expect(await eventually(async () => (await metricValue(relay2, "shelf_relay_upstream_connected")) === 1, 10_000)).toBe(true);
      const status = await (await fetch(`${relay2.http}/`, { signal: AbortSignal.timeout(5_000) })).text();
      expect(status).toMatch(/upstream: <code>ws:\/\/127\.0\.0\.1:\d+\/sync<\/code>, connected: yes/);
      expect(status).not.toContain(upstreamToken);

      // B joins through relay 2, which does not hold the catalog yet: relay 2 fetches it from relay 1
      expectExit(await shelf(home("b"), "join", catalogUrl, "--relay", relay2.url, "--token", tokenB, "--name", "team"), 0);
      const listA = (await shelf(home("a"), "list", "--include-deleted", "--json")).stdout;
      expect((await shelf(home("b"), "list", "--include-deleted", "--json")).stdout).toBe(listA);
      expect(JSON.parse(listA).records.length).toBe(300);

      // B edits and syncs with relay 2; A sees it through relay 1 (relay to relay is asynchronous)
      expectExit(await shelf(home("b"), "set", "npm:lodash", "version=9.9.9-from-b"), 0);
      expectExit(await shelf(home("b"), "add", "npm:made-on-b", "--name", "made-on-b"), 0);
      const remoteB = "origin"; // the remote `shelf join` records
      expectExit(await shelf(home("b"), "sync", remoteB), 0);
      const seenByA = await eventually(async () => {
        expectExit(await shelf(home("a"), "sync", "one"), 0);
        const lodash = await shelfJson(home("a"), "show", "npm:lodash");
        const added = await shelf(home("a"), "show", "npm:made-on-b", "--json");
        return lodash.record.version === "9.9.9-from-b" && added.code === 0;
      }, 30_000);
      expect(seenByA).toBe(true);

      // and the other way: A's edit reaches B
      expectExit(await shelf(home("a"), "set", "npm:react", "version=99.0.0-from-a"), 0);
      expectExit(await shelf(home("a"), "sync", "one"), 0);
      const seenByB = await eventually(async () => {
        expectExit(await shelf(home("b"), "sync", remoteB), 0);
        return (await shelfJson(home("b"), "show", "npm:react")).record.version === "99.0.0-from-a";
      }, 30_000);
      expect(seenByB).toBe(true);
    } finally {
      for (const relay of relays.reverse()) await relay.stop("SIGTERM");
      tmp.remove();
    }
  });

  it("starts and serves while its upstream is down, and says so", async () => {
    const tmp = makeTempDir("shelf-relay-upstream-down-");
    try {
      const relay = await startRelayProcess(join(tmp.dir, "relay"), ["--upstream", "ws://127.0.0.1:1/sync", "--upstream-token", "shelf_not-a-real-token"]);
      try {
        const health = await fetch(`${relay.http}/healthz`, { signal: AbortSignal.timeout(5_000) });
        expect(health.status).toBe(200);
        expect(await metricValue(relay, "shelf_relay_upstream_connected")).toBe(0);
        await sleep(1_500); // at least one failed attempt and a retry
        expect(relay.child.exitCode).toBeNull();
      } finally {
        const result = await relay.stop("SIGTERM");
        expect(result.code).toBe(0);
        expect(result.stderr).toMatch(/cannot reach the upstream relay/);
        expect(result.stderr).not.toContain("shelf_not-a-real-token");
      }
    } finally {
      tmp.remove();
    }
  });
});
