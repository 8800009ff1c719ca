/**
 * The Record page (GET /record?id=ID): every field, tags, collections, meta, the tombstone, the
 * record's open conflicts and its history; forms to edit fields and meta, tag, collect, delete and
 * restore. Each form posts to its own route, which calls the CLI's command function (records.ts)
 * and sends the browser back to the page (post/redirect/get). A refused edit shows the page again
 * with the error and what was typed, so nothing is lost.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { changeCollections, changeTags, removeRecord, restoreRecord, setFields } from "../../commands/records.js";
import { history, type HistoryResult } from "../../commands/conflicts.js";
import { ShelfError } from "../../errors.js";
import { RECORD_KINDS, SETTABLE_FIELDS, type CatalogRecord, type JsonValue } from "../../model/record.js";
import type { HistoryEntry } from "../../model/history.js";
import { getRecord, getRecordConflicts } from "../../view/queries.js";
import type { UiContext } from "../context.js";
import { href, html, type Html } from "../html.js";
import { csrfInput, errorNotice, layout, sendPage, statusOf, when, type PageOptions } from "../layout.js";

type Form = URLSearchParams;

/** What the last action did, named in the redirect (never free text from the query). */
const DONE: Record<string, string> = {
  saved: "Saved.",
  unchanged: "Nothing to save: the fields already hold these values.",
  meta: "Meta saved.",
  tagged: "Tags changed.",
  collected: "Collections changed.",
  deleted: "Deleted. The record is kept as a tombstone and can be restored.",
  restored: "Restored.",
};

export function registerRecordPage(app: FastifyInstance, ctx: UiContext): void {
  app.get("/record", async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    const id = typeof request.query.id === "string" ? request.query.id.trim() : "";
    const done = typeof request.query.done === "string" ? DONE[request.query.done] : undefined;
    return showRecordPage(ctx, reply, id, done ? { kind: "ok", text: done } : undefined);
  });

  /** A POST route: runs `act` on the form, then back to the record (or the page again, with the error). */
  const action = (path: string, act: (id: string, form: Form) => Promise<string>) =>
    app.post(path, async (request, reply) => {
      const form = request.body as Form;
      const id = (form.get("id") ?? "").trim();
      try {
        const done = await act(id, form);
        return reply.redirect(href("/record", { id, done }) + (done === "deleted" || done === "restored" ? "" : "#record"), 303);
      } catch (err) {
        if (statusOf(err) >= 500) ctx.log(`error: ${path} ${id}: ${(err as Error)?.stack ?? err}`);
        return showRecordPage(ctx, reply, id, errorNotice(err), form, statusOf(err));
      }
    });

  action("/record/edit", async (id, form) => {
    // Only the fields changed on this page: a field someone else changed meanwhile is left alone.
    const assignments = SETTABLE_FIELDS.filter((f) => form.has(f) && form.get(f) !== form.get(`was.${f}`)).map((f) => `${f}=${form.get(f)}`);
    if (assignments.length === 0) return "unchanged";
    const result = await ctx.write(() => setFields(id, assignments, ctx.commandOptions));
    return result.outcome === "unchanged" ? "unchanged" : "saved";
  });
  action("/record/meta", async (id, form) => {
    const key = (form.get("key") ?? "").trim();
    if (!key || key.includes("=") || key.endsWith(":")) throw new ShelfError("SHELF_E_INVALID_FIELD", `invalid meta key ${JSON.stringify(key)}`, "a meta key is not empty and holds no = (and does not end with :)");
    const assignment = `meta.${key}${form.get("json") === "on" ? ":=" : "="}${form.get("value") ?? ""}`;
    const result = await ctx.write(() => setFields(id, [assignment], ctx.commandOptions));
    return result.outcome === "unchanged" ? "unchanged" : "meta";
  });
  const labels = (kind: "tag" | "collection", change: typeof changeTags) => async (id: string, form: Form) => {
    const add = (form.get("add") ?? "").split(/[\s,]+/).filter(Boolean);
    const remove = form.getAll("remove").filter(Boolean);
    if (add.length === 0 && remove.length === 0) throw new ShelfError("SHELF_E_USAGE", `no ${kind} given`, `type the ${kind} to add`);
    await ctx.write(() => change(id, [...add.map((t) => `+${t}`), ...remove.map((t) => `-${t}`)], ctx.commandOptions));
    return kind === "tag" ? "tagged" : "collected";
  };
  action("/record/tags", labels("tag", changeTags));
  action("/record/collections", labels("collection", changeCollections));
  action("/record/delete", async (id) => {
    await ctx.write(() => removeRecord(id, ctx.commandOptions));
    return "deleted";
  });
  action("/record/restore", async (id) => {
    await ctx.write(() => restoreRecord(id, ctx.commandOptions));
    return "restored";
  });
}

async function showRecordPage(ctx: UiContext, reply: FastifyReply, id: string, notice?: PageOptions["notice"], form?: Form, status = 200): Promise<FastifyReply> {
  const record = id ? getRecord(ctx.instance.db, ctx.catalog.catId, id) : undefined;
  if (!record) {
    const missing: PageOptions["notice"] = id ? { kind: "error", text: `no record ${id} in catalog ${ctx.catalog.name}`, hint: "the catalog's search finds records by name and summary" } : undefined;
    return sendPage(reply, layout(ctx, { title: id ? "No such record" : "Record", nav: "record", body: openForm(id), notice: notice ?? missing }), id ? (status === 200 ? 404 : status) : status);
  }
  const entries = await recordHistory(ctx, record.id);
  const body = html`<h1 id="record">${record.name} <span class="muted">${record.id}</span></h1>
${recordRegion(ctx, record)}
${editForms(ctx, record, form)}
<section aria-labelledby="history-title" data-live="history">
  <h2 id="history-title">History</h2>
  ${historyTable(ctx, entries)}
</section>`;
  return sendPage(reply, layout(ctx, { title: record.name || record.id, nav: "record", body, notice }), status);
}

function openForm(id: string): Html {
  return html`<h1>Record</h1>
<form method="get" action="/record" class="row">
  <div class="field"><label for="open-id">Record id</label><input type="text" id="open-id" name="id" value="${id}" placeholder="npm:react" required></div>
  <button type="submit">Open</button>
</form>
<p class="muted">Or find it in the <a href="/">catalog</a>.</p>`;
}

/** The record as the view holds it: refreshed live, whoever changes it. */
function recordRegion(ctx: UiContext, record: CatalogRecord): Html {
  const conflicts = getRecordConflicts(ctx.instance.db, ctx.catalog.catId, record.id);
  const metaKeys = Object.keys(record.meta).sort();
  return html`<section data-live="record" aria-label="Fields">
  ${record.deleted ? html`<div class="notice notice-error"><p><strong>Deleted</strong> ${when(record.deletedAt)} by ${who(ctx, record.deletedBy)}. It is kept as a tombstone, hidden from searches.</p>
    <form method="post" action="/record/restore">${csrfInput(ctx)}<input type="hidden" name="id" value="${record.id}"><button type="submit">Restore</button></form></div>` : null}
  ${conflicts ? html`<div class="notice notice-error"><p><strong>In conflict:</strong> ${conflicts.fields.map((f) => f.field).join(", ")}${conflicts.editedWhileDeleted ? `${conflicts.fields.length ? "; " : ""}edited while deleted` : ""}.
    <a href="${href("/conflicts", { id: record.id })}">Settle it</a></p></div>` : null}
  <dl class="fields">
    <dt>Id</dt><dd><code>${record.id}</code></dd>
    <dt>Name</dt><dd>${record.name}</dd>
    <dt>Version</dt><dd>${record.version || html`<span class="muted">none</span>`}</dd>
    <dt>Kind</dt><dd>${record.kind}</dd>
    <dt>Provider</dt><dd>${record.provider}</dd>
    <dt>Summary</dt><dd>${record.summary || html`<span class="muted">none</span>`}</dd>
    <dt>Tags</dt><dd>${labelChips(ctx, record, "tag")}</dd>
    <dt>Collections</dt><dd>${labelChips(ctx, record, "collection")}</dd>
    <dt>Deleted</dt><dd>${record.deleted ? html`<span class="deleted">yes</span>, ${when(record.deletedAt)} by ${who(ctx, record.deletedBy)}` : "no"}</dd>
    <dt>Last changed</dt><dd>${when(record.updatedAt)} by ${who(ctx, record.updatedBy)}</dd>
  </dl>
  <h2>Meta</h2>
  ${metaKeys.length === 0 ? html`<p class="muted">No meta.</p>` : html`<div class="table-wrap"><table><thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead>
    <tbody>${metaKeys.map((k) => html`<tr><th scope="row"><code>${k}</code></th><td>${jsonValue(record.meta[k]!)}</td></tr>`)}</tbody></table></div>`}
</section>`;
}

function labelChips(ctx: UiContext, record: CatalogRecord, kind: "tag" | "collection"): Html {
  const labels = kind === "tag" ? record.tags : record.collections;
  if (labels.length === 0) return html`<span class="muted">none</span>`;
  const route = kind === "tag" ? "/record/tags" : "/record/collections";
  return html`<ul class="chips">${labels.map(
    (label) => html`<li>${label}<form class="inline" method="post" action="${route}">${csrfInput(ctx)}<input type="hidden" name="form" value="remove"><input type="hidden" name="id" value="${record.id}"><input type="hidden" name="remove" value="${label}"><button type="submit" aria-label="Remove ${kind} ${label}" title="Remove ${kind} ${label}">×</button></form></li>`,
  )}</ul>`;
}

/** The edit forms; after a refused edit, the form that was sent holds what was typed. */
function editForms(ctx: UiContext, record: CatalogRecord, sent?: Form): Html {
  const typed = (formName: string, field: string, current = "") => (sent?.get("form") === formName && sent.has(field) ? sent.get(field)! : current);
  const hidden = (formName: string) => html`${csrfInput(ctx)}<input type="hidden" name="form" value="${formName}"><input type="hidden" name="id" value="${record.id}">`;
  return html`<section aria-labelledby="edit-title">
  <h2 id="edit-title">Edit</h2>
  <form method="post" action="/record/edit" class="card">
    ${hidden("edit")}
    ${SETTABLE_FIELDS.map((f) => html`<input type="hidden" name="was.${f}" value="${typed("edit", `was.${f}`, String(record[f]))}">`)}
    <div class="field"><label for="edit-name">Name</label><input type="text" id="edit-name" name="name" value="${typed("edit", "name", record.name)}" required maxlength="512"></div>
    <div class="field"><label for="edit-version">Version</label><input type="text" id="edit-version" name="version" value="${typed("edit", "version", record.version)}" maxlength="128"></div>
    <div class="field"><label for="edit-summary">Summary</label><input type="text" id="edit-summary" name="summary" value="${typed("edit", "summary", record.summary)}" maxlength="4096"></div>
    <div class="field"><label for="edit-kind">Kind</label><select id="edit-kind" name="kind">${RECORD_KINDS.map((k) => html`<option${k === typed("edit", "kind", record.kind) ? html` selected` : null}>${k}</option>`)}</select></div>
    <button type="submit" class="primary">Save changes</button>
  </form>
  <div class="row">
    <form method="post" action="/record/tags" class="card">${hidden("tags")}
      <div class="field"><label for="add-tag">Add tags</label><input type="text" id="add-tag" name="add" value="${typed("tags", "add")}" aria-describedby="add-tag-hint"><span id="add-tag-hint" class="hint">separate several with spaces</span></div>
      <button type="submit">Add tags</button>
    </form>
    <form method="post" action="/record/collections" class="card">${hidden("collections")}
      <div class="field"><label for="add-collection">Add to collections</label><input type="text" id="add-collection" name="add" value="${typed("collections", "add")}" aria-describedby="add-collection-hint"><span id="add-collection-hint" class="hint">separate several with spaces</span></div>
      <button type="submit">Add to collections</button>
    </form>
    <form method="post" action="/record/meta" class="card">${hidden("meta")}
      <div class="field"><label for="meta-key">Meta key</label><input type="text" id="meta-key" name="key" value="${typed("meta", "key")}" maxlength="128" required></div>
      <div class="field"><label for="meta-value">Value</label><input type="text" id="meta-value" name="value" value="${typed("meta", "value")}"></div>
      <div><input type="checkbox" id="meta-json" name="json"${typed("meta", "json") === "on" ? html` checked` : null}> <label for="meta-json">the value is JSON</label></div>
      <button type="submit">Set meta</button>
    </form>
  </div>
  ${record.deleted
    ? html`<form method="post" action="/record/restore">${hidden("restore")}<button type="submit">Restore record</button></form>`
    : html`<form method="post" action="/record/delete">${hidden("delete")}<button type="submit" class="danger">Delete record</button> <span class="hint">kept as a tombstone; it can be restored</span></form>`}
</section>`;
}

/** The record's history from the CRDT, read once per view version. */
async function recordHistory(ctx: UiContext, id: string): Promise<HistoryEntry[]> {
  // Through the write queue: reading history opens the CRDT store, as a write does.
  const pending = ctx.cached<Promise<HistoryResult>>(`history ${id}`, () => ctx.write(() => history(id, ctx.commandOptions)));
  try {
    return (await pending).entries;
  } catch (err) {
    ctx.forget(`history ${id}`);
    throw err;
  }
}

function historyTable(ctx: UiContext, entries: HistoryEntry[]): Html {
  if (entries.length === 0) return html`<p class="muted">No changes recorded.</p>`;
  return html`<div class="table-wrap"><table>
  <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Command</th><th scope="col">What changed</th></tr></thead>
  <tbody>${[...entries].reverse().map(
    (e) => html`<tr><td>${when(e.at)}</td><td>${who(ctx, e.by)}</td><td>${e.op ? html`<code>${e.op}</code>` : html`<span class="muted">unknown</span>`}</td>
      <td><ul class="changes">${e.fields.map((f) => html`<li><code>${f.field}</code>: ${f.old === null ? html`<span class="muted">unset</span>` : jsonValue(f.old)} → ${f.new === null ? html`<span class="muted">unset</span>` : jsonValue(f.new)}</li>`)}</ul></td></tr>`,
  )}</tbody></table></div>`;
}

/** An instance id, marked when it is this one. */
export function who(ctx: UiContext, by: string | null): Html {
  if (!by) return html`<span class="muted">unknown</span>`;
  return by === ctx.instance.id ? html`<code>${by}</code> (this instance)` : html`<code>${by}</code>`;
}

/** A JSON value for people: strings as they are, anything else as JSON. */
export function jsonValue(value: JsonValue): Html {
  return typeof value === "string" ? html`${value}` : html`<code>${JSON.stringify(value)}</code>`;
}
