/**
 * PEP 440 version ordering (Python packages), to keep the newest of several documents of one
 * project. Follows the specification's sort order: epoch, release (trailing zeros ignored), then
 * dev < pre-releases (a < b < rc) < the release < post-releases, and a local label above its
 * public version. A string that is not a PEP 440 version sorts below every valid one.
 */
const VERSION_RE =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(alpha|beta|preview|pre|a|b|c|rc)[-_.]?(\d+)?)?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?(?:[-_.]?(dev)[-_.]?(\d+)?)?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/i;

const PRE_RANK: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

export interface Pep440Version {
  epoch: number;
  release: number[];
  /** [rank, number] of a/b/rc */
  pre?: [number, number];
  post?: number;
  dev?: number;
  local?: (number | string)[];
}

export function parsePep440(version: string): Pep440Version | undefined {
  const m = VERSION_RE.exec(version.trim());
  if (!m) return undefined;
  const release = m[2]!.split(".").map(Number);
  while (release.length > 1 && release.at(-1) === 0) release.pop();
  const postNumber = m[5] ?? m[7];
  return {
    epoch: Number(m[1] ?? 0),
    release,
    pre: m[3] ? [PRE_RANK[m[3].toLowerCase()]!, Number(m[4] ?? 0)] : undefined,
    post: m[5] !== undefined || m[6] ? Number(postNumber ?? 0) : undefined,
    dev: m[8] ? Number(m[9] ?? 0) : undefined,
    local: m[10]?.split(/[-_.]/).map((part) => (/^\d+$/.test(part) ? Number(part) : part.toLowerCase())),
  };
}

/** A pre-release or a development release: what pip and PyPI's "latest" pass over. */
export const isPreRelease = (v: Pep440Version): boolean => v.pre !== undefined || v.dev !== undefined;

const cmp = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0);

function compareLists(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === "number" && typeof y === "number") {
      if (x !== y) return cmp(x, y);
    } else if (typeof x !== typeof y) {
      return typeof x === "number" ? 1 : -1; // a numeric local segment sorts above a text one
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

export function comparePep440(a: Pep440Version, b: Pep440Version): number {
  if (a.epoch !== b.epoch) return cmp(a.epoch, b.epoch);
  const release = compareLists(a.release, b.release);
  if (release !== 0) return release;
  // "1.0.dev1" (a dev release of the final, no pre or post) sorts before "1.0a1"
  const preKey = (v: Pep440Version): [number, number] => (v.pre ? v.pre : v.post === undefined && v.dev !== undefined ? [-1, 0] : [3, 0]);
  const pre = compareLists(preKey(a), preKey(b));
  if (pre !== 0) return pre;
  const post = cmp(a.post ?? -1, b.post ?? -1);
  if (post !== 0) return post;
  const dev = cmp(a.dev ?? Infinity, b.dev ?? Infinity);
  if (dev !== 0) return dev;
  if (!a.local || !b.local) return cmp(a.local ? 1 : 0, b.local ? 1 : 0);
  return compareLists(a.local, b.local);
}

/**
 * Which of two versions of one project a catalog should show: a release above any pre-release
 * (as PyPI's own "latest" and pip's default do), then PEP 440 order; invalid versions lowest.
 */
export function comparePypiVersions(a: string, b: string): number {
  const x = parsePep440(a);
  const y = parsePep440(b);
  if (!x || !y) return x ? 1 : y ? -1 : a < b ? -1 : a > b ? 1 : 0;
  if (isPreRelease(x) !== isPreRelease(y)) return isPreRelease(x) ? -1 : 1;
  return comparePep440(x, y);
}
