/**
 * Every importer, by the name `shelf import PROVIDER` takes, each loaded only when asked for: the
 * parsers some of them need (yaml for WinGet, fast-xml-parser for Chocolatey, mime-types for files)
 * take 9 MiB in a process that loads nothing else, and an import that needs none of them peaked
 * 2.4 MiB higher with them loaded.
 */
import type { Provider } from "../types.js";
import type { ProviderName } from "./names.js";

export { PROVIDER_NAMES } from "./names.js";

// One importer for each name in names.ts, and no other: the compiler checks both ways.
const LOADERS = {
  npm: async () => (await import("./npm.js")).npmProvider,
  pypi: async () => (await import("./pypi.js")).pypiProvider,
  winget: async () => (await import("./winget.js")).wingetProvider,
  choco: async () => (await import("./choco.js")).chocoProvider,
  pacman: async () => (await import("./pacman.js")).pacmanProvider,
  files: async () => (await import("./files.js")).filesProvider,
  tsv: async () => (await import("./tsv.js")).tsvProvider,
} satisfies Record<ProviderName, () => Promise<Provider>>;

export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(LOADERS, name);
}

export function loadProvider(name: ProviderName): Promise<Provider> {
  return LOADERS[name]();
}
