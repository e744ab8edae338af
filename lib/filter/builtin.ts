/**
 * Filters compiled into banwatch: postfix SASL, dovecot, qpopper, inetd/TCP wrappers, sshd,
 * for the log formats FreeBSD mail servers write (RFC 3164 syslog with space-padded days,
 * `syslogd -O rfc5424`, `syslogd -v` `<facility.priority>`, postfix's own `maillog_file`,
 * dovecot's own `log_path`). Annotated samples: tests/testdata/filters/<name>.log.
 *
 * Every built-in is anchored on the syslog header (after the date is cut: `^\s*hostname
 * program[pid]: `, or the RFC 5424 `hostname app procid msgid - `, or dovecot's own-file
 * `imap-login: `) and takes the address from a position the attacker cannot write. Where
 * attacker text (a user name) comes BEFORE the address, the pattern is anchored at the end
 * of the line on text the daemon writes, so the address is the one the daemon wrote after
 * the user name, never one written inside it. User names are matched with classes such as
 * `[^\t]*` (dovecot and OpenSSH encode TAB) or `[^"]*` (qpopper quotes them), never `.*`.
 * @module
 */

import type { FilterSpec } from "./filter.ts";

/** Syslog header for program `prog` (a regex), after the date has been cut. */
function syslogHeader(prog: string): string {
  // `<auth.info> ` from `syslogd -v`; hostname; then RFC 3164 `prog[pid]: ` / `prog: ` or
  // RFC 5424 `prog procid msgid - ` (no structured data from local programs).
  return String.raw`(?:<[\w.]{1,24}> )?\S+ ${prog}(?:\[\d+\]: |: | (?:\d+|-) \S+ - )`;
}

/** Line start after the date cut: fail2ban keeps the blank that followed the date. */
const LEAD = String.raw`^\s*`;
const POSTFIX_SMTPD = String.raw`postfix(?:-[\w.-]+)?(?:/[\w.-]+){0,4}/smtpd`;
const SSHD = String.raw`sshd(?:-session)?`;
/** dovecot through syslog, or dovecot's own log file (no hostname, no program). */
const DOVECOT = String.raw`^\s*(?:${syslogHeader(String.raw`dovecot`)})?`;
/** A user name as dovecot and OpenSSH log it: anything but TAB (they encode TAB). */
const USER = String.raw`<F-USER>[^\t]*</F-USER>`;

const POSTFIX_SASL: FilterSpec = {
  name: "postfix-sasl",
  description: "postfix smtpd SASL authentication failures (LOGIN, PLAIN, CRAM-MD5, DIGEST-MD5…)",
  example:
    "Jan 20 08:53:48 mx postfix/smtpd[7395]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: authentication failure, sasl_username=bob@example.com",
  failregex: [
    // `name[addr]` right after `warning: `: postfix writes it (name is a validated hostname or
    // "unknown"); the sasl_username comes after it.
    LEAD + syslogHeader(POSTFIX_SMTPD) +
    String.raw`warning: [^\[\]\s]+\[<HOST>\]: SASL [\w-]{1,32} authentication failed:`,
  ],
  ignoreregex: [
    // fail2ban does not count these either: the auth server went away, not the client.
    LEAD + syslogHeader(POSTFIX_SMTPD) +
    String
      .raw`warning: [^\[\]\s]+\[[^\[\]\s]+\]: SASL [\w-]{1,32} authentication failed: Connection lost to authentication server(?:$|, sasl_username=)`,
  ],
};

/**
 * The auth process refusing a user name (`auth_username_chars`): dovecot writes `?` for the
 * user and the address BEFORE the hostile name, so the pattern ends before the name and nothing
 * in it can yield another address. Syslog and dovecot's own log file:
 * `auth: Info: plain(?,ADDR[,<session>]): Username character disallowed by auth_username_chars: …`
 */
const DOVECOT_USERNAME_CHARS = DOVECOT + String.raw`(?:auth|auth-worker\(\d+\)): (?:Info: )?` +
  String.raw`[a-z][a-z0-9-]{0,31}\(\?,<HOST>(?:,<[\w+/=-]{1,64}>)?\): ` +
  String.raw`Username character disallowed by auth_username_chars: `;

const DOVECOT_FILTER: FilterSpec = {
  name: "dovecot",
  description:
    "dovecot imap/pop3/submission/managesieve login failures (2.2, 2.3, 2.4) and auth process password mismatches",
  example:
    "Nov 28 20:04:17 mx dovecot: imap-login: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): user=<admin>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, session=<2h4gpVthH7d/AAAF>",
  failregex: [
    // Login processes. user=<…> is attacker text that may hold `>, method=…, rip=…`: the
    // pattern is anchored on what dovecot writes after the real rip (`, lip=ADDR` and a fixed
    // set of comma-free items up to the end of the line), so only the last rip can match.
    DOVECOT +
    String.raw`(?:imap|pop3|submission|managesieve|sieve)-login: (?:Info: )?` +
    String
      .raw`(?:Aborted login|Disconnected|Login aborted|Remote closed connection|Client has quit the connection)` +
    String
      .raw`(?:: [A-Za-z][A-Za-z ]{0,80})? \(auth failed, \d+ attempts(?: in \d+ secs)?\)(?: \(auth_failed\))?: ` +
    String.raw`(?:user=<${USER}>, )?(?:method=[\w-]{1,32}, )?rip=<HOST>, lip=[0-9A-Fa-f:.]{2,45}` +
    String
      .raw`(?:, (?:TLS|secured|mpid=\d{1,10}|session=<[\w+/=-]{1,64}>|TLS handshaking: [^,]{0,200}|TLS: [^,]{0,200})){0,8}$`,
    // Auth process (auth_verbose = yes): passdb(user,rip[,<session>]): … — the user comes
    // first, so the line is anchored at its end.
    DOVECOT +
    String.raw`(?:auth|auth-worker\(\d+\)): (?:Info: )?` +
    String
      .raw`(?:passwd-file|passwd|shadow|bsdauth|sql|ldap|checkpassword|vpopmail|static)\(${USER},<HOST>(?:,<[\w+/=-]{1,64}>)?\): ` +
    String
      .raw`(?:Password mismatch|unknown user|invalid credentials)(?: \((?:SHA1 of )?given password: [0-9a-f]{1,64}\))?$`,
    DOVECOT +
    String.raw`(?:auth|auth-worker\(\d+\)): (?:Info: )?` +
    String.raw`pam\(${USER},<HOST>(?:,<[\w+/=-]{1,64}>)?\): pam_authenticate\(\) failed: ` +
    String.raw`[A-Za-z][A-Za-z ]{0,100}(?:: \d{1,6} Time\(s\))?(?: \(password mismatch\?\))?$`,
    DOVECOT_USERNAME_CHARS,
  ],
};

const QPOPPER: FilterSpec = {
  name: "qpopper",
  description: "qpopper -ERR [AUTH] failures: wrong password, access denied, PAM failure",
  example:
    'Feb 16 10:21:00 mail qpopper[4321]: bob at host.example.net (203.0.113.9): -ERR [AUTH] Password supplied for "bob" is incorrect.',
  failregex: [
    // qpopper logs "USER at CLIENT (IP): MESSAGE" and MESSAGE quotes USER again. The user is
    // attacker text; requiring it to be free of `"` in both places, and the message to end the
    // line, leaves exactly one parse: the (IP) qpopper wrote.
    LEAD + syslogHeader(String.raw`qpopper`) +
    String.raw`<F-USER>[^"]*</F-USER> at \S+ \(<HOST>\): -ERR \[AUTH\] ` +
    String
      .raw`(?:Password supplied for "[^"]*" is incorrect\.|"[^"]*": access denied\.|PAM authentication failed for user "[^"]*": [^"]*)$`,
  ],
};

const TCP_WRAPPERS: FilterSpec = {
  name: "tcp-wrappers",
  description:
    "inetd -w/-W and libwrap refusals (refused connection from ADDR, service S (tcp)); a resolved hostname is not banned unless usedns",
  example:
    "Feb 16 10:21:00 mail inetd[1234]: refused connection from 203.0.113.9, service qpopper (tcp)",
  failregex: [
    // FreeBSD inetd: "refused connection from %.500s, service %s (%s%s)". With -DALWAYS_HOSTNAME
    // libwrap logs the verified reverse-DNS name when there is one: that is a miss
    // ("not-an-address") unless the jail sets usedns. <F-HOST> rather than <HOST>: inetd never
    // writes brackets there, and <HOST> (like fail2ban's) would take "[1.2.3.4]" as 1.2.3.4.
    LEAD + syslogHeader(String.raw`inetd`) +
    String
      .raw`refused connection from <F-HOST>[\w.:%-]+</F-HOST>, service [^\s()]{1,64} \([a-z]{3,4}\d{0,2}\)$`,
    // tcpd and daemons linked with libwrap: "refused connect from CLIENT (ADDR)".
    LEAD + syslogHeader(String.raw`[\w./-]{1,64}`) +
    String.raw`refused connect from \S+ \(<HOST>\)$`,
  ],
};

const SSHD_FILTER: FilterSpec = {
  name: "sshd",
  description: "OpenSSH sshd (FreeBSD base and ports) authentication failures and invalid users",
  example:
    "Nov 28 20:04:17 mx sshd[30171]: Failed password for invalid user admin from 203.0.113.9 port 37115 ssh2",
  failregex: [
    // The user name comes before the address: every pattern ends on text sshd writes after
    // the address (port, protocol, [preauth]) and the end of the line.
    LEAD + syslogHeader(SSHD) +
    String
      .raw`(?:error: )?Failed (?:password|publickey|keyboard-interactive/pam|keyboard-interactive|none|hostbased|gssapi-with-mic) for (?:invalid user )?${USER} from <HOST> port \d{1,5}(?: ssh2)?(?:: [\w-]{1,32} [\w:+/=-]{1,120})?$`,
    LEAD + syslogHeader(SSHD) +
    String.raw`(?:error: )?[Ii]nvalid user ${USER} from <HOST>(?: port \d{1,5})?$`,
    LEAD + syslogHeader(SSHD) +
    String
      .raw`(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?${USER} from <HOST> port \d{1,5}(?: ssh2)?(?: \[preauth\])?$`,
    LEAD + syslogHeader(SSHD) +
    String
      .raw`(?:Connection closed by|Disconnected from) (?:authenticating|invalid) user ${USER} <HOST> port \d{1,5}(?: \[preauth\])?$`,
    LEAD + syslogHeader(SSHD) +
    String
      .raw`(?:error: )?Disconnecting (?:authenticating|invalid) user ${USER} <HOST> port \d{1,5}: Too many authentication failures(?: \[preauth\])?$`,
    LEAD + syslogHeader(SSHD) +
    String
      .raw`(?:error: )?PAM: [Aa]uthentication (?:error|failure) for (?:illegal user )?${USER} from <HOST>$`,
    LEAD + syslogHeader(SSHD) +
    String.raw`User ${USER} from <HOST> not allowed because [\w' ]{1,80}$`,
  ],
};

/** Freezes a spec and its lists so no caller can change a built-in by accident. */
function frozen(spec: FilterSpec): FilterSpec {
  Object.freeze(spec.failregex);
  if (spec.ignoreregex) Object.freeze(spec.ignoreregex);
  return Object.freeze(spec);
}

/** The built-in filters, in the order `banwatch filters` lists them. */
export const BUILTIN_FILTERS: readonly FilterSpec[] = Object.freeze([
  frozen(POSTFIX_SASL),
  frozen(DOVECOT_FILTER),
  frozen(QPOPPER),
  frozen(TCP_WRAPPERS),
  frozen(SSHD_FILTER),
]);

/**
 * The built-in filter called `name`, or undefined.
 * @param name a built-in filter name such as "postfix-sasl"
 */
export function findBuiltinFilter(name: string): FilterSpec | undefined {
  return BUILTIN_FILTERS.find((f) => f.name === name);
}
