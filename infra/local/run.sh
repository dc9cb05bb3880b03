#!/usr/bin/env bash
# Runs producer and consumer against .local/env in the foreground; Ctrl-C
# (or SIGTERM) stops both cleanly: each finishes its in-flight work,
# checkpoints and releases its leases.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck disable=SC1091
. "$root/.local/env"
bin="$root/.local/bin/siemstream"
pids=()
stop() {
  trap - INT TERM
  echo "run: stopping producer and consumer" >&2
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  exit 0
}
trap stop INT TERM
"$bin" consumer "$@" &
pids+=($!)
"$bin" producer &
pids+=($!)
echo "run: consumer pid ${pids[0]}, producer pid ${pids[1]}; drop logs into s3://$SIEM_LOG_BUCKET (Ctrl-C to stop)" >&2
wait -n "${pids[@]}" || true
stop
