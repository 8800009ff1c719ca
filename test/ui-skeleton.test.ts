/**
 * `shelf ui` as a process: it starts on one home, prints its URL, serves the shared layout, and
 * exits 0 on SIGTERM; a busy port is a clear error.
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { expectExit, expectJsonError, makeTempDir, shelf } from "./helpers/cli.js";
import { openBrowser } from "./helpers/browser.js";
import { startUiProcess } from "./helpers/ui-process.js";

describe("shelf ui", () => {
  it("serves the app with its navigation in a real browser, and exits 0 on SIGTERM", async () => {
    const tmp = makeTempDir("shelf-ui-");
    const browser = await openBrowser();
    try {
      expectExit(await shelf(tmp.dir, "init", "--name", "team"), 0);
      const ui = await startUiProcess(tmp.dir);
      try {
        const page = await browser.newPage();
        await page.goto(ui.url);
        const nav = page.getByRole("navigation", { name: "Pages" });
        for (const label of ["Catalog", "Record", "Conflicts", "Sync", "Imports", "Compare"]) await expect(nav.getByRole("link", { name: label }).count()).resolves.toBe(1);
        expect(await nav.getByRole("link", { name: "Catalog" }).getAttribute("aria-current")).toBe("page");
        // the live stream connects
        await page.getByText("live", { exact: true }).waitFor();
      } finally {
        const result = await ui.stop("SIGTERM");
        expect(result.code, result.stderr).toBe(0);
      }
    } finally {
      await browser.close();
      tmp.remove();
    }
  });

  it("says so and exits 1 when its port is taken", async () => {
    const tmp = makeTempDir("shelf-ui-port-");
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      expectExit(await shelf(tmp.dir, "init"), 0);
      const port = String((holder.address() as { port: number }).port);
      expectJsonError(await shelf(tmp.dir, "ui", "--port", port, "--json"), 1, "SHELF_E_RELAY_LISTEN");
    } finally {
      holder.close();
      tmp.remove();
    }
  });

  it("refuses to listen beyond loopback without a token", async () => {
    const tmp = makeTempDir("shelf-ui-host-");
    try {
      expectExit(await shelf(tmp.dir, "init"), 0);
      const error = expectJsonError(await shelf(tmp.dir, "ui", "--host", "0.0.0.0", "--port", "0", "--json"), 2, "SHELF_E_USAGE");
      expect(error.hint).toContain("--token");
    } finally {
      tmp.remove();
    }
  });
});
