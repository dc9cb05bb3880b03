#!/usr/bin/env bash
# A second moto_server that enforces IAM, for the cross-account tests (issue 13): S3, STS and IAM
# on $SIEM_MOTO_IAM_PORT (4575), separate from the shared moto on :4566 (never touched here).
# moto lets the first INITIAL_NO_AUTH_ACTION_COUNT actions through unauthenticated and enforces
# IAM policies (signature, identity policies, sts:AssumeRole permission) after them. The server
# starts with a large count so a test can create users, roles and buckets; `enforce [N]` then
# resets the counter through moto's /moto-api/reset-auth so enforcement starts after N more
# actions (default 0: now). State is in memory; pid and log in $SIEM_MOTO_IAM_DIR.
#   moto-iam.sh start|stop|status|enforce [N]|endpoint
set -euo pipefail
port=${SIEM_MOTO_IAM_PORT:-4575}
host=127.0.0.1
dir=${SIEM_MOTO_IAM_DIR:-${TMPDIR:-/tmp}/siemstream-moto-iam-$port}
pidfile=$dir/moto-iam.pid
log=$dir/moto-iam.log
endpoint=http://$host:$port
py=${SIEM_PYTHON:-python3}

pid() {
  local p=
  [[ -r "$pidfile" ]] && read -r p <"$pidfile" || true
  [[ "$p" =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null && printf '%s\n' "$p"
  return 0
}
ready() { [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$endpoint/moto-api/" 2>/dev/null)" == 200 ]]; }

case ${1:-} in
start)
  if [[ -n "$(pid)" ]] && ready; then
    echo "moto-iam: already running on $endpoint (pid $(pid))"
    exit 0
  fi
  if ready; then
    echo "moto-iam: port $port is served by another process; set SIEM_MOTO_IAM_PORT" >&2
    exit 1
  fi
  "$py" -c 'import moto.server' 2>/dev/null || {
    echo "moto-iam: $py cannot import moto.server (install the local stack first: go tool task up)" >&2
    exit 1
  }
  mkdir -p "$dir"
  printf '\n==== %s start on %s\n' "$(date -u +%FT%TZ)" "$endpoint" >>"$log"
  # setsid: its own process group, so stop ends moto and nothing else.
  INITIAL_NO_AUTH_ACTION_COUNT=${SIEM_MOTO_IAM_NO_AUTH_COUNT:-1000000000} \
    setsid "$py" -m moto.server -H "$host" -p "$port" </dev/null >>"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 300); do
    ready && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 "$log" >&2; exit 1; }
    sleep 0.1
  done
  ready || { echo "moto-iam: not ready after 30s; see $log" >&2; exit 1; }
  echo "moto-iam: running on $endpoint (pid $(pid)); IAM enforced after ${SIEM_MOTO_IAM_NO_AUTH_COUNT:-1000000000} actions or 'enforce'"
  ;;
enforce)
  n=${2:-0}
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "enforce: N must be a number" >&2; exit 2; }
  curl -sf -X POST -H 'Content-Type: text/plain' --data "$n" "$endpoint/moto-api/reset-auth" >/dev/null
  echo "moto-iam: IAM enforced after $n more actions"
  ;;
stop)
  p=$(pid)
  if [[ -z "$p" ]]; then
    rm -f "$pidfile"
    echo "moto-iam: was not running"
    exit 0
  fi
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p"
  for _ in $(seq 1 100); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$p" 2>/dev/null && kill -KILL -- "-$p" 2>/dev/null || true
  rm -f "$pidfile"
  echo "moto-iam: stopped (pid $p)"
  ;;
status)
  if [[ -n "$(pid)" ]] && ready; then echo "moto-iam: up on $endpoint (pid $(pid))"; else
    echo "moto-iam: down"
    exit 1
  fi
  ;;
endpoint) echo "$endpoint" ;;
*)
  echo "usage: $0 start|stop|status|enforce [N]|endpoint" >&2
  exit 2
  ;;
esac
