/**
 * A small chart as inline SVG (no script, no library): one series over a time window, each value
 * drawn flat over the interval it covers, with its range written out for screen readers.
 */
import { escapeHtml } from "./escape-html.js";

export interface Series {
  title: string;
  /** values over intervals, oldest first */
  points: { since: number; at: number; value: number }[];
  format: (value: number) => string;
  /** the window shown, in ms since the epoch */
  from: number;
  to: number;
}

const WIDTH = 360;
const HEIGHT = 64;

export function lineChart(s: Series): string {
  const values = s.points.map((p) => p.value);
  const max = Math.max(0, ...values);
  const last = values.at(-1) ?? 0;
  const span = s.to - s.from >= 59 * 60_000 ? "the last hour" : `the last ${Math.max(1, Math.round((s.to - s.from) / 60_000))} min`;
  const summary = `${s.title}: now ${s.format(last)}, highest ${s.format(max)} in ${span}`;
  const x = (at: number) => ((Math.max(0, at - s.from) / Math.max(1, s.to - s.from)) * WIDTH).toFixed(1);
  // the top keeps a margin so a flat line at the maximum stays visible
  const y = (v: number) => (max === 0 ? HEIGHT - 1 : HEIGHT - 1 - (v / max) * (HEIGHT - 6)).toFixed(1);
  const shown = s.points.filter((p) => p.at > s.from);
  const vertices = shown.flatMap((p) => [`${x(p.since)},${y(p.value)}`, `${x(p.at)},${y(p.value)}`]);
  const line = vertices.join(" ");
  const area = shown.length === 0 ? "" : `${x(shown[0]!.since)},${HEIGHT} ${line} ${x(shown.at(-1)!.at)},${HEIGHT}`;
  return (
    `<figure><figcaption>${escapeHtml(s.title)} <strong>${escapeHtml(s.format(last))}</strong></figcaption>` +
    `<svg role="img" aria-label="${escapeHtml(summary)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" preserveAspectRatio="none">` +
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#f4f6f8"/>` +
    (line ? `<polygon fill="#cfe0f5" points="${area}"/><polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="${line}"/>` : "") +
    `</svg><small>max ${escapeHtml(s.format(max))} · ${span}</small></figure>`
  );
}
