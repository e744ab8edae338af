import { assertEquals, assertOk } from "../_assert.ts";
import { compileFilter } from "../../lib/filter/compile.ts";
import { matchLine } from "../../lib/filter/match.ts";
import type { LineVerdict } from "../../lib/filter/types.ts";
import { findBuiltinFilter } from "../../lib/filter/builtin.ts";
import { SessionTracker, usesSessions } from "../../lib/filter/sessions.ts";

const NOW = Date.UTC(2025, 2, 8) / 1000;

/** A small sshd filter in fail2ban's session style (as its stock sshd.conf writes them). */
const SSHD = compileFilter({
  name: "sshd-sessions",
  prefregex: String.raw`^<F-MLFID>\s*\S+ sshd\[\d+\]: </F-MLFID><F-CONTENT>.+</F-CONTENT>$`,
  failregex: [
    String.raw`^<F-NOFAIL>Connection from</F-NOFAIL> <HOST> port \d+`,
    String.raw`^Disconnecting: Too many authentication failures`,
    String.raw`^Failed password for <F-USER>\S+</F-USER> from <HOST>`,
    String
      .raw`^<F-MLFFORGET><F-MLFGAINED>Accepted \w+</F-MLFGAINED></F-MLFFORGET> for <F-USER>\S+</F-USER> from <HOST>`,
    String
      .raw`^<F-NOFAIL>pam_unix\(sshd:auth\): authentication failure;</F-NOFAIL> ruser=<F-ALT_USER>\S*</F-ALT_USER> rhost=<HOST>(?: user=<F-USER>\S*</F-USER>)?$`,
    String.raw`^<F-NOFAIL><F-MLFFORGET>Connection closed</F-MLFFORGET></F-NOFAIL> by <HOST>`,
  ],
});

/** Runs lines ("SECONDS PID MESSAGE") through one tracker; returns the hosts (or "-"). */
function run(tracker: SessionTracker, lines: string[]): string[] {
  return lines.map((l) => {
    const [sec, pid, ...rest] = l.split(" ");
    const t = new Date((NOW + Number(sec)) * 1000);
    const stamp = `Mar  8 ${t.toISOString().slice(11, 19)}`;
    const v = tracker.resolve(matchLine(SSHD, `${stamp} mx sshd[${pid}]: ${rest.join(" ")}`, NOW));
    return v.kind === "matched" ? v.host : "-";
  });
}

Deno.test("usesSessions() is true only for filters that capture <F-MLFID>", () => {
  assertOk(usesSessions(SSHD));
  for (const name of ["sshd", "postfix-sasl", "dovecot", "qpopper", "tcp-wrappers"]) {
    const builtin = findBuiltinFilter(name);
    assertOk(builtin, name);
    assertEquals(usesSessions(compileFilter(builtin)), false, name);
  }
});

Deno.test("SessionTracker: a failure line without address takes its connection's address", () => {
  const t = new SessionTracker();
  assertEquals(
    run(t, [
      "0 100 Connection from 192.0.2.6 port 4711",
      "1 101 Connection from 192.0.2.99 port 4712", // another connection: not mixed in
      "2 100 Disconnecting: Too many authentication failures [preauth]",
    ]),
    ["-", "-", "192.0.2.6"],
  );
});

Deno.test("SessionTracker: a pending failure is reported by the next line with an address", () => {
  const t = new SessionTracker();
  assertEquals(
    run(t, [
      "0 200 Disconnecting: Too many authentication failures [preauth]",
      "1 201 Connection closed by 192.0.2.99", // other connection
      "2 200 Connection closed by 192.0.2.7", // no failure alone, but one is pending
      "3 200 Disconnecting: Too many authentication failures [preauth]", // forgotten: pending
    ]),
    ["-", "-", "192.0.2.7", "-"],
  );
  // A closed connection with nothing pending is no failure.
  assertEquals(run(new SessionTracker(), ["0 300 Connection closed by 192.0.2.8"]), ["-"]);
});

Deno.test("SessionTracker: a successful login drops the pending failure", () => {
  const t = new SessionTracker();
  assertEquals(
    run(t, [
      "0 400 Disconnecting: Too many authentication failures [preauth]",
      "1 400 Accepted publickey for alice from 192.0.2.9 port 5000 ssh2",
      "2 400 Connection closed by 192.0.2.9",
    ]),
    ["-", "-", "-"],
  );
});

Deno.test("SessionTracker: several users on one connection make no-failure lines failures", () => {
  const t = new SessionTracker();
  assertEquals(
    run(t, [
      "0 500 pam_unix(sshd:auth): authentication failure; ruser=root rhost=192.0.2.10",
      "1 500 pam_unix(sshd:auth): authentication failure; ruser=root rhost=192.0.2.10",
      "2 500 pam_unix(sshd:auth): authentication failure; ruser=sudoer rhost=192.0.2.10",
      "3 500 Accepted password for known from 192.0.2.10 port 52100 ssh2",
    ]),
    ["-", "-", "192.0.2.10", "192.0.2.10"],
  );
  // The same user twice stays no failure (a retyped password).
  const u = new SessionTracker();
  assertEquals(
    run(u, [
      "0 501 pam_unix(sshd:auth): authentication failure; ruser=rda rhost=192.0.2.11",
      "0 501 Accepted password for rda from 192.0.2.11 port 52100 ssh2",
    ]),
    ["-", "-"],
  );
});

Deno.test("SessionTracker: ordinary failures with an address stay failures", () => {
  const t = new SessionTracker();
  assertEquals(
    run(t, [
      "0 600 Failed password for root from 192.0.2.12 port 1 ssh2",
      "1 600 Failed password for admin from 192.0.2.12 port 1 ssh2",
    ]),
    ["192.0.2.12", "192.0.2.12"],
  );
});

Deno.test("SessionTracker: remembers at most maxSessions connections, evicting the oldest", () => {
  const t = new SessionTracker({ maxSessions: 2 });
  assertEquals(
    run(t, [
      "0 700 Connection from 192.0.2.20 port 1",
      "1 701 Connection from 192.0.2.21 port 1",
      "2 702 Connection from 192.0.2.22 port 1",
      "3 700 Disconnecting: Too many authentication failures", // evicted: pending only
      "4 702 Disconnecting: Too many authentication failures",
    ]),
    ["-", "-", "-", "-", "192.0.2.22"],
  );
  assertEquals(t.evictions, 2); // 700 at 702's arrival, then 701 at the new 700's
  assertEquals(t.size, 2);
});

Deno.test("SessionTracker: forgets connections older than maxAge (line time)", () => {
  const t = new SessionTracker({ maxAge: 300 });
  assertEquals(
    run(t, [
      "0 800 Connection from 192.0.2.30 port 1",
      "0 801 Connection from 192.0.2.31 port 1",
      "299 801 Disconnecting: Too many authentication failures",
      "301 800 Disconnecting: Too many authentication failures",
    ]),
    ["-", "-", "192.0.2.31", "-"],
  );
});

Deno.test("SessionTracker: verdicts without session facts pass through unchanged", () => {
  const builtin = findBuiltinFilter("sshd");
  assertOk(builtin);
  const f = compileFilter(builtin);
  const t = new SessionTracker();
  const lines = [
    "Mar  8 10:00:00 mx sshd[1]: Failed password for root from 192.0.2.40 port 22 ssh2",
    "Mar  8 10:00:01 mx sshd[1]: Connection closed by 192.0.2.40 port 22 [preauth]",
    "garbage",
  ];
  for (const l of lines) {
    const v: LineVerdict = matchLine(f, l, NOW);
    assertEquals(t.resolve(v), v);
  }
  assertEquals(t.size, 0);
});
