/**
 * The Compare page: `shelf compare HOST_A HOST_B [--provider P]` as tables (only on A, only on B,
 * different versions), from the per-host meta keys `shelf import pacman ... --as HOST` writes. A
 * GET form (it changes nothing), so a comparison has a URL to share or bookmark.
 */
import type { FastifyInstance } from "fastify";
import { ShelfError } from "../../errors.js";
import { compareHosts, knownHosts, type HostComparison, type HostPackage } from "../../view/host-compare.js";
import type { UiContext } from "../context.js";
import { href, html, type Html } from "../html.js";
import { errorNotice, layout, sendPage, statusOf } from "../layout.js";

/** Rows shown per table; the rest are counted (the CLI's --json gives them all). */
const MAX_ROWS = 1000;

interface CompareQuery {
  a?: string;
  b?: string;
  provider?: string;
}

export function registerComparePage(app: FastifyInstance, ctx: UiContext): void {
  app.get<{ Querystring: CompareQuery }>("/compare", async (request, reply) => {
    const { a = "", b = "", provider = "" } = request.query;
    const hosts = ctx.cached("compare:hosts", () => knownHosts(ctx.instance.db, ctx.catalog.catId));
    let result: HostComparison | undefined;
    let failure: unknown;
    if (a && b) {
      try {
        result = compareHosts(ctx.instance.db, ctx.catalog.catId, a, b, provider || undefined);
      } catch (err) {
        if (!(err instanceof ShelfError)) throw err;
        failure = err;
      }
    }
    const body = html`<h1>Compare</h1>
${form(hosts, a, b, provider)}
<div data-live="compare">${result ? tables(result) : a && b ? null : html`<p class="hint">Pick two hosts: as <code>shelf compare HOST_A HOST_B</code>.</p>`}</div>`;
    return sendPage(reply, layout(ctx, { title: result ? `${a} vs ${b}` : "Compare", nav: "compare", body, notice: failure ? errorNotice(failure) : undefined }), failure ? statusOf(failure) : 200);
  });
}

function form(hosts: string[], a: string, b: string, provider: string): Html {
  const options = (selected: string) => hosts.map((h) => html`<option value="${h}"${h === selected ? html` selected` : null}>${h}</option>`);
  if (hosts.length === 0) return html`<p>No host in this catalog yet. Import one machine's packages with <code>shelf import pacman /var/lib/pacman/local --as HOST</code>, then another's.</p>`;
  return html`<form method="get" action="/compare" class="row filters">
  <div class="field"><label for="host-a">Host A</label><select id="host-a" name="a" required><option value="">choose…</option>${options(a)}</select></div>
  <div class="field"><label for="host-b">Host B</label><select id="host-b" name="b" required><option value="">choose…</option>${options(b)}</select></div>
  <div class="field"><label for="compare-provider">Provider (optional)</label><input id="compare-provider" name="provider" type="text" value="${provider}" placeholder="pacman"></div>
  <div class="field"><button class="primary" type="submit">Compare</button></div>
</form>`;
}

function tables(r: HostComparison): Html {
  const link = (p: { id: string; name: string }) => html`<a href="${href("/record", { id: p.id })}">${p.name}</a>`;
  const more = (n: number) => (n > MAX_ROWS ? html`<p class="hint">and ${n - MAX_ROWS} more: <code>shelf compare ${r.hostA} ${r.hostB} --json</code> lists them all.</p>` : null);
  const onlyTable = (id: string, title: string, rows: HostPackage[]) =>
    html`<h2 id="${id}">${title} <span class="muted">(${rows.length})</span></h2>
${rows.length === 0 ? html`<p class="muted">none</p>` : html`<div class="table-wrap"><table aria-labelledby="${id}"><thead><tr><th scope="col">package</th><th scope="col">id</th><th scope="col">version</th></tr></thead>
<tbody>${rows.slice(0, MAX_ROWS).map((p) => html`<tr><td>${link(p)}</td><td><code>${p.id}</code></td><td>${p.version ?? ""}</td></tr>`)}</tbody></table></div>${more(rows.length)}`}`;
  return html`<p><strong>${r.same}</strong> package${r.same === 1 ? "" : "s"} the same on both; ${r.onlyA.length} only on ${r.hostA}, ${r.onlyB.length} only on ${r.hostB}, ${r.different.length} at different versions.</p>
${onlyTable("only-a", `Only on ${r.hostA}`, r.onlyA)}
${onlyTable("only-b", `Only on ${r.hostB}`, r.onlyB)}
<h2 id="different">Different versions <span class="muted">(${r.different.length})</span></h2>
${
  r.different.length === 0
    ? html`<p class="muted">none</p>`
    : html`<div class="table-wrap"><table aria-labelledby="different"><thead><tr><th scope="col">package</th><th scope="col">id</th><th scope="col">on ${r.hostA}</th><th scope="col">on ${r.hostB}</th></tr></thead>
<tbody>${r.different.slice(0, MAX_ROWS).map((d) => html`<tr><td>${link(d)}</td><td><code>${d.id}</code></td><td>${d.versionA ?? ""}</td><td>${d.versionB ?? ""}</td></tr>`)}</tbody></table></div>${more(r.different.length)}`
}`;
}
