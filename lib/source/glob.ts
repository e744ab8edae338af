/**
 * Log path globs (`/var/log/*.log`): expanded to the existing files each time the jails are
 * built or reloaded.
 * @module
 */

/**
 * Expands `*`, `?` and `[...]` in any path component (no `**`); patterns without them are
 * returned as given, even when missing. Only existing regular files (after symlinks) match a
 * glob. Results are de-duplicated, in pattern order, each pattern's matches sorted.
 */
export async function expandLogPaths(patterns: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const pattern of patterns) {
    const found = hasGlob(pattern) ? (await globFiles(pattern)).sort() : [pattern];
    for (const p of found) {
      if (!seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  }
  return out;
}

/** Converts one path component's glob to an anchored RegExp (a leading dot must match literally). */
export function globToRegExp(component: string): RegExp {
  let re = "";
  for (let i = 0; i < component.length; i++) {
    const c = component[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      let j = i + 1;
      if (component[j] === "!" || component[j] === "^") j++;
      if (component[j] === "]") j++;
      while (j < component.length && component[j] !== "]") j++;
      if (j >= component.length) {
        re += "\\[";
        continue;
      }
      let body = component.slice(i + 1, j);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\\[\]^]/g, (m) => `\\${m}`)}]`;
      i = j;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
  }
  const dotRule = component.startsWith(".") ? "" : "(?!\\.)";
  return new RegExp(`^${dotRule}${re}$`);
}

function hasGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

async function globFiles(pattern: string): Promise<string[]> {
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p) => p !== "");
  let bases: string[] = [absolute ? "/" : ""];
  for (const part of parts) {
    const next: string[] = [];
    if (!hasGlob(part)) {
      for (const base of bases) next.push(joinPath(base, part));
    } else {
      const re = globToRegExp(part);
      for (const base of bases) {
        try {
          for await (const entry of Deno.readDir(base === "" ? "." : base)) {
            if (re.test(entry.name)) next.push(joinPath(base, entry.name));
          }
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
            throw e;
          }
        }
      }
    }
    bases = next;
  }
  const files: string[] = [];
  for (const candidate of bases) {
    const info = await statOrUndefined(candidate);
    if (info?.isFile) files.push(candidate);
  }
  return files;
}

function joinPath(base: string, name: string): string {
  if (base === "") return name;
  return base.endsWith("/") ? `${base}${name}` : `${base}/${name}`;
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw e;
  }
}
