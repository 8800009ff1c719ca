/**
 * The Sync page: the remotes and the last sync with each, the connections of a `shelf daemon` on
 * this home, the sync history, and "sync now", which runs `shelf sync` (the same command
 * function) in this process with its progress streamed to the page (jobs.ts).
 */
import type { FastifyInstance } from "fastify";
import { sync } from "../../commands/sync.js";
import { ShelfError } from "../../errors.js";
import { redactUrl } from "../../protocol/sync-request.js";
import { readDaemonConnections, type DaemonConnections, type RemoteConnection } from "../../sync/daemon-connections.js";
import { listRemotes, syncHistory, syncStatus, type SyncRun } from "../../sync/remotes.js";
import { remoteKind } from "../../sync/remote-url.js";
import { formatInterval, readSyncConfig } from "../../sync/sync-config.js";
import type { UiContext } from "../context.js";
import { html, type Html } from "../html.js";
import { jobBox, jobsOf, type JobReporter } from "../jobs.js";
import { csrfInput, layout, sendPage, when } from "../layout.js";

const HISTORY_ROWS = 20;

export function registerSyncPage(app: FastifyInstance, ctx: UiContext): void {
  const jobs = jobsOf(app, ctx);

  app.get<{ Querystring: { job?: string } }>("/sync", async (request, reply) => {
    const job = (request.query.job ? jobs.get(request.query.job) : undefined) ?? jobs.running("sync");
    return sendPage(reply, layout(ctx, { title: "Sync", nav: "sync", body: syncBody(ctx, job ? jobBox(job) : null, job?.state === "running") }));
  });

  app.post("/sync/run", async (request, reply) => {
    const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
    const remote = form.get("remote") || undefined;
    const job = jobs.running("sync") ?? jobs.start("sync", remote ? `Sync with ${remote}` : "Sync with every remote", (report) => syncNow(ctx, remote, report));
    return reply.redirect(`/sync?job=${encodeURIComponent(job.id)}`, 303);
  });
}

/** What `shelf sync [REMOTE]` does, one remote after another, each reported as a step. */
async function syncNow(ctx: UiContext, only: string | undefined, report: JobReporter): Promise<{ ok: boolean; outcome: string }> {
  const remotes = listRemotes(ctx.instance.db).filter((r) => only === undefined || r.name === only);
  if (remotes.length === 0) {
    report.step({ ok: false, text: only ? `there is no remote named ${only}` : "this instance has no remote to sync with", hint: "add one with `shelf remote add NAME ws://HOST:PORT/sync` (or a webdav+https:// URL)" });
    return { ok: false, outcome: "nothing to sync with" };
  }
  let failed = 0;
  for (const [i, remote] of remotes.entries()) {
    const prefix = remotes.length > 1 ? `${remote.name} (${i + 1} of ${remotes.length})` : remote.name;
    report.progress(0, 1, `${prefix}: connecting…`);
    try {
      const result = await sync(remote.name, ctx.commandOptions, (done, total) => report.progress(done, total, `${prefix}: ${done} of ${total} documents`));
      const r = result.reports[0];
      report.step({ ok: true, text: r ? `${remote.name}: ${r.added} added, ${r.updated} updated, ${r.deleted} deleted, ${r.conflicts} in conflict (${r.documents} documents, ${r.durationMs} ms)${r.readOnly ? "; read-only: local edits stay here" : ""}` : `${remote.name}: done` });
    } catch (err) {
      failed++;
      const message = (err as Error)?.message ?? String(err);
      report.step({ ok: false, text: `${remote.name}: ${message}`, hint: (err instanceof ShelfError ? err.hint : undefined) ?? fixFor(message) });
    }
  }
  const ok = remotes.length - failed;
  return { ok: failed === 0, outcome: failed === 0 ? `synced with ${ok} remote${ok === 1 ? "" : "s"}` : `${failed} of ${remotes.length} remote${remotes.length === 1 ? "" : "s"} failed; the others synced` };
}

/**
 * The usual fix for a recorded sync error (the history keeps the message only). The patterns are
 * the transports' own wording.
 */
export function fixFor(message: string): string | undefined {
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|cannot connect|cannot reach/i.test(message)) return "check that the relay or server runs and that the remote's URL is right (`shelf remote list`)";
  if (/401|unauthori[sz]ed|token/i.test(message)) return "the remote wants a valid token: `shelf remote rm NAME` then `shelf remote add NAME URL --token T` with a token from its admin";
  if (/403|forbidden|loopback/i.test(message)) return "a relay without tokens serves only its own machine: ask its admin for a token";
  if (/timed? ?out|timeout|did not finish/i.test(message)) return "the remote is slow or unreachable; try again, or sync with a longer `shelf sync --timeout`";
  if (/lost the connection/i.test(message)) return "the daemon reconnects by itself; if it keeps happening, check the network and the relay's log";
  if (/certificate|TLS|SSL/i.test(message)) return "the server's certificate is not trusted here; fix the certificate or use its correct host name";
  return undefined;
}

function syncBody(ctx: UiContext, job: Html | null, running: boolean): Html {
  const db = ctx.instance.db;
  const remotes = listRemotes(db);
  const config = readSyncConfig(db);
  return html`<h1>Sync</h1>
<form method="post" action="/sync/run" class="row sync-now">
  ${csrfInput(ctx)}
  <div class="field"><label for="sync-remote">Remote</label>
  <select id="sync-remote" name="remote"><option value="">every remote</option>${remotes.map((r) => html`<option value="${r.name}">${r.name}</option>`)}</select></div>
  <div class="field"><button class="primary" type="submit" data-job-button${running ? html` disabled` : null}>Sync now</button></div>
</form>
<p class="hint">As <code>shelf sync</code>. Automatic sync: ${config.enabled ? html`on, every ${formatInterval(config.everySeconds)} for WebDAV folders and live with relays while <code>shelf daemon</code> runs` : html`off (turn it on with <code>shelf sync config --enable</code>)`}.</p>
${job}
<div data-live="sync">
${remotesSection(ctx)}
${daemonSection(readDaemonConnections(ctx.instance.home))}
${historySection(syncHistory(db, HISTORY_ROWS))}
</div>`;
}

function remotesSection(ctx: UiContext): Html {
  const statuses = syncStatus(ctx.instance.db);
  if (statuses.length === 0) return html`<h2>Remotes</h2><p>No remote yet. Add one with <code>shelf remote add NAME ws://HOST:PORT/sync</code> or <code>shelf remote add NAME webdav+https://HOST/PATH</code>.</p>`;
  return html`<h2 id="remotes">Remotes</h2>
<div class="table-wrap"><table aria-labelledby="remotes">
<thead><tr><th scope="col">remote</th><th scope="col">URL</th><th scope="col">kind</th><th scope="col">last sync</th><th scope="col">last success</th><th scope="col">syncs</th></tr></thead>
<tbody>${statuses.map(
    (s) => html`<tr><th scope="row">${s.remote}</th><td><code>${redactUrl(s.url)}</code></td><td>${remoteKind(s.url) === "webdav" ? "WebDAV folder" : "relay or peer"}</td>
<td>${s.lastRun ? runOutcome(s.lastRun) : html`<span class="muted">never</span>`}</td><td>${s.lastSuccess ? when(s.lastSuccess.startedAt) : html`<span class="muted">never</span>`}</td><td>${s.runs}</td></tr>`,
  )}</tbody></table></div>`;
}

function runOutcome(run: SyncRun): Html {
  if (run.ok) return html`${when(run.startedAt)}: <span class="ok">ok</span>`;
  const fix = fixFor(run.error ?? "");
  return html`${when(run.startedAt)}: <span class="error">failed</span>: ${run.error ?? "unknown error"}${fix ? html`<br><span class="hint">fix: ${fix}</span>` : null}`;
}

function daemonSection(daemons: DaemonConnections[]): Html {
  const head = html`<h2 id="daemon">Live connections</h2>`;
  if (daemons.length === 0) return html`${head}<p>No <code>shelf daemon</code> (or <code>shelf serve</code>) runs on this home. Start one to stay in sync with relays live.</p>`;
  const rows = daemons.flatMap((d) => Object.entries(d.remotes).map(([name, c]) => ({ d, name, c })));
  const state = (c: RemoteConnection) => (c.connected ? html`<span class="ok">connected</span>` : c.error ? html`<span class="error">reconnecting</span>` : html`connecting`);
  return html`${head}<p>${daemons.map((d) => html`<code>shelf daemon</code> runs (process ${d.pid}, since ${when(d.startedAt)}). `)}</p>
${
  rows.length === 0
    ? html`<p>It holds no relay connection (only WebDAV folders and scheduled imports).</p>`
    : html`<div class="table-wrap"><table aria-labelledby="daemon"><thead><tr><th scope="col">remote</th><th scope="col">state</th><th scope="col">since</th><th scope="col">last error</th></tr></thead>
<tbody>${rows.map(({ name, c }) => html`<tr><th scope="row">${name}</th><td>${state(c)}</td><td>${when(c.since)}</td><td>${c.error ?? ""}${c.error && fixFor(c.error) ? html`<br><span class="hint">fix: ${fixFor(c.error)}</span>` : null}</td></tr>`)}</tbody></table></div>`
}`;
}

function historySection(runs: SyncRun[]): Html {
  if (runs.length === 0) return html`<h2>History</h2><p>No sync yet.</p>`;
  return html`<h2 id="history">History</h2>
<div class="table-wrap"><table aria-labelledby="history">
<thead><tr><th scope="col">when</th><th scope="col">remote</th><th scope="col">outcome</th><th scope="col">added</th><th scope="col">updated</th><th scope="col">deleted</th><th scope="col">in conflict</th><th scope="col">took</th></tr></thead>
<tbody>${runs.map(
    (r) => html`<tr><td>${when(r.startedAt)}</td><td>${r.remote}</td><td>${r.ok ? html`<span class="ok">ok</span>` : html`<span class="error">failed</span>: ${r.error ?? ""}`}</td><td>${r.added}</td><td>${r.updated}</td><td>${r.deleted}</td><td>${r.conflicts}</td><td>${r.durationMs} ms</td></tr>`,
  )}</tbody></table></div>`;
}
