/**
 * A parse failure at one line of a text source. Readers turn it into the rejection's place,
 * `file:line`, so the user is sent to the line at fault rather than to the start of the record.
 */
export class LineError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(message);
    this.name = "LineError";
    this.line = line;
  }
}

/** `file:line` for a LineError, else `fallback` (the record's own place). */
export const placeOf = (file: string, err: unknown, fallback: string = file): string => (err instanceof LineError ? `${file}:${err.line}` : fallback);
