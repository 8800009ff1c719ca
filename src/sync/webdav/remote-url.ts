/**
 * WebDAV remote URLs: `webdav+https://HOST/PATH` (or `webdav+http://` to this machine only,
 * since plain HTTP would carry the password in clear). Credentials never go in the URL.
 */
import { ShelfError } from "../../errors.js";

export const isWebdavUrl = (url: string): boolean => /^webdav\+https?:\/\//i.test(url);

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Checks a `webdav+http(s)://` URL and returns the http(s) URL of the base folder (ending in /). */
export function webdavBaseUrl(url: string): string {
  const example = "a WebDAV URL looks like webdav+https://cloud.example/remote.php/dav/files/alice/shelf";
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/^webdav\+/i, ""));
  } catch {
    throw new ShelfError("SHELF_E_USAGE", `${JSON.stringify(url)} is not a URL`, example);
  }
  if (!isWebdavUrl(url) || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
    throw new ShelfError("SHELF_E_USAGE", `unsupported WebDAV URL ${JSON.stringify(url)}`, example);
  }
  if (parsed.username || parsed.password) {
    throw new ShelfError("SHELF_E_USAGE", "put WebDAV credentials in SHELF_WEBDAV_USER / SHELF_WEBDAV_PASSWORD or the credentials file, not in the URL", "URLs end up in logs and `shelf remote list`; passwords must not (see docs/webdav-layout.md, Credentials)");
  }
  if (parsed.search || parsed.hash) throw new ShelfError("SHELF_E_USAGE", "a WebDAV URL takes no query or fragment", example);
  if (parsed.protocol === "http:" && !LOOPBACK.test(parsed.hostname)) {
    throw new ShelfError("SHELF_E_USAGE", `webdav+http:// sends the password in clear; it is only allowed to this machine (got ${parsed.hostname})`, "use webdav+https://");
  }
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  return parsed.toString();
}
