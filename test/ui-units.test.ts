/**
 * The web app's small pure parts: escaping, the page's query string, the browser script, and the
 * security rules on the requests they judge.
 */
import { describe, expect, it } from "vitest";
import { APP_JS } from "../src/ui/assets/app-js.js";
import { html, href, raw } from "../src/ui/html.js";
import { parseCatalogQuery } from "../src/ui/pages/catalog.js";
import { checkUiOptions, UiSecurity } from "../src/ui/security.js";
import type { FastifyRequest } from "fastify";

describe("html", () => {
  it("escapes every interpolated string, in text and in attributes", () => {
    const hostile = `<script>alert("x")</script>' onmouseover='x`;
    expect(html`<p title="${hostile}">${hostile}</p>`.text).toBe(
      "<p title=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x</p>",
    );
    expect(html`<ul>${["a&b", raw("<li>ok</li>"), null, undefined, false]}</ul>`.text).toBe("<ul>a&amp;b<li>ok</li></ul>");
  });

  it("builds links whose parameters are encoded", () => {
    expect(href("/record", { id: "npm:@scope/x&y=1", done: "" })).toBe("/record?id=npm%3A%40scope%2Fx%26y%3D1");
  });
});

describe("the Catalog page's query string", () => {
  it("falls back to the defaults for anything unknown, and keeps what is valid", () => {
    expect(parseCatalogQuery({ q: ["a", "b"], page: "-3", size: "7", deleted: "maybe" })).toEqual({ q: "", provider: "", kind: "", tag: "", collection: "", deleted: "hide", page: 1, size: 25 });
    expect(parseCatalogQuery({ q: " react ", page: "3", size: "100", deleted: "only", provider: "npm" })).toMatchObject({ q: "react", page: 3, size: 100, deleted: "only", provider: "npm" });
  });
});

describe("the browser script", () => {
  it("is valid JavaScript as served", () => {
    expect(() => new Function(APP_JS)).not.toThrow();
  });
});

describe("security rules", () => {
  const request = (headers: Record<string, string>) => ({ headers, protocol: "http" }) as unknown as FastifyRequest;

  it("takes a POST only from its own origin", () => {
    const security = new UiSecurity({ host: "127.0.0.1" });
    security.setPort(8384);
    const own = { host: "127.0.0.1:8384" };
    expect(security.sameOrigin(request({ ...own, origin: "http://127.0.0.1:8384", "sec-fetch-site": "same-origin" }))).toBe(true);
    expect(security.sameOrigin(request({ ...own, origin: "http://evil.example" }))).toBe(false);
    expect(security.sameOrigin(request({ ...own, "sec-fetch-site": "cross-site" }))).toBe(false);
    expect(security.sameOrigin(request({ ...own, referer: "http://evil.example/page" }))).toBe(false);
    expect(security.sameOrigin(request({ ...own, referer: "http://127.0.0.1:8384/record?id=x" }))).toBe(true);
    expect(security.csrfValid(security.csrfToken)).toBe(true);
    expect(security.csrfValid("x")).toBe(false);
    expect(security.csrfValid(undefined)).toBe(false);
  });

  it("answers to its loopback names on its port only, unless a token guards it", () => {
    const security = new UiSecurity({ host: "127.0.0.1" });
    security.setPort(8384);
    for (const host of ["127.0.0.1:8384", "localhost:8384", "[::1]:8384"]) expect(security.hostAllowed(host)).toBe(true);
    for (const host of ["evil.example:8384", "127.0.0.1:80", "localhost", undefined]) expect(security.hostAllowed(host)).toBe(false);
    const guarded = new UiSecurity({ host: "0.0.0.0", token: "a-token-of-enough-length" });
    expect(guarded.hostAllowed("my-laptop.lan:8384")).toBe(true);
  });

  it("refuses to serve beyond loopback without a token, or with a short one", () => {
    expect(() => checkUiOptions("0.0.0.0", undefined)).toThrow(/without a token/);
    expect(() => checkUiOptions("127.0.0.1", "short")).toThrow(/at least 16/);
    expect(() => checkUiOptions("::1", undefined)).not.toThrow();
  });
});
