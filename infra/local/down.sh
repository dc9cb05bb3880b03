#!/usr/bin/env bash
# Stop what up.sh (and kinesis-mock.sh) started, by process group, and wait until the ports are
# free. Installs stay cached. --purge also deletes the data (.local/data and OpenSearch's data),
# never the downloads.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
LOG_TAG=down
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=config.sh
source "$here/config.sh"
# shellcheck source=services.sh
source "$here/services.sh"

purge=0
profiles=()
usage="usage: down.sh [--purge] [--opensearch security|3]..."
while (($#)); do
  case $1 in
  --purge) purge=1 ;;
  --opensearch)
    (($# >= 2)) || die "$usage"
    profiles+=("$2")
    shift
    ;;
  --opensearch=*) profiles+=("${1#--opensearch=}") ;;
  *) die "$usage" ;;
  esac
  shift
done
for p in "${profiles[@]}"; do profile_svc "$p" >/dev/null; done

timer_start total
mkdir -p "$SIEM_PIDS_DIR"
siem_lock

# down --opensearch PROFILE: stop only those profiles (and --purge only their data); the default
# stack keeps running and .local/env keeps its core block.
if ((${#profiles[@]})); then
  for p in "${profiles[@]}"; do
    svc=$(profile_svc "$p")
    timer_start "$svc"
    stop_profile "$p"
    if ((purge)); then
      prof_paths "$p"
      rm -rf "$P_DATA" "$P_TMP"
    fi
    timer_end "$svc" "stopped$( ((purge)) && echo ', data removed')"
  done
  write_profile_env
  timer_end total "profiles down: ${profiles[*]}"
  exit 0
fi

for svc in opensearch-security opensearch-3 kinesis-mock opensearch kinesalite moto; do
  timer_start "$svc"
  pidfile=$(svc_pidfile "$svc")
  pid=$(pid_read "$pidfile")
  if [[ -z "$pid" ]]; then
    rm -f "$pidfile"
    continue
  fi
  if pid_alive "$pid" && ! svc_pid "$svc" >/dev/null; then
    log_warn "$svc: PID $pid from $pidfile is not ours any more (stale file); not killing it"
    rm -f "$pidfile"
    continue
  fi
  if ! pid_alive "$pid" && ! pgroup_alive "$pid"; then
    rm -f "$pidfile"
    timer_end "$svc" "was not running (stale PID file removed)"
    continue
  fi
  stop_pgroup "$svc" "$pidfile" "$SIEM_STOP_TIMEOUT"
  port=$(svc_port "$svc")
  wait_port_free "$port" "$SIEM_STOP_TIMEOUT" || die "$svc: port $port still in use after stopping pgid $pid"
  timer_end "$svc" "stopped (pgid $pid), port $port free"
done

rm -f "$SIEM_ENV_FILE"

if ((purge)); then
  timer_start purge
  rm -rf "$SIEM_DATA_DIR"
  if [[ -s "$SIEM_LOCAL_DIR/opensearch-base" ]]; then
    base=$(<"$SIEM_LOCAL_DIR/opensearch-base")
    [[ "$base" == "$SIEM_OS_FALLBACK_BASE"/* ]] && rm -rf "$base/data" "$base/tmp" \
      "$base"/data-opensearch-* "$base"/tmp-opensearch-*
  fi
  timer_end purge "removed data (downloads and installs kept)"
fi
timer_end total "stack down"
