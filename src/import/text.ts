/**
 * Turning providers' free text into record fields. Names must be exact (a bad one rejects the
 * row); descriptions are prose, often multi-line, so they are flattened and shortened instead.
 */
import type { JsonValue } from "../model/record.js";

const CONTROL_RUN = /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** One line of text: control characters and newlines become single spaces; cut to `max`. */
export function oneLine(value: unknown, max = 4096): string | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.replace(CONTROL_RUN, " ").trim();
  if (text.length === 0) return undefined;
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** A string field of a parsed document, or undefined. */
export const str = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value.trim() : undefined);

/** Meta without undefined entries, keys in the order given (stable JSON, so re-imports compare equal). */
export function compactMeta(entries: Record<string, JsonValue | undefined>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(entries)) if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) out[key] = value;
  return out;
}

/** A JSON value, cut to a few KiB so one meta value stays well under the 16 KiB limit. */
export function boundedList(values: readonly string[], maxItems = 100): string[] {
  return values.slice(0, maxItems).map((v) => (v.length > 200 ? v.slice(0, 199) + "…" : v));
}

/**
 * The tags a package manager gives a package (winget Tags, npm keywords, PyPI keywords and topics),
 * for `meta.sourceTags`: one line each, duplicates dropped (case-insensitively), at most 50.
 */
export function sourceTags(values: readonly unknown[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const value of values) {
    const tag = oneLine(value, 100);
    if (!tag || seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    out.push(tag);
  }
  return out.slice(0, 50);
}
