/**
 * The relay's status page in a real browser (Debian's chromium through playwright-core), against a
 * real relay process with real clients syncing over WebSockets: what the admin sees, and that it
 * follows what happens without a reload.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DocHandle } from "@automerge/automerge-repo";
import { describe, expect, it, onTestFinished } from "vitest";
import { connectClient, rawSocket, startRelayProcess, type SyncClient } from "./helpers/relay-process.js";
import { ROOT } from "./helpers/cli.js";
import { openBrowser } from "./helpers/browser.js";
import { tempDir } from "./helpers/temp-home.js";

const SHOTS = join(ROOT, "docs", "ui");

describe("the relay's status page, in a browser", () => {
  it("shows each catalog's clients and documents, traffic, memory and refusals, and follows them live", async () => {
    const [relay, browser] = await Promise.all([startRelayProcess(tempDir("shelf-relay-dash-")), openBrowser({ viewport: { width: 1100, height: 900 } })]);
    const clients: SyncClient[] = [];
    onTestFinished(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await browser.close();
      await relay.stop();
    });

    // Two members of one catalog, both connected and in sync through the relay.
    const alice = await connectClient(relay.url);
    clients.push(alice);
    const root: DocHandle<unknown> = alice.repo.create({ shelf: "catalog", format: 1, name: "team <b>tools</b>", shards: [] });
    await alice.waitForRelay([root]);
    const bob = await connectClient(relay.url);
    clients.push(bob);
    await bob.find(root.url);

    const page = await browser.newPage();
    await page.goto(`${relay.http}/`);
    const row = page.getByRole("row", { name: /team <b>tools<\/b>/ });
    await expect.poll(() => row.getByRole("cell").allTextContents()).toEqual([
      expect.stringMatching(/^[0-9a-f]{8}$/),
      "team <b>tools</b>", // a name is text, never markup
      root.url,
      "2",
      "1",
      "0",
      "0",
      expect.stringMatching(/s ago\)$/),
    ]);
    await expect.poll(() => page.getByText(/^clients connected: \d+$/).textContent()).toBe("clients connected: 2");
    expect(await page.getByText(/^messages: /).textContent()).toMatch(/^messages: [\d.]+\/s \([1-9]\d* in, [1-9]\d* out since start\)$/);
    expect(await page.getByText(/^memory: /).textContent()).toMatch(/^memory: [\d.]+ MiB resident, [\d.]+ MiB heap used$/);
    for (const chart of ["clients connected", "messages", "bytes in + out", "memory (resident)"]) {
      await expect.poll(() => page.getByRole("img", { name: new RegExp(`^${chart.replace(/[()+]/g, "\\$&")}: now`) }).count()).toBe(1);
    }

    // A third member arrives and a stranger is refused: the open page shows both without a reload.
    const carol = await connectClient(relay.url);
    clients.push(carol);
    await carol.find(root.url);
    await rawSocket(`${relay.url}?token=shelf_${"A".repeat(43)}`).catch(() => undefined);
    await expect.poll(() => row.getByRole("cell").nth(3).textContent(), { timeout: 20_000 }).toBe("3");
    await expect.poll(() => page.getByText(/^refused connections: /).textContent(), { timeout: 20_000 }).toBe("refused connections: 1 (bad_token: 1)");
    expect(await page.getByRole("img", { name: /^clients connected: now 3,/ }).count()).toBe(1);

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, "relay.png"), fullPage: true });

    // Readable at 200% zoom: half the width at twice the scale, and nothing scrolls sideways.
    const zoomedBrowser = await openBrowser({ viewport: { width: 640, height: 900 }, deviceScaleFactor: 2 });
    try {
      const zoomed = await zoomedBrowser.newPage();
      await zoomed.goto(`${relay.http}/`);
      expect(await zoomed.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    } finally {
      await zoomedBrowser.close();
    }
  });
});
