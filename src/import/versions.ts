/**
 * Version orderings, to pick the newest of several versions of one package.
 *
 * WinGet follows winget-cli's own ordering (src/AppInstallerCommonCore/Versions.cpp): parts split
 * on "."; each part is a leading integer and the text after it; integers compare numerically,
 * then a part without text sorts above one with text ("1.0" > "1.0-beta"), then texts compare
 * case-insensitively; missing trailing parts count as 0 ("1.0" == "1.0.0").
 */
interface Part {
  n: number;
  text: string;
}

function parts(version: string): Part[] {
  const out = version
    .trim()
    .split(".")
    .map((p) => {
      const m = /^(\d*)(.*)$/s.exec(p)!;
      const digits = m[1]!;
      const n = digits === "" ? 0 : Number(digits);
      // too large to compare as a number: compare it as text, as winget does on overflow
      return Number.isSafeInteger(n) ? { n, text: m[2]! } : { n: 0, text: p };
    });
  while (out.length > 0 && out.at(-1)!.n === 0 && out.at(-1)!.text === "") out.pop();
  return out;
}

function comparePart(a: Part, b: Part): number {
  if (a.n !== b.n) return a.n < b.n ? -1 : 1;
  if (a.text === b.text) return 0;
  if (a.text === "") return 1;
  if (b.text === "") return -1;
  const x = a.text.toLowerCase();
  const y = b.text.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

export function compareWingetVersions(a: string, b: string): number {
  const special = (v: string) => (v.trim().toLowerCase() === "latest" ? 1 : v.trim().toLowerCase() === "unknown" ? -1 : 0);
  if (special(a) !== special(b)) return special(a) - special(b);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const c = comparePart(pa[i] ?? { n: 0, text: "" }, pb[i] ?? { n: 0, text: "" });
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * NuGet (Chocolatey) versions: numeric parts compared as numbers (missing parts are 0), a
 * prerelease ("-beta") below the release, prerelease labels compared part by part; build
 * metadata ("+abc") ignored.
 */
export function compareNuGetVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = "", pre] = v.trim().split("+")[0]!.split(/-(.*)/s);
    return { core: core.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : NaN)), pre: pre ? pre.split(".") : [] };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.core.length, y.core.length, 4); i++) {
    const p = x.core[i] ?? 0;
    const q = y.core[i] ?? 0;
    if (Number.isNaN(p) || Number.isNaN(q)) return a < b ? -1 : a > b ? 1 : 0;
    if (p !== q) return p < q ? -1 : 1;
  }
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const np = /^\d+$/.test(p);
    const nq = /^\d+$/.test(q);
    if (np && nq && Number(p) !== Number(q)) return Number(p) < Number(q) ? -1 : 1;
    if (np !== nq) return np ? -1 : 1;
    const c = p.toLowerCase() < q.toLowerCase() ? -1 : p.toLowerCase() > q.toLowerCase() ? 1 : 0;
    if (c !== 0) return c;
  }
  return 0;
}
