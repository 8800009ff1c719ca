/**
 * The Imports page: the scheduled imports of this catalog (`shelf import list`), their runs with
 * what each rejected (`shelf import history`), and "run now", which runs one schedule as the
 * daemon does (the same runAndRecord, recorded under its name) with its progress streamed to the
 * page (jobs.ts).
 */
import type { FastifyInstance } from "fastify";
import { withStore } from "../../commands/context.js";
import { ShelfError } from "../../errors.js";
import { listImportRuns, type ImportRun } from "../../import/cursor-store.js";
import { runAndRecord } from "../../import/run-import.js";
import { getSchedule, listSchedules, type ScheduledImport } from "../../import/schedule.js";
import type { UiContext } from "../context.js";
import { html, type Html } from "../html.js";
import { jobBox, jobsOf, type JobReporter } from "../jobs.js";
import { csrfInput, layout, sendPage, when } from "../layout.js";

const HISTORY_ROWS = 30;
/** Rejections listed after a run; the summary counts them all. */
const REJECTS_SHOWN = 20;

export function registerImportsPage(app: FastifyInstance, ctx: UiContext): void {
  const jobs = jobsOf(app, ctx);

  app.get<{ Querystring: { job?: string } }>("/imports", async (request, reply) => {
    const job = (request.query.job ? jobs.get(request.query.job) : undefined) ?? jobs.running("import");
    return sendPage(reply, layout(ctx, { title: "Imports", nav: "imports", body: importsBody(ctx, job ? jobBox(job) : null, job?.state === "running") }));
  });

  app.post("/imports/run", async (request, reply) => {
    const name = (request.body instanceof URLSearchParams ? request.body.get("name") : null) ?? "";
    const schedule = getSchedule(ctx.instance.db, name);
    if (!schedule || schedule.catalogUrl !== ctx.catalog.url) {
      throw new ShelfError("SHELF_E_USAGE", `there is no scheduled import named ${JSON.stringify(name)} in this catalog`, "the Imports page lists them; `shelf import list` too");
    }
    const job = jobs.running("import") ?? jobs.start("import", `Import ${schedule.name}`, (report) => runNow(ctx, schedule, report));
    return reply.redirect(`/imports?job=${encodeURIComponent(job.id)}`, 303);
  });
}

async function runNow(ctx: UiContext, schedule: ScheduledImport, report: JobReporter): Promise<{ ok: boolean; outcome: string }> {
  report.progress(0, 1, `${schedule.provider} ${schedule.source}: reading…`);
  try {
    const s = await withStore(ctx.commandOptions, ({ store }) =>
      runAndRecord(store, { provider: schedule.provider, source: schedule.source, ...schedule.options }, {
        schedule: schedule.name,
        onProgress: (done, total) => report.progress(done, total, `${schedule.name}: ${done} of ${total} records written`),
        onWait: (message) => report.step({ ok: true, text: message }),
      }),
    );
    for (const r of s.rejects.slice(0, REJECTS_SHOWN)) report.step({ ok: false, text: `rejected ${r.where}: ${r.reason}` });
    if (s.rejected > REJECTS_SHOWN) report.step({ ok: false, text: `and ${s.rejected - REJECTS_SHOWN} more rejected`, hint: "`shelf import` with the same source lists them all" });
    const outcome = `${s.added} added, ${s.updated} updated, ${s.tombstoned} tombstoned, ${s.unchanged} unchanged, ${s.rejected} rejected${s.complete ? "" : "; part of the source could not be read"}`;
    // as `shelf import`, which exits 1 when it rejected anything or could not read it all
    return { ok: s.complete && s.rejected === 0, outcome };
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    report.step({ ok: false, text: message, hint: err instanceof ShelfError ? err.hint : undefined });
    return { ok: false, outcome: `the import failed: ${message}` };
  }
}

function importsBody(ctx: UiContext, job: Html | null, running: boolean): Html {
  const schedules = listSchedules(ctx.instance.db, ctx.catalog.url);
  return html`<h1>Imports</h1>
${job}
<div data-live="imports">
${schedulesSection(ctx, schedules, running)}
${runsSection(listImportRuns(ctx.instance.db, { limit: HISTORY_ROWS }).filter((r) => r.catalogUrl === ctx.catalog.url))}
</div>`;
}

function schedulesSection(ctx: UiContext, schedules: ScheduledImport[], running: boolean): Html {
  const head = html`<h2 id="schedules">Scheduled imports</h2><p class="hint"><code>shelf daemon</code> runs each when due; "Run now" runs one here at once.</p>`;
  if (schedules.length === 0) return html`${head}<p>No scheduled import. Add one with <code>shelf import add NAME PROVIDER SOURCE --every daily</code>.</p>`;
  return html`${head}<div class="table-wrap"><table aria-labelledby="schedules">
<thead><tr><th scope="col">name</th><th scope="col">provider</th><th scope="col">source</th><th scope="col">every</th><th scope="col">next run</th><th scope="col">last run</th><th scope="col"><span class="visually-hidden">action</span></th></tr></thead>
<tbody>${schedules.map(
    (s) => html`<tr><th scope="row">${s.name}</th><td>${s.provider}</td><td><code>${s.source}</code></td><td>${s.every}</td><td>${when(s.nextRunAt)}</td><td>${s.lastRun ? runOutcome(s.lastRun) : html`<span class="muted">never</span>`}</td>
<td><form method="post" action="/imports/run" class="inline">${csrfInput(ctx)}<input type="hidden" name="name" value="${s.name}"><button type="submit" data-job-button aria-label="Run ${s.name} now"${running ? html` disabled` : null}>Run now</button></form></td></tr>`,
  )}</tbody></table></div>`;
}

function runOutcome(r: ImportRun, withTime = true): Html {
  const status = r.status === "success" ? html`<span class="ok">ok</span>` : r.status === "partial" ? html`<span class="error">partial</span>` : html`<span class="error">failed</span>`;
  return html`${withTime ? html`${when(r.startedAt)}: ` : null}${status}${r.error ? html`: ${r.error}` : null}`;
}

function runsSection(runs: ImportRun[]): Html {
  if (runs.length === 0) return html`<h2>Runs</h2><p>No import has run in this catalog yet.</p>`;
  return html`<h2 id="runs">Runs</h2>
<div class="table-wrap"><table aria-labelledby="runs">
<thead><tr><th scope="col">when</th><th scope="col">import</th><th scope="col">source</th><th scope="col">outcome</th><th scope="col">added</th><th scope="col">updated</th><th scope="col">tombstoned</th><th scope="col">unchanged</th><th scope="col">rejected</th><th scope="col">took</th></tr></thead>
<tbody>${runs.map(
    (r) => html`<tr><td>${when(r.startedAt)}</td><td>${r.schedule ?? html`<span class="muted">by hand</span>`}</td><td>${r.provider} <code>${r.source}</code>${r.host ? ` (as ${r.host})` : ""}</td><td>${runOutcome(r, false)}</td><td>${r.added}</td><td>${r.updated}</td><td>${r.tombstoned}</td><td>${r.unchanged}</td><td>${r.rejected > 0 ? html`<strong class="error">${r.rejected}</strong>` : "0"}</td><td>${r.durationMs} ms</td></tr>`,
  )}</tbody></table></div>`;
}
