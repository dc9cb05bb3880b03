#!/usr/bin/env bash
# Show each local service: state, port, PID, URL.
#   up       started by this checkout and healthy
#   starting started by this checkout, not answering (yet)
#   foreign  port answers like the service, but this checkout did not start it
#   busy     port taken by some other program
#   down     nothing there
# --check: exit 1 unless moto, kinesalite and opensearch are all up (or foreign).
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
LOG_TAG=status
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=config.sh
source "$here/config.sh"
# shellcheck source=services.sh
source "$here/services.sh"

check=0
[[ "${1:-}" == --check ]] && check=1

bad=0
printf '%-19s %-9s %-6s %-8s %s\n' SERVICE STATE PORT PID URL
for svc in "${SIEM_ALL_SERVICES[@]}"; do
  port=$(svc_port "$svc")
  pid=$(svc_pid "$svc") || pid=
  if svc_healthy "$svc"; then
    state=up
    [[ -n "$pid" ]] || state=foreign
  elif [[ -n "$pid" ]]; then
    state=starting
  elif port_open "$port"; then
    state=busy
  else
    state=down
  fi
  printf '%-19s %-9s %-6s %-8s %s\n' "$svc" "$state" "$port" "${pid:--}" "$(svc_url "$svc")"
  # --check covers the core services only (kinesis-mock and the OpenSearch profiles are optional).
  if [[ " ${SIEM_SERVICES[*]} " == *" $svc "* && "$state" != up && "$state" != foreign ]]; then bad=1; fi
done
if [[ -f "$SIEM_ENV_FILE" ]]; then
  printf 'env: %s\n' "$SIEM_ENV_FILE"
else
  printf 'env: (none; run up)\n'
fi
if ((check && bad)); then exit 1; fi
exit 0
