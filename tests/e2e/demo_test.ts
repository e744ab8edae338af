import { assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { runCli } from "../_helpers.ts";

Deno.test("banwatch demo replays the samples and prints the bans, unbans and status", async () => {
  const r = await runCli(["demo"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  const out = r.stdout;
  assertMatch(out, /event=ban jail=postfix-auth addr=203\.0\.113\.5 failures=2 bantime=20m/);
  assertMatch(out, /event=ban jail=postfix-auth addr=2001:db8:bad::17 /);
  assertMatch(out, /event=unban jail=postfix-auth addr=203\.0\.113\.5 reason=expired/);
  assertMatch(out, /event=ban jail=qpopperauth addr=192\.0\.2\.77 failures=2 bantime=1d/);
  assertMatch(out, /event=ban jail=dovecot-pop3imap addr=203\.0\.113\.99 /);
  assertMatch(out, /event=ban_refused jail=postfix-auth addr=127\.0\.0\.1 reason=loopback/);
  assertMatch(
    out,
    /event=dry-run argv="\/sbin\/ipfw -q table qpopperauth add 192\.0\.2\.77\/32 0"/,
  );
  // Injected victims in user names and hostnames in inetd lines are never banned.
  assertNotMatch(out, /event=ban [^\n]*addr=(198\.51\.100\.66|192\.0\.2\.200)/);
  assertNotMatch(out, /event=ban [^\n]*scanner/);
  assertMatch(out, /Active bans at the end of the replay:\n/);
  assertMatch(out, /JAIL\s+ENABLED\s+BACKEND/);
  // The day's report, from the events the replay recorded (ASCII: runCli sets NO_COLOR).
  assertMatch(out, /The day's report \(banwatch report --since 1d\):\nbanwatch report: /);
  assertMatch(out, /^jail postfix-auth: 7 failures, 2 bans, 2 unbans$/m);
  assertMatch(out, /^jail qpopperauth: 3 failures, 1 ban, 0 unbans$/m);
  assertMatch(out, /^jail dovecot-pop3imap: 2 failures, 1 ban, 0 unbans$/m);
  assertMatch(out, /^failures \|[ #]+\| max 12\/h$/m);
  assertMatch(out, /^bans {5}\|[ #]+\| max 4\/h$/m);
  assertMatch(out, /^top 192\.0\.2\.77: 2 failures, 1 ban \(qpopperauth\)$/m);
  assertNotMatch(out, /[▁-█]/);
});
