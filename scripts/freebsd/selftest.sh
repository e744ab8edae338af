#!/bin/sh
# shellcheck disable=SC2317 # (functions run from the EXIT trap and through eval)
# banwatch self-test for FreeBSD 13.x/14.x (amd64, aarch64). Run as root from a checkout:
#
#   sh scripts/freebsd/selftest.sh [--keep] [--skip-compile BINARY] [--skip-tests]
#                                  [--report DIR] [--dry-run]
#
# It builds the binary, runs the test suite, then runs banwatch under daemon(8) through the
# shipped rc.d script inside its own vnet jail (real ipfw tables and rules, the jail's own
# syslogd and newsyslog), and measures the idle daemon and a 1,000,000-line catch-up. Every
# check prints one line, `PASS name: figure` or `FAIL name: reason`, and the run ends with
# `selftest: N passed, N failed` (exit status 1 when anything failed).
#
# It changes nothing outside its temporary directory and its jail, except what it needs and
# says: `pkg install -y deno` when deno is missing, ipfw.ko/if_epair.ko loaded when absent
# (unloaded again at the end), and one epair interface. A trap undoes all of it (jail, epair,
# tables, rule, mounts, modules, temporary directory) on exit, on failure and on INT/TERM.
#
#   --keep                 keep the jail, epair and temporary directory; print how to undo them
#   --skip-compile BINARY  test BINARY instead of building one
#   --skip-tests           do not run the test suite (step 2)
#   --report DIR           copy the console output, the command log, ldd output, test output
#                          and the jail's logs to DIR at the end
#   --dry-run              print every command that acts on or inspects the system, in order,
#                          without running any: `+ cmd` runs, `? cmd` is a probe (assumed to
#                          answer "no"), `# check NAME` is a reported result. Date formatting,
#                          sleeps and text processing of captured output are not printed.
#
# The commands it runs, with their output, go to selftest.log (in --report DIR).

# ---------------------------------------------------------------- settings

JAIL=banwatch_selftest
JAIL_HOST=bwtest
NET=192.0.2              # TEST-NET-1 (RFC 5737): must not be in use on this host
HOST_IP=$NET.1           # host side of the epair: the address that gets banned
OTHER_IP=$NET.3          # a second host-side address that stays allowed
JAIL_IP=$NET.2
PORT=2525                # a listener in the jail; the managed rule blocks it for banned sources
RULE=1000
T_FILE=bw-selftest-file      # table of the jail that reads an appended log
T_SYSLOG=bw-selftest-syslog  # ... the log syslogd writes
T_ROTATE=bw-selftest-rotate  # ... the log newsyslog rotates
SYSLOG_IP=198.51.100.7       # four distinct syslog lines
REPEAT_IP=198.51.100.8       # four identical lines: syslogd writes one + "last message repeated 3 times"
ROTATE_N=250                 # addresses 203.0.113.1..N logged while newsyslog rotates
POLL=1                       # banwatch poll_interval, seconds
CATCHUP_LINES=1000000
JCFG=/selftest/jails.toml    # paths inside the jail
JBIN=/selftest/banwatch

# ---------------------------------------------------------------- arguments

KEEP=0
DRY=0
SKIP_COMPILE=
SKIP_TESTS=0
REPORT=
usage() {
	sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
	case $1 in
	--keep) KEEP=1 ;;
	--dry-run) DRY=1 ;;
	--skip-tests) SKIP_TESTS=1 ;;
	--skip-compile)
		[ $# -ge 2 ] || { echo "selftest: --skip-compile needs a BINARY" >&2; exit 2; }
		SKIP_COMPILE=$2
		shift
		;;
	--report)
		[ $# -ge 2 ] || { echo "selftest: --report needs a DIR" >&2; exit 2; }
		REPORT=$2
		shift
		;;
	-h | --help) usage; exit 0 ;;
	*) echo "selftest: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $SKIP_COMPILE in '' | /*) ;; *) SKIP_COMPILE=$PWD/$SKIP_COMPILE ;; esac
case $REPORT in '' | /*) ;; *) REPORT=$PWD/$REPORT ;; esac
SRC=$(cd "$(dirname "$0")/../.." && pwd)

# ---------------------------------------------------------------- running commands

exec 3>&1 # dry-run output goes here, also from inside $(...)
LOG=/dev/null
CONSOLE=/dev/null

# q ARG: sets Q to ARG quoted for sh (unchanged when it needs no quotes).
Q=
q() {
	case $1 in
	'') Q="''" ;;
	*[!A-Za-z0-9_./:=@%+,-]*)
		case $1 in
		*\'*) Q="'$(printf '%s' "$1" | sed "s/'/'\\\\''/g")'" ;;
		*) Q="'$1'" ;;
		esac
		;;
	*) Q=$1 ;;
	esac
}

# cmdline ARG...: sets CL to the command as one line of sh.
CL=
cmdline() {
	CL=
	for _a in "$@"; do
		q "$_a"
		CL="$CL${CL:+ }$Q"
	done
}

# show MARK SUFFIX CMD...: the command line (MARK is + or ?, SUFFIX a redirection or &), on
# stdout under --dry-run, else into the log.
show() {
	_m=$1
	_s=$2
	shift 2
	cmdline "$@"
	if [ "$DRY" = 1 ]; then
		printf '%s %s%s\n' "$_m" "$CL" "$_s" >&3
	else
		printf '%s %s%s\n' "$_m" "$CL" "$_s" >>"$LOG"
	fi
}

# x CMD...: run CMD (stdin /dev/null, output to the log), or print it under --dry-run.
x() {
	show + '' "$@"
	[ "$DRY" = 1 ] && return 0
	"$@" >>"$LOG" 2>&1 </dev/null
}

# xo CMD...: as x, but CMD's stdout is the caller's (for $(...)); empty under --dry-run.
xo() {
	show + '' "$@"
	[ "$DRY" = 1 ] && return 0
	"$@" 2>>"$LOG" </dev/null
}

# xw FILE CMD...: run CMD with its stdout written to FILE; xa appends.
xw() {
	_f=$1
	shift
	q "$_f"
	show + " > $Q" "$@"
	[ "$DRY" = 1 ] && return 0
	"$@" >"$_f" 2>>"$LOG" </dev/null
}
xa() {
	_f=$1
	shift
	q "$_f"
	show + " >> $Q" "$@"
	[ "$DRY" = 1 ] && return 0
	"$@" >>"$_f" 2>>"$LOG" </dev/null
}

# xbg CMD...: run CMD in the background; its pid in BG_PID.
BG_PID=
xbg() {
	BG_PID=
	show + ' &' "$@"
	[ "$DRY" = 1 ] && return 0
	"$@" >>"$LOG" 2>&1 </dev/null &
	BG_PID=$!
}

# have CMD...: a probe (true when CMD succeeds); under --dry-run it prints `? CMD` and is false.
have() {
	show '?' '' "$@"
	[ "$DRY" = 1 ] && return 1
	"$@" >>"$LOG" 2>&1 </dev/null
}

# pause SECONDS: sleep (not under --dry-run).
pause() {
	[ "$DRY" = 1 ] || sleep "$1"
}

say() {
	printf '%s\n' "$*"
	printf '%s\n' "$*" >>"$CONSOLE"
}

PASSED=0
FAILED=0
# pass NAME FIGURE... / fail NAME REASON...
pass() {
	_n=$1
	shift
	if [ "$DRY" = 1 ]; then printf '# check %s\n' "$_n" >&3; return 0; fi
	PASSED=$((PASSED + 1))
	say "PASS $_n: $*"
}
fail() {
	_n=$1
	shift
	if [ "$DRY" = 1 ]; then printf '# check %s\n' "$_n" >&3; return 0; fi
	FAILED=$((FAILED + 1))
	say "FAIL $_n: $*"
}
step() {
	if [ "$DRY" = 1 ]; then printf '# step %s\n' "$*" >&3; else say "== $*"; fi
}

# last line of the log (the last thing a failed command said), for FAIL reasons
last_words() {
	[ "$DRY" = 1 ] && return 0
	tail -n 1 "$LOG" | cut -c 1-200
}

# ---------------------------------------------------------------- undo (the cleanup trap)

# Each undo entry is one line of sh, newest first; cleanup runs them in that order.
UNDO=
undo() {
	cmdline "$@"
	UNDO="x $CL
$UNDO"
}
undo_fn() {
	UNDO="$*
$UNDO"
}

cleanup() {
	_rc=$?
	trap '' INT TERM
	trap - EXIT
	[ -n "$UNDO" ] || exit "$_rc"
	step cleanup
	if [ "$KEEP" = 1 ] && [ -n "$UNDO" ]; then
		say "selftest: --keep: left in place; to undo, run as root:"
		printf '%s\n' "$UNDO" | while IFS= read -r _l; do
			case $_l in
			'' | copy_report) ;;
			"x "*) say "  ${_l#x }" ;;
			"unmount "*) say "  umount ${_l#unmount }" ;;
			"unload_kmod "*) say "  kldunload ${_l#unload_kmod }" ;;
			stop_banwatch) say "  jexec -l $JAIL service banwatch onestop" ;;
			remove_tmp) q "$T" && say "  rm -rf $Q" ;;
			*) say "  $_l" ;;
			esac
		done
		if [ -n "$REPORT" ]; then copy_report; fi
	else
		_ifs=$IFS
		IFS='
'
		set -f
		for _u in $UNDO; do
			IFS=$_ifs
			eval "$_u" || say "cleanup: warning: '$_u' failed (exit $?)"
		done
		set +f
		IFS=$_ifs
	fi
	exit "$_rc"
}

copy_report() {
	x mkdir -p "$REPORT"
	for _f in "$T/console.txt" "$T/selftest.log" "$T/ldd.txt" "$T/file.txt" "$T/tests.txt" \
		"$T/catchup.txt"; do
		if [ "$DRY" = 1 ] || [ -f "$_f" ]; then x cp "$_f" "$REPORT/"; fi
	done
	# the jail's files, as jail-NAME
	for _f in var/log/daemon.log var/log/selftest.log var/log/maillog var/log/rotate.log \
		selftest/jails.toml; do
		if [ "$DRY" = 1 ] || [ -f "$R/$_f" ]; then x cp "$R/$_f" "$REPORT/jail-${_f##*/}"; fi
	done
	say "selftest: report in $REPORT"
}

# Removes the temporary directory, but never while anything is still mounted below it
# (the jail's root holds read-only nullfs mounts of /bin, /usr, ...).
remove_tmp() {
	if [ "$DRY" != 1 ]; then
		_left=$(mount -p | awk -v t="$T/" 'index($2, t) == 1 { print $2 }')
		if [ -n "$_left" ]; then
			say "cleanup: NOT removing $T: still mounted there: $_left"
			return 1
		fi
	fi
	x rm -rf "$T"
}

# Stops banwatch in the jail if it runs (before the jail goes away, so it commits its state).
stop_banwatch() {
	if have jexec -l "$JAIL" service banwatch onestatus; then
		x jexec -l "$JAIL" service banwatch onestop
	fi
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- preconditions

if [ "$DRY" != 1 ]; then
	if [ "$(uname -s)" != FreeBSD ]; then
		echo "selftest: this runs on FreeBSD only (this is $(uname -s)); --dry-run shows what it does" >&2
		exit 2
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "selftest: run it as root (it makes a vnet jail, an epair and ipfw tables)" >&2
		exit 2
	fi
fi

if [ "$DRY" = 1 ]; then
	T="${TMPDIR:-/tmp}/banwatch-selftest.XXXXXX"
	x mktemp -d "$T"
else
	T=$(mktemp -d "${TMPDIR:-/tmp}/banwatch-selftest.XXXXXX") || exit 1
	LOG=$T/selftest.log
	CONSOLE=$T/console.txt
	: >"$LOG"
	: >"$CONSOLE"
fi
R=$T/root # the jail's root
# Undone in the reverse order: everything else, then the report is copied, then the
# temporary directory goes.
undo_fn remove_tmp
if [ -n "$REPORT" ]; then undo_fn copy_report; fi

say "selftest: banwatch from $SRC, work directory $T"
if [ "$DRY" != 1 ]; then
	say "selftest: $(uname -sr) $(uname -m)"
fi

export DENO_DIR="$T/deno" # deno's downloads stay in the temporary directory
export NO_COLOR=1

# ---------------------------------------------------------------- 1. build

step "1. build"
BIN=
if [ -n "$SKIP_COMPILE" ]; then
	BIN=$SKIP_COMPILE
	if [ "$DRY" = 1 ] || [ -x "$BIN" ]; then
		pass build "--skip-compile: testing $BIN"
	else
		fail build "--skip-compile $BIN: not an executable file"
		BIN=
	fi
else
	if ! have command -v deno; then
		x env ASSUME_ALWAYS_YES=yes pkg install -y deno || fail deno "pkg install -y deno failed: $(last_words)"
	fi
	if [ "$DRY" = 1 ] || command -v deno >/dev/null 2>&1; then
		_v=$(xo deno --version | head -n 1)
		pass deno "${_v:-deno} ($(command -v deno 2>/dev/null))"
		x mkdir -p "$T/build"
		if x deno task --config "$SRC/deno.json" compile -o "$T/build/banwatch"; then
			BIN=$T/build/banwatch
			pass build "deno task compile wrote $BIN"
		else
			fail build "deno task compile failed: $(last_words)"
		fi
	else
		fail build "no deno (pkg install -y deno did not provide it)"
	fi
fi

if [ -n "$BIN" ]; then
	# The binary alone: copied to a directory without the source, run with no deno on PATH.
	x mkdir -p "$T/bare"
	x cp "$BIN" "$T/bare/banwatch"
	# shellcheck disable=SC2016 # $1 is for the inner sh
	_ver=$(xo env -i PATH=/bin:/usr/bin:/sbin:/usr/sbin HOME=/nonexistent \
		sh -c 'cd "$1" && ! command -v deno >/dev/null && ./banwatch --version' sh "$T/bare")
	_size=$(xo wc -c "$BIN" | awk '{ print $1 }')
	case $_ver in
	*banwatch*) pass binary "'$_ver' from a bare directory without deno on PATH; $((${_size:-0} / 1048576)) MiB ($_size bytes)" ;;
	*) fail binary "--version from a bare directory without deno on PATH printed '$_ver': $(last_words)" ;;
	esac
	xw "$T/file.txt" file "$BIN"
	if xw "$T/ldd.txt" ldd "$BIN"; then
		_libs=$( [ "$DRY" = 1 ] || grep -c '=>' "$T/ldd.txt")
		_local=$( [ "$DRY" = 1 ] || grep '=> /usr/local/' "$T/ldd.txt" | awk '{ print $1 }' | tr '\n' ' ')
		pass ldd "${_libs:-0} shared libraries${_local:+, from /usr/local: $_local}(saved as ldd.txt)"
	else
		fail ldd "ldd failed: $(last_words)"
	fi
else
	fail binary "not run: no binary"
fi

# ---------------------------------------------------------------- 2. tests

step "2. unit and CLI tests"
if [ "$SKIP_TESTS" = 1 ]; then
	say "selftest: --skip-tests: the test suite was not run"
elif [ "$DRY" = 1 ] || command -v deno >/dev/null 2>&1; then
	# The README's test command (scripts/deno is bash and pins a Linux deno; here the
	# packaged deno runs the same task). Tests that need Linux nftables skip with a reason.
	if xw "$T/tests.txt" deno task --config "$SRC/deno.json" test; then _ok=1; else _ok=0; fi
	_sum=$( [ "$DRY" = 1 ] || grep -E '^(ok|FAILED) \| [0-9]+ passed' "$T/tests.txt" | tail -n 1)
	if [ "$_ok" = 1 ]; then
		pass tests "${_sum:-deno task test exited 0}"
	else
		fail tests "${_sum:-deno task test failed}; see tests.txt"
	fi
else
	fail tests "deno is not installed (pkg install deno), or pass --skip-tests"
fi

# ---------------------------------------------------------------- 3. the vnet jail

step "3. banwatch under daemon(8) in a vnet jail with ipfw"

JAIL_OK=1
# jail_fail REASON: the jail could not be set up.
jail_fail() {
	fail jail "$*"
	JAIL_OK=0
}

# load_kmod MODULE: load a kernel module unless present; unload it at the end if we did.
load_kmod() {
	if ! have kldstat -q -m "$1"; then
		x kldload "$1" || return 1
		undo_fn unload_kmod "$1"
		KMOD_LOADED="$KMOD_LOADED $1"
	fi
	return 0
}
KMOD_LOADED=
# unload_kmod MODULE: a dying vnet jail can hold a module for a moment; retry.
unload_kmod() {
	_k=0
	until x kldunload "$1"; do
		_k=$((_k + 1))
		[ "$_k" -ge 5 ] && return 1
		sleep 1
	done
}
# unmount DIR: as unload_kmod (the jail's last processes may still be exiting).
unmount() {
	_k=0
	until x umount "$1"; do
		_k=$((_k + 1))
		[ "$_k" -ge 5 ] && { x umount -f "$1"; return; }
		sleep 1
	done
}

if have jls -j "$JAIL" jid; then
	jail_fail "a jail named $JAIL exists already (an earlier --keep?); remove it: jail -r $JAIL"
elif have sh -c "ifconfig -a inet | grep -qF 'inet $NET.'"; then
	jail_fail "an interface already has an address in $NET.0/24; this test needs that network"
fi

if [ "$JAIL_OK" = 1 ] && ! have kldstat -q -m ipfw; then
	# ipfw.ko loaded here: make its default rule accept first (a loader tunable read at load
	# time), so that loading it does not cut this host off the network. The host's rules,
	# when ipfw is already loaded, are left alone.
	if ! have kenv -q net.inet.ip.fw.default_to_accept; then
		x kenv net.inet.ip.fw.default_to_accept=1
		undo kenv -u net.inet.ip.fw.default_to_accept
	fi
	if x kldload ipfw; then
		undo_fn unload_kmod ipfw
		KMOD_LOADED="$KMOD_LOADED ipfw"
	else
		jail_fail "kldload ipfw failed: $(last_words)"
	fi
fi
if [ "$JAIL_OK" = 1 ]; then
	load_kmod if_epair || jail_fail "kldload if_epair failed: $(last_words)"
fi

EPA=
if [ "$JAIL_OK" = 1 ]; then
	if [ "$DRY" = 1 ]; then
		x ifconfig epair create
		EPA=epair0a
	else
		EPA=$(xo ifconfig epair create)
	fi
	case $EPA in
	epair*a)
		undo ifconfig "$EPA" destroy
		EPB=${EPA%a}b
		;;
	*) jail_fail "ifconfig epair create failed: $(last_words)" ;;
	esac
fi

if [ "$JAIL_OK" = 1 ]; then
	# The jail's root: the host's system read-only (nullfs), its own /etc (a copy without
	# password hashes and keys), /var, /tmp and /selftest.
	x mkdir -p "$R/etc" "$R/var/run" "$R/var/log" "$R/var/db" "$R/var/empty" "$R/tmp" \
		"$R/dev" "$R/selftest/rc.d"
	x chmod 1777 "$R/tmp"
	for _d in bin sbin lib libexec usr; do
		x mkdir -p "$R/$_d"
		if x mount_nullfs -o ro "/$_d" "$R/$_d"; then
			q "$R/$_d"
			undo_fn unmount "$Q"
		else
			jail_fail "mount_nullfs -o ro /$_d failed: $(last_words)"
			break
		fi
	done
fi
if [ "$JAIL_OK" = 1 ]; then
	# shellcheck disable=SC2016
	x sh -c 'tar -cf - -C /etc --exclude master.passwd --exclude spwd.db --exclude ssh --exclude private . | tar -xpf - -C "$1"' sh "$R/etc" ||
		jail_fail "copying /etc failed: $(last_words)"
	x cp -p /var/run/ld-elf.so.hints "$R/var/run/"
	x rm -rf "$R/etc/rc.conf.local" "$R/etc/rc.conf.d" "$R/etc/syslog.d"
	# A jail-local rc.conf: service(8) finds the shipped rc.d script through local_startup.
	xw "$R/etc/rc.conf" printf '%s\n' \
		'# banwatch self-test jail' \
		'banwatch_enable="YES"' \
		"banwatch_config=\"$JCFG\"" \
		"banwatch_bin=\"$JBIN\"" \
		'local_startup="/selftest/rc.d"' \
		'syslogd_flags="-ss"'
	xw "$R/etc/syslog.conf" printf '%s\n' \
		'mail.*					/var/log/maillog' \
		'local3.*				/var/log/rotate.log' \
		'daemon.*				/var/log/daemon.log'
	xw "$R/selftest/newsyslog.conf" printf '%s\n' \
		'# logfilename		[owner:group]	mode count size when  flags' \
		'/var/log/rotate.log			644  3     *    @T00  J'
	x touch "$R/var/log/maillog" "$R/var/log/rotate.log" "$R/var/log/daemon.log" \
		"$R/var/log/selftest.log"
	xw "$R/selftest/jails.toml" printf '%s\n' \
		'# banwatch self-test configuration (scripts/freebsd/selftest.sh)' \
		'[global]' \
		"poll_interval = \"${POLL}s\"" \
		'' \
		'[defaults]' \
		'enabled = true' \
		'filter = "postfix-sasl"' \
		'findtime = "10m"' \
		'bantime = "1h"' \
		'backend = "ipfw"' \
		'' \
		'[jail.selftest-file]' \
		'logpath = "/var/log/selftest.log"' \
		'maxretry = 3' \
		"table = \"$T_FILE\"" \
		"rule = $RULE" \
		"port = [$PORT]" \
		'protocol = "tcp"' \
		'' \
		'[jail.selftest-syslog]' \
		'logpath = "/var/log/maillog"' \
		'maxretry = 4' \
		"table = \"$T_SYSLOG\"" \
		'' \
		'[jail.selftest-rotate]' \
		'logpath = "/var/log/rotate.log"' \
		'maxretry = 1' \
		"table = \"$T_ROTATE\""
	if [ -n "$BIN" ]; then
		x cp "$BIN" "$R$JBIN"
		x chmod 0555 "$R$JBIN"
	fi
	x cp "$SRC/scripts/rc.d/banwatch" "$R/selftest/rc.d/banwatch"
	x chmod 0555 "$R/selftest/rc.d/banwatch"
fi

if [ "$JAIL_OK" = 1 ]; then
	if x jail -c name="$JAIL" path="$R" host.hostname="$JAIL_HOST" vnet \
		vnet.interface="$EPB" mount.devfs persist; then
		undo jail -r "$JAIL"
		# Undone before the jail goes: banwatch stopped, then the tables and rule it made.
		for _t in "$T_ROTATE" "$T_SYSLOG" "$T_FILE"; do
			undo jexec "$JAIL" ipfw -q table "$_t" destroy
		done
		undo jexec "$JAIL" ipfw -q delete "$RULE"
		undo_fn stop_banwatch
	else
		jail_fail "jail -c failed: $(last_words)"
	fi
fi

if [ "$JAIL_OK" = 1 ]; then
	_ok=1
	x ifconfig "$EPA" inet "$HOST_IP/24" up || _ok=0
	x ifconfig "$EPA" inet "$OTHER_IP/32" alias || _ok=0
	x jexec "$JAIL" ifconfig lo0 inet 127.0.0.1/8 up || _ok=0
	x jexec "$JAIL" ifconfig "$EPB" inet "$JAIL_IP/24" up || _ok=0
	# The jail's own ipfw rule set: accept by default (whatever the host's default is).
	x jexec "$JAIL" ipfw -q add 65000 allow ip from any to any || _ok=0
	x jexec "$JAIL" /usr/sbin/syslogd -ss || _ok=0
	xbg jexec "$JAIL" nc -d -k -l "$PORT"
	pause 1
	if [ "$_ok" = 1 ] && x nc -z -w 3 -s "$HOST_IP" "$JAIL_IP" "$PORT"; then
		pass jail "vnet jail $JAIL, $EPA $HOST_IP <-> $EPB $JAIL_IP, modules loaded here:${KMOD_LOADED:- none}, syslogd and a listener on port $PORT in the jail, reachable from $HOST_IP"
	else
		jail_fail "network set-up or the first connect to $JAIL_IP:$PORT failed (host firewall rules on $EPA?): $(last_words)"
	fi
fi

# in_table TABLE ADDR: the table lists ADDR (captured output; the command is printed)
table_list() {
	xo jexec "$JAIL" ipfw table "$1" list
}
WAITED=
# wait_table TABLE ADDR SECONDS [gone]: wait until ADDR is in (or gone from) TABLE.
wait_table() {
	_i=0
	while :; do
		_l=$(table_list "$1")
		case $_l in
		*"$2/"*) _in=1 ;;
		*) _in=0 ;;
		esac
		if [ "$DRY" = 1 ]; then WAITED=0.0; return 0; fi
		if { [ "$4" = gone ] && [ "$_in" = 0 ]; } || { [ "$4" != gone ] && [ "$_in" = 1 ]; }; then
			WAITED="$((_i / 5)).$((_i % 5 * 2))"
			return 0
		fi
		[ "$_i" -ge $(($3 * 5)) ] && { WAITED="$3"; return 1; }
		sleep 0.2
		_i=$((_i + 1))
	done
}
# table_count TABLE: the number of entries
table_count() {
	table_list "$1" | grep -c '/'
}
COUNT=
# wait_count TABLE N SECONDS: wait until TABLE holds N entries; the count in COUNT.
wait_count() {
	_i=0
	while :; do
		COUNT=$(table_count "$1")
		[ "$DRY" = 1 ] && return 0
		[ "${COUNT:-0}" -ge "$2" ] && return 0
		[ "$_i" -ge $(($3 * 5)) ] && return 1
		sleep 0.2
		_i=$((_i + 1))
	done
}
# within_polls N: WAITED <= N poll intervals
within_polls() {
	awk -v w="$WAITED" -v l="$(($1 * POLL))" 'BEGIN { exit !(w <= l) }'
}
stamp() {
	if [ "$DRY" = 1 ]; then echo 'Jan  1 00:00:00'; else date '+%b %e %H:%M:%S'; fi
}
sasl() {
	echo "warning: unknown[$1]: SASL LOGIN authentication failed: authentication failure"
}
child_pid() {
	xo cat "$R/var/run/banwatch.pid"
}

BW_OK=0
if [ "$JAIL_OK" = 1 ] && [ -n "$BIN" ]; then
	if x jexec -l "$JAIL" service banwatch onestart; then
		_i=0
		until x jexec "$JAIL" "$JBIN" status -c "$JCFG"; do
			_i=$((_i + 1))
			[ "$_i" -ge 50 ] && break
			sleep 0.2
		done
		_pid=$(child_pid)
		_dpid=$(xo cat "$R/var/run/banwatch_daemon.pid")
		if [ "$DRY" = 1 ] || { [ "$_i" -lt 50 ] && [ -n "$_pid" ] && [ -n "$_dpid" ]; }; then
			BW_OK=1
			pass start "service banwatch onestart: banwatch pid $_pid under daemon(8) pid $_dpid; the control socket answers"
		else
			fail start "banwatch does not answer on its socket 10 s after onestart (pidfiles: '$_pid' '$_dpid'); see daemon.log"
		fi
	else
		fail start "service banwatch onestart failed: $(last_words)"
	fi
elif [ "$JAIL_OK" = 1 ]; then
	fail start "not run: no binary"
else
	fail start "not run: no jail"
fi

if [ "$BW_OK" = 1 ]; then
	# A log banwatch reads as it grows: three failures from the host's epair address.
	for _n in 1 2 3; do
		xa "$R/var/log/selftest.log" printf '%s\n' \
			"$(stamp) $JAIL_HOST postfix/smtpd[4242]: $(sasl "$HOST_IP")"
	done
	if wait_table "$T_FILE" "$HOST_IP" 10 && within_polls 2; then
		pass ban-file "$HOST_IP in 'ipfw table $T_FILE list' ${WAITED} s after its 3rd failure (poll_interval ${POLL}s)"
	elif [ -n "$WAITED" ] && [ "$WAITED" != 10 ]; then
		fail ban-file "$HOST_IP reached table $T_FILE only after ${WAITED} s, more than two polls"
	else
		fail ban-file "$HOST_IP not in table $T_FILE 10 s after 3 failures; see daemon.log"
	fi

	_rule=$(xo jexec "$JAIL" ipfw list "$RULE")
	case $_rule in
	*deny*"table($T_FILE)"*"$PORT"*) pass rule "$_rule" ;;
	*) fail rule "rule $RULE is '$_rule', expected deny tcp from table($T_FILE) to any dst-port $PORT" ;;
	esac

	if x nc -z -w 3 -s "$HOST_IP" "$JAIL_IP" "$PORT"; then _b=open; else _b=blocked; fi
	if x nc -z -w 3 -s "$OTHER_IP" "$JAIL_IP" "$PORT"; then _o=open; else _o=blocked; fi
	if [ "$_b" = blocked ] && [ "$_o" = open ]; then
		pass connect "TCP $HOST_IP -> $JAIL_IP:$PORT gets no connection within 3 s (banned); $OTHER_IP -> $JAIL_IP:$PORT connects"
	else
		fail connect "banned $HOST_IP: $_b, other $OTHER_IP: $_o (expected blocked, open)"
	fi

	# Through the jail's syslogd: four failures with different pids (four lines) ...
	for _n in 1 2 3 4; do
		x jexec "$JAIL" logger -p mail.warning -t "postfix/smtpd[500$_n]" "$(sasl "$SYSLOG_IP")"
	done
	if wait_table "$T_SYSLOG" "$SYSLOG_IP" 10 && within_polls 2; then
		pass syslog-format "4 failures logged by syslogd (RFC 3164, host $JAIL_HOST): $SYSLOG_IP banned after ${WAITED} s"
	else
		fail syslog-format "$SYSLOG_IP not in table $T_SYSLOG within two polls of 4 syslogd lines (waited $WAITED s); see maillog"
	fi
	# ... and four identical ones, which syslogd writes as one line and, when the next
	# different message comes, "last message repeated 3 times".
	for _n in 1 2 3 4; do
		x jexec "$JAIL" logger -p mail.warning -t 'postfix/smtpd[5100]' "$(sasl "$REPEAT_IP")"
	done
	x jexec "$JAIL" logger -p mail.info -t 'postfix/smtpd[5100]' \
		"disconnect from unknown[$REPEAT_IP] ehlo=1 auth=0/4 quit=1 commands=1/5"
	if have grep -q 'last message repeated 3 times' "$R/var/log/maillog"; then _rep=1; else _rep=0; fi
	if wait_table "$T_SYSLOG" "$REPEAT_IP" 10 && within_polls 2; then
		pass syslog-repeat "1 line + 'last message repeated 3 times' counted as 4 failures: $REPEAT_IP banned after ${WAITED} s"
	elif [ "$_rep" = 0 ]; then
		fail syslog-repeat "syslogd did not write 'last message repeated 3 times' (see maillog); $REPEAT_IP not banned"
	else
		fail syslog-repeat "syslogd wrote 1 line + 'last message repeated 3 times' and $REPEAT_IP was not banned within 10 s: the repeat line is not counted (maxretry 4)"
	fi

	# The control socket.
	_st=$(xo jexec "$JAIL" "$JBIN" status -c "$JCFG")
	_bn=$(xo jexec "$JAIL" "$JBIN" banned -c "$JCFG")
	if x jexec "$JAIL" "$JBIN" unban "$SYSLOG_IP" -c "$JCFG" &&
		wait_table "$T_SYSLOG" "$SYSLOG_IP" 5 gone; then _un=1; else _un=0; fi
	case $_st in *selftest-rotate*) _s=1 ;; *) _s=0 ;; esac
	case $_bn in *"$HOST_IP"*) _b=1 ;; *) _b=0 ;; esac
	if [ "$_s" = 1 ] && [ "$_b" = 1 ] && [ "$_un" = 1 ]; then
		pass control "status lists the 3 jails, banned lists $HOST_IP, unban $SYSLOG_IP took it out of the table in ${WAITED} s"
	else
		fail control "status ok=$_s, banned lists $HOST_IP=$_b, unban $SYSLOG_IP left the table=$_un"
	fi

	# newsyslog rotates rotate.log (J: bzip2) while lines arrive through syslogd: every
	# line must be counted, in the old file or the new one.
	# shellcheck disable=SC2016
	xbg jexec "$JAIL" sh -c 'i=1; while [ "$i" -le "$1" ]; do logger -p local3.notice -t "postfix/smtpd[6000]" "warning: unknown[203.0.113.$i]: SASL LOGIN authentication failed: authentication failure"; i=$((i + 1)); done' sh "$ROTATE_N"
	_writer=$BG_PID
	pause 0.5
	x jexec "$JAIL" newsyslog -F -f /selftest/newsyslog.conf
	_nsl=$?
	[ -n "$_writer" ] && wait "$_writer"
	wait_count "$T_ROTATE" "$ROTATE_N" 20
	_c=$COUNT
	if have test -f "$R/var/log/rotate.log.0.bz2"; then _z=1; else _z=0; fi
	_lines=$( [ "$DRY" = 1 ] || { bzcat "$R/var/log/rotate.log.0.bz2"; cat "$R/var/log/rotate.log"; } 2>/dev/null | grep -c 'SASL LOGIN')
	if [ "$_nsl" = 0 ] && [ "$_z" = 1 ] && [ "${_c:-0}" -eq "$ROTATE_N" ]; then
		pass rotate "newsyslog -F (J) rotated rotate.log to rotate.log.0.bz2 during $ROTATE_N logger lines: $_c/$ROTATE_N addresses banned (the two files hold $_lines lines)"
	else
		fail rotate "newsyslog exit $_nsl, rotate.log.0.bz2 present=$_z, $_c/$ROTATE_N addresses banned, the two files hold $_lines lines"
	fi

	# reload: through the control socket, same process.
	_p1=$(child_pid)
	if x jexec -l "$JAIL" service banwatch reload; then _rl=0; else _rl=$?; fi
	_p2=$(child_pid)
	if [ "$_rl" = 0 ] && [ "$_p1" = "$_p2" ] && x jexec "$JAIL" "$JBIN" status -c "$JCFG"; then
		pass reload "service banwatch reload exit 0, same pid $_p2, status answers"
	else
		fail reload "exit $_rl, pid before '$_p1' after '$_p2'"
	fi

	# stop: daemon(8) and banwatch gone, their pidfiles removed, the bans left in the table.
	if x jexec -l "$JAIL" service banwatch stop; then _sp=0; else _sp=$?; fi
	if have test -e "$R/var/run/banwatch.pid"; then _pf=1; else _pf=0; fi
	if have test -e "$R/var/run/banwatch_daemon.pid"; then _dpf=1; else _dpf=0; fi
	if have pgrep -j "$JAIL" -f "$JBIN"; then _pr=1; else _pr=0; fi
	_kept=$(table_count "$T_FILE")
	if [ "$_sp" = 0 ] && [ "$_pf" = 0 ] && [ "$_dpf" = 0 ] && [ "$_pr" = 0 ]; then
		pass stop "service banwatch stop exit 0; banwatch and daemon(8) gone, both pidfiles removed; $_kept ban(s) left in $T_FILE"
	else
		fail stop "exit $_sp; banwatch.pid left=$_pf, banwatch_daemon.pid left=$_dpf, process left=$_pr"
	fi

	# start again after the tables were emptied (as after a reboot): bans come back.
	for _t in "$T_FILE" "$T_SYSLOG" "$T_ROTATE"; do
		x jexec "$JAIL" ipfw -q table "$_t" flush
	done
	if x jexec -l "$JAIL" service banwatch start && wait_table "$T_FILE" "$HOST_IP" 15; then
		wait_count "$T_ROTATE" "$ROTATE_N" 10
		_back=$COUNT
		if [ "$DRY" = 1 ] || [ "${_back:-0}" -eq "$ROTATE_N" ]; then
			pass restart "service banwatch start restored the bans into the emptied tables in ${WAITED} s ($HOST_IP, $_back/$ROTATE_N in $T_ROTATE)"
		else
			fail restart "after start, $T_ROTATE holds $_back of $ROTATE_N bans"
		fi
	else
		fail restart "service banwatch start, or $HOST_IP back in $T_FILE within 15 s, failed: $(last_words)"
		BW_OK=0
	fi
else
	for _c in ban-file rule connect syslog-format syslog-repeat control rotate reload stop restart; do
		fail "$_c" "not run: banwatch did not start in the jail"
	done
fi

# ---------------------------------------------------------------- 4. figures

step "4. idle daemon and catch-up"
# cpu_seconds "M:SS.hh" or "H:MM:SS.hh" -> seconds
cpu_seconds() {
	echo "$1" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}
if [ "$BW_OK" = 1 ]; then
	pause 5
	_pid=$(child_pid)
	_a=$(xo ps -o rss=,time= -p "${_pid:-PID}")
	pause 30
	_b=$(xo ps -o rss=,time= -p "${_pid:-PID}")
	if [ "$DRY" = 1 ]; then
		pass idle
	elif [ -n "$_a" ] && [ -n "$_b" ]; then
		# shellcheck disable=SC2086 # split "RSS TIME"
		set -- $_b
		_rss=$1
		_t1=$(cpu_seconds "$2")
		# shellcheck disable=SC2086
		set -- $_a
		_t0=$(cpu_seconds "$2")
		_fig=$(awk -v r="$_rss" -v a="$_t0" -v b="$_t1" \
			'BEGIN { printf "RSS %.1f MB, CPU %.2f %% of a core over 30 s idle (3 jails, 3 files)", r / 1024, (b - a) / 30 * 100 }')
		if awk -v r="$_rss" -v a="$_t0" -v b="$_t1" 'BEGIN { exit !(r <= 131072 && (b - a) / 30 <= 0.01) }'; then
			pass idle "$_fig"
		else
			fail idle "$_fig: above 128 MB or 1 %"
		fi
	else
		fail idle "ps -p $_pid printed nothing"
	fi
else
	fail idle "not run: banwatch is not running in the jail"
fi

if [ -z "$BIN" ]; then
	fail catchup "not run: no binary"
elif [ "$DRY" != 1 ] && ! command -v deno >/dev/null 2>&1; then
	fail catchup "not run: generating the log needs deno (pkg install deno)"
else
	x mkdir -p "$T/catchup"
	xw "$T/catchup/jails.toml" printf '%s\n' \
		'[global]' \
		"state_dir = \"$T/catchup/state\"" \
		"socket = \"$T/catchup/banwatch.sock\"" \
		'[jail.postfix]' \
		'enabled = true' \
		'filter = "postfix-sasl"' \
		"logpath = \"$T/catchup/maillog\"" \
		'maxretry = 5' \
		'backend = "dry-run"' \
		'table = "bw-postfix"'
	if x deno run --allow-read --allow-write "$SRC/scripts/gen_maillog.ts" \
		--lines "$CATCHUP_LINES" -o "$T/catchup/maillog" &&
		xw "$T/catchup.txt" /usr/bin/time -p -o "$T/catchup/time" \
			"$BIN" run -c "$T/catchup/jails.toml" --replay --dry-run; then
		_s=$( [ "$DRY" = 1 ] || awk '$1 == "real" { print $2 }' "$T/catchup/time")
		_bans=$( [ "$DRY" = 1 ] || cat "$T/catchup.txt")
		_f2b=
		if have command -v fail2ban-regex; then
			if x /usr/bin/time -p -o "$T/catchup/f2b.time" fail2ban-regex "$T/catchup/maillog" \
				'warning: unknown\[<HOST>\]: SASL LOGIN authentication failed'; then
				_f2b="; fail2ban-regex $(awk '$1 == "real" { print $2 }' "$T/catchup/f2b.time") s on the same file"
			fi
		else
			_f2b="; fail2ban-regex not installed"
		fi
		pass catchup "$CATCHUP_LINES-line maillog replayed in ${_s:-?} s ($_bans)$_f2b"
	else
		fail catchup "generating or replaying the log failed: $(last_words)"
	fi
fi

# ---------------------------------------------------------------- summary

if [ "$DRY" = 1 ]; then
	printf 'selftest: dry run, nothing was run (the cleanup follows)\n' >&3
	exit 0
fi
say "selftest: $PASSED passed, $FAILED failed"
if [ "$FAILED" = 0 ]; then exit 0; else exit 1; fi
