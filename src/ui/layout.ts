/**
 * The page skeleton every page shares: a skip link, the navigation, one <main>, a status region
 * that announces results and live changes, and the small stylesheet and script (assets.ts).
 * Pages render their body with `html` and hand it here.
 */
import type { FastifyReply } from "fastify";
import { ShelfError } from "../errors.js";
import type { UiContext } from "./context.js";
import { countConflicted } from "../view/queries.js";
import { html, type Html, type HtmlValue } from "./html.js";
import { CSRF_FIELD } from "./security.js";

export interface NavItem {
  key: string;
  label: string;
  path: string;
}

/** Every page of the app; Sync, Imports and Compare are served by their own page modules. */
export const NAV: readonly NavItem[] = [
  { key: "catalog", label: "Catalog", path: "/" },
  { key: "record", label: "Record", path: "/record" },
  { key: "conflicts", label: "Conflicts", path: "/conflicts" },
  { key: "sync", label: "Sync", path: "/sync" },
  { key: "imports", label: "Imports", path: "/imports" },
  { key: "compare", label: "Compare", path: "/compare" },
];

export interface PageOptions {
  title: string;
  /** the NAV key of the page, marked as the current one */
  nav?: string;
  body: Html;
  /** a message shown at the top (the outcome of the last action) */
  notice?: { kind: "ok" | "error"; text: HtmlValue; hint?: string };
}

export function layout(ctx: UiContext, page: PageOptions): Html {
  // Open conflicts are counted on every page: one must not go unnoticed.
  const badges: Record<string, number> = { conflicts: ctx.cached("conflict-count", () => countConflicted(ctx.instance.db, ctx.catalog.catId)) };
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${ctx.security.csrfToken}">
<title>${page.title} · shelf</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">shelf</a>
  <span class="catalog-name" title="${ctx.catalog.url}">${ctx.catalog.name}</span>
  <nav aria-label="Pages">
    <ul data-live="nav">${NAV.map((item) => navLink(item, page.nav, badges[item.key]))}</ul>
  </nav>
  <span class="live" id="live-state" role="status" aria-live="polite" data-state="off">live updates off</span>
</header>
<main id="main" tabindex="-1">
${page.notice ? notice(page.notice) : null}
${page.body}
</main>
</body>
</html>
`;
}

function navLink(item: NavItem, currentKey: string | undefined, badge: number | undefined): Html {
  const current = item.key === currentKey;
  return html`<li><a href="${item.path}"${current ? html` aria-current="page"` : null}>${item.label}${badge ? html` <span class="badge">${badge}<span class="visually-hidden"> open</span></span>` : null}</a></li>`;
}

function notice(n: NonNullable<PageOptions["notice"]>): Html {
  return html`<div class="notice notice-${n.kind}" role="${n.kind === "error" ? "alert" : "status"}"><p>${n.text}</p>${n.hint ? html`<p class="hint">${n.hint}</p>` : null}</div>`;
}

/** The hidden field that carries the per-run token; every POST form holds one. */
export function csrfInput(ctx: UiContext): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.security.csrfToken}">`;
}

/** Sends a rendered page. */
export function sendPage(reply: FastifyReply, page: Html, status = 200): FastifyReply {
  return reply.code(status).type("text/html; charset=utf-8").header("cache-control", "no-store").send(page.text);
}

/** The HTTP status for an error a command threw: the user's mistake, a missing record, or ours. */
export function statusOf(err: unknown): number {
  if (!(err instanceof ShelfError)) return 500;
  if (err.code === "SHELF_E_RECORD_NOT_FOUND" || err.code === "SHELF_E_CATALOG_NOT_FOUND") return 404;
  if (err.code === "SHELF_E_USAGE" || err.code === "SHELF_E_INVALID_FIELD" || err.code === "SHELF_E_INVALID_ID" || err.code === "SHELF_E_RECORD_EXISTS") return 400;
  if (err.code === "SHELF_E_HOME_BUSY") return 503;
  return 500;
}

/** The notice for an error: a ShelfError's message and hint, or a plain internal error. */
export function errorNotice(err: unknown): NonNullable<PageOptions["notice"]> {
  if (err instanceof ShelfError) return { kind: "error", text: err.message, hint: err.hint };
  return { kind: "error", text: `internal error: ${(err as Error)?.message ?? String(err)}`, hint: "this should never happen; the app's log (stderr of `shelf ui`) has the details" };
}

/** A date for people, in UTC as the CLI shows it, with the exact time for machines. */
export function when(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">unknown time</span>`;
  return html`<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC")}</time>`;
}
