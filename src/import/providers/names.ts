/**
 * The names `shelf import PROVIDER` takes, apart from the importers themselves so that the command
 * line can list them without loading any parser.
 */
export const PROVIDER_NAMES = ["npm", "pypi", "winget", "choco", "pacman", "files", "tsv"] as const;

export type ProviderName = (typeof PROVIDER_NAMES)[number];
