/**
 * `shelf ui` as a process: it starts on one home, prints its URL, serves the shared layout, and
 * exits 0 on SIGTERM; a busy port is a clear error. Its security model, tried the way an attacker
 * would: a page on another site posting a form to it (in a real browser), a request naming another
 * host (DNS rebinding), a form without the run's token, and a token-guarded app.
 */
import { request as httpRequest, createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { expectExit, expectJsonError, makeTempDir, shelf, shelfJson } from "./helpers/cli.js";
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

  it("refuses a form posted by a page on another site, even one holding the run's token", async () => {
    const tmp = makeTempDir("shelf-ui-csrf-");
    const browser = await openBrowser();
    const attacker = createHttpServer();
    try {
      expectExit(await shelf(tmp.dir, "init"), 0);
      expectExit(await shelf(tmp.dir, "add", "npm:left-pad", "--name", "left-pad"), 0);
      const ui = await startUiProcess(tmp.dir);
      try {
        const token = /name="csrf-token" content="([^"]+)"/.exec(await (await fetch(ui.url)).text())![1]!;
        attacker.on("request", (_req, res) => {
          res.setHeader("content-type", "text/html");
          res.end(`<form id="f" method="post" action="${ui.url}record/delete"><input name="_csrf" value="${token}"><input name="id" value="npm:left-pad"></form><script>document.getElementById("f").submit()</script>`);
        });
        await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
        const page = await browser.newPage();
        const answered = page.waitForResponse((r) => r.url().endsWith("/record/delete"));
        await page.goto(`http://localhost:${(attacker.address() as { port: number }).port}/`);
        expect((await answered).status()).toBe(403);
        expect((await shelfJson(tmp.dir, "show", "npm:left-pad")).record.deleted).toBe(false);
      } finally {
        expect((await ui.stop("SIGTERM")).code).toBe(0);
      }
    } finally {
      attacker.close();
      await browser.close();
      tmp.remove();
    }
  });

  it("answers only to its own host name, and takes a form only with the run's token", async () => {
    const tmp = makeTempDir("shelf-ui-host-name-");
    try {
      expectExit(await shelf(tmp.dir, "init"), 0);
      expectExit(await shelf(tmp.dir, "add", "npm:left-pad", "--name", "left-pad"), 0);
      const ui = await startUiProcess(tmp.dir);
      try {
        const origin = ui.url.replace(/\/$/, "");
        // a name that resolves to this machine but is not this app's (DNS rebinding)
        expect((await raw(ui.url, { host: "attacker.example:80" })).status).toBe(421);
        expect((await raw(ui.url, { host: new URL(ui.url).host })).status).toBe(200);
        // a same-origin form without the token, or with a wrong one, changes nothing
        for (const body of ["id=npm%3Aleft-pad", "id=npm%3Aleft-pad&_csrf=wrong"]) {
          const refused = await fetch(`${ui.url}record/delete`, { method: "POST", headers: { origin, "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" });
          expect(refused.status).toBe(403);
        }
        expect((await shelfJson(tmp.dir, "show", "npm:left-pad")).record.deleted).toBe(false);
        // with the token it goes through the same write as `shelf rm`
        const token = /name="csrf-token" content="([^"]+)"/.exec(await (await fetch(ui.url)).text())![1]!;
        const accepted = await fetch(`${ui.url}record/delete`, { method: "POST", headers: { origin, "content-type": "application/x-www-form-urlencoded" }, body: `id=npm%3Aleft-pad&_csrf=${encodeURIComponent(token)}`, redirect: "manual" });
        expect(accepted.status).toBe(303);
        expect((await shelfJson(tmp.dir, "show", "npm:left-pad")).record.deleted).toBe(true);
      } finally {
        expect((await ui.stop("SIGTERM")).code).toBe(0);
      }
    } finally {
      tmp.remove();
    }
  });

  it("with --token, serves only a browser that presented it", async () => {
    const tmp = makeTempDir("shelf-ui-token-");
    const browser = await openBrowser();
    const token = "ui-secret-0123456789abcdef";
    try {
      expectExit(await shelf(tmp.dir, "init"), 0);
      const ui = await startUiProcess(tmp.dir, ["--token", token]);
      try {
        expect((await fetch(ui.url)).status).toBe(401);
        expect((await fetch(`${ui.url}?token=wrong-token-0123456789`)).status).toBe(401);
        expect((await fetch(ui.url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
        // the browser presents it once; a cookie keeps it, and the URL no longer shows it
        const page = await browser.newPage();
        await page.goto(`${ui.url}?token=${token}`);
        expect(new URL(page.url()).search).toBe("");
        await page.getByRole("heading", { name: "Catalog" }).waitFor();
        await page.goto(`${ui.url}conflicts`);
        await page.getByRole("heading", { name: "Conflicts" }).waitFor();
      } finally {
        expect((await ui.stop("SIGTERM")).code).toBe(0);
      }
    } finally {
      await browser.close();
      tmp.remove();
    }
  });
});

/** A GET with headers fetch() will not send as given (Host). */
function raw(url: string, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on("error", reject);
    req.end();
  });
}
