#!/usr/bin/env bash
# Install (first use, cached in .local/) and start the local stack: moto_server, kinesalite and
# OpenSearch; create the AWS resources; write .local/env. Idempotent: already running services
# are kept, existing resources are left as they are. Prints one timing line per step.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
LOG_TAG=up
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=config.sh
source "$here/config.sh"
# shellcheck source=services.sh
source "$here/services.sh"

usage="usage: up.sh [--opensearch security|3]... (other settings come from the environment)"
# --opensearch PROFILE also starts that extra OpenSearch node (profiles.sh) next to the default
# one; without it nothing but the default stack is started (and running profiles are kept).
profiles=()
while (($#)); do
  case $1 in
  --opensearch)
    (($# >= 2)) || die "$usage"
    profiles+=("$2")
    shift 2
    ;;
  --opensearch=*)
    profiles+=("${1#--opensearch=}")
    shift
    ;;
  *) die "$usage" ;;
  esac
done
for p in "${profiles[@]}"; do profile_svc "$p" >/dev/null; done

timer_start total
mkdir -p "$SIEM_DOWNLOADS_DIR" "$SIEM_DATA_DIR" "$SIEM_LOGS_DIR" "$SIEM_PIDS_DIR"
siem_lock

# --- installs (Node packages in the background while Maven downloads OpenSearch) ------------
timer_start install:node
(
  SIEM_INSTALL_NOTE=
  ensure_node_packages
  timer_end install:node "${SIEM_INSTALL_NOTE:-cached}"
) &
node_job=$!

timer_start install:moto
SIEM_INSTALL_NOTE=
ensure_moto
timer_end install:moto "${SIEM_INSTALL_NOTE:-present} ($SIEM_PY)"

timer_start install:opensearch
SIEM_INSTALL_NOTE=
os_resolve_paths
ensure_opensearch
timer_end install:opensearch "${SIEM_INSTALL_NOTE:-cached} ($SIEM_OS_HOME)"

wait "$node_job" || die "installing the Node packages failed (see $SIEM_INSTALL_LOG)"

# --- start (OpenSearch first: it is the slowest) and wait ------------------------------------
for svc in opensearch moto kinesalite; do
  svc_preflight "$svc"
done
for svc in opensearch moto kinesalite; do
  timer_start "$svc"
  svc_start "$svc"
done

svc_wait moto "$SIEM_MOTO_TIMEOUT" || die "moto did not become ready"
timer_end moto "${SVC_STATE[moto]} $SIEM_AWS_ENDPOINT"
svc_wait kinesalite "$SIEM_KINESIS_TIMEOUT" || die "kinesalite did not become ready"
timer_end kinesalite "${SVC_STATE[kinesalite]} $SIEM_KINESIS_ENDPOINT"

# --- AWS resources (while OpenSearch boots) ---------------------------------------------------
timer_start resources
siem_export_settings
siem_aws_env
resources_out=$("$SIEM_PY" "$here/resources.py" create) || die "creating the AWS resources failed"
declare -A res=()
while IFS='=' read -r k v; do
  [[ -n "$k" ]] && res[$k]=$v
done <<<"$resources_out"
timer_end resources "bucket $SIEM_LOG_BUCKET, queue $SIEM_QUEUE_NAME(+dlq), stream $SIEM_STREAM x$SIEM_STREAM_SHARDS"

svc_wait opensearch "$SIEM_OS_TIMEOUT" || die "OpenSearch did not become ready (its own logs: $SIEM_OS_LOG_DIR)"
timer_end opensearch "${SVC_STATE[opensearch]} $OPENSEARCH_URL"

# --- .local/env --------------------------------------------------------------------------------
kv() {
  [[ "$2" != *"'"* ]] || die "value of $1 contains a single quote: $2"
  printf "export %s='%s'\n" "$1" "$2"
}
{
  printf '# Written by infra/local/up.sh on %s. Source it: . .local/env\n' "$(date -u +%FT%TZ)"
  printf '# Shell and dotenv (go-task dotenv:) compatible.\n'
  kv AWS_ENDPOINT_URL "$SIEM_AWS_ENDPOINT"
  kv AWS_ENDPOINT_URL_KINESIS "$SIEM_KINESIS_ENDPOINT"
  kv AWS_REGION "$AWS_REGION"
  kv AWS_DEFAULT_REGION "$AWS_REGION"
  kv AWS_ACCESS_KEY_ID test
  kv AWS_SECRET_ACCESS_KEY test
  kv AWS_EC2_METADATA_DISABLED true
  kv AWS_CONFIG_FILE "$AWS_CONFIG_FILE"
  kv AWS_SHARED_CREDENTIALS_FILE "$AWS_SHARED_CREDENTIALS_FILE"
  kv SIEM_AWS_ENDPOINT "$SIEM_AWS_ENDPOINT"
  kv SIEM_KINESIS_ENDPOINT "$SIEM_KINESIS_ENDPOINT"
  kv SIEM_KINESIS_MOCK_ENDPOINT "$SIEM_KINESIS_MOCK_ENDPOINT"
  kv OPENSEARCH_URL "$OPENSEARCH_URL"
  kv SIEM_LOG_BUCKET "$SIEM_LOG_BUCKET"
  kv SIEM_GEO_BUCKET "$SIEM_GEO_BUCKET"
  kv SIEM_QUEUE_URL "${res[SIEM_QUEUE_URL]}"
  kv SIEM_QUEUE_ARN "${res[SIEM_QUEUE_ARN]}"
  kv SIEM_DLQ_URL "${res[SIEM_DLQ_URL]}"
  kv SIEM_DLQ_ARN "${res[SIEM_DLQ_ARN]}"
  kv SIEM_STREAM "$SIEM_STREAM"
  kv SIEM_STREAM_ARN "${res[SIEM_STREAM_ARN]}"
  kv SIEM_STREAM_SHARDS "$SIEM_STREAM_SHARDS"
  kv SIEM_APP_NAME "$SIEM_APP_NAME"
  kv SIEM_LEASE_TABLE "$SIEM_LEASE_TABLE"
  kv SIEM_LOCAL_DIR "$SIEM_LOCAL_DIR"
  kv SIEM_PIDS_DIR "$SIEM_PIDS_DIR"
  kv SIEM_LOGS_DIR "$SIEM_LOGS_DIR"
  kv SIEM_OS_HOME "$SIEM_OS_HOME"
  kv SIEM_OS_DATA_DIR "$SIEM_OS_DATA_DIR"
  # Profiles already running stay in the file without a moment where they are missing.
  profile_env_block
} >"$SIEM_ENV_FILE.tmp"
mv "$SIEM_ENV_FILE.tmp" "$SIEM_ENV_FILE"

# --- extra OpenSearch profiles (after the default stack: the default node is never touched) ----
for p in "${profiles[@]}"; do
  svc=$(profile_svc "$p")
  timer_start "install:$svc"
  SIEM_INSTALL_NOTE=
  ensure_profile "$p"
  timer_end "install:$svc" "${SIEM_INSTALL_NOTE:-cached} ($P_HOME)"
  svc_preflight "$svc"
  timer_start "$svc"
  svc_start "$svc"
  svc_wait "$svc" "$SIEM_OS_TIMEOUT" || die "$svc did not become ready (its own logs: $P_LOGDIR)"
  timer_end "$svc" "${SVC_STATE[$svc]} $(svc_url "$svc")"
done
write_profile_env

timer_end total "stack up; env in $SIEM_ENV_FILE"
