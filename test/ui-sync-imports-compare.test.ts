/**
 * The Sync, Imports and Compare pages of `shelf ui`, driven in a real browser (Debian's chromium)
 * against a real `shelf ui` process, a real relay process and the real CLI.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { openBrowser, type BrowserSession } from "./helpers/browser.js";
import { expectExit, finished, FIXTURES, makeTempDir, ROOT, shelf, shelfJson, startCli } from "./helpers/cli.js";
import { freePort, startRelayProcess } from "./helpers/relay-process.js";
import { startUiProcess } from "./helpers/ui-process.js";

const SHOTS = join(ROOT, "docs", "ui");

let browser: BrowserSession;
beforeAll(async () => {
  browser = await openBrowser();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(() => browser?.close());

function tempHome(prefix: string): string {
  const tmp = makeTempDir(prefix);
  onTestFinished(() => tmp.remove());
  return tmp.dir;
}

async function uiOn(home: string): Promise<string> {
  const ui = await startUiProcess(home);
  onTestFinished(async () => {
    const result = await ui.stop();
    expect(result.code, result.stderr).toBe(0);
  });
  return ui.url;
}

/** Keeps every text the job's status line shows, from the first paint on. */
async function recordJobTexts(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { jobTexts: string[] }).jobTexts = seen;
    new MutationObserver(() => {
      const text = document.querySelector("[data-job-text]")?.textContent ?? "";
      if (text && seen.at(-1) !== text) seen.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
}

/** No sideways scrolling at 200% zoom: half the width, twice the pixels. */
async function readableAtDoubleZoom(url: string): Promise<boolean> {
  const zoomed = await openBrowser({ viewport: { width: 640, height: 900 }, deviceScaleFactor: 2 });
  try {
    const page = await zoomed.newPage();
    await page.goto(url);
    return await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
  } finally {
    await zoomed.close();
  }
}

describe("shelf ui: Sync", () => {
  it("syncs now with live progress, shows the outcome and history, and says what to fix when a remote fails", async () => {
    const home = tempHome("shelf-ui-sync-");
    const relay = await startRelayProcess(tempHome("shelf-ui-sync-relay-"));
    onTestFinished(() => relay.stop().then(() => undefined));
    expectExit(await shelf(home, "init", "--name", "team"), 0);
    expectExit(await shelf(home, "import", "tsv", join(FIXTURES, "npm-sample.tsv")), 0);
    expectExit(await shelf(home, "remote", "add", "hub", relay.url), 0);
    // a port reserved and closed again: nothing listens there
    expectExit(await shelf(home, "remote", "add", "gone", `ws://127.0.0.1:${await freePort()}/sync`), 0);
    const url = await uiOn(home);

    const page = await browser.newPage();
    await recordJobTexts(page);
    await page.goto(new URL("/sync", url).href);
    const remotes = page.getByRole("table", { name: "Remotes" });
    expect(await remotes.getByRole("row", { name: /^hub / }).getByRole("cell").nth(2).textContent()).toBe("never");

    // By keyboard: choose the remote, then Tab to the button and press Enter.
    await page.getByLabel("Remote", { exact: true }).selectOption("hub");
    await page.getByLabel("Remote", { exact: true }).focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    const job = page.locator(".job");
    await job.and(page.locator('[data-state="ok"]')).waitFor({ timeout: 120_000 });
    expect(await job.locator("[data-job-text]").textContent()).toBe("synced with 1 remote");
    expect(await job.getByRole("listitem").allTextContents()).toEqual([expect.stringMatching(/^hub: 0 added, 0 updated, 0 deleted, 0 in conflict \(\d+ documents, \d+ ms\)$/)]);
    const bar = job.getByRole("progressbar");
    expect(await bar.getAttribute("value")).toBe(await bar.getAttribute("max"));
    // the progress streamed while it ran: documents counted, then the outcome
    const seen = await page.evaluate(() => (window as unknown as { jobTexts: string[] }).jobTexts);
    expect(seen.some((t) => /^hub: \d+ of \d+ documents$/.test(t)), seen.join(" | ")).toBe(true);
    expect(seen.at(-1)).toBe("synced with 1 remote");
    // the tables below follow without a reload
    await expect.poll(() => remotes.getByRole("row", { name: /^hub / }).getByRole("cell").nth(2).textContent()).toMatch(/UTC: ok$/);
    await expect.poll(() => page.getByRole("table", { name: "History" }).getByRole("row").count()).toBe(2);

    // What the page did is a real sync: a fresh instance finds the catalog on the relay.
    const other = tempHome("shelf-ui-sync-other-");
    const catalogUrl = (await shelfJson<{ status: { catalogs: { url: string }[] } }>(home, "status")).status.catalogs[0]!.url;
    expectExit(await shelf(other, "join", catalogUrl, "--relay", relay.url), 0);
    expect((await shelfJson<{ record: { name: string } }>(other, "show", "npm:0x")).record.name).toBe("0x");

    // A daemon on the same home: its live connections show (the unreachable one with its fix),
    // and go when it stops.
    const daemon = startCli(["--home", home, "daemon"]);
    const daemonEnded = finished(daemon);
    onTestFinished(() => void daemon.kill("SIGKILL"));
    const live = page.getByRole("table", { name: "Live connections" });
    await expect
      .poll(async () => {
        await page.reload();
        return (await live.count()) === 0 ? [] : live.getByRole("row").allTextContents();
      }, { timeout: 120_000, interval: 1_000 })
      .toEqual([expect.stringMatching(/^remote/), expect.stringMatching(/^goneconnecting|^gonereconnecting.*fix: check that the relay/), expect.stringMatching(/^hubconnected/)]);
    await page.screenshot({ path: join(SHOTS, "sync.png"), fullPage: true });
    daemon.kill("SIGTERM");
    expect((await daemonEnded).code).toBe(0);
    await page.reload();
    expect(await page.getByText(/^No shelf daemon/).count()).toBe(1);

    // A remote that cannot be reached: the error in words, and its fix.
    await page.goto(new URL("/sync", url).href);
    await page.getByLabel("Remote", { exact: true }).selectOption("gone");
    await page.getByRole("button", { name: "Sync now" }).click();
    await page.locator('.job[data-state="failed"]').waitFor({ timeout: 120_000 });
    expect(await job.locator("[data-job-text]").textContent()).toBe("1 of 1 remote failed; the others synced");
    const failure = await job.getByRole("listitem").textContent();
    expect(failure).toMatch(/^error: gone: /);
    expect(failure).toMatch(/fix: /);
    expect(await readableAtDoubleZoom(new URL("/sync", url).href)).toBe(true);
  });

  it("refuses a sync asked for by another site, or without the page's token", async () => {
    const home = tempHome("shelf-ui-sync-csrf-");
    expectExit(await shelf(home, "init"), 0);
    const url = await uiOn(home);
    const page = await browser.newPage();
    await page.goto(new URL("/sync", url).href);
    const token = await page.locator('input[name="_csrf"]').first().inputValue();
    const post = (headers: Record<string, string>, body: string) => fetch(new URL("/sync/run", url), { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body });
    expect((await post({ origin: "https://evil.example" }, `_csrf=${token}&remote=`)).status).toBe(403);
    expect((await post({ origin: new URL(url).origin }, "remote=")).status).toBe(403);
    expect((await post({ origin: new URL(url).origin }, `_csrf=${token}&remote=`)).status).toBe(303);
  });
});

describe("shelf ui: Imports", () => {
  it("lists scheduled imports, runs one now with progress, and shows its run and what it rejected", async () => {
    const home = tempHome("shelf-ui-imports-");
    expectExit(await shelf(home, "init", "--name", "team"), 0);
    expectExit(await shelf(home, "import", "add", "npm-list", "tsv", join(FIXTURES, "npm-bad.tsv"), "--every", "daily"), 0);
    const url = await uiOn(home);

    const page = await browser.newPage();
    await recordJobTexts(page);
    await page.goto(new URL("/imports", url).href);
    const schedules = page.getByRole("table", { name: "Scheduled imports" });
    const row = schedules.getByRole("row", { name: /^npm-list / });
    expect(await row.getByRole("cell").nth(4).textContent()).toBe("never");
    await row.getByRole("button", { name: "Run npm-list now" }).click();
    const job = page.locator(".job");
    await page.locator('.job[data-state="ok"], .job[data-state="failed"]').waitFor({ timeout: 120_000 });
    const outcome = await job.locator("[data-job-text]").textContent();
    expect(outcome).toMatch(/^\d+ added, 0 updated, 0 tombstoned, 0 unchanged, [1-9]\d* rejected$/);
    const rejects = await job.getByRole("listitem").allTextContents();
    expect(rejects.some((t) => /^error: rejected .*npm-bad\.tsv:\d+: /.test(t)), rejects.join(" | ")).toBe(true);
    const runs = page.getByRole("table", { name: "Runs" });
    await expect.poll(() => runs.getByRole("row").count()).toBe(2);
    expect(await runs.getByRole("row").nth(1).getByRole("cell").nth(1).textContent()).toBe("npm-list");
    // rows were rejected, so the run counts as partial (as `shelf import` exits 1)
    await expect.poll(() => row.getByRole("cell").nth(4).textContent()).toMatch(/UTC: partial: [1-9]\d* rejected; first: .*npm-bad\.tsv:\d+: /);
    expect(await job.getAttribute("data-state")).toBe("failed");
    await page.screenshot({ path: join(SHOTS, "imports.png"), fullPage: true });
    // the run is the catalog's: the CLI sees its records and its history
    const { history } = await shelfJson<{ history: { schedule: string }[] }>(home, "import", "history");
    expect(history[0]?.schedule).toBe("npm-list");
    expectExit(await shelf(home, "show", "npm:chalk"), 0);
    expect(await readableAtDoubleZoom(new URL("/imports", url).href)).toBe(true);
  });
});

describe("shelf ui: Compare", () => {
  it("shows `shelf compare A B` as tables: only on A, only on B, different versions", async () => {
    const home = tempHome("shelf-ui-compare-");
    expectExit(await shelf(home, "init", "--name", "fleet"), 0);
    expectExit(await shelf(home, "import", "pacman", join(FIXTURES, "pacman", "host-a", "local"), "--as", "web-01"), 1); // one package rejected
    expectExit(await shelf(home, "import", "pacman", join(FIXTURES, "pacman", "host-b", "local"), "--as", "web-02"), 0);
    const url = await uiOn(home);

    const page = await browser.newPage();
    await page.goto(new URL("/compare", url).href);
    await page.getByLabel("Host A").selectOption("web-01");
    await page.getByLabel("Host B").selectOption("web-02");
    await page.getByRole("button", { name: "Compare" }).click();
    await page.waitForURL(/\/compare\?a=web-01&b=web-02/);
    const cells = (name: string) => page.getByRole("table", { name: new RegExp(`^${name}`) }).getByRole("row").nth(1).getByRole("cell").allTextContents();
    expect(await cells("Only on web-01")).toEqual(["htop", "pacman:htop", "3.3.0-3"]);
    expect(await cells("Only on web-02")).toEqual(["vim", "pacman:vim", "9.1.0580-1"]);
    expect(await cells("Different versions")).toEqual(["linux", "pacman:linux", "6.9.7.arch1-1", "6.10.2.arch1-1"]);
    expect(await page.getByText(/the same on both/).textContent()).toBe("2 packages the same on both; 1 only on web-01, 1 only on web-02, 1 at different versions.");
    await page.screenshot({ path: join(SHOTS, "compare.png"), fullPage: true });

    // a host the catalog does not know: the CLI's error and hint, on the page
    await page.goto(new URL("/compare?a=web-01&b=web-03", url).href);
    expect(await page.getByRole("alert").textContent()).toContain("no record in this catalog was imported for host web-03");
    expect(await readableAtDoubleZoom(new URL("/compare?a=web-01&b=web-02", url).href)).toBe(true);
  });
});
