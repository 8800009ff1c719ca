/**
 * XML documents for the importers (nuspecs, OData feeds): parsed with fast-xml-parser after its
 * validator, whose messages are turned into ones that name the real line and cause. Its report of
 * a document that simply stops ("Invalid '[ "package", "metadata"]' found" at line 1) becomes
 * "it ends at line 25 with <package>, <metadata> still open: the file is cut short".
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { LineError } from "./line-error.js";

export type XmlNode = Record<string, unknown>;

// Every value stays text ("1.10" is a version, not 1.1); namespaces dropped (d:Id -> Id).
const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, attributeNamePrefix: "@_", parseTagValue: false, parseAttributeValue: false, processEntities: true, htmlEntities: false });

const lastLine = (xml: string): number => xml.replace(/\s+$/, "").split("\n").length;

/** Throws a LineError naming the line at fault. */
export function parseXml(xml: string): XmlNode {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw explain(xml, valid.err);
  return parser.parse(xml) as XmlNode;
}

function explain(xml: string, err: { code: string; msg: string; line: number }): LineError {
  const end = lastLine(xml);
  const open = /^Invalid '\[(.*)\]' found/s.exec(err.msg)?.[1];
  if (open !== undefined) {
    const names = [...open.matchAll(/"([^"]*)"/g)].map((m) => `<${m[1]}>`);
    return new LineError(end, `it ends at line ${end} with ${names.join(", ")} still open: the file is cut short (truncated)`);
  }
  const unclosed = /^Unclosed tag '([^']*)'/.exec(err.msg)?.[1];
  if (unclosed !== undefined) return new LineError(end, `it ends at line ${end} inside <${unclosed}> (in a comment, CDATA section or tag that is never closed): the file is cut short (truncated)`);
  if (err.msg === "Start tag expected.") {
    return xml.trim() === "" ? new LineError(1, "it is empty") : new LineError(end, `it ends at line ${end} before its first element: the file is cut short or not XML`);
  }
  return new LineError(err.line, `it is not well-formed XML (line ${err.line}: ${err.msg})`);
}

/**
 * The lines of the elements at `path` (local names from the root down, e.g. ["feed", "entry"]),
 * in document order: fast-xml-parser keeps no positions. Only for a document `parseXml` accepted.
 */
export function elementLines(xml: string, path: readonly string[]): number[] {
  // comments, CDATA, processing instructions and doctype blanked out, newlines kept
  const masked = xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>/g, (m) => m.replace(/[^\n]/g, " "));
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(\/?)>/g;
  const lines: number[] = [];
  const open: string[] = [];
  let line = 1;
  let counted = 0;
  for (const m of masked.matchAll(tag)) {
    for (; counted < m.index; counted++) if (masked.charCodeAt(counted) === 10) line++;
    const [, closing, qname, selfClosing] = m;
    if (closing) {
      open.pop();
      continue;
    }
    open.push(qname!.replace(/^.*:/, ""));
    if (open.length === path.length && open.every((n, i) => n === path[i])) lines.push(line);
    if (selfClosing) open.pop();
  }
  return lines;
}
