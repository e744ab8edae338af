/**
 * FreeBSD syslogd's repeated-line compression. By default syslogd writes a message identical to
 * the previous one in the same file (same program, pid and text) only once, followed later by
 * `Feb 16 10:21:01 mx syslogd: last message repeated 5 times` (`-cc` turns this off for files).
 * Within one connection the pid and text are the same, so an attacker's repeated tries are
 * written this way; when the line before was a failure, the repeat line stands for N more.
 *
 * The whole line is anchored, syslog header included: text an attacker controls ends a line
 * it wrote, so it can never be taken for syslogd's own repeat line.
 * @module
 */

/** Largest repeat count taken from a line (syslogd flushes repeats every 30 s or so). */
export const MAX_REPEAT = 1_000_000;

// RFC 3164 (`-O bsd`, the default; optional `<pri>` for rfc3164-strict) and RFC 5424
// (`-O syslog`): `<pri>1 2024-12-02T15:55:00.000000+00:00 mx syslogd - - - last message ...`.
const RFC3164 =
  /^(?:<\d{1,3}>)?[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d [^\s:]+ syslogd(?:\[\d+\])?: last message repeated (\d{1,7}) times?$/;
const RFC5424 =
  /^(?:<\d{1,3}>)?1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) \S+ syslogd \S+ \S+ (?:-|\[.*\]) last message repeated (\d{1,7}) times?$/;

/** Quick check before the regexes: the phrase every repeat line carries. */
const PHRASE = "last message repeated ";

/**
 * The count of a syslogd `last message repeated N times` line, or undefined for any other line.
 * @param text one log line, without its newline
 */
export function syslogRepeatCount(text: string): number | undefined {
  if (!text.includes(PHRASE)) return undefined;
  const m = RFC3164.exec(text) ?? RFC5424.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= 1 ? Math.min(n, MAX_REPEAT) : undefined;
}
