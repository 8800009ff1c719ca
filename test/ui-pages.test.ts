/**
 * The web app's Catalog, Record and Conflicts pages, driven in a real browser (Chromium) against a
 * real `shelf ui` process, with real homes, a real relay and a real `shelf serve` for live peers.
 * What the user sees in the page is checked against what the CLI says.
 *
 * SHELF_UI_SCREENSHOTS=DIR also saves a screenshot of each page there (docs/ui/ keeps them).
 */
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectExit, FIXTURES, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
import { openBrowser, type BrowserSession } from "./helpers/browser.js";
import { eventually, startRelayProcess, startServeProcess } from "./helpers/relay-process.js";
import { startUiProcess, type UiProcess } from "./helpers/ui-process.js";

const SCREENSHOTS = process.env.SHELF_UI_SCREENSHOTS;
/** Two homes syncing take a dozen CLI processes; on a loaded 2-core machine each can take seconds. */
const TWO_HOMES_TIMEOUT_MS = 420_000;

let browser: BrowserSession;
let tmp: { dir: string; remove: () => void };
beforeAll(async () => {
  tmp = makeTempDir("shelf-ui-pages-");
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
  tmp?.remove();
});

let homes = 0;
const newHome = () => join(tmp.dir, `home-${++homes}`);

async function withUi(home: string, fn: (ui: UiProcess, page: Page) => Promise<void>): Promise<void> {
  const ui = await startUiProcess(home);
  const page = await browser.newPage();
  try {
    await fn(ui, page);
  } finally {
    await page.close();
    const result = await ui.stop("SIGTERM");
    expect(result.code, result.stderr).toBe(0);
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the live stream is connected (the header says "live"). */
const live = (page: Page) => page.locator('#live-state[data-state="on"]').waitFor();

describe("shelf ui pages", () => {
  it("searches as you type and opens a record, with the keyboard alone", async () => {
    const home = newHome();
    expectExit(await shelf(home, "init", "--name", "team"), 0);
    expectExit(await shelf(home, "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);
    expectExit(await shelf(home, "tag", "npm:react", "+web"), 0);
    const cli = await shelfJson(home, "search", "react", "--limit", "5");
    await withUi(home, async (ui, page) => {
      await page.goto(ui.url);
      await live(page);
      // the search box has focus; typing (no Enter) fills the results
      await page.keyboard.type("react", { delay: 30 });
      const results = page.locator("#results tbody tr");
      await page.waitForFunction(() => document.querySelector("#results-summary")?.textContent?.includes("react"));
      // the same ranking as `shelf search`: the first rows are the CLI's first records
      const ids = await page.locator("#results tbody tr td:nth-child(2)").allTextContents();
      expect(ids.slice(0, cli.results.length)).toEqual(cli.results.map((r: { id: string }) => r.id));
      expect(new URL(page.url()).searchParams.get("q")).toBe("react");
      await screenshot(page, "catalog");

      // a filter narrows the results: the tag set above
      await page.locator("#tag").fill("web");
      await page.waitForFunction(() => document.querySelectorAll("#results tbody tr").length === 1);
      expect(await results.first().locator("td").nth(1).textContent()).toBe("npm:react");

      // Tab from the tag box through the other filters to the result's link; Enter opens it
      for (let tabs = 0; tabs < 10 && (await page.evaluate(() => document.activeElement?.textContent)) !== "react"; tabs++) await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.getAttribute("href"))).toBe("/record?id=npm%3Areact");
      await page.keyboard.press("Enter");
      await page.waitForURL(/\/record\?id=npm%3Areact/);
      const shown = (await shelfJson(home, "show", "npm:react")).record;
      const fields = page.locator("dl.fields");
      expect(await fields.textContent()).toContain(shown.version);
      expect(await fields.textContent()).toContain(shown.summary);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain("npm:react");
    });
  });

  it("edits a field, tags, deletes and restores through the record page, as `shelf show` then says", async () => {
    const home = newHome();
    expectExit(await shelf(home, "init", "--name", "team"), 0);
    expectExit(await shelf(home, "add", "npm:left-pad", "--name", "left-pad", "--summary", "pads strings"), 0);
    await withUi(home, async (ui, page) => {
      await page.goto(`${ui.url}record?id=npm:left-pad`);
      await page.getByLabel("Summary").fill("pads strings on the left");
      await page.getByRole("button", { name: "Save changes" }).click();
      await page.getByText("Saved.").waitFor();
      expect((await shelfJson(home, "show", "npm:left-pad")).record.summary).toBe("pads strings on the left");

      await page.getByLabel("Add tags").fill("util strings");
      await page.getByRole("button", { name: "Add tags" }).click();
      await page.getByText("Tags changed.").waitFor();
      expect((await shelfJson(home, "show", "npm:left-pad")).record.tags).toEqual(["strings", "util"]);
      await page.getByRole("button", { name: "Remove tag strings" }).click();
      await page.getByText("Tags changed.").waitFor();
      expect((await shelfJson(home, "show", "npm:left-pad")).record.tags).toEqual(["util"]);

      // a refused edit says why and keeps what was typed
      await page.getByLabel("Name").fill(" ");
      await page.getByLabel("Version").fill("9.9.9");
      await page.getByRole("button", { name: "Save changes" }).click();
      await page.getByRole("alert").getByText("name must not be empty").waitFor();
      expect(await page.getByLabel("Version").inputValue()).toBe("9.9.9");
      expect((await shelfJson(home, "show", "npm:left-pad")).record.version).toBe("");

      await page.getByRole("button", { name: "Delete record" }).click();
      await page.getByText("Deleted. The record is kept").waitFor();
      expect((await shelfJson(home, "show", "npm:left-pad")).record.deleted).toBe(true);
      await page.getByRole("button", { name: "Restore record" }).click();
      await page.getByText("Restored.").waitFor();
      expect((await shelfJson(home, "show", "npm:left-pad")).record.deleted).toBe(false);

      // the history names each command
      const history = await page.locator('[data-live="history"]').textContent();
      for (const op of ["add", "set", "tag", "rm", "restore"]) expect(history).toContain(op);
      await screenshot(page, "record");
    });
  });

  it("shows an edit made by another process within a second, without a reload", async () => {
    const home = newHome();
    expectExit(await shelf(home, "init", "--name", "team"), 0);
    expectExit(await shelf(home, "add", "npm:left-pad", "--name", "left-pad", "--summary", "before"), 0);
    await withUi(home, async (ui, page) => {
      await page.goto(`${ui.url}record?id=npm:left-pad`);
      await live(page);
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
      expectExit(await shelf(home, "set", "npm:left-pad", "summary=after"), 0);
      const changedAt = Date.now();
      await page.locator('[data-live="record"] dd', { hasText: "after" }).first().waitFor();
      // a bound loose enough for a loaded machine; the feed itself reads every 250 ms
      expect(Date.now() - changedAt).toBeLessThan(5000);
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    });
  });

  it("settles a conflict between two instances; the other instance sees it settled after a sync", async () => {
    const relay = await startRelayProcess(join(tmp.dir, "relay"));
    try {
      const [a, b] = [newHome(), newHome()];
      const url = (await shelf(a, "init", "--name", "team")).stdout.trim();
      expectExit(await shelf(a, "add", "npm:left-pad", "--name", "left-pad", "--summary", "original"), 0);
      expectExit(await shelf(a, "remote", "add", "origin", relay.url), 0);
      expectExit(await shelf(a, "sync"), 0);
      expectExit(await shelf(b, "join", url, "--relay", relay.url, "--name", "team"), 0);
      // both edit the same field while apart, then meet
      expectExit(await shelf(a, "set", "npm:left-pad", "summary=from a"), 0);
      expectExit(await shelf(b, "set", "npm:left-pad", "summary=from b"), 0);
      expectExit(await shelf(a, "sync"), 0);
      expectExit(await shelf(b, "sync"), 0);
      expectExit(await shelf(a, "sync"), 0);
      expect((await shelfJson(a, "conflicts")).count).toBe(1);

      await withUi(a, async (ui, page) => {
        await page.goto(`${ui.url}conflicts`);
        const card = page.getByRole("article", { name: /left-pad/ });
        // both values side by side, each with who wrote it
        const values = card.locator(".value");
        expect(await values.count()).toBe(2);
        expect(await card.textContent()).toContain("from a");
        expect(await card.textContent()).toContain("from b");
        await screenshot(page, "conflicts");
        await card.getByRole("button", { name: /Keep value \d of summary for npm:left-pad: from b/ }).click();
        await page.getByText("Settled summary of npm:left-pad.").waitFor();
        await page.getByText("No open conflicts").waitFor();
      });
      expect((await shelfJson(a, "conflicts")).count).toBe(0);
      expectExit(await shelf(a, "sync"), 0);
      expectExit(await shelf(b, "sync"), 0);
      expect((await shelfJson(b, "conflicts")).count).toBe(0);
      expect((await shelfJson(b, "show", "npm:left-pad")).record.summary).toBe("from b");
    } finally {
      await relay.stop();
    }
  }, TWO_HOMES_TIMEOUT_MS);

  it("shows a conflict arriving from a live peer without a reload, and settles edited-while-deleted records", async () => {
    const [a, b] = [newHome(), newHome()];
    const url = (await shelf(a, "init", "--name", "team")).stdout.trim();
    expectExit(await shelf(a, "add", "npm:left-pad", "--name", "left-pad", "--summary", "original"), 0);
    expectExit(await shelf(a, "add", "npm:is-odd", "--name", "is-odd"), 0);
    const served = await startServeProcess(a);
    try {
      expectExit(await shelf(b, "join", url, "--relay", served.url, "--name", "team"), 0);
      await withUi(a, async (ui, page) => {
        await page.goto(`${ui.url}conflicts`);
        await live(page);
        await page.getByText("No open conflicts").waitFor();
        await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
        // a edits and deletes here; b, apart, edits the same record and field, then syncs with a
        expectExit(await shelf(a, "set", "npm:left-pad", "summary=from a"), 0);
        expectExit(await shelf(a, "rm", "npm:is-odd"), 0);
        expectExit(await shelf(b, "set", "npm:left-pad", "summary=from b"), 0);
        expectExit(await shelf(b, "set", "npm:is-odd", "version=2.0.0"), 0);
        expectExit(await shelf(b, "sync"), 0);
        await page.getByRole("article", { name: /left-pad/ }).waitFor({ timeout: 60_000 });
        await page.getByRole("article", { name: /is-odd/ }).waitFor({ timeout: 60_000 });
        expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
        // the badge in the navigation counts them
        expect(await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: /Conflicts/ }).textContent()).toContain("2");

        // a new value typed for the field, and the deleted record restored
        const leftPad = page.getByRole("article", { name: /left-pad/ });
        await leftPad.getByLabel("New value for summary").fill("settled by hand");
        await leftPad.getByRole("button", { name: "Use this value" }).click();
        await page.getByText("Settled summary of npm:left-pad.").waitFor();
        await page.getByRole("button", { name: "Restore npm:is-odd" }).click();
        await page.getByText("Settled the deletion of npm:is-odd.").waitFor();
      });
      expect((await shelfJson(a, "conflicts")).count).toBe(0);
      const isOdd = (await shelfJson(a, "show", "npm:is-odd")).record;
      expect([isOdd.deleted, isOdd.version]).toEqual([false, "2.0.0"]);
      expect((await shelfJson(a, "show", "npm:left-pad")).record.summary).toBe("settled by hand");
    } finally {
      expect((await served.stop("SIGTERM")).code).toBe(0);
    }
  }, TWO_HOMES_TIMEOUT_MS);

  it("reads at 200% zoom: nothing wider than the window", async () => {
    const home = newHome();
    expectExit(await shelf(home, "init", "--name", "team"), 0);
    expectExit(await shelf(home, "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);
    await withUi(home, async (ui, page) => {
      // 200% zoom of a 1280-pixel window lays the page out 640 CSS pixels wide
      await page.setViewportSize({ width: 640, height: 900 });
      for (const path of ["?q=react", "record?id=npm:react", "conflicts"]) {
        await page.goto(ui.url + path);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
    });
  });
});
