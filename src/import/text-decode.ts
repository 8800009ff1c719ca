/**
 * Bytes -> text for the line-oriented and XML importers, with the line at fault when the bytes
 * are not text. UTF-8 is the rule; XML may also come as UTF-16 with a byte order mark (what
 * Windows PowerShell's `Set-Content -Encoding Unicode` and Notepad's "Unicode" write), or in a
 * legacy encoding its declaration names.
 */

export type Decoded = { text: string } | { reason: string; line: number };

const lineOfByte = (bytes: Uint8Array, index: number): number => {
  let line = 1;
  for (let i = 0; i < index; i++) if (bytes[i] === 0x0a) line++;
  return line;
};

const lineOfChar = (text: string, index: number): number => text.slice(0, index).split("\n").length;

/** The line of the first NUL byte, if any: text files never hold one. */
export function nulByteLine(bytes: Uint8Array): number | undefined {
  const nul = bytes.indexOf(0);
  return nul < 0 ? undefined : lineOfByte(bytes, nul);
}

/** UTF-8 text (a leading BOM dropped); NUL bytes or invalid sequences are refused with their line. */
export function decodeUtf8(bytes: Uint8Array): Decoded {
  const nul = nulByteLine(bytes);
  if (nul !== undefined) return { reason: "it is binary data (a NUL byte), not text", line: nul };
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes) };
  } catch {
    return { reason: "it is not UTF-8 text", line: firstBadUtf8Line(bytes) };
  }
}

/**
 * UTF-8 text line by line, keeping the lines that decode: `badLines` are the 1-based numbers of
 * lines that are not UTF-8 (decoded with U+FFFD there), so one bad line costs only its record.
 */
export function decodeUtf8Lines(bytes: Uint8Array): { text: string; badLines: number[] } {
  const strict = new TextDecoder("utf-8", { fatal: true });
  const lenient = new TextDecoder("utf-8");
  const lines: string[] = [];
  const badLines: number[] = [];
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const chunk = bytes.subarray(start, end);
    try {
      lines.push(strict.decode(chunk));
    } catch {
      badLines.push(lines.length + 1);
      lines.push(lenient.decode(chunk));
    }
    start = end + 1;
  }
  return { text: lines.join("\n").replace(/^\uFEFF/, ""), badLines };
}

function firstBadUtf8Line(bytes: Uint8Array): number {
  return decodeUtf8Lines(bytes).badLines[0] ?? 1;
}

const UTF16: [bytes: number[], encoding: "utf-16le" | "utf-16be", bom: number][] = [
  [[0xff, 0xfe], "utf-16le", 2],
  [[0xfe, 0xff], "utf-16be", 2],
  // no BOM, but "<?" in UTF-16 (XML 1.0 appendix F)
  [[0x3c, 0x00, 0x3f, 0x00], "utf-16le", 0],
  [[0x00, 0x3c, 0x00, 0x3f], "utf-16be", 0],
];

/** An XML document's text, by its byte order mark, else UTF-8, else the encoding it declares. */
export function decodeXml(bytes: Uint8Array): Decoded {
  for (const [mark, encoding, skip] of UTF16) {
    if (!mark.every((b, i) => bytes[i] === b)) continue;
    const body = bytes.subarray(skip);
    if (body.length % 2 !== 0) return { reason: `it is ${encoding.toUpperCase()} text cut in the middle of a character (an odd number of bytes)`, line: lineOfChar(new TextDecoder(encoding).decode(body), Infinity) };
    try {
      return checkNul(new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body));
    } catch {
      const lossy = new TextDecoder(encoding, { ignoreBOM: true }).decode(body);
      return { reason: `it is not valid ${encoding.toUpperCase()} text (a lone surrogate)`, line: lineOfChar(lossy, lossy.indexOf("\uFFFD")) };
    }
  }
  const utf8 = decodeUtf8(bytes);
  if ("text" in utf8 || utf8.reason.includes("NUL")) return utf8;
  // Not UTF-8: a declaration such as encoding="windows-1252" says what it is.
  const declared = /^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(new TextDecoder("latin1").decode(bytes.subarray(0, 200)))?.[1];
  if (declared && !/^utf-?8$/i.test(declared)) {
    try {
      return { text: new TextDecoder(declared).decode(bytes) };
    } catch {
      return { reason: `it declares the encoding "${declared}", which shelf cannot read`, line: 1 };
    }
  }
  return utf8;
}

function checkNul(text: string): Decoded {
  const nul = text.indexOf("\u0000");
  return nul >= 0 ? { reason: "it is binary data (a NUL character), not text", line: lineOfChar(text, nul) } : { text };
}
