/**
 * The one registry of shelf's errors. Every failure a user can meet has a code here, an exit code,
 * and an entry in docs/errors.md (a test keeps the two in step).
 */
export const ERROR_CODES = {
  SHELF_E_USAGE: { exit: 2, summary: "The command line is wrong: unknown flag, missing argument, bad value." },
  SHELF_E_INVALID_ID: { exit: 2, summary: "A record id is malformed." },
  SHELF_E_INVALID_FIELD: { exit: 2, summary: "A field is unknown or its value has the wrong type." },
  SHELF_E_NOT_INITIALIZED: { exit: 1, summary: "The instance holds no catalog yet." },
  SHELF_E_CATALOG_NOT_FOUND: { exit: 1, summary: "No catalog of that name or URL is held by this instance." },
  SHELF_E_CATALOG_EXISTS: { exit: 1, summary: "A catalog of that name already exists in this instance." },
  SHELF_E_RECORD_NOT_FOUND: { exit: 1, summary: "No record with that id exists in the catalog." },
  SHELF_E_RECORD_EXISTS: { exit: 1, summary: "A record with that id already exists (use `shelf set`)." },
  SHELF_E_DOC_UNAVAILABLE: { exit: 1, summary: "A CRDT document the catalog names is missing from local storage." },
  SHELF_E_BAD_INPUT_FILE: { exit: 1, summary: "An input file (import or bundle) is malformed or corrupt." },
  SHELF_E_IO: { exit: 1, summary: "A file could not be read or written." },
  SHELF_E_DB: { exit: 1, summary: "The instance database could not be opened or is damaged." },
  // One home, many processes; the disk under it.
  SHELF_E_DISK_FULL: { exit: 1, summary: "The disk holding the home is full, or a quota or file size limit was reached." },
  SHELF_E_READ_ONLY_HOME: { exit: 1, summary: "The home cannot be written: a read-only mount or missing permissions." },
  SHELF_E_HOME_BUSY: { exit: 1, summary: "Another shelf process held the home's database longer than the busy timeout." },
  SHELF_E_INTERNAL: { exit: 1, summary: "A bug in shelf: it should never happen." },
  // The relay (`shelf relay`): `http` is the status a refused WebSocket upgrade is answered with.
  SHELF_E_REMOTE_UNREACHABLE: { exit: 1, summary: "A remote could not be reached, or the connection failed." },
  SHELF_E_SYNC_TIMEOUT: { exit: 1, summary: "A sync did not finish within --timeout." },
  SHELF_E_RELAY_UNAUTHORIZED: { exit: 1, http: 401, summary: "The relay needs a valid token, and none (or an unknown one) was given." },
  SHELF_E_RELAY_FORBIDDEN: { exit: 1, http: 403, summary: "A relay without tokens serves only clients on the same machine." },
  SHELF_E_RELAY_BUSY: { exit: 1, http: 429, summary: "Too many open connections to the relay from one address." },
  SHELF_E_RELAY_BAD_MESSAGE: { exit: 1, summary: "The relay closed a connection that sent a malformed or oversized message." },
  SHELF_E_RELAY_LISTEN: { exit: 1, summary: "The relay (or `shelf serve`, `shelf ui`) could not listen on the host and port given." },
  // Importers (`shelf import PROVIDER SOURCE`, `shelf compare`).
  SHELF_E_HTTP: { exit: 1, summary: "An HTTP source answered with an error, or could not be reached, after every retry." },
  SHELF_E_UNKNOWN_HOST: { exit: 1, summary: "No record carries that host (`shelf import pacman ... --as HOST`)." },
  // WebDAV remotes (`webdav+https://...`).
  SHELF_E_WEBDAV_CREDENTIALS: { exit: 1, summary: "WebDAV credentials are incomplete, or the credentials file is unsafe or malformed." },
  SHELF_E_WEBDAV_UNAUTHORIZED: { exit: 1, summary: "The WebDAV server refused the credentials (HTTP 401 or 403)." },
  SHELF_E_WEBDAV_QUOTA: { exit: 1, summary: "The WebDAV server is out of space for this account (HTTP 507)." },
  SHELF_E_WEBDAV_SERVER: { exit: 1, summary: "The WebDAV server answered a request with an error, even after retries." },
  SHELF_E_WEBDAV_NOT_FOUND: { exit: 1, summary: "The WebDAV folder holds no copy of the catalog to join." },
  SHELF_E_CATALOG_MISMATCH: { exit: 1, summary: "What a remote offers as the catalog is not that catalog's own data." },
  SHELF_E_RELAY_SHARD_TAKEN: { exit: 1, summary: "The relay records some of the catalog's shards as another catalog's." },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error a user can act on: `message` names the cause, `hint` the fix. */
export class ShelfError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = "ShelfError";
    this.code = code;
    this.hint = hint;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export function isShelfError(err: unknown): err is ShelfError {
  return err instanceof ShelfError;
}
