import { assertEquals } from "../_assert.ts";
import { MAX_REPEAT, syslogRepeatCount } from "../../lib/filter/mod.ts";

const CASES: Array<[string, string, number | undefined]> = [
  ["RFC 3164, the default", "Feb 16 10:21:01 mx syslogd: last message repeated 5 times", 5],
  ["space-padded day", "Feb  6 10:21:01 mx syslogd: last message repeated 2 times", 2],
  ["rfc3164-strict priority", "<46>Feb  6 10:21:01 mx syslogd: last message repeated 3 times", 3],
  [
    "RFC 5424 (-O syslog)",
    "<46>1 2024-12-02T15:55:00.000000+00:00 mx syslogd - - - last message repeated 4 times",
    4,
  ],
  [
    "a huge count is capped",
    "Feb 16 10:21:01 mx syslogd: last message repeated 9999999 times",
    MAX_REPEAT,
  ],
  ["zero is no repeat", "Feb 16 10:21:01 mx syslogd: last message repeated 0 times", undefined],
  [
    "attacker text at the end of a postfix line",
    "Feb 16 10:21:01 mx postfix/smtpd[1]: warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: x syslogd: last message repeated 9 times",
    undefined,
  ],
  [
    "another program",
    "Feb 16 10:21:01 mx sshd[12]: last message repeated 9 times",
    undefined,
  ],
  ["no header", "syslogd: last message repeated 9 times", undefined],
  ["trailing text", "Feb 16 10:21:01 mx syslogd: last message repeated 9 times x", undefined],
];

for (const [name, line, want] of CASES) {
  Deno.test(`syslogRepeatCount() ${name}`, () => {
    assertEquals(syslogRepeatCount(line), want);
  });
}
