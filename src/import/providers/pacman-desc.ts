/**
 * A `desc` file of pacman's local database (/var/lib/pacman/local/NAME-VERSION/desc, database
 * version 9 as pacman 5 and 6 write it): `%KEY%` lines, each followed by its values up to a blank
 * line. Dates are Unix times; %REASON% 1 means "installed as a dependency".
 */
import { LineError } from "../line-error.js";
import { checkNameAndVersion, type InstalledPackage } from "./pacman-package.js";

interface Section {
  line: number;
  values: string[];
}

const epochToIso = (value: string | undefined): string | undefined => {
  if (!value || !/^\d{1,12}$/.test(value)) return undefined;
  const t = new Date(Number(value) * 1000);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
};

/** Throws a LineError naming the line at fault. */
export function parseDesc(text: string): InstalledPackage {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    const key = /^%([A-Z0-9]+)%$/.exec(line);
    if (key) {
      if (sections.has(key[1]!)) throw new LineError(i + 1, `%${key[1]}% appears twice (first at line ${sections.get(key[1]!)!.line})`);
      sections.set(key[1]!, (current = { line: i + 1, values: [] }));
    } else if (line === "") current = undefined;
    else if (current) current.values.push(line);
    else throw new LineError(i + 1, `a value outside any %KEY% section: ${JSON.stringify(line.slice(0, 60))} (a desc file is %KEY% lines, each followed by its values and a blank line)`);
  });
  const one = (k: string) => sections.get(k)?.values[0];
  const name = one("NAME");
  const version = one("VERSION");
  if (!name) throw new LineError(sections.get("NAME")?.line ?? 1, sections.has("NAME") ? "%NAME% has no value" : "there is no %NAME% section: this is not a pacman desc file");
  if (!version) throw new LineError(sections.get("VERSION")?.line ?? 1, `%VERSION% is missing for ${name}`);
  checkNameAndVersion(name, sections.get("NAME")!.line + 1, version, sections.get("VERSION")!.line + 1);
  const size = one("SIZE");
  return {
    name,
    version,
    description: one("DESC"),
    url: one("URL"),
    arch: one("ARCH"),
    licenses: sections.get("LICENSE")?.values ?? [],
    groups: sections.get("GROUPS")?.values ?? [],
    depends: sections.get("DEPENDS")?.values ?? [],
    installedSize: size && /^\d{1,15}$/.test(size) ? Number(size) : undefined,
    packager: one("PACKAGER"),
    buildDate: epochToIso(one("BUILDDATE")),
    installDate: epochToIso(one("INSTALLDATE")),
    // absent or 0: explicitly installed
    reason: one("REASON") === "1" ? "dependency" : "explicit",
  };
}
