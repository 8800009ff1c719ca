/**
 * WebDAV credentials: SHELF_WEBDAV_USER and SHELF_WEBDAV_PASSWORD from the environment, else the
 * remote's entry in `<home>/webdav-credentials.yaml`:
 *
 *   team:              # the remote's name
 *     user: alice
 *     password: "app password"
 *
 * The file is refused unless only its owner can read it (mode 0600 or 0400): a password readable
 * by others is a leak waiting to happen. Credentials are never logged or printed.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ShelfError } from "../../errors.js";

export const CREDENTIALS_FILE = "webdav-credentials.yaml";

export interface Credentials {
  user: string;
  password: string;
  /** where they came from, for messages: "environment" or the file's path */
  source: string;
}

export function credentialsFor(home: string, remote: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const user = env.SHELF_WEBDAV_USER;
  const password = env.SHELF_WEBDAV_PASSWORD;
  if (user !== undefined || password !== undefined) {
    if (!user || password === undefined) {
      throw new ShelfError("SHELF_E_WEBDAV_CREDENTIALS", "only one of SHELF_WEBDAV_USER and SHELF_WEBDAV_PASSWORD is set", "set both, or neither to use the credentials file");
    }
    return { user, password, source: "environment" };
  }
  return fromFile(join(home, CREDENTIALS_FILE), remote);
}

function fromFile(path: string, remote: string): Credentials | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ShelfError("SHELF_E_WEBDAV_CREDENTIALS", `cannot read ${path}: ${(err as Error).message}`, "check the file's permissions");
  }
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new ShelfError(
      "SHELF_E_WEBDAV_CREDENTIALS",
      `${path} can be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); shelf will not read a password from it`,
      `run \`chmod 600 ${path}\``,
    );
  }
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(path, "utf8"));
  } catch (err) {
    // The parser's message may quote the file; never pass a password along.
    throw new ShelfError("SHELF_E_WEBDAV_CREDENTIALS", `${path} is not valid YAML${(err as { linePos?: { line: number }[] }).linePos ? ` (line ${(err as { linePos: { line: number }[] }).linePos[0]!.line})` : ""}`, "see docs/webdav-layout.md, Credentials, for its format");
  }
  if (parsed === null || parsed === undefined) return undefined;
  const entry = (parsed as Record<string, unknown>)[remote];
  if (entry === undefined) return undefined;
  const { user, password } = (entry ?? {}) as { user?: unknown; password?: unknown };
  if (typeof user !== "string" || user === "" || typeof password !== "string") {
    throw new ShelfError("SHELF_E_WEBDAV_CREDENTIALS", `the entry for ${remote} in ${path} needs a user and a password (both strings)`, "see docs/webdav-layout.md, Credentials, for its format");
  }
  return { user, password, source: path };
}
