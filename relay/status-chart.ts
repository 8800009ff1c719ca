/**
 * A small line chart as inline SVG (no script, no library): one series over a fixed time window,
 * with its range written out for screen readers.
 */
import { escapeHtml } from "./escape-html.js";

export interface Series {
  title: string;
  /** points, oldest first */
  points: { at: number; value: number }[];
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
  const summary = `${s.title}: now ${s.format(last)}, highest ${s.format(max)} in the last hour`;
  const x = (at: number) => (((at - s.from) / (s.to - s.from)) * WIDTH).toFixed(1);
  // the top keeps a margin so a flat line at the maximum stays visible
  const y = (v: number) => (max === 0 ? HEIGHT - 1 : HEIGHT - 1 - (v / max) * (HEIGHT - 6)).toFixed(1);
  const line = s.points.filter((p) => p.at >= s.from).map((p) => `${x(p.at)},${y(p.value)}`).join(" ");
  return (
    `<figure><figcaption>${escapeHtml(s.title)} <strong>${escapeHtml(s.format(last))}</strong></figcaption>` +
    `<svg role="img" aria-label="${escapeHtml(summary)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" preserveAspectRatio="none">` +
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#f4f6f8"/>` +
    (line ? `<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="${line}"/>` : "") +
    `</svg><small>max ${escapeHtml(s.format(max))} · the last hour</small></figure>`
  );
}
