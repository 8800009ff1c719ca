/**
 * Reading a PROPFIND Depth: 1 answer (207 Multi-Status). Each member may carry its own status:
 * a server can list most files and fail on a few (a 207 with partial errors); those few are
 * reported by name and the rest of the listing is used.
 */
import { XMLParser } from "fast-xml-parser";

export interface DavEntry {
  /** the file's name, decoded (as the server spells it; callers compare case-insensitively) */
  name: string;
  size: number;
  /** the ETag exactly as the server sent it (quotes included), or null when it sends none */
  etag: string | null;
}

export interface Listing {
  entries: DavEntry[];
  /** members the server listed with an error of their own */
  problems: { name: string; reason: string }[];
}

export const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/><d:getetag/></d:prop></d:propfind>';

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === "response" || name === "propstat",
});

const statusCode = (line: unknown): number => Number(/\s(\d{3})\b/.exec(String(line ?? ""))?.[1] ?? NaN);
const text = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");

const decode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** An href (absolute URL or path) as decoded path segments. */
function segmentsOf(href: string): string[] {
  const path = /^[a-z]+:\/\//i.test(href) ? new URL(href).pathname : href.split("?")[0]!;
  return path.split("/").filter((s) => s !== "").map(decode);
}

/** Parses the listing of `folderPath` (its own entry and sub-folders are left out). */
export function parseListing(xml: string, folderPath: string): Listing {
  let doc: { multistatus?: { response?: unknown[] } };
  try {
    doc = parser.parse(xml) as typeof doc;
  } catch (err) {
    throw new Error(`the listing is not XML (${(err as Error).message})`);
  }
  if (!doc?.multistatus) throw new Error("the listing is not a WebDAV multistatus document");
  const self = segmentsOf(folderPath).join("/").toLowerCase();
  const entries: DavEntry[] = [];
  const problems: Listing["problems"] = [];
  for (const response of (doc.multistatus.response ?? []) as Record<string, unknown>[]) {
    const segments = segmentsOf(text(response.href));
    const name = segments.at(-1);
    if (!name || segments.join("/").toLowerCase() === self) continue;
    const itemStatus = statusCode(response.status);
    if (response.status !== undefined && !(itemStatus >= 200 && itemStatus < 300)) {
      problems.push({ name, reason: `the server listed it with status ${Number.isNaN(itemStatus) ? text(response.status) : itemStatus}` });
      continue;
    }
    const ok = ((response.propstat ?? []) as Record<string, unknown>[]).filter((p) => statusCode(p.status) === 200).map((p) => (p.prop ?? {}) as Record<string, unknown>);
    if (ok.length === 0) {
      problems.push({ name, reason: "the server listed it without any property" });
      continue;
    }
    const props = Object.assign({}, ...ok) as Record<string, unknown>;
    const type = props.resourcetype;
    if (type && typeof type === "object" && "collection" in type) continue;
    const size = Number(text(props.getcontentlength));
    const etag = text(props.getetag).trim();
    entries.push({ name, size: Number.isSafeInteger(size) ? size : -1, etag: etag === "" ? null : etag });
  }
  return { entries, problems };
}
