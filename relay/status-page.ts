/**
 * The relay's status page (GET /), for its admin: what is connected and loaded now, traffic and
 * memory, refused connections, and a chart of the last hour, all from the /metrics registry. A few
 * lines of script fetch the page again every few seconds and swap its <main>, so it stays live
 * without a reload (and still reads fine without script).
 *
 * Catalogs appear by a short fingerprint of their id; their names and URLs (whatever a client
 * wrote, escaped) only to a viewer on the relay's own machine.
 */
import { createHash } from "node:crypto";
import { escapeHtml } from "./escape-html.js";
import type { MetricsSnapshot } from "./metrics.js";
import type { Point } from "./metrics-history.js";
import { lineChart } from "./status-chart.js";

export { escapeHtml };

export interface CatalogStatus {
  /** automerge:<root id> */
  url: string;
  /** from the root document, when the relay holds it */
  name: string | undefined;
  shards: number | undefined;
  tokens: number;
  lastActivity: number | undefined;
  /** clients connected now that use this catalog */
  clients: number;
  /** its documents (root and shards) in memory now */
  documentsLoaded: number;
}

export interface RelayStatus {
  peerId: string;
  startedAt: number;
  /** how clients are admitted */
  access: "tokens" | "loopback only (no tokens yet)" | "anyone (no tokens, remote allowed)";
  /** the upstream relay (--upstream), its URL without the query string; undefined when none */
  upstream?: { url: string; connected: boolean };
  lastActivity: number | undefined;
  catalogs: CatalogStatus[];
  /** catalog names and URLs are shown to clients on the relay's own machine only */
  showCatalogs: boolean;
  /** the registry now, the rates since a moment ago, and the last hour */
  metrics: MetricsSnapshot;
  current: Point;
  history: Point[];
  now: number;
}

/** How often the open page fetches itself again. */
export const REFRESH_MS = 3_000;

/** A short, stable name for a catalog that reveals nothing of its id. */
export function fingerprint(catalogUrl: string): string {
  return createHash("sha256").update(catalogUrl).digest("hex").slice(0, 8);
}

const LIVE_SCRIPT = `
const status = () => document.getElementById("status");
const said = (text) => { document.getElementById("updated").textContent = text; };
async function refresh() {
  try {
    const res = await fetch(location.href, { cache: "no-store" });
    const next = new DOMParser().parseFromString(await res.text(), "text/html").getElementById("status");
    if (!res.ok || !next) throw new Error("HTTP " + res.status);
    status().replaceWith(next);
    said("updated " + new Date().toLocaleTimeString());
  } catch {
    said("cannot reach the relay; trying again");
  }
  setTimeout(refresh, ${REFRESH_MS});
}
setTimeout(refresh, ${REFRESH_MS});
`;

/** The page's Content-Security-Policy: its own styles, this one script, fetches to itself. */
export const STATUS_PAGE_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${createHash("sha256").update(LIVE_SCRIPT).digest("base64")}'; connect-src 'self'`;

const when = (t: number | undefined, now: number): string => (t === undefined ? "never" : `${new Date(t).toISOString()} (${Math.max(0, Math.round((now - t) / 1000))} s ago)`);

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const perSecond = (n: number): string => `${n < 10 ? n.toFixed(1) : Math.round(n)}/s`;

function refusedText(rejected: MetricsSnapshot["rejected"]): string {
  const reasons = Object.entries(rejected).filter(([, n]) => (n ?? 0) > 0);
  const total = reasons.reduce((sum, [, n]) => sum + (n ?? 0), 0);
  return reasons.length === 0 ? "0" : `${total} (${reasons.map(([reason, n]) => `${reason}: ${n}`).join(", ")})`;
}

function catalogTable(s: RelayStatus): string {
  const e = escapeHtml;
  const local = s.showCatalogs;
  const head = local
    ? "<th scope=col>fingerprint</th><th scope=col>name</th><th scope=col>URL</th><th scope=col>clients</th><th scope=col>documents loaded</th><th scope=col>shards</th><th scope=col>tokens</th><th scope=col>last activity</th>"
    : "<th scope=col>fingerprint</th><th scope=col>clients</th><th scope=col>documents loaded</th><th scope=col>last activity</th>";
  const catalogs = local ? s.catalogs : [...s.catalogs].sort((a, b) => fingerprint(a.url).localeCompare(fingerprint(b.url)));
  const rows = catalogs.map((c) => {
    const common = `<td>${c.clients}</td><td>${c.documentsLoaded}</td>`;
    return local
      ? `<tr><td><code>${fingerprint(c.url)}</code></td><td>${c.name === undefined ? "<i>not loaded</i>" : e(c.name)}</td><td><code>${e(c.url)}</code></td>${common}<td>${c.shards ?? "?"}</td><td>${c.tokens}</td><td>${e(when(c.lastActivity, s.now))}</td></tr>`
      : `<tr><td><code>${fingerprint(c.url)}</code></td>${common}<td>${e(when(c.lastActivity, s.now))}</td></tr>`;
  });
  const note = local ? "" : "<p>Catalog names and URLs are shown on the relay's own machine only.</p>\n";
  // A wide table scrolls in its own box (reachable by keyboard), never the whole page.
  return `${note}<div class="wide" tabindex="0" role="region" aria-label="catalogs"><table><caption>catalogs known: ${s.catalogs.length}</caption><thead><tr>${head}</tr></thead>\n<tbody>\n${rows.join("\n")}\n</tbody></table></div>`;
}

function charts(s: RelayStatus): string {
  // the last hour, or since the relay started when that is shorter
  const from = Math.max(s.now - 60 * 60_000, s.history[0]?.since ?? s.now);
  const series = (title: string, value: (p: Point) => number, format: (n: number) => string) =>
    lineChart({ title, points: s.history.map((p) => ({ since: p.since, at: p.at, value: value(p) })), format, from, to: s.now });
  return [
    series("clients connected", (p) => p.peers, (n) => String(Math.round(n))),
    series("messages", (p) => p.messagesPerSecond, perSecond),
    series("bytes in + out", (p) => p.bytesPerSecond.in + p.bytesPerSecond.out, (n) => `${formatBytes(n)}/s`),
    series("memory (resident)", (p) => p.residentBytes, formatBytes),
  ].join("\n");
}

export function renderStatusPage(s: RelayStatus): string {
  const e = escapeHtml;
  const m = s.metrics;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>shelf relay</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em;max-width:70em;color:#1b1f23}
td,th{padding:.2em .8em;text-align:left;vertical-align:top}caption{text-align:left;font-weight:600;padding:.3em 0}
code{font-size:.85em;overflow-wrap:anywhere}table{border-collapse:collapse}tbody tr:nth-child(odd){background:#f4f6f8}
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{font-size:.9em}svg{display:block;max-width:100%;height:auto}
small{color:#555}.wide{overflow-x:auto;max-width:100%}a{color:#1f5fa8}a:focus,a:hover{outline:2px solid #1f5fa8}
</style></head>
<body>
<header><h1>shelf relay</h1></header>
<main id="status">
<section aria-labelledby="now"><h2 id="now">Now</h2>
<ul>
<li>clients connected: ${m.peers}</li>
<li>documents loaded: ${m.documentsLoaded}</li>
<li>memory: ${e(formatBytes(m.residentBytes))} resident, ${e(formatBytes(m.heapUsedBytes))} heap used</li>
<li>messages: ${e(perSecond(s.current.messagesPerSecond))} (${m.messages.in} in, ${m.messages.out} out since start)</li>
<li>bytes: ${e(formatBytes(s.current.bytesPerSecond.in))}/s in, ${e(formatBytes(s.current.bytesPerSecond.out))}/s out</li>
<li>refused connections: ${e(refusedText(m.rejected))}</li>
<li>access: ${e(s.access)}</li>${s.upstream ? `\n<li>upstream: <code>${e(s.upstream.url)}</code>, connected: ${s.upstream.connected ? "yes" : "no"}</li>` : ""}
<li>last activity: ${e(when(s.lastActivity, s.now))}</li>
<li>up since: ${e(new Date(s.startedAt).toISOString())}, peer id <code>${e(s.peerId)}</code></li>
</ul>
</section>
<section aria-labelledby="hour"><h2 id="hour">Last hour</h2>
<div class="charts">
${charts(s)}
</div>
</section>
<section aria-labelledby="catalogs"><h2 id="catalogs">Catalogs</h2>
${catalogTable(s)}
</section>
</main>
<footer><p><span id="updated">as of ${e(new Date(s.now).toISOString())}</span>; refreshes every ${REFRESH_MS / 1000} s · <a href="/metrics">metrics</a> · <a href="/healthz">health</a></p></footer>
<script>${LIVE_SCRIPT}</script>
</body></html>
`;
}
