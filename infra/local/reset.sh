#!/usr/bin/env bash
# Reset the running stack's contents so a demo can run again: recreate the Kinesis stream,
# purge the queue and DLQ, empty the log bucket, delete the KCL lease table, and delete the
# OpenSearch indices and data streams matching $SIEM_INDEX_PATTERN (default log-*).
# Keeps: the geo bucket, index templates, and the running processes.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
LOG_TAG=reset
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=config.sh
source "$here/config.sh"
# shellcheck source=services.sh
source "$here/services.sh"

(($# == 0)) || die "usage: reset.sh"
timer_start total
siem_lock
for svc in "${SIEM_SERVICES[@]}"; do
  svc_healthy "$svc" || die "$svc is not up on port $(svc_port "$svc"); run: go tool task up"
done

timer_start aws
siem_export_settings
siem_aws_env
ensure_moto
"$SIEM_PY" "$here/resources.py" reset >/dev/null || die "resetting the AWS resources failed"
timer_end aws "stream recreated, queues purged, $SIEM_LOG_BUCKET emptied, table $SIEM_LEASE_TABLE deleted"

timer_start opensearch
indices=$(curl -fsS "$OPENSEARCH_URL/_cat/indices/$SIEM_INDEX_PATTERN?h=index&expand_wildcards=open,closed" | sort | tr '\n' ' ')
# Data streams first (their backing indices are .ds-*), then plain indices; both accept wildcards.
code=$(http_code "$OPENSEARCH_URL/_data_stream/$SIEM_INDEX_PATTERN" -X DELETE)
[[ "$code" =~ ^(200|404)$ ]] || die "DELETE _data_stream/$SIEM_INDEX_PATTERN answered HTTP $code"
code=$(http_code "$OPENSEARCH_URL/$SIEM_INDEX_PATTERN?expand_wildcards=open,closed" -X DELETE)
[[ "$code" =~ ^(200|404)$ ]] || die "DELETE $SIEM_INDEX_PATTERN answered HTTP $code"
timer_end opensearch "deleted ${indices:-no indices}"
timer_end total "reset done"
