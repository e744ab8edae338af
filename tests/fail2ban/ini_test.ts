import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import {
  extractOptions,
  formatIniProblem,
  iniGet,
  type IniIo,
  iniOptions,
  iniWhere,
  parseIniText,
  readIniConfig,
  readIniFiles,
  splitWithOptions,
  substituteTags,
} from "../../lib/fail2ban/ini.ts";

/** An in-memory file system: paths -> texts. */
function memIo(files: Record<string, string>): IniIo {
  return {
    readFile: (path) => files[path],
    listDir: (path) => {
      const prefix = path.endsWith("/") ? path : `${path}/`;
      return Object.keys(files)
        .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"))
        .map((p) => p.slice(prefix.length));
    },
  };
}

Deno.test("parseIniText reads sections, = and : options, lower-cases option names", () => {
  const f = parseIniText("[Definition]\nFailRegex = a\nmaxlines: 2\n[Init]\nX=1\n", "f.conf");
  assertEquals(f.problems, []);
  assertEquals(f.sections.get("Definition")?.get("failregex")?.value, "a");
  assertEquals(f.sections.get("Definition")?.get("maxlines")?.value, "2");
  assertEquals(f.sections.get("Init")?.get("x"), { value: "1", file: "f.conf", line: 5 });
});

Deno.test("parseIniText joins indented continuation lines and skips comments inside them", () => {
  const text = [
    "[Definition]",
    "failregex = ^one <HOST>$",
    "            ^two <HOST>$",
    "# a comment between lines",
    "",
    "            ^three <HOST>$",
    "ignoreregex =",
    "",
    "other = x ; inline comment",
    "keep = a;b",
  ].join("\n");
  const f = parseIniText(text, "f.conf");
  const d = f.sections.get("Definition");
  assertEquals(d?.get("failregex")?.value, "^one <HOST>$\n^two <HOST>$\n\n^three <HOST>$");
  assertEquals(d?.get("ignoreregex")?.value, "");
  assertEquals(d?.get("other")?.value, "x");
  assertEquals(d?.get("keep")?.value, "a;b");
});

Deno.test("parseIniText reports malformed lines, options outside sections and duplicates with file:line", () => {
  const text = "orphan = 1\n[a]\nthis is not an option\nk = 1\nk = 2\n[a]\n";
  const f = parseIniText(text, "/etc/x.conf");
  const got = f.problems.map(formatIniProblem);
  assertEquals(got.length, 4);
  assertOk(got[0]?.startsWith("/etc/x.conf:1: option before any [section]"));
  assertOk(got[1]?.startsWith("/etc/x.conf:3: malformed line"));
  assertOk(got[2]?.startsWith('/etc/x.conf:5: option "k" appears twice'));
  assertOk(got[3]?.startsWith("/etc/x.conf:6: section [a] appears twice"));
  // the rest still parses
  assertEquals(f.sections.get("a")?.get("k")?.value, "2");
});

Deno.test("iniGet interpolates %(name)s from the section, then [DEFAULT], and %% as %", () => {
  const io = memIo({
    "/c/x.conf": "[DEFAULT]\na = A\nb = %(a)s-%(c)s\nc = dc\n[s]\nc = sc\nd = %(b)s 100%%\n",
  });
  const cfg = readIniFiles(["/c/x.conf"], io);
  assertEquals(iniGet(cfg, "s", "d"), "A-sc 100%");
  assertEquals(iniGet(cfg, "DEFAULT", "b"), "A-dc");
  assertEquals(iniGet(cfg, "s", "d", { raw: true }), "%(b)s 100%%");
  assertEquals(iniGet(cfg, "s", "missing"), undefined);
  assertEquals(iniGet(cfg, "nosuch", "a"), undefined);
  assertEquals(iniGet(cfg, "s", "__name__"), undefined);
  assertEquals(iniGet(cfg, "s", "x", { vars: { x: "%(__name__)s!" } }), "s!");
});

Deno.test("iniGet reports an interpolation loop and a missing reference with file and line", () => {
  const io = memIo({ "/c/x.conf": "[s]\n\na = %(b)s\nb = x%(a)s\nc = %(nope)s\n" });
  const cfg = readIniFiles(["/c/x.conf"], io);
  const loop = assertThrows(() => iniGet(cfg, "s", "a"), /interpolation loop: a -> b -> a/);
  assertOk(loop.message.startsWith("/c/x.conf:3: [s] a:"));
  assertThrows(() => iniGet(cfg, "s", "c"), /^\/c\/x\.conf:5: .*%\(nope\)s refers to an option/);
});

Deno.test("readIniFiles follows [INCLUDES] before/after relative to the including file", () => {
  const io = memIo({
    "/f/jail.local": "[INCLUDES]\nbefore = paths-x.conf\n[j]\nlogpath = %(log)s\n",
    "/f/paths-x.conf":
      "[INCLUDES]\nbefore = sub/common.conf\nafter = late.conf\n[DEFAULT]\nlog = /x\n",
    "/f/sub/common.conf": "[DEFAULT]\nlog = /common\nbase = b\n",
    "/f/late.conf": "[DEFAULT]\nbase = late\n",
  });
  const cfg = readIniFiles(["/f/jail.local"], io);
  assertEquals(cfg.files, [
    "/f/sub/common.conf",
    "/f/paths-x.conf",
    "/f/late.conf",
    "/f/jail.local",
  ]);
  assertEquals(iniGet(cfg, "j", "logpath"), "/x");
  assertEquals(iniGet(cfg, "j", "base"), "late");
  assertEquals(cfg.problems, []);
});

Deno.test("readIniFiles reports a missing .conf include with file:line but not a missing .local one", () => {
  const io = memIo({
    "/f/a.conf": "[INCLUDES]\nbefore = gone.conf\nafter = paths-overrides.local\n[s]\nk = v\n",
  });
  const cfg = readIniFiles(["/f/a.conf"], io);
  assertEquals(cfg.problems.map(formatIniProblem), [
    "/f/a.conf:2: [INCLUDES] before: included file /f/gone.conf not found",
  ]);
  assertEquals(iniGet(cfg, "s", "k"), "v");
});

Deno.test("readIniFiles survives an include loop", () => {
  const io = memIo({
    "/f/a.conf": "[INCLUDES]\nbefore = b.conf\n[s]\nk = a\n",
    "/f/b.conf": "[INCLUDES]\nbefore = a.conf\n[s]\nk = b\nj = b\n",
  });
  const cfg = readIniFiles(["/f/a.conf"], io);
  assertEquals(cfg.files, ["/f/b.conf", "/f/a.conf"]);
  assertEquals(iniGet(cfg, "s", "k"), "a");
  assertEquals(iniGet(cfg, "s", "j"), "b");
});

Deno.test("readIniConfig layers NAME.conf, NAME.d/*.conf, NAME.local, NAME.d/*.local and keeps known/ values", () => {
  const io = memIo({
    "/f/jail.conf": "[DEFAULT]\nbantime = 10m\n[sshd]\nport = ssh\nmaxretry = 5\n",
    "/f/jail.d/b.conf": "[sshd]\nmaxretry = 4\n",
    "/f/jail.d/a.conf": "[sshd]\nmaxretry = 3\n",
    "/f/jail.local": "[sshd]\nmaxretry = 2\nport = %(known/port)s,2222\n",
    "/f/jail.d/z.local": "[sshd]\nenabled = true\n",
  });
  const cfg = readIniConfig("/f", "jail", io);
  assertEquals(cfg.files, [
    "/f/jail.conf",
    "/f/jail.d/a.conf",
    "/f/jail.d/b.conf",
    "/f/jail.local",
    "/f/jail.d/z.local",
  ]);
  assertEquals(iniGet(cfg, "sshd", "maxretry"), "2");
  assertEquals(iniGet(cfg, "sshd", "port"), "ssh,2222");
  assertEquals(iniGet(cfg, "sshd", "known/maxretry"), "4");
  assertEquals(iniGet(cfg, "sshd", "enabled"), "true");
  assertEquals(iniWhere(cfg, "sshd", "maxretry")?.file, "/f/jail.local");
  assertEquals(iniOptions(cfg, "sshd").sort(), ["enabled", "maxretry", "port"]);
});

Deno.test("iniGet resolves %(section/name)s and %(default/name)s, also inside nested values", () => {
  const io = memIo({
    "/f/common.conf": [
      "[DEFAULT]",
      "backend = auto",
      "default_backend = %(default/backend)s",
      "logtype = file",
      "__prefix_line = %(lt_file/__prefix_line)s",
      "[lt_file]",
      "__prefix_line = \\s*(?:\\S+ )?",
    ].join("\n"),
    "/f/x.conf": "[INCLUDES]\nbefore = common.conf\n[Definition]\nbackend = polling\n" +
      "b = %(default_backend)s\nfailregex = ^%(__prefix_line)sfail <HOST>$\n",
  });
  const cfg = readIniFiles(["/f/x.conf"], io);
  assertEquals(iniGet(cfg, "Definition", "b"), "auto");
  assertEquals(iniGet(cfg, "Definition", "failregex"), "^\\s*(?:\\S+ )?fail <HOST>$");
  assertEquals(iniGet(cfg, "Definition", "default/backend"), "auto");
});

Deno.test("readIniFiles merges conditional sections [Init?family=inet6] into [Init] keys", () => {
  const io = memIo({ "/f/a.conf": "[Init]\nblocktype = x\n[Init?family=inet6]\nblocktype = y\n" });
  const cfg = readIniFiles(["/f/a.conf"], io);
  assertEquals(iniGet(cfg, "Init", "blocktype"), "x");
  assertEquals(iniGet(cfg, "Init", "blocktype?family=inet6"), "y");
});

Deno.test("extractOptions splits a name and its [k=v, ...] options, quoted or not, in several groups", () => {
  assertEquals(extractOptions("postfix[mode=auth]"), {
    name: "postfix",
    options: { mode: "auth" },
  });
  assertEquals(
    extractOptions(`bsd-ipfw[table=7,protocol=tcp][port="0:65535", chain='<known/chain>']`),
    {
      name: "bsd-ipfw",
      options: { table: "7", protocol: "tcp", port: "0:65535", chain: "<known/chain>" },
    },
  );
  assertEquals(extractOptions("sshd"), { name: "sshd", options: {} });
  assertThrows(() => extractOptions("x[mode=a b=c"), /unexpected|wrong syntax/);
});

Deno.test("splitWithOptions splits an action list on new lines and spaces, not inside [...]", () => {
  const got = splitWithOptions(
    'pf[port="ssh", protocol=tcp]\n  sendmail-whois[name=x, dest="a b"] dummy',
  )
    .map((s) => s.trim());
  assertEquals(got, [
    'pf[port="ssh", protocol=tcp]',
    'sendmail-whois[name=x, dest="a b"]',
    "dummy",
  ]);
});

Deno.test("substituteTags resolves nested <tag> references and leaves unknown ones", () => {
  const got = substituteTags(
    { failregex: "<mdre-<mode>>", mode: "auth" },
    { lookup: (t) => ({ "mdre-auth": "^x <HOST> <__p>$", __p: "y" })[t] },
  );
  assertEquals(got["failregex"], "^x <HOST> y$");
  assertThrows(() => substituteTags({ a: "<b>", b: "<a>" }), /refers to itself/);
});
