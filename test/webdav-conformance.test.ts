/**
 * The transport conformance scenarios, through WebDAV folders on real servers started here:
 * `rclone serve webdav` (no ETag conditionals, MOVE with Overwrite: F) and Apache httpd with
 * mod_dav (ETags, If-Match / If-None-Match honoured). crashAndRestart kills the server with SIGKILL
 * and starts it again on the same directory and port.
 */
import { expectExit, shelf } from "./helpers/cli.js";
import { describeTransportConformance, type TransportServer } from "./helpers/transport-conformance.js";
import { startApache, startRclone, type DavServer } from "./helpers/webdav-servers.js";

function transport(start: (dir: string) => Promise<DavServer>) {
  return async (dir: string): Promise<TransportServer> => {
    const server = await start(dir);
    return {
      async addRemote(home, name) {
        expectExit(await shelf(home, "remote", "add", name, server.remoteUrl), 0);
      },
      async join(home, url, ...options) {
        expectExit(await shelf(home, "join", url, "--webdav", server.remoteUrl, "--name", "team", ...options), 0);
      },
      crashAndRestart: () => server.crashAndRestart(),
      stop: () => server.stop(),
    };
  };
}

describeTransportConformance({ name: "webdav-rclone", start: transport(startRclone), deadUrl: "webdav+http://127.0.0.1:1/shelf" });
describeTransportConformance({ name: "webdav-apache", start: transport(startApache), deadUrl: "webdav+http://127.0.0.1:1/shelf" });
