#!/usr/bin/env bash
# A private CrowdSec Local API (LAPI) for tests and demos: Debian's `crowdsec` package, started
# API-only (`crowdsec -no-cs -no-capi`) on its own port with its own config and SQLite database
# in DIR, so the package's own state (/etc/crowdsec, /var/lib/crowdsec) is never touched.
#
#   lapi.sh install                    install the package offline if missing (root, apt)
#   lapi.sh start DIR PORT             write DIR/config.yaml, start LAPI, wait for /health
#   lapi.sh stop DIR                   stop the LAPI started in DIR (its pid file only)
#   lapi.sh machine DIR NAME PASSWORD  add a validated machine (a writer)
#   lapi.sh bouncer DIR NAME KEY       add a bouncer with that API key (a reader)
#   lapi.sh cscli DIR ARGS...          run cscli against DIR's LAPI
#
# Exit 3 from `install` means crowdsec cannot be installed here (tests skip on it).
set -euo pipefail

die() { printf 'lapi.sh: %s\n' "$*" >&2; exit "${2:-1}"; }

install_pkg() {
  command -v crowdsec >/dev/null && command -v cscli >/dev/null && return 0
  [[ "$(id -u)" == 0 ]] || die "crowdsec is not installed and this is not root" 3
  command -v apt-get >/dev/null || die "crowdsec is not installed and there is no apt-get" 3
  # Without this file the package's install script registers with CrowdSec's central API
  # (online) and dpkg fails; with it, the install stays offline (README.Debian).
  mkdir -p /etc/crowdsec
  [[ -e /etc/crowdsec/online_api_credentials.yaml ]] ||
    echo '# offline' >/etc/crowdsec/online_api_credentials.yaml
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
  if ! "${apt[@]}" install crowdsec >/tmp/banwatch-crowdsec-apt.log 2>&1; then
    apt-get -o DPkg::Lock::Timeout=300 update -qq >>/tmp/banwatch-crowdsec-apt.log 2>&1 || true
    "${apt[@]}" install crowdsec >>/tmp/banwatch-crowdsec-apt.log 2>&1 ||
      die "apt-get install crowdsec failed (see /tmp/banwatch-crowdsec-apt.log)" 3
  fi
  command -v crowdsec >/dev/null || die "crowdsec missing after install" 3
}

need_dir() {
  [[ -n "${1:-}" ]] || die "missing DIR" 2
  [[ -f "$1/config.yaml" ]] || die "$1/config.yaml does not exist (run start first)" 2
}

start() {
  local dir="$1" port="$2"
  [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number" 2
  command -v crowdsec >/dev/null || die "crowdsec is not installed (run install)" 3
  mkdir -p "$dir/log"
  [[ -f "$dir/client.yaml" ]] || : >"$dir/client.yaml"
  [[ -f "$dir/online.yaml" ]] || echo '# offline' >"$dir/online.yaml"
  sed -e "s#^\(  *\)daemonize: .*#\1daemonize: false#" \
    -e "s#^\(  *\)log_dir: .*#\1log_dir: $dir/log/#" \
    -e "s#^\(  *\)db_path: .*#\1db_path: $dir/lapi.db#" \
    -e "s#^\(  *\)listen_uri: .*#\1listen_uri: 127.0.0.1:$port#" \
    -e "s#^\(    \)credentials_path: /etc/crowdsec/local_api_credentials.yaml#\1credentials_path: $dir/client.yaml#" \
    -e "s#^\(      \)credentials_path: .*#\1credentials_path: $dir/online.yaml#" \
    -e "s#^\(  *\)enabled: true#\1enabled: false#" \
    -e "s#^\(  *\)type: sqlite#\1type: sqlite\n\1use_wal: true#" \
    /etc/crowdsec/config.yaml >"$dir/config.yaml"
  grep -q "listen_uri: 127.0.0.1:$port" "$dir/config.yaml" || die "could not rewrite the config"
  crowdsec -no-cs -no-capi -c "$dir/config.yaml" >"$dir/log/stdout.log" 2>&1 &
  echo $! >"$dir/lapi.pid"
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
      # cscli decisions add logs in as the machine of api.client.credentials_path.
      if [[ ! -s "$dir/client.yaml" ]]; then
        cscli -c "$dir/config.yaml" --error machines add cscli-local --auto --force \
          -f "$dir/client.yaml" >/dev/null 2>&1 || die "cannot create cscli's machine"
        # cscli expects the URL of this LAPI.
        sed -i "s#^url: .*#url: http://127.0.0.1:$port/#" "$dir/client.yaml"
      fi
      return 0
    fi
    kill -0 "$(cat "$dir/lapi.pid")" 2>/dev/null || die "crowdsec exited: $(tail -n 5 "$dir/log/stdout.log" "$dir"/log/*.log 2>/dev/null)"
    sleep 0.1
  done
  die "LAPI did not answer /health on port $port within 10 s"
}

stop() {
  local dir="$1" pid
  [[ -f "$dir/lapi.pid" ]] || return 0
  pid="$(cat "$dir/lapi.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/lapi.pid"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  install) install_pkg ;;
  start) (($# == 2)) || die "usage: start DIR PORT" 2; start "$1" "$2" ;;
  stop) (($# == 1)) || die "usage: stop DIR" 2; stop "$1" ;;
  machine)
    (($# == 3)) || die "usage: machine DIR NAME PASSWORD" 2
    need_dir "$1"
    cscli -c "$1/config.yaml" --error machines add "$2" --password "$3" -f /dev/null --force >/dev/null
    ;;
  bouncer)
    (($# == 3)) || die "usage: bouncer DIR NAME KEY" 2
    need_dir "$1"
    cscli -c "$1/config.yaml" --error bouncers add "$2" -k "$3" >/dev/null
    ;;
  cscli) need_dir "${1:-}"; dir="$1"; shift; exec cscli -c "$dir/config.yaml" "$@" ;;
  *) die "usage: lapi.sh install|start|stop|machine|bouncer|cscli ..." 2 ;;
esac
