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

import type { FilterSpec } from "./types.ts";

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
/** A user name with no parenthesis, where attacker text also follows the address. */
const USER_NO_PAREN = String.raw`<F-USER>[^\t()]*</F-USER>`;

const POSTFIX_SASL: FilterSpec = {
  name: "postfix-sasl",
  description:
    "postfix smtpd SASL authentication failures (LOGIN, PLAIN, CRAM-MD5, DIGEST-MD5…), with or without smtpd_client_port_logging's `:port`; not counted, as in fail2ban's postfix[mode=auth]: `Connection lost to authentication server` and `Invalid authentication mechanism` (no credentials were checked)",
  example:
    "Jan 20 08:53:48 mx postfix/smtpd[7395]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: authentication failure, sasl_username=bob@example.com",
  failregex: [
    // `name[addr]` right after `warning: `: postfix writes it (name is a validated hostname or
    // "unknown"), then `:port` with smtpd_client_port_logging = yes; the sasl_username comes
    // after it.
    LEAD + syslogHeader(POSTFIX_SMTPD) +
    String
      .raw`warning: [^\[\]\s]+\[<HOST>\](?::\d{1,5})?: SASL [\w-]{1,32} authentication failed:`,
  ],
  ignoreregex: [
    // fail2ban's postfix[mode=auth] does not count these either: no credentials were checked
    // (the auth server went away, or the client named a mechanism the server does not offer).
    // One regex each: each is tried only on lines holding its own long literal.
    LEAD + syslogHeader(POSTFIX_SMTPD) +
    String
      .raw`warning: [^\[\]\s]+\[[^\[\]\s]+\](?::\d{1,5})?: SASL [\w-]{1,32} authentication failed: Connection lost to authentication server(?:$|, sasl_username=)`,
    LEAD + syslogHeader(POSTFIX_SMTPD) +
    String
      .raw`warning: [^\[\]\s]+\[[^\[\]\s]+\](?::\d{1,5})?: SASL [\w-]{1,32} authentication failed: Invalid authentication mechanism(?:$|, sasl_username=)`,
  ],
};

/** dovecot's passdb and userdb drivers, as they prefix auth process messages. */
const DOVECOT_DRIVER = String
  .raw`(?:passwd-file|passwd|shadow|bsdauth|sql|ldap|pam|checkpassword|vpopmail|static|lua|oauth2|imap)`;
/** The auth process prefix (2.0-2.3): `auth: `, `auth-worker(PID): `, 2.3's `conn …` relay. */
const DOVECOT_AUTH =
  // One group, as the other long runs of literal text in dovecot's auth patterns: the prefilter
  // then looks for `): ` (and `-login: `, `,sasl:`) only, as few scans per line as before.
  String.raw`(?:(?:dovecot: )?auth(?:-worker)?(?:\((?:\d{1,10}|default)\))?: (?:Info: )?` +
  String
    .raw`(?:conn unix:auth-worker \((?:pid=\d{1,10},)?uid=\d{1,10}\): auth-worker<\d{1,10}>: )?)`;
/** What a passdb logs for a wrong user or password. */
const DOVECOT_FAILED = String
  .raw`(?:[Pp]assword mismatch|[Uu]nknown user|[Ii]nvalid credentials)(?: \(for LDAP bind\))?`;

/** A login process's summary line, up to its status (2.2-2.4; reasons may hold parentheses). */
const DOVECOT_LOGIN = DOVECOT +
  String.raw`(?:imap|pop3|submission|managesieve|sieve)-login: (?:Info: )?` +
  String
    .raw`(?:Aborted login|Disconnected|Login aborted|Remote closed connection|Client has quit the connection)` +
  String.raw`(?:: [^()\t]{1,200}(?:\([^()\t]{0,80}\)[^()\t]{0,80}){0,3})?`;
/** After the status: user, method, rip, lip and the comma-free items dovecot ends with. */
const DOVECOT_LOGIN_END = String.raw`(?: \([\w ]{1,40}\))?: ` +
  String
    .raw`(?:user=<${USER}>, )?(?:method=[\w-]{1,32}, )?rip=<HOST>(?:, lip=[0-9A-Fa-f:.]{2,45})?` +
  String
    .raw`(?:, (?:TLS|secured|mpid=\d{1,10}|session=<[\w+/=-]{1,64}>|TLS handshaking: [^,]{0,200}|TLS: [^,]{0,200}|TLSv[\d.]{1,4} with cipher [^,]{0,200})){0,8}$`;

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
    "dovecot imap/pop3/submission/managesieve login failures (2.2, 2.3, 2.4: `auth failed, N attempts`, `tried to use disallowed plaintext auth`, `proxy dest auth failed`) and auth process failures (auth_verbose: passdb `Password mismatch`, `unknown user`, `invalid credentials`, PAM); counted as fail2ban counts them: the login process's summary line and the auth process's line (2.2/2.3 `auth:`/`auth-worker(PID):`, 2.4 `auth(user,ADDR,sasl:…)`), not 2.4's `auth-worker(user,ADDR)<pid>…: request [N]:` echo of the same attempt; an auth line whose plaintext given password or user name holds a parenthesis is not matched (attacker text on both sides of the address: the login summary still counts the attempt)",
  example:
    "Nov 28 20:04:17 mx dovecot: imap-login: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): user=<admin>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, session=<2h4gpVthH7d/AAAF>",
  failregex: [
    // Login processes. user=<…> is attacker text that may hold `>, method=…, rip=…`: the
    // pattern is anchored on what dovecot writes after the real rip (`, lip=ADDR` when there is
    // one and a fixed set of comma-free items up to the end of the line, none of them `rip=`),
    // so only the last rip can match.
    DOVECOT_LOGIN + String.raw`(?: \(auth failed, \d+ attempts(?: in \d+ secs)?\))` +
    DOVECOT_LOGIN_END,
    // The same for a login refused before the password was checked (fail2ban counts it).
    DOVECOT_LOGIN +
    String
      .raw`(?: \((?:tried to use (?:disabled|disallowed) [\w-]{1,32} auth|proxy dest auth failed)\))` +
    DOVECOT_LOGIN_END,
    // Auth process (auth_verbose = yes): passdb(user,rip[,<session>]): … — the user comes
    // first, so the line is anchored at its end (hashed given password at most).
    DOVECOT + DOVECOT_AUTH +
    String.raw`${DOVECOT_DRIVER}\(${USER},<HOST>(?:,<[\w+/=-]{1,64}>|,)?\): ` +
    String.raw`${DOVECOT_FAILED}(?: \((?:SHA1 of )?given password: [0-9a-f]{1,64}\))?$`,
    // The same with auth_verbose_passwords = plain: attacker text on both sides of the address.
    // Neither the user name nor the password may hold a parenthesis: a second address written
    // in either would need the `)` dovecot writes after the real one.
    DOVECOT + DOVECOT_AUTH +
    String.raw`${DOVECOT_DRIVER}\(${USER_NO_PAREN},<HOST>(?:,<[\w+/=-]{1,64}>|,)?\): ` +
    String.raw`${DOVECOT_FAILED}(?: \(given password: [^()\t]*\))$`,
    // dovecot 2.4: `auth(user,rip,sasl:mech)<session>: Info: driver: Password mismatch …`, the
    // same rule for the user name and the password.
    DOVECOT +
    String.raw`auth\(${USER_NO_PAREN},<HOST>,sasl:[\w-]{1,32}\)(?:<[\w+/=-]{1,64}>)?: (?:Info: )?` +
    String.raw`[a-z][\w-]{1,15}: ${DOVECOT_FAILED}(?: \((?:SHA1 of )?given password: [^()\t]*\))?$`,
    DOVECOT + DOVECOT_AUTH +
    String
      .raw`(?:pam\()${USER},<HOST>(?:,<[\w+/=-]{1,64}>|,)?\): (?:pam_authenticate\(\) failed: )` +
    String
      .raw`[A-Za-z][A-Za-z ]{0,100}(?:: \d{1,6} Time\(s\))?(?: \([Pp]assword mismatch\?\))?$`,
    // pam_unix (or another PAM module) logging for dovecot's auth process: ruser= and user= are
    // space-free, so rhost= is the one pam wrote.
    LEAD + syslogHeader(String.raw`(?:dovecot(?:-auth)?|auth)`) +
    String
      .raw`(?:pam_[a-z]{1,16}\(dovecot:auth)\): (?:authentication failure; logname=\S* uid=\d* euid=\d* tty=dovecot ruser=\S* rhost=<HOST>(?: +user=\S*)?$)`,
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

/** sshd's optional message prefix: `error: `, `fatal: `, with `PAM: ` after them or alone. */
const SSHD_PREF = String.raw`(?:(?:error|fatal): )?`;

const SSHD_FILTER: FilterSpec = {
  name: "sshd",
  description:
    "OpenSSH sshd (FreeBSD base and ports) authentication failures, invalid and refused users (`ROOT LOGIN REFUSED`), PAM failures, clients reporting `Auth fail`, disallowed user changes; not counted: libwrap's `refused connect from` (the tcp-wrappers built-in), failures fail2ban infers from several lines of one connection (a summary without an address, pam_unix lines before `Accepted`), SSH-1's `ssh1: ruser` suffix, and lines whose attacker text after the address holds a space (hostbased client user/host, a changed user name)",
  example:
    "Nov 28 20:04:17 mx sshd[30171]: Failed password for invalid user admin from 203.0.113.9 port 37115 ssh2",
  failregex: [
    // Runs of literal text some patterns wrap in `(?:…)` leave the prefilter (which looks for
    // each pattern's longest top-level literal in every line) a literal another pattern
    // already needs: fewer scans per line.
    // The user name comes before the address: every pattern ends on text sshd writes after
    // the address (port, protocol, key, [preauth]) and the end of the line. Variable parts
    // after the address hold no space, so none of them can end in a second `from ADDR port`.
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String
      .raw`Failed (?:password|publickey|keyboard-interactive/pam|keyboard-interactive|none|hostbased|gssapi-with-mic) for (?:invalid user )?${USER} from <HOST> port \d{1,5}(?: ssh\d?)?(?:: [\w-]{1,32} [\w:+/=$-]{1,120}(?:, client user "[^"\s]{0,100}", client host "[^"\s]{0,255}")?)?$`,
    // Old sshd without ` port N`: the line ends on the address. A user name with no `:` cannot
    // hold the real address and a `sshX: …` suffix ending in a second one.
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String
      .raw`Failed (?:password|publickey|keyboard-interactive/pam|keyboard-interactive|none|hostbased|gssapi-with-mic) for (?:invalid user )?<F-USER>[^\t:]*</F-USER> from <HOST>$`,
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String.raw`(?:[Ii]nvalid) user ${USER} from <HOST>(?: port \d{1,5})?(?: \[preauth\])?$`,
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String
      .raw`(?:maximum a)uthentication (?:attempts exceeded for )(?:invalid user )?${USER} from <HOST> port \d{1,5}(?: ssh2)?(?: \[preauth\])?$`,
    LEAD + syslogHeader(SSHD) +
    String
      .raw`(?:Connection closed by|Disconnected from) (?:authenticating|invalid) user ${USER} <HOST> port \d{1,5}(?: \[preauth\])?$`,
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String
      .raw`(?:Disconnecting )(?:authenticating|invalid) user ${USER} <HOST>(?: port )\d{1,5}(?:: Too many authentication failures)(?: \[preauth\])?$`,
    // PAM, FreeBSD and macOS (`via` the local address).
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String
      .raw`(?:PAM: )?[Aa]uthentication (?:error|failure|failed) for (?:illegal user )?${USER} from <HOST>(?: via [\w.:-]{1,64})?(?: \[preauth\])?$`,
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String
      .raw`(?:PAM: )?(?:User not known to the underlying a)uthentication (?:module for )(?:illegal user )?${USER} from <HOST>(?: \[preauth\])? ?$`,
    LEAD + syslogHeader(SSHD) +
    String.raw`User ${USER} from <HOST> not allowed because [\w' ]{1,80}$`,
    // PermitRootLogin no (as some sshd builds word it): no user name.
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String.raw`ROOT LOGIN REFUSED FROM <HOST>(?: port \d{1,5})?(?: \[preauth\])?$`,
    // The client says its authentication failed (code 3, SSH2_DISCONNECT_…): the address
    // comes first; the description after it is the client's.
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String
      .raw`Received disconnect from <HOST>(?: port \d{1,5})?: ?3: [^\t]{0,300}: Auth fail(?: \[preauth\])?$`,
    // An invalid user switching user or service mid-authentication: attacker text on both sides
    // of the address. The user name holds no parenthesis (it cannot swallow the real pairs) and
    // the (user,service) pairs no space (they cannot hold a second `ADDR port N: …`).
    LEAD + syslogHeader(SSHD) + SSHD_PREF +
    String
      .raw`(?:Disconnecting )(?:authenticating|invalid) user ${USER_NO_PAREN} <HOST>(?: port )\d{1,5}(?:: Change of username or service not allowed: )\([^\s()]{0,128},[\w-]{1,32}\) -> \([^\s()]{0,128},[\w-]{1,32}\)(?: \[preauth\])?$`,
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
