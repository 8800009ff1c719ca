/**
 * A real browser for the web app's tests: Debian's Chromium (/usr/bin/chromium), driven by
 * playwright-core. Each session gets a fresh profile directory, removed when it closes, so no
 * cookie or cache leaks from one test into another.
 *
 * Set SHELF_TEST_CHROMIUM to use another Chromium binary.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.SHELF_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Flags that let Chromium run headless as root in a container, quietly (no network of its own). */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface BrowserSession {
  context: BrowserContext;
  /** a new tab */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function openBrowser(options: { viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {}): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), "shelf-chromium-"));
  // launchPersistentContext passes the profile as --user-data-dir: a fresh one per session.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    deviceScaleFactor: options.deviceScaleFactor,
    timeout: 120_000,
  });
  context.setDefaultTimeout(30_000);
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
