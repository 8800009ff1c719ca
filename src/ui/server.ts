/**
 * `shelf ui`: opens the home, builds the app over its catalog, listens, prints the URL, and runs
 * until SIGTERM or SIGINT. Reads go to the view through the instance opened here; writes go
 * through the CLI's own command functions, one at a time.
 */
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { withCatalog, type GlobalOptions } from "../commands/context.js";
import { ShelfError } from "../errors.js";
import { Instance, resolveHome } from "../instance.js";
import { buildUiApp } from "./app.js";
import { ChangeFeed } from "./changes.js";
import { versionCache, writeQueue, type UiContext } from "./context.js";
import { checkUiOptions, UiSecurity } from "./security.js";

export const DEFAULT_UI_PORT = 8384;

export interface UiOptions extends GlobalOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  token?: string;
  /** open the app in the desktop's browser once listening */
  open?: boolean;
  /** how often the view's version is read for live pages (ms) */
  pollMs?: number;
}

export interface RunningUi {
  url: string;
  close(): Promise<void>;
}

export async function startUi(options: UiOptions, log: (line: string) => void): Promise<RunningUi> {
  checkUiOptions(options.host, options.token);
  const home = resolveHome(options.home);
  const instance = Instance.open(home);
  try {
    const catalog = instance.catalog(options.catalog);
    const commandOptions: GlobalOptions = { home, catalog: catalog.url, warn: (message) => log(`warning: ${message}`) };
    const changes = new ChangeFeed(instance, { pollMs: options.pollMs, catchUp: () => withCatalog(commandOptions, () => undefined), log });
    const queue = writeQueue();
    const cache = versionCache(() => changes.version);
    const ctx: UiContext = {
      instance,
      catalog,
      commandOptions,
      security: new UiSecurity({ host: options.host, token: options.token }),
      changes,
      // After a write, the view moved: the pages' caches and live streams hear of it at once.
      write: (fn) => queue(fn).finally(() => changes.check()),
      cached: cache.cached,
      forget: cache.forget,
      log,
    };
    const app = buildUiApp(ctx);
    try {
      await app.listen({ host: options.host, port: options.port });
    } catch (err) {
      throw new ShelfError("SHELF_E_RELAY_LISTEN", `cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`, "choose another --port (or --host), or stop the process that uses it");
    }
    const { port } = app.server.address() as AddressInfo;
    ctx.security.setPort(port);
    await changes.start();
    const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}/`;
    log(`serving catalog ${catalog.name} (${catalog.url}) from ${home}${options.token ? " to browsers with the token" : " to this machine only"}`);
    return {
      url,
      async close() {
        await app.close();
        await changes.stop();
        await instance.close();
      },
    };
  } catch (err) {
    await instance.close().catch(() => undefined);
    throw err;
  }
}

/** Runs the app until SIGTERM or SIGINT; `onListening` receives its URL. */
export async function runUi(options: UiOptions, log: (line: string) => void, onListening: (url: string) => void): Promise<void> {
  const stopped = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const running = await startUi(options, log);
  onListening(running.url);
  if (options.open) openInBrowser(running.url, options.token, log);
  log(`received ${await stopped}`);
  await running.close();
  log("stopped");
}

/** The desktop's own opener; a failure only costs the convenience. */
function openInBrowser(url: string, token: string | undefined, log: (line: string) => void): void {
  const target = token ? `${url}?token=${encodeURIComponent(token)}` : url;
  const [command, args] = process.platform === "darwin" ? ["open", [target]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", target]] : ["xdg-open", [target]];
  try {
    const child = spawn(command, args as string[], { stdio: "ignore", detached: true });
    child.on("error", (err) => log(`could not open a browser (${err.message}); open ${url} yourself`));
    child.unref();
  } catch (err) {
    log(`could not open a browser (${(err as Error).message}); open ${url} yourself`);
  }
}
