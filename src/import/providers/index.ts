/** Every importer, by the name `shelf import PROVIDER` takes. */
import type { Provider } from "../types.js";
import { chocoProvider } from "./choco.js";
import { filesProvider } from "./files.js";
import { npmProvider } from "./npm.js";
import { pacmanProvider } from "./pacman.js";
import { pypiProvider } from "./pypi.js";
import { tsvProvider } from "./tsv.js";
import { wingetProvider } from "./winget.js";
import type { ProviderName } from "./names.js";

export { PROVIDER_NAMES } from "./names.js";

// One importer for each name in names.ts, and no other: the compiler checks both ways.
export const PROVIDERS: Readonly<Record<string, Provider>> = {
  npm: npmProvider,
  pypi: pypiProvider,
  winget: wingetProvider,
  choco: chocoProvider,
  pacman: pacmanProvider,
  files: filesProvider,
  tsv: tsvProvider,
} satisfies Record<ProviderName, Provider>;
