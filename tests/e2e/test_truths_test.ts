/** Small truths in the `banwatch test` report (issue 12). */
import { assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { runCli } from "../_helpers.ts";

const NOW = "2026-03-01T00:00:00Z";
const REGEX = String.raw`refused connection from <HOST>, service qpopper \(tcp\)`;

Deno.test("banwatch test reports loopback as never banned and explains the failregex total", async () => {
  const log = [
    "Feb 16 10:00:00 mx inetd[1]: refused connection from 127.0.0.1, service qpopper (tcp)",
    "Feb 16 10:00:01 mx inetd[1]: refused connection from 203.0.113.9, service qpopper (tcp)",
    "Feb 16 10:00:02 mx inetd[1]: refused connection from scanner.example, service qpopper (tcp)",
  ].join("\n") + "\n";
  const r = await runCli(["test", "-", REGEX, "--now", NOW], { stdin: log });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertMatch(
    r.stdout,
    /\[1\] matched but the address is never banned \(loopback, this host's own\)\n\| {6}line 1: .*\n\| {6}never banned: loopback\n/,
  );
  assertNotMatch(r.stdout, /in ignoreip/);
  assertMatch(
    r.stdout,
    /Failregex: 3 total\n\| {2}\(failregex hits 3, of which 1 count as failures: 1 <HOST> not an address, 1 never banned\)\n/,
  );
});

Deno.test("banwatch test without -c names the default configuration it looked for", async () => {
  const r = await runCli(["test", "-", "no-such-jail", "--now", NOW], { stdin: "" });
  assertEquals(r.code, 2);
  assertEquals(r.stdout, "");
  assertMatch(
    r.stderr,
    /FILTER "no-such-jail" is not a jail \(no -c, and \/usr\/local\/etc\/banwatch\/jails\.toml does not exist\)/,
  );
});
