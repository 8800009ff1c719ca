/** WebDAV folders (webdav+https://): the files this instance writes there can be compacted. */
import type { Transport } from "../transport.js";
import { joinWebdav, syncWebdav } from "./sync.js";

export const webdavTransport: Transport = {
  kind: "webdav",
  compacts: true,
  sync: (instance, catalog, remote, options) => syncWebdav(instance, catalog, remote, options),
  join: (instance, url, name, remote, options) => joinWebdav(instance, url, name, remote, options),
};
