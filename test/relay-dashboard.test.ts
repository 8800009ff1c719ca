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
import type { MetricsSnapshot } from "../relay/metrics.js";
import { MetricsHistory } from "../relay/metrics-history.js";
import { lineChart } from "../relay/status-chart.js";

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

describe("the status page's last hour", () => {
  const snapshot = (at: number, messages: number, peers = 1): MetricsSnapshot => ({
    at,
    peers,
    documentsLoaded: 1,
    messages: { in: messages, out: messages },
    bytes: { in: messages * 100, out: 0 },
    rejected: {},
    residentBytes: 50_000_000,
    heapUsedBytes: 10_000_000,
  });

  it("turns counters into rates per interval, and keeps one hour of samples", async () => {
    let at = 0;
    let messages = 0;
    const history = new MetricsHistory(async () => snapshot(at, messages), 10_000, 60_000);
    onTestFinished(() => history.stop());
    for (let i = 0; i < 10; i++) {
      await history.sample();
      at += 10_000;
      messages += 50; // 100 messages (in + out) every 10 s
    }
    const points = history.points(snapshot(at, messages, 3));
    // 60 s kept at one sample per 10 s: 7 samples, so 7 intervals up to now
    expect(points).toHaveLength(7);
    expect(points.every((p) => p.messagesPerSecond === 10 && p.bytesPerSecond.in === 500)).toBe(true);
    expect(points.at(-1)).toMatchObject({ since: at - 10_000, at, peers: 3 });
    // "now" is measured from the newest sample at least a second old
    expect(history.current(snapshot(at + 500, messages + 10))).toMatchObject({ since: at - 10_000, messagesPerSecond: (100 + 20) / 10.5 });
  });

  it("draws nothing it does not know, and says the range in words", () => {
    const svg = lineChart({ title: "messages", points: [], format: String, from: 0, to: 60_000 });
    expect(svg).not.toContain("<polyline");
    expect(svg).toContain('aria-label="messages: now 0, highest 0 in the last 1 min"');
    const drawn = lineChart({ title: "clients", points: [{ since: 0, at: 30_000, value: 2 }], format: String, from: 0, to: 3_600_000 });
    expect(drawn).toContain('<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="0.0,5.0 3.0,5.0"/>');
    expect(drawn).toContain("highest 2 in the last hour");
  });
});
