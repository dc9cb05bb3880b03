#!/usr/bin/env bash
# kinesis-mock (npm kinesis-local 0.6.2): Kinesis with ChildShards, UpdateShardCount and
# stream consumers, for resharding tests. Not started by up. Plain HTTP on
# $SIEM_KINESIS_MOCK_PORT (4569), TLS on $SIEM_KINESIS_MOCK_TLS_PORT (4570); in-memory.
#   kinesis-mock.sh start|stop|status
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
LOG_TAG=kinesis-mock
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=config.sh
source "$here/config.sh"
# shellcheck source=services.sh
source "$here/services.sh"

case ${1:-} in
start)
  timer_start kinesis-mock
  mkdir -p "$SIEM_LOGS_DIR" "$SIEM_PIDS_DIR"
  siem_lock
  SIEM_INSTALL_NOTE=
  ensure_node_packages
  svc_start kinesis-mock
  svc_wait kinesis-mock "${SIEM_KINESIS_MOCK_TIMEOUT:-60}" || die "kinesis-mock did not become ready"
  timer_end kinesis-mock "${SVC_STATE[kinesis-mock]} $SIEM_KINESIS_MOCK_ENDPOINT"
  ;;
stop)
  timer_start kinesis-mock
  mkdir -p "$SIEM_PIDS_DIR"
  siem_lock
  pid=$(svc_pid kinesis-mock) || pid=
  if [[ -n "$pid" ]]; then
    stop_pgroup kinesis-mock "$(svc_pidfile kinesis-mock)" "$SIEM_STOP_TIMEOUT"
    wait_port_free "$SIEM_KINESIS_MOCK_PORT" "$SIEM_STOP_TIMEOUT" || die "port $SIEM_KINESIS_MOCK_PORT still in use"
    timer_end kinesis-mock "stopped (pgid $pid)"
  else
    rm -f "$(svc_pidfile kinesis-mock)"
    timer_end kinesis-mock "was not running"
  fi
  ;;
status)
  if pid=$(svc_pid kinesis-mock) && svc_healthy kinesis-mock; then
    echo "kinesis-mock up (pid $pid) $SIEM_KINESIS_MOCK_ENDPOINT"
  else
    echo "kinesis-mock down"
    exit 1
  fi
  ;;
*) die "usage: kinesis-mock.sh start|stop|status" ;;
esac
