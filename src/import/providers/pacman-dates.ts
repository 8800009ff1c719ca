/**
 * The dates `pacman -Qi` prints. pacman formats them with strftime("%c") in the user's locale and
 * time zone, so one instant has many shapes:
 *
 *   C / POSIX locale   Fri May  8 13:14:50 2020                   (no zone: the machine's local time)
 *   en_US              Sat 16 May 2020 12:57:49 PM CEST
 *   en_GB, en_AU ...   Sat 13 Jul 2024 17:31:39 BST
 *   en_DK              2020-05-16T12:57:49 CEST
 *   numeric zones      Sat 11 May 2024 06:14:19 AM +08            (tzdata's name for zones without one)
 *
 * A date is turned into an ISO instant when its offset is known: a numeric zone, an abbreviation
 * from ZONES below that means one offset, or an ambiguous abbreviation (CST, IST...) whose
 * candidates include the offset of the importing machine at that moment. A date without a zone is
 * read in the importing machine's zone (the TZ variable), as pacman wrote it in its own. Anything
 * else is kept as printed, with a note saying why, rather than guessed.
 */

export type PacmanDate = { iso: string } | { raw: string; note: string };

const WEEKDAYS = "(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*";
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH = "(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*";
const TIME = "(\\d{1,2}):(\\d{2}):(\\d{2})";
const ZONE = "(?:\\s+([A-Za-z]{1,6}|[+-]\\d{2}(?::?\\d{2})?))?";

// C locale: "%a %b %e %H:%M:%S %Y"
const C_FORM = new RegExp(`^${WEEKDAYS}\\s+${MONTH}\\s+(\\d{1,2})\\s+${TIME}\\s+(\\d{4})${ZONE}$`, "i");
// English locales: "%a %d %b %Y %r %Z" (en_US), "%a %d %b %Y %T %Z" (en_GB), with optional commas
const EN_FORM = new RegExp(`^(?:${WEEKDAYS},?\\s+)?(\\d{1,2})\\s+${MONTH},?\\s+(\\d{4}),?\\s+${TIME}(?:\\s*([AP]M))?${ZONE}$`, "i");
// en_DK: "%Y-%m-%dT%T %Z"
const ISO_FORM = new RegExp(`^(\\d{4})-(\\d{2})-(\\d{2})[T ]${TIME}${ZONE}$`, "i");

/** UTC offsets in minutes of the abbreviations tzdata prints; several when the name is shared. */
const ZONES: Record<string, number[]> = {
  UTC: [0], UT: [0], GMT: [0], Z: [0], WET: [0], WEST: [60], BST: [60], IST: [330, 60, 120],
  CET: [60], CEST: [120], MET: [60], MEST: [120], EET: [120], EEST: [180], MSK: [180],
  SAST: [120], CAT: [120], EAT: [180], WAT: [60], IDT: [180],
  PKT: [300], WIB: [420], WITA: [480], WIT: [540], HKT: [480], JST: [540], KST: [540],
  AWST: [480], ACST: [570], ACDT: [630], AEST: [600], AEDT: [660], NZST: [720], NZDT: [780], CHST: [600],
  NST: [-210], NDT: [-150], AST: [-240], ADT: [-180], EST: [-300], EDT: [-240],
  CST: [-360, 480, -300], CDT: [-300, -240], MST: [-420], MDT: [-360], PST: [-480, 480], PDT: [-420],
  AKST: [-540], AKDT: [-480], HST: [-600], HDT: [-540], SST: [-660],
};

const pad = (n: number) => String(n).padStart(2, "0");
const formatOffset = (m: number) => `${m < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(m) / 60))}:${pad(Math.abs(m) % 60)}`;

interface Parts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  zone?: string;
}

function parts(text: string): Parts | undefined {
  let m = C_FORM.exec(text);
  if (m) return build(m[6]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, undefined, m[7]);
  m = EN_FORM.exec(text);
  if (m) return build(m[3]!, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!, m[7], m[8]);
  m = ISO_FORM.exec(text);
  if (m) return build(m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, undefined, m[7]);
  return undefined;
}

function build(year: string, month: string, day: string, hour: string, minute: string, second: string, ampm: string | undefined, zone: string | undefined): Parts | undefined {
  const monthNumber = /^\d+$/.test(month) ? Number(month) : MONTHS.indexOf(month.slice(0, 3).toLowerCase()) + 1;
  let h = Number(hour);
  if (ampm) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (ampm.toUpperCase() === "PM" ? 12 : 0);
  }
  const p: Parts = { year: Number(year), month: monthNumber, day: Number(day), hour: h, minute: Number(minute), second: Number(second), zone };
  // Rejects 31 Feb, 25:00 and the like: the fields must survive a round trip through Date.UTC.
  const t = new Date(Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second));
  const same = t.getUTCFullYear() === p.year && t.getUTCMonth() === p.month - 1 && t.getUTCDate() === p.day && t.getUTCHours() === p.hour && t.getUTCMinutes() === p.minute && t.getUTCSeconds() === p.second;
  return same && p.month >= 1 ? p : undefined;
}

/** The offset (minutes east of UTC) of the importing machine's zone at that wall-clock time. */
function localOffset(p: Parts): number {
  return -new Date(p.year, p.month - 1, p.day, p.hour, p.minute, p.second).getTimezoneOffset();
}

function numericOffset(zone: string): number | undefined {
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return minutes > 14 * 60 ? undefined : (m[1] === "-" ? -minutes : minutes);
}

const KEPT = "kept as pacman printed it";

/** One date of `pacman -Qi` output: an ISO instant, or the text as printed and why it was kept. */
export function parsePacmanDate(text: string): PacmanDate {
  const raw = text.trim();
  const p = parts(raw);
  if (!p) return { raw, note: `${KEPT}: not a date form shelf reads (it reads the C locale's and English ones; run LC_ALL=C pacman -Qi)` };
  const wallClock = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  let offset: number | undefined;
  if (p.zone === undefined) offset = localOffset(p);
  else {
    const zone = p.zone.toUpperCase();
    offset = numericOffset(zone);
    if (offset === undefined) {
      const candidates = ZONES[zone];
      if (!candidates) return { raw, note: `${KEPT}: the time zone "${p.zone}" is not one shelf knows` };
      if (candidates.length === 1) offset = candidates[0];
      else {
        const here = localOffset(p);
        if (!candidates.includes(here)) return { raw, note: `${KEPT}: the time zone "${p.zone}" has several meanings (UTC${candidates.map(formatOffset).join(", UTC")}) and this machine's zone is none of them` };
        offset = here;
      }
    }
  }
  return { iso: new Date(wallClock - offset! * 60_000).toISOString() };
}
