/**
 * The Conflicts page (GET /conflicts): every open conflict, each competing value side by side with
 * who wrote it and when; one click keeps a value, or a new one can be typed; an edited-while-deleted
 * record can be restored or kept deleted. Each choice posts to /conflicts/resolve, which calls
 * `shelf resolve`'s own command function. The list is refreshed live: a conflict arriving from a
 * peer appears without a reload.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { resolve, type ResolveOptions } from "../../commands/conflicts.js";
import { ShelfError } from "../../errors.js";
import type { CompetingValue, FieldConflict } from "../../model/conflicts.js";
import { listConflicts, type ConflictedRecord } from "../../view/queries.js";
import type { UiContext } from "../context.js";
import { href, html, type Html } from "../html.js";
import { csrfInput, errorNotice, layout, sendPage, statusOf, when, type PageOptions } from "../layout.js";
import { jsonValue, who } from "./record.js";

/** Records shown on one page of conflicts. */
export const CONFLICTS_PER_PAGE = 50;

type Form = URLSearchParams;

export function registerConflictsPage(app: FastifyInstance, ctx: UiContext): void {
  app.get("/conflicts", async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    const q = request.query;
    const text = (key: string) => (typeof q[key] === "string" ? (q[key] as string) : "");
    const notice: PageOptions["notice"] = text("done") === "resolved" ? { kind: "ok", text: `Settled ${text("field") === "deleted" ? "the deletion" : text("field")} of ${text("rid")}.` } : undefined;
    return showConflictsPage(ctx, reply, { id: text("id"), page: Number(text("page")) || 1 }, notice);
  });

  app.post("/conflicts/resolve", async (request, reply) => {
    const form = request.body as Form;
    const id = (form.get("rid") ?? "").trim();
    const field = (form.get("field") ?? "").trim();
    const only = (form.get("only") ?? "").trim();
    try {
      const options: ResolveOptions = { ...ctx.commandOptions };
      const how = form.get("how");
      if (how === "pick") options.pick = Number(form.get("pick"));
      else if (how === "value") options.value = form.get("value") ?? "";
      else if (how === "restore") options.restore = true;
      else if (how === "keep-deleted") options.value = "true";
      else throw new ShelfError("SHELF_E_USAGE", "say how to settle it: keep a value, type a new one, restore or keep deleted");
      const result = await ctx.write(() => resolve(id, how === "restore" ? undefined : field, options));
      return reply.redirect(href("/conflicts", { id: only, done: "resolved", rid: result.id, field: result.field }), 303);
    } catch (err) {
      if (statusOf(err) >= 500) ctx.log(`error: resolving ${field} of ${id}: ${(err as Error)?.stack ?? err}`);
      return showConflictsPage(ctx, reply, { id: only, page: 1 }, errorNotice(err), form, statusOf(err));
    }
  });
}

interface Selection {
  /** only this record's conflicts */
  id: string;
  page: number;
}

function showConflictsPage(ctx: UiContext, reply: FastifyReply, selection: Selection, notice?: PageOptions["notice"], sent?: Form, status = 200): FastifyReply {
  const all = ctx.cached("conflicts", () => listConflicts(ctx.instance.db, ctx.catalog.catId));
  const matching = selection.id ? all.filter((r) => r.id === selection.id) : all;
  const pages = Math.max(1, Math.ceil(matching.length / CONFLICTS_PER_PAGE));
  const page = Math.min(Math.max(1, Math.floor(selection.page)), pages);
  const shown = matching.slice((page - 1) * CONFLICTS_PER_PAGE, page * CONFLICTS_PER_PAGE);
  const summary =
    matching.length === 0
      ? selection.id
        ? `${selection.id} has no open conflict.`
        : "No open conflicts: every field has one value."
      : `${matching.length} ${matching.length === 1 ? "record" : "records"} in conflict${pages > 1 ? `; page ${page} of ${pages}` : ""}.`;
  const body = html`<h1>Conflicts</h1>
<p class="muted">Two instances changed the same field while apart, or one edited a record another deleted. Nothing was lost: every value is kept until you choose.</p>
<section data-live="conflicts" aria-labelledby="conflicts-summary">
  <p id="conflicts-summary" role="status">${summary}${selection.id ? html` <a href="/conflicts">Show all conflicts</a>` : null}</p>
  ${shown.map((r) => recordCard(ctx, r, selection.id, sent))}
  ${pages > 1
    ? html`<nav class="pager" aria-label="Conflict pages">${page > 1 ? html`<a href="${href("/conflicts", { page: page - 1 })}" rel="prev">← Previous</a>` : null}<span>Page ${page} of ${pages}</span>${page < pages ? html`<a href="${href("/conflicts", { page: page + 1 })}" rel="next">Next →</a>` : null}</nav>`
    : null}
</section>`;
  return sendPage(reply, layout(ctx, { title: "Conflicts", nav: "conflicts", body, notice }), status);
}

function recordCard(ctx: UiContext, record: ConflictedRecord, only: string, sent?: Form): Html {
  const hidden = (field: string) => html`${csrfInput(ctx)}<input type="hidden" name="rid" value="${record.id}"><input type="hidden" name="field" value="${field}"><input type="hidden" name="only" value="${only}">`;
  const headingId = `conflict-${record.id}`;
  return html`<article class="card" aria-labelledby="${headingId}">
  <h2 id="${headingId}"><a href="${href("/record", { id: record.id })}">${record.name || record.id}</a> <span class="muted">${record.id}</span>${record.deleted ? html` <span class="deleted">(deleted)</span>` : null}</h2>
  ${record.editedWhileDeleted
    ? html`<section class="field-conflict" aria-label="Edited while deleted">
    <h3>Edited while deleted</h3>
    <p>This record was deleted, and edited on another instance without seeing the deletion. The edit is kept.</p>
    <div class="actions">
      <form method="post" action="/conflicts/resolve">${hidden("deleted")}<input type="hidden" name="how" value="restore"><button type="submit" class="primary">Restore ${record.id}</button></form>
      <form method="post" action="/conflicts/resolve">${hidden("deleted")}<input type="hidden" name="how" value="keep-deleted"><button type="submit" class="danger">Keep ${record.id} deleted</button></form>
    </div>
  </section>`
    : null}
  ${record.fields.map((f) => fieldConflict(ctx, record, f, hidden(f.field), sent))}
</article>`;
}

function fieldConflict(ctx: UiContext, record: ConflictedRecord, conflict: FieldConflict, hidden: Html, sent?: Form): Html {
  const fieldLabel = conflict.field === "deleted" ? "deleted (one instance deleted it, another restored it)" : conflict.field;
  const inputId = `new-${record.id}-${conflict.field}`;
  const typed = sent?.get("rid") === record.id && sent.get("field") === conflict.field && sent.get("how") === "value" ? (sent.get("value") ?? "") : "";
  return html`<section class="field-conflict" aria-label="${conflict.field} of ${record.id}">
  <h3><code>${fieldLabel}</code>: ${conflict.values.length} competing values</h3>
  <div class="values">${conflict.values.map((v) => competingValue(ctx, record, conflict.field, v, hidden))}</div>
  ${conflict.field === "deleted"
    ? null
    : html`<form method="post" action="/conflicts/resolve" class="row">${hidden}<input type="hidden" name="how" value="value">
    <div class="field"><label for="${inputId}">New value for ${conflict.field}</label><input type="text" id="${inputId}" name="value" value="${typed}"></div>
    <button type="submit">Use this value</button>
  </form>`}
</section>`;
}

function competingValue(ctx: UiContext, record: ConflictedRecord, field: string, v: CompetingValue, hidden: Html): Html {
  return html`<div class="value${v.winner ? " winner" : ""}">
  <p><strong>Value ${v.n}</strong>${v.winner ? html` <span class="muted">(shown now)</span>` : null}</p>
  <pre>${jsonValue(v.value)}</pre>
  <p class="muted">by ${who(ctx, v.by)}, ${when(v.at)}</p>
  <form method="post" action="/conflicts/resolve">${hidden}<input type="hidden" name="how" value="pick"><input type="hidden" name="pick" value="${v.n}">
    <button type="submit" aria-label="Keep value ${v.n} of ${field} for ${record.id}: ${shorten(typeof v.value === "string" ? v.value : JSON.stringify(v.value))}">Keep this value</button></form>
</div>`;
}

/** A value short enough for a button's accessible name. */
const shorten = (text: string): string => (text.length > 80 ? `${text.slice(0, 79)}…` : text);
