/**
 * Figure 14: bundles. `shelf export` of the benchmark's catalog, `shelf import-bundle` of that file
 * into an empty home, and the same import again (nothing new: the merge that finds nothing to do),
 * each a fresh process measured for wall time and peak RSS. With --baseline DIR (a built checkout
 * of another shelf revision), the same steps run with that revision's CLI in the same run, so the
 * two are compared under the same load.
 */
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext, Figure } from "./figures.js";
import { expectExit, runChild, type ChildRun } from "./proc.js";
import { fmtBytes, fmtMs, round } from "./util.js";

interface Step {
  wallMs: number;
  peakRssBytes?: number;
}

interface Side {
  export: Step;
  importBundle: Step;
  importAgain: Step;
  bundleBytes: number;
}

const step = (run: ChildRun): Step => ({ wallMs: round(run.wallMs), peakRssBytes: run.peakRssBytes });

async function measure(ctx: BenchContext, cli: string, tag: string): Promise<Side> {
  const file = join(ctx.scratch, `catalog-${tag}.bundle`);
  const into = join(ctx.scratch, `bundle-into-${tag}`);
  const run = async (home: string, ...args: string[]) => expectExit(await runChild([process.execPath, cli, "--home", home, ...args], { scratch: ctx.scratch, rss: true }));
  try {
    ctx.log(`bundle (${tag}): export`);
    const exported = await run(ctx.home, "export", file, "--json");
    ctx.log(`bundle (${tag}): import-bundle into an empty home`);
    const imported = await run(into, "import-bundle", file, "--json");
    ctx.log(`bundle (${tag}): import-bundle again`);
    const again = await run(into, "import-bundle", file, "--json");
    return { export: step(exported), importBundle: step(imported), importAgain: step(again), bundleBytes: statSync(file).size };
  } finally {
    rmSync(file, { force: true });
    rmSync(into, { recursive: true, force: true });
  }
}

export async function bundleFigure(ctx: BenchContext, options: { baselineCli?: string } = {}): Promise<Figure> {
  const node = await runChild([process.execPath, "-e", "0"], { scratch: ctx.scratch, rss: true });
  const current = await measure(ctx, ctx.cli, "current");
  const baseline = options.baselineCli ? await measure(ctx, options.baselineCli, "baseline") : undefined;
  const ratio = (ms: number) => `${round(ms / node.wallMs, 1)}x`;
  const cell = (s: Step) => `${fmtMs(s.wallMs)} (${ratio(s.wallMs)}), ${fmtBytes(s.peakRssBytes)}`;
  const rows: string[][] = (["export", "importBundle", "importAgain"] as const).map((key) => {
    const label = { export: "shelf export", importBundle: "shelf import-bundle, empty home", importAgain: "shelf import-bundle again (nothing new)" }[key];
    const row = [label, cell(current[key])];
    if (baseline) row.push(cell(baseline[key]), `${round(baseline[key].wallMs / current[key].wallMs, 1)}x`);
    return row;
  });
  return {
    key: "bundle",
    title: "14. bundles (CLI: shelf export, shelf import-bundle; fresh processes)",
    lines: [
      ["node -e 0 (reference)", `${fmtMs(node.wallMs)}, ${fmtBytes(node.peakRssBytes)}`],
      ["bundle file", fmtBytes(current.bundleBytes) + (baseline ? ` (baseline ${fmtBytes(baseline.bundleBytes)})` : "")],
    ],
    table: { head: ["step", "wall (x node -e 0), peak RSS", ...(baseline ? ["baseline", "speed-up"] : [])], rows },
    notes: baseline ? [`baseline: ${options.baselineCli}`] : [],
    data: { nodeMs: round(node.wallMs), nodeRssBytes: node.peakRssBytes, current, ...(baseline ? { baseline, baselineCli: options.baselineCli } : {}) },
  };
}
