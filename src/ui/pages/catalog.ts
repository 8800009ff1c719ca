/**
 * The Catalog page (GET /): search as you type with `shelf search`'s own ranking, or list in id
 * order without a query; filters by provider, kind, tag, collection and deletion; paging; counts.
 * Without JavaScript the form submits as a plain GET; with it, the results region is refreshed on
 * every keystroke and whenever the catalog changes.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { RECORD_KINDS, type CatalogRecord } from "../../model/record.js";
import { countListed, countRecords, countSearched, labelCounts, listRecords, searchRecords, type RecordFilter } from "../../view/queries.js";
import type { UiContext } from "../context.js";
import { href, html, type Html } from "../html.js";
import { layout, sendPage } from "../layout.js";

export const PAGE_SIZES = [25, 50, 100] as const;
/** A search's matches are counted up to this many; past it the page says "more than". */
export const SEARCH_COUNT_CAP = 1000;
/** How many tags and collections the filters suggest. */
const SUGGESTED_LABELS = 200;

type Deleted = "hide" | "include" | "only";

export interface CatalogQuery {
  q: string;
  provider: string;
  kind: string;
  tag: string;
  collection: string;
  deleted: Deleted;
  page: number;
  size: number;
}

/** The page's query string, read leniently: anything unknown falls back to the default. */
export function parseCatalogQuery(query: Record<string, unknown>): CatalogQuery {
  const text = (key: string) => (typeof query[key] === "string" ? (query[key] as string).trim().slice(0, 512) : "");
  const deleted = text("deleted");
  const page = Number(text("page"));
  const size = Number(text("size"));
  return {
    q: text("q"),
    provider: text("provider"),
    kind: text("kind"),
    tag: text("tag"),
    collection: text("collection"),
    deleted: deleted === "include" || deleted === "only" ? deleted : "hide",
    page: Number.isSafeInteger(page) && page >= 1 ? Math.min(page, 1_000_000) : 1,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : PAGE_SIZES[0],
  };
}

export interface CatalogResults {
  records: CatalogRecord[];
  /** how many match in all; for a search, capped at SEARCH_COUNT_CAP + 1 */
  total: number;
  /** whether `total` is a lower bound (a broad search) */
  totalIsAtLeast: boolean;
  hasMore: boolean;
}

/** The records of one page, through the same queries as `shelf search` and `shelf list`. */
export function catalogResults(ctx: UiContext, query: CatalogQuery): CatalogResults {
  const { db } = ctx.instance;
  const catId = ctx.catalog.catId;
  const filter: RecordFilter = {
    provider: query.provider || undefined,
    kind: query.kind || undefined,
    tag: query.tag || undefined,
    collection: query.collection || undefined,
    includeDeleted: query.deleted !== "hide",
    onlyDeleted: query.deleted === "only",
  };
  const offset = (query.page - 1) * query.size;
  if (query.q) {
    // Ranked results cannot start midway: the page is cut from the first offset + size + 1.
    const found = searchRecords(db, catId, query.q, { ...filter, limit: offset + query.size + 1 });
    const counted = ctx.cached(`search-count ${JSON.stringify([query.q, filter])}`, () => countSearched(db, catId, query.q, filter, SEARCH_COUNT_CAP));
    const total = Math.max(counted, found.length);
    return { records: found.slice(offset, offset + query.size), total, totalIsAtLeast: total > SEARCH_COUNT_CAP, hasMore: found.length > offset + query.size };
  }
  const records = listRecords(db, catId, { ...filter, limit: query.size + 1, offset });
  const total = ctx.cached(`list-count ${JSON.stringify(filter)}`, () => countListed(db, catId, filter));
  return { records: records.slice(0, query.size), total, totalIsAtLeast: false, hasMore: records.length > query.size };
}

export function registerCatalogPage(app: FastifyInstance, ctx: UiContext): void {
  app.get("/", async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    const query = parseCatalogQuery(request.query);
    const results = catalogResults(ctx, query);
    const title = query.q ? `“${query.q}” in the catalog` : "Catalog";
    return sendPage(reply, layout(ctx, { title, nav: "catalog", body: html`<h1>Catalog</h1>${searchForm(ctx, query)}${resultsRegion(query, results)}` }));
  });
}

function searchForm(ctx: UiContext, query: CatalogQuery): Html {
  const counts = ctx.cached("counts", () => countRecords(ctx.instance.db, ctx.catalog.catId));
  const tags = ctx.cached("tags", () => labelCounts(ctx.instance.db, ctx.catalog.catId, "tag", SUGGESTED_LABELS));
  const collections = ctx.cached("collections", () => labelCounts(ctx.instance.db, ctx.catalog.catId, "collection", SUGGESTED_LABELS));
  const providers = Object.entries(counts.byProvider);
  if (query.provider && !counts.byProvider[query.provider]) providers.push([query.provider, 0]);
  const option = (value: string, label: string | Html, selected: boolean) => html`<option value="${value}"${selected ? html` selected` : null}>${label}</option>`;
  return html`<form class="search" method="get" action="/" role="search" data-search>
  <div class="search-box">
    <div class="field grow">
      <label for="q">Search names, summaries and tags</label>
      <input type="search" id="q" name="q" value="${query.q}" autocomplete="off" spellcheck="false" autofocus aria-controls="results">
    </div>
    <button type="submit" class="primary">Search</button>
  </div>
  <fieldset class="filters">
    <legend>Filters</legend>
    <div class="row">
      <div class="field"><label for="provider">Provider</label>
        <select id="provider" name="provider">${option("", html`all (${counts.live.toLocaleString("en")})`, !query.provider)}${providers.map(([p, n]) => option(p, `${p} (${n.toLocaleString("en")})`, p === query.provider))}</select></div>
      <div class="field"><label for="kind">Kind</label>
        <select id="kind" name="kind">${option("", "all", !query.kind)}${RECORD_KINDS.map((k) => option(k, k, k === query.kind))}</select></div>
      <div class="field"><label for="tag">Tag</label>
        <input type="text" id="tag" name="tag" value="${query.tag}" list="tag-list" autocomplete="off"><datalist id="tag-list">${tags.map((t) => html`<option value="${t.label}">${t.label} (${t.n})</option>`)}</datalist></div>
      <div class="field"><label for="collection">Collection</label>
        <input type="text" id="collection" name="collection" value="${query.collection}" list="collection-list" autocomplete="off"><datalist id="collection-list">${collections.map((c) => html`<option value="${c.label}">${c.label} (${c.n})</option>`)}</datalist></div>
      <div class="field"><label for="deleted">Deleted records</label>
        <select id="deleted" name="deleted">${option("hide", `hidden (${counts.deleted.toLocaleString("en")})`, query.deleted === "hide")}${option("include", "shown", query.deleted === "include")}${option("only", "only deleted", query.deleted === "only")}</select></div>
      <div class="field"><label for="size">Per page</label>
        <select id="size" name="size">${PAGE_SIZES.map((s) => option(String(s), String(s), s === query.size))}</select></div>
    </div>
  </fieldset>
</form>`;
}

function resultsRegion(query: CatalogQuery, results: CatalogResults): Html {
  const first = (query.page - 1) * query.size + 1;
  const last = first + results.records.length - 1;
  const total = `${results.totalIsAtLeast ? "more than " : ""}${(results.totalIsAtLeast ? results.total - 1 : results.total).toLocaleString("en")}`;
  const summary =
    results.records.length === 0
      ? query.page > 1
        ? `no records on page ${query.page}`
        : query.q
          ? `no records match “${query.q}”`
          : "no records"
      : `${total} ${results.total === 1 ? "record" : "records"}${query.q ? ` ${results.total === 1 ? "matches" : "match"} “${query.q}”` : ""}; showing ${first.toLocaleString("en")}–${last.toLocaleString("en")}`;
  const pageHref = (page: number) => href("/", { q: query.q, provider: query.provider, kind: query.kind, tag: query.tag, collection: query.collection, deleted: query.deleted === "hide" ? "" : query.deleted, size: query.size === PAGE_SIZES[0] ? "" : query.size, page: page === 1 ? "" : page });
  const pager = html`<nav class="pager" aria-label="Result pages">
    ${query.page > 1 ? html`<a href="${pageHref(query.page - 1)}" rel="prev">← Previous</a>` : null}
    <span>Page ${query.page}</span>
    ${results.hasMore ? html`<a href="${pageHref(query.page + 1)}" rel="next">Next →</a>` : null}
  </nav>`;
  return html`<section id="results" data-live="results" aria-labelledby="results-summary">
  <p id="results-summary" role="status">${summary}</p>
  ${results.records.length > 0 ? html`<div class="table-wrap"><table>
    <caption class="visually-hidden">Records</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Version</th><th scope="col">Provider</th><th scope="col">Kind</th><th scope="col">Summary</th><th scope="col">Tags</th></tr></thead>
    <tbody>${results.records.map(row)}</tbody>
  </table></div>${pager}` : null}
</section>`;
}

function row(r: CatalogRecord): Html {
  return html`<tr${r.deleted ? html` class="is-deleted"` : null}>
  <td><a href="${href("/record", { id: r.id })}">${r.name || r.id}</a>${r.deleted ? html` <span class="deleted">(deleted)</span>` : null}</td>
  <td><code>${r.id}</code></td><td>${r.version}</td><td>${r.provider}</td><td>${r.kind}</td><td>${r.summary}</td><td>${r.tags.join(", ")}</td>
</tr>`;
}
