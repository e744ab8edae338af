/**
 * Issue 12's example: an auth.log of 3,000 sshd lines with a few inetd and tcpd refusals among
 * them, and the admin's dovecot-pop3imap regex. `banwatch test` must lead to the refusals.
 */
import { assertEquals, assertMatch, assertNotMatch, assertOk } from "../_assert.ts";
import { runCli } from "../_helpers.ts";

const NOW = "2026-03-01T00:00:00Z";
const REGEX = String.raw`refused connection from <HOST>, service qpopper \(tcp\)`;

function authLog(): string {
  const out: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = `Feb 16 10:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${
      String(i % 60).padStart(2, "0")
    }`;
    const ip = `198.51.100.${i % 250}`;
    const pid = 1000 + i;
    out.push(
      [
        `${t} mx sshd[${pid}]: Connection closed by ${ip} port ${40000 + i} [preauth]`,
        `${t} mx sshd[${pid}]: Invalid user admin${i % 7} from ${ip} port ${40000 + i}`,
        `${t} mx sshd[${pid}]: Failed password for root from ${ip} port ${40000 + i} ssh2`,
        `${t} mx sshd[${pid}]: Disconnected from authenticating user root ${ip} port 22 [preauth]`,
      ][i % 4]!,
    );
    if (i % 300 === 150) {
      out.push(`${t} mx inetd[77]: refused connection from 2001:db8::7, service qpopper (tcp6)`);
    }
    if (i % 500 === 250) {
      out.push(`${t} mx qpopper[77]: refused connect from 203.0.113.9 (203.0.113.9)`);
    }
  }
  return out.join("\n") + "\n";
}

async function withLog(fn: (log: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/auth.log`, authLog());
    await fn(`${dir}/auth.log`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("banwatch test leads a filter that matches nothing to its near misses", async () => {
  await withLog(async (log) => {
    const r = await runCli(["test", log, REGEX, "--now", NOW]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "");
    assertMatch(r.stdout, /Lines: 3016 lines, 0 ignored, 0 matched, 3016 missed/);
    const section = r.stdout.slice(r.stdout.indexOf("Near misses"));
    assertOk(section.length > 0 && r.stdout.includes("Near misses"), r.stdout);
    assertEquals(
      section.split("\n").slice(0, 11).join("\n"),
      [
        "Near misses (missed lines that got furthest into a failregex, by shape):",
        `|- failregex 1: ${REGEX}`,
        "|  [10] like line 152: Feb 16 10:02:30 mx inetd[77]: refused connection from 2001:db8::7, service qpopper (tcp6)",
        String.raw`|      matched: refused connection from <HOST>, service qpopper \(tcp`,
        String.raw`|      then expected: \)`,
        "|      but the line has: 6)",
        "|  [6] like line 253: Feb 16 10:04:10 mx qpopper[77]: refused connect from 203.0.113.9 (203.0.113.9)",
        "|      matched: refused connect",
        String.raw`|      then expected: ion from <HOST>, service qpopper \(tcp\)`,
        "|      but the line has:  from 203.0.113.9 (203.0.113.9)",
        "`-",
      ].join("\n"),
    );
    // The sshd noise is no near miss.
    assertNotMatch(section.split("`-")[0]!, /sshd/);
  });
});

Deno.test("banwatch test --json lists the near misses as nearMisses", async () => {
  await withLog(async (log) => {
    const r = await runCli(["test", log, REGEX, "--json", "--now", NOW]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "");
    const j = JSON.parse(r.stdout);
    assertEquals(
      j.nearMisses.map((n: { count: number; line: number; found: string }) => [
        n.count,
        n.line,
        n.found,
      ]),
      [[10, 152, "6)"], [6, 253, " from 203.0.113.9 (203.0.113.9)"]],
    );
    assertEquals(j.nearMisses[0].failregex, 1);
    assertEquals(j.nearMisses[0].expected, String.raw`\)`);
  });
});

Deno.test("banwatch test --print-missed prefixes each line with its reason", async () => {
  await withLog(async (log) => {
    const r = await runCli(["test", log, REGEX, "--print-missed", "--now", NOW]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "");
    assertMatch(
      r.stdout,
      /\n1: \[no-failregex\] Feb 16 10:00:00 mx sshd\[1000\]: Connection closed by/,
    );
    assertMatch(
      r.stdout,
      /\n152: \[no-failregex, near miss: failregex 1 diverged after …tion from <HOST>, service qpopper \\\(tcp\] Feb 16 10:02:30 mx inetd/,
    );
  });
});

Deno.test("banwatch test hides near misses when lines matched, unless --explain", async () => {
  await withLog(async (log) => {
    const tcp6 = String.raw`refused connection from <HOST>, service qpopper \(tcp6\)`;
    const plain = await runCli(["test", log, tcp6, "--now", NOW]);
    assertEquals(plain.code, 0, plain.stderr);
    assertMatch(plain.stdout, /10 matched/);
    assertNotMatch(plain.stdout, /Near misses/);
    const explained = await runCli(["test", log, tcp6, "--explain", "--now", NOW]);
    assertEquals(explained.code, 0, explained.stderr);
    assertEquals(explained.stderr, "");
    assertMatch(explained.stdout, /Near misses/);
    assertMatch(explained.stdout, /\[6\] like line 253: .*refused connect from/);
  });
});
