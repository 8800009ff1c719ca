/**
 * The relay's status page (GET /): a small HTML page for a person. Everything that comes from
 * outside (catalog names are whatever a client wrote) is escaped.
 */

export interface CatalogStatus {
  /** automerge:<root id> */
  url: string;
  /** from the root document, when the relay holds it */
  name: string | undefined;
  shards: number | undefined;
  tokens: number;
  lastActivity: number | undefined;
}

export interface RelayStatus {
  peerId: string;
  startedAt: number;
  /** how clients are admitted */
  access: "tokens" | "loopback only (no tokens yet)" | "anyone (no tokens, remote allowed)";
  peers: number;
  /** the upstream relay (--upstream), its URL without the query string; undefined when none */
  upstream?: { url: string; connected: boolean };
  lastActivity: number | undefined;
  catalogs: CatalogStatus[];
  /** catalog names and URLs are shown to clients on the relay's own machine only */
  showCatalogs: boolean;
  now: number;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const when = (t: number | undefined, now: number): string => (t === undefined ? "never" : `${new Date(t).toISOString()} (${Math.max(0, Math.round((now - t) / 1000))} s ago)`);

export function renderStatusPage(s: RelayStatus): string {
  const e = escapeHtml;
  const rows = s.catalogs
    .map(
      (c) =>
        `<tr><td>${c.name === undefined ? "<i>not loaded</i>" : e(c.name)}</td><td><code>${e(c.url)}</code></td>` +
        `<td>${c.shards ?? "?"}</td><td>${c.tokens}</td><td>${e(when(c.lastActivity, s.now))}</td></tr>`,
    )
    .join("\n");
  const catalogs = s.showCatalogs
    ? `<table><thead><tr><th>catalog</th><th>URL</th><th>shards</th><th>tokens</th><th>last activity</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>`
    : `<p>Catalog names are shown on the relay's own machine only.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shelf relay</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}td,th{padding:.2em .8em;text-align:left}code{font-size:12px}</style></head>
<body>
<h1>shelf relay</h1>
<ul>
<li>peer id: <code>${e(s.peerId)}</code></li>
<li>up since: ${e(new Date(s.startedAt).toISOString())}</li>
<li>access: ${e(s.access)}</li>
<li>peers connected: ${s.peers}</li>${s.upstream ? `\n<li>upstream: <code>${e(s.upstream.url)}</code>, connected: ${s.upstream.connected ? "yes" : "no"}</li>` : ""}
<li>catalogs known: ${s.catalogs.length}</li>
<li>last activity: ${e(when(s.lastActivity, s.now))}</li>
</ul>
${catalogs}
<p><a href="/metrics">metrics</a> · <a href="/healthz">health</a></p>
</body></html>
`;
}
