/**
 * Long work started from a page ("sync now", "run now"): it runs in this process, through the
 * app's write queue (one writer at a time, as one CLI command at a time), and its progress streams
 * to the page over Server-Sent Events:
 *
 *   GET /jobs/:id/events
 *   event: state    data: the whole job (sent first, so a late or reconnecting page catches up)
 *   event: progress data: {"done":N,"total":T,"text":"..."}
 *   event: step     data: {"text":"...","ok":true|false,"hint":"..."}
 *   event: done     data: the whole job, finished; then the stream ends
 *
 * A page without script shows the same state, rendered by the server (jobBox), on reload.
 */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { UiContext } from "./context.js";
import { html, type Html } from "./html.js";

export interface JobStep {
  text: string;
  ok: boolean;
  hint?: string;
}

export interface JobState {
  id: string;
  kind: string;
  title: string;
  startedAt: string;
  state: "running" | "ok" | "failed";
  progress: { done: number; total: number; text: string } | null;
  steps: JobStep[];
  /** one line for when it ended */
  outcome: string | null;
}

export interface JobReporter {
  progress(done: number, total: number, text: string): void;
  step(step: JobStep): void;
}

type Listener = (event: "progress" | "step" | "done", job: JobState) => void;

/** Finished jobs kept for pages that open them later. */
const KEEP_FINISHED = 20;
/** Progress events sent at most this often: a sync reports every document. */
const PROGRESS_EVERY_MS = 100;

export class Jobs {
  readonly #ctx: UiContext;
  readonly #jobs = new Map<string, JobState>();
  readonly #listeners = new Map<string, Set<Listener>>();

  constructor(ctx: UiContext) {
    this.#ctx = ctx;
  }

  get(id: string): JobState | undefined {
    return this.#jobs.get(id);
  }

  /** The job of this kind under way, if any: a second "sync now" joins it instead of queueing. */
  running(kind: string): JobState | undefined {
    return [...this.#jobs.values()].find((j) => j.kind === kind && j.state === "running");
  }

  /** Starts `work` after the writes before it; it returns the closing line or throws. */
  start(kind: string, title: string, work: (report: JobReporter) => Promise<{ ok: boolean; outcome: string }>): JobState {
    const job: JobState = { id: randomBytes(9).toString("base64url"), kind, title, startedAt: new Date().toISOString(), state: "running", progress: null, steps: [], outcome: null };
    this.#jobs.set(job.id, job);
    this.#forgetOld();
    let lastProgress = 0;
    const reporter: JobReporter = {
      progress: (done, total, text) => {
        job.progress = { done, total, text };
        const now = Date.now();
        if (done < total && now - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = now;
        this.#emit(job, "progress");
      },
      step: (step) => {
        job.steps.push(step);
        this.#emit(job, "step");
      },
    };
    void this.#ctx
      .write(() => work(reporter))
      .then(
        ({ ok, outcome }) => Object.assign(job, { state: ok ? "ok" : "failed", outcome }),
        (err: unknown) => {
          this.#ctx.log(`error: ${title} failed: ${(err as Error)?.stack ?? err}`);
          Object.assign(job, { state: "failed", outcome: `${title} failed: ${(err as Error)?.message ?? err}` });
        },
      )
      .finally(() => {
        this.#emit(job, "done");
        this.#listeners.delete(job.id);
      });
    return job;
  }

  subscribe(id: string, listener: Listener): () => void {
    let set = this.#listeners.get(id);
    if (!set) this.#listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  #emit(job: JobState, event: "progress" | "step" | "done"): void {
    for (const listener of this.#listeners.get(job.id) ?? []) listener(event, job);
  }

  #forgetOld(): void {
    const finished = [...this.#jobs.values()].filter((j) => j.state !== "running");
    for (const job of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.#jobs.delete(job.id);
  }
}

const registries = new WeakMap<FastifyInstance, Jobs>();

/** The app's jobs; the first page to ask registers the events route. */
export function jobsOf(app: FastifyInstance, ctx: UiContext): Jobs {
  let jobs = registries.get(app);
  if (jobs) return jobs;
  jobs = new Jobs(ctx);
  registries.set(app, jobs);
  registerJobEvents(app, jobs);
  return jobs;
}

function registerJobEvents(app: FastifyInstance, jobs: Jobs): void {
  const open = new Set<ServerResponse>();
  app.get<{ Params: { id: string } }>("/jobs/:id/events", (request, reply) => {
    const job = jobs.get(request.params.id);
    if (!job) return reply.code(404).type("text/plain; charset=utf-8").send("no such job (the app keeps the last few, and forgets them when it restarts)\n");
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-content-type-options": "nosniff" });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send("state", job);
    if (job.state !== "running") {
      send("done", job);
      return void res.end();
    }
    open.add(res);
    const unsubscribe = jobs.subscribe(job.id, (event, state) => {
      if (event === "progress") send("progress", state.progress);
      else if (event === "step") send("step", state.steps.at(-1));
      else {
        send("done", state);
        res.end();
      }
    });
    request.raw.on("close", () => {
      unsubscribe();
      open.delete(res);
    });
  });
  app.addHook("preClose", async () => {
    for (const res of open) res.end();
  });
}

/**
 * A job as the page shows it: a progress bar, its steps, and its outcome. With script
 * (assets/jobs.js) the same box follows the job's events; without, it is the state at render time.
 */
export function jobBox(job: JobState): Html {
  const p = job.progress;
  const percent = p && p.total > 0 ? Math.round((p.done / p.total) * 100) : undefined;
  return html`<section class="job" aria-labelledby="job-title" data-job-events="${job.state === "running" ? `/jobs/${job.id}/events` : null}" data-state="${job.state}">
<h2 id="job-title">${job.title}</h2>
<p><progress data-job-bar max="${p?.total || 1}"${p ? html` value="${p.done}"` : null} aria-label="${job.title}">${percent === undefined ? "" : `${percent}%`}</progress>
<span data-job-text aria-live="polite">${job.state === "running" ? (p?.text ?? "starting…") : job.outcome}</span></p>
<ul data-job-steps>${job.steps.map(stepItem)}</ul>
</section>
<script src="/assets/jobs.js" defer></script>`;
}

function stepItem(step: JobStep): Html {
  return html`<li class="${step.ok ? "step-ok" : "step-error"}">${step.ok ? "" : html`<strong>error: </strong>`}${step.text}${step.hint ? html`<br><span class="hint">fix: ${step.hint}</span>` : null}</li>`;
}
