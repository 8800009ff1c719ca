/** A provider context for reading a local source in-process: no previous import, no HTTP. */
import type { ProviderContext } from "../../src/import/types.js";

export function localProviderContext(source: string): ProviderContext {
  return {
    source,
    previous: {},
    next: {},
    previousIds: () => [],
    packages: [],
    http: () => {
      throw new Error("a local source makes no request");
    },
    count: () => {},
    note: () => {},
  };
}
