/**
 * Keeps lib/'s shape: one folder per pipeline stage, each seen from outside only through its
 * `mod.ts`, dependencies pointing one way, no import cycles, no I/O in the pure stages, no
 * oversized files and a Daemon class that stays wiring. In the spirit of Deno std's `_tools/`
 * checks; run by `deno task ok` and `.ci/run`. Prints one line per problem and exits 1 if any.
 *
 *   deno run --allow-read --allow-run scripts/check_layout.ts
 * @module
 */
// deno-lint-ignore-file no-console

const LEAVES = ["core", "source", "filter", "firewall", "control"];
const BELOW_DAEMON = [...LEAVES, "config", "decide", "state", "fail2ban", "crowdsec"];

/** Stages that each folder may import, besides itself (the allowed direction). */
export const ALLOWED_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  core: [],
  source: ["core"],
  filter: ["core"],
  firewall: ["core"],
  control: ["core"],
  config: LEAVES,
  decide: [...LEAVES, "config"],
  state: [...LEAVES, "config"],
  fail2ban: [...LEAVES, "config"],
  crowdsec: [...LEAVES, "config"],
  daemon: BELOW_DAEMON,
  cli: [...BELOW_DAEMON, "daemon"],
};

/** What main.ts may import: the command line and the shared vocabulary. */
export const MAIN_IMPORTS: readonly string[] = ["cli", "core"];

/** Longest file in lib/, in lines. */
export const MAX_FILE_LINES = 800;

/** Longest `class Daemon`, in lines: start/tick/close and wiring only. */
export const MAX_DAEMON_CLASS_LINES = 250;

/**
 * Files allowed over {@link MAX_FILE_LINES}: at most two, each pure and about one concept,
 * with the reason. Keep this short.
 */
export const LONG_FILE_EXCEPTIONS: Readonly<Record<string, string>> = {};

/** Folders (and files in them) where `Deno.` must not appear: pure stages. */
export const PURE_FOLDERS: readonly string[] = ["core", "filter", "decide", "fail2ban", "config"];

/** Files inside {@link PURE_FOLDERS} that are the stage's one shell module. */
export const PURE_EXCEPTIONS: readonly string[] = [
  "lib/core/exec.ts", // the only process spawn
  "lib/core/log.ts", // writes the log lines to stderr
  "lib/config/load.ts", // reads jails.toml and filter files
];

/** One broken rule: the file and what is wrong. */
export interface LayoutProblem {
  /** Path relative to the repository. */
  file: string;
  /** One line. */
  message: string;
}

/** A file's imports, as deno info reports them (repository-relative paths). */
export interface ModuleGraph {
  /** file -> files it imports (local files only). */
  edges: Map<string, string[]>;
}

/** The folder (stage) a repository-relative path belongs to, or undefined outside lib/. */
export function stageOf(file: string): string | undefined {
  const m = /^lib\/([^/]+)\//.exec(file);
  return m?.[1];
}

/** Problems in the import edges: mod.ts-only access, direction, and cycles. */
export function checkImports(graph: ModuleGraph): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  for (const [from, tos] of graph.edges) {
    const fromStage = stageOf(from);
    const isMain = from === "main.ts";
    if (fromStage === undefined && !isMain) continue;
    for (const to of tos) {
      const toStage = stageOf(to);
      if (toStage === undefined || toStage === fromStage) continue;
      if (to !== `lib/${toStage}/mod.ts`) {
        problems.push({ file: from, message: `imports ${to}: use lib/${toStage}/mod.ts` });
      }
      const allowed = isMain ? MAIN_IMPORTS : ALLOWED_IMPORTS[fromStage ?? ""] ?? [];
      if (!allowed.includes(toStage)) {
        problems.push({
          file: from,
          message: `${isMain ? "main.ts" : fromStage + "/"} must not import ${toStage}/ ` +
            `(allowed: ${allowed.join(", ") || "nothing in lib/"})`,
        });
      }
    }
  }
  for (const cycle of findCycles(graph.edges)) {
    problems.push({ file: cycle[0] ?? "", message: `import cycle: ${cycle.join(" -> ")}` });
  }
  return problems;
}

/** Every elementary cycle found by a depth-first search (one per back edge). */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const s = state.get(next);
      if (s === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** Problems in one file's text: length, Daemon class size, `Deno.` in a pure stage. */
export function checkSource(file: string, text: string): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  const lines = text.split("\n");
  const count = text.endsWith("\n") ? lines.length - 1 : lines.length;
  if (count > MAX_FILE_LINES && !(file in LONG_FILE_EXCEPTIONS)) {
    problems.push({ file, message: `${count} lines (at most ${MAX_FILE_LINES})` });
  }
  const start = lines.findIndex((l) => /^export class Daemon\b|^class Daemon\b/.test(l));
  if (start >= 0) {
    const end = lines.findIndex((l, i) => i > start && l === "}");
    const size = (end < 0 ? lines.length : end) - start + 1;
    if (size > MAX_DAEMON_CLASS_LINES) {
      problems.push({
        file,
        message: `class Daemon is ${size} lines (at most ${MAX_DAEMON_CLASS_LINES})`,
      });
    }
  }
  const stage = stageOf(file);
  if (stage !== undefined && PURE_FOLDERS.includes(stage) && !PURE_EXCEPTIONS.includes(file)) {
    const code = stripComments(text);
    const at = code.search(/\bDeno\./);
    if (at >= 0) {
      const line = code.slice(0, at).split("\n").length;
      problems.push({ file, message: `line ${line}: Deno. in the pure ${stage}/ stage` });
    }
  }
  return problems;
}

/** The text with comments blanked (strings kept), so `Deno.` in a comment is not code. */
export function stripComments(text: string): string {
  return text.replace(
    /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (m, str: string | undefined) => str ?? m.replace(/[^\n]/g, " "),
  );
}

/** The local module graph of `entry` from `deno info --json`, paths relative to `root`. */
export async function readModuleGraph(root: string, entry: string): Promise<ModuleGraph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`deno info --json ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
    }[];
  };
  const prefix = new URL(root.endsWith("/") ? root : root + "/", "file://").href;
  const rel = (s: string): string | undefined =>
    s.startsWith(prefix) ? s.slice(prefix.length) : undefined;
  const edges = new Map<string, string[]>();
  for (const m of info.modules) {
    const from = rel(m.specifier);
    if (from === undefined) continue;
    const tos: string[] = [];
    // Type-only imports count too: a cycle of types is still a tangle.
    for (const d of m.dependencies ?? []) {
      for (const s of [d.code?.specifier, d.type?.specifier]) {
        const to = s === undefined ? undefined : rel(s);
        if (to !== undefined && !tos.includes(to)) tos.push(to);
      }
    }
    edges.set(from, tos);
  }
  return { edges };
}

async function listLibFiles(root: string, dir = "lib"): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(`${root}${dir}`)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) files.push(...await listLibFiles(root, path));
    else if (e.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

async function main(): Promise<number> {
  const root = new URL("..", import.meta.url).pathname;
  const problems: LayoutProblem[] = [];
  const files = await listLibFiles(root);
  for (const file of files) {
    problems.push(...checkSource(file, await Deno.readTextFile(root + file)));
  }
  const graph = await readModuleGraph(root, "main.ts");
  // Files main.ts does not reach are still checked for their imports.
  for (const file of files) {
    if (!graph.edges.has(file)) {
      for (const [k, v] of (await readModuleGraph(root, file)).edges) graph.edges.set(k, v);
    }
  }
  problems.push(...checkImports(graph));
  for (const p of problems) console.log(`${p.file}: ${p.message}`);
  const exceptions = Object.keys(LONG_FILE_EXCEPTIONS).length;
  if (exceptions > 2) {
    console.log(`scripts/check_layout.ts: ${exceptions} long-file exceptions (at most 2)`);
  }
  console.log(`check_layout: ${files.length} files, ${problems.length} problems`);
  return problems.length === 0 && exceptions <= 2 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
