/**
 * fail2ban's DefinitionInitConfigReader, the part filter.d and action.d files share: the
 * `[Definition]` options, the `[Init]` defaults and `<tag>` substitution over them.
 * @module
 */
import { type IniConfig, iniGet, iniOptions, substituteTags } from "./ini.ts";
import { type ImportProblem, problemOf } from "./problem.ts";

/** `name?cond` options (fail2ban's conditional overrides): `name` is left unsubstituted. */
const CONDITIONAL_RE = /^(\w+)(\?.+)$/;

/** The options of a filter or action, substituted, and what could not be read. */
export interface DefinitionRead {
  /** Option name -> fully substituted value. */
  values: Record<string, string>;
  /** Options that could not be read or tags that could not be resolved. */
  problems: ImportProblem[];
}

/**
 * fail2ban's DefinitionInitConfigReader: `[Definition]` options (those not given by pOpts),
 * `[Init]` defaults (also as `known/NAME`), then `<tag>` substitution over all of them.
 * Used for filter.d (filter.ts) and action.d (jail.ts) files alike.
 */
export function readDefinition(
  cfg: IniConfig,
  keys: readonly string[],
  initOpts: Record<string, string>,
  pOpts: Readonly<Record<string, string>>,
  ctx: { key: string; all: boolean; ignore?: readonly string[] },
): DefinitionRead {
  const problems: ImportProblem[] = [];
  const vars = { ...pOpts, ...initOpts };
  const get = (section: string, option: string, v?: Record<string, string>): string | undefined => {
    try {
      return iniGet(cfg, section, option, v ? { vars: v } : {});
    } catch (e) {
      problems.push(problemOf(e, `${ctx.key}.${option}`));
      return undefined;
    }
  };
  const opts: Record<string, string> = {};
  for (const key of keys) {
    if (Object.hasOwn(vars, key)) continue;
    const v = get("Definition", key, vars);
    if (v !== undefined) opts[key] = v;
  }
  if (cfg.sections.has("Init")) {
    for (const opt of iniOptions(cfg, "Init")) {
      let v: string | undefined;
      if (!opt.startsWith("known/")) {
        v = get("Init", opt);
        if (v !== undefined) initOpts[`known/${opt}`] = v;
      }
      if (!Object.hasOwn(initOpts, opt)) {
        v ??= get("Init", opt);
        if (v !== undefined) initOpts[opt] = v;
      }
    }
  }
  if (ctx.all && cfg.sections.has("Definition")) {
    for (const opt of iniOptions(cfg, "Definition", { withDefault: true })) {
      if (Object.hasOwn(opts, opt)) continue;
      const v = get("Definition", opt);
      if (v !== undefined) opts[opt] = v;
    }
  }
  const combined = { ...opts, ...initOpts };
  const ignore = new Set(ctx.ignore ?? []);
  for (const n of Object.keys(combined)) {
    const cond = CONDITIONAL_RE.exec(n);
    if (cond) ignore.add(cond[1] ?? n);
  }
  const cache = new Map<string, string | undefined>();
  const lookup = (tag: string): string | undefined => {
    if (cache.has(tag)) return cache.get(tag);
    let v: string | undefined;
    try {
      v = iniGet(cfg, "Definition", tag, { vars });
    } catch {
      v = undefined;
    }
    cache.set(tag, v);
    return v;
  };
  try {
    return { values: substituteTags(combined, { ignore, lookup }), problems };
  } catch (e) {
    problems.push({
      file: cfg.files[0] ?? "",
      line: 0,
      key: ctx.key,
      message: `tags cannot be resolved: ${e instanceof Error ? e.message : String(e)}`,
    });
    return { values: combined, problems };
  }
}
