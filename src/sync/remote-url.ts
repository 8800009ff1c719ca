/**
 * A remote URL parsed once into the transport that syncs with it: ws:// and wss:// reach a relay
 * or a `shelf serve` peer (one protocol), webdav+https:// a WebDAV folder.
 */
import { ShelfError } from "../errors.js";
import { isWebdavUrl, webdavBaseUrl } from "./webdav/remote-url.js";

export type RemoteUrl = { kind: "relay"; url: string } | { kind: "webdav"; url: string; base: string };

/** The kind a URL names by its scheme alone, before it is checked (join tells its flags apart by it). */
export const remoteKind = (url: string): RemoteUrl["kind"] => (isWebdavUrl(url) ? "webdav" : "relay");

/** Checks a remote URL, saying what is wrong with it in terms a user can fix. */
export function parseRemoteUrl(url: string): RemoteUrl {
  if (remoteKind(url) === "webdav") return { kind: "webdav", url, base: webdavBaseUrl(url) };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ShelfError("SHELF_E_USAGE", `${JSON.stringify(url)} is not a URL`, "a relay URL looks like ws://HOST:PORT/sync or wss://HOST/sync");
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new ShelfError("SHELF_E_USAGE", `unsupported remote ${JSON.stringify(url)}: shelf syncs with relays over ws:// or wss://, and with WebDAV folders over webdav+https://`, "a relay URL looks like ws://HOST:PORT/sync, a WebDAV one like webdav+https://HOST/PATH");
  }
  if (parsed.searchParams.has("token")) {
    throw new ShelfError("SHELF_E_USAGE", "put the token in --token, not in the URL", "URLs end up in logs and `shelf remote list`; tokens must not");
  }
  return { kind: "relay", url };
}
