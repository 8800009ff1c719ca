/**
 * HTML built from tagged templates: every interpolated value is escaped unless it is already
 * HTML (made by `html` itself, or `raw` for markup shelf wrote). A hostile string in a record
 * (a summary holding `<script>`) is shown as text, never run.
 */

/** A piece of markup that is safe to insert as is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/** The template tag: `html\`<p>${text}</p>\``; arrays are joined, null/undefined/false are left out. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => (out += render(value) + strings[i + 1]!));
  return new Html(out);
}

/** Markup written by shelf itself (never a user's string). */
export const raw = (text: string): Html => new Html(text);

/** A URL path with query parameters, each encoded; empty ones are left out. */
export function href(path: string, params: Record<string, string | number | boolean | undefined | null> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== "" && value !== false) query.set(key, String(value));
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
