# shellcheck shell=bash disable=SC2034 # settings are used by the scripts that source this
# Settings of the local stack: every value can be overridden from the environment.
# Sourced by the scripts in infra/local/ (after lib.sh). Paths are derived from this file's
# location, so a clone works from anywhere.

# Directories we create must be traversable by the OpenSearch user, whatever the caller's umask.
umask 022

SIEM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
SIEM_LOCAL_SCRIPTS="$SIEM_ROOT/infra/local"

# Where installs, data, logs and PIDs live (git-ignored).
SIEM_LOCAL_DIR=${SIEM_LOCAL_DIR:-$SIEM_ROOT/.local}
mkdir -p "$SIEM_LOCAL_DIR"
SIEM_LOCAL_DIR=$(cd "$SIEM_LOCAL_DIR" && pwd -P)
SIEM_DOWNLOADS_DIR="$SIEM_LOCAL_DIR/downloads"
SIEM_DATA_DIR="$SIEM_LOCAL_DIR/data"
SIEM_LOGS_DIR="$SIEM_LOCAL_DIR/logs"
SIEM_PIDS_DIR="$SIEM_LOCAL_DIR/pids"
SIEM_NODE_DIR="$SIEM_LOCAL_DIR/node"
SIEM_ENV_FILE="$SIEM_LOCAL_DIR/env"
SIEM_LOCK_FILE="$SIEM_LOCAL_DIR/.lock"

# Pinned versions.
SIEM_MOTO_VERSION=${SIEM_MOTO_VERSION:-5.2.1}
SIEM_OS_VERSION=${SIEM_OS_VERSION:-2.19.6}
# OpenSearch profiles (profiles.sh; `up.sh --opensearch security|3`). 2.19.4 is the newest 2.x
# with an opensearch-security plugin zip on Maven Central; 3.3.2 the newest 3.x integ-test-zip.
SIEM_OS_SEC_VERSION=${SIEM_OS_SEC_VERSION:-2.19.4}
SIEM_OS_SEC_PLUGIN_VERSION=${SIEM_OS_SEC_PLUGIN_VERSION:-2.19.4.0}
SIEM_OS3_VERSION=${SIEM_OS3_VERSION:-3.3.2}
SIEM_OS3_JAVA_HOME=${SIEM_OS3_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
SIEM_MVN_DEP_PLUGIN=${SIEM_MVN_DEP_PLUGIN:-org.apache.maven.plugins:maven-dependency-plugin:3.6.1}
# kinesalite 3.3.3 and kinesis-local 0.6.2 are pinned in infra/local/node/package(-lock).json.

# Ports (everything listens on 127.0.0.1 only).
SIEM_HOST=127.0.0.1
SIEM_MOTO_PORT=${SIEM_MOTO_PORT:-4566}
SIEM_KINESIS_PORT=${SIEM_KINESIS_PORT:-4567}
SIEM_KINESIS_MOCK_PORT=${SIEM_KINESIS_MOCK_PORT:-4569}
SIEM_KINESIS_MOCK_TLS_PORT=${SIEM_KINESIS_MOCK_TLS_PORT:-4570}
SIEM_OS_PORT=${SIEM_OS_PORT:-9200}
SIEM_OS_TRANSPORT_PORT=${SIEM_OS_TRANSPORT_PORT:-9300}
SIEM_OS_SEC_PORT=${SIEM_OS_SEC_PORT:-9201}
SIEM_OS_SEC_TRANSPORT_PORT=${SIEM_OS_SEC_TRANSPORT_PORT:-9301}
SIEM_OS3_PORT=${SIEM_OS3_PORT:-9202}
SIEM_OS3_TRANSPORT_PORT=${SIEM_OS3_TRANSPORT_PORT:-9302}

# OpenSearch runtime.
SIEM_OS_HEAP=${SIEM_OS_HEAP:-512m}
SIEM_OS_USER=${SIEM_OS_USER:-ossvc}
SIEM_OS_CLUSTER=${SIEM_OS_CLUSTER:-siemstream-local}
# Used only when $SIEM_OS_USER cannot traverse to $SIEM_LOCAL_DIR (clone under e.g. /root).
SIEM_OS_FALLBACK_BASE=${SIEM_OS_FALLBACK_BASE:-/var/lib/siemstream-os}

# Readiness timeouts (seconds).
SIEM_MOTO_TIMEOUT=${SIEM_MOTO_TIMEOUT:-30}
SIEM_KINESIS_TIMEOUT=${SIEM_KINESIS_TIMEOUT:-30}
SIEM_OS_TIMEOUT=${SIEM_OS_TIMEOUT:-180}
SIEM_STOP_TIMEOUT=${SIEM_STOP_TIMEOUT:-30}

# AWS resources and client settings.
AWS_REGION=${AWS_REGION:-us-east-1}
SIEM_LOG_BUCKET=${SIEM_LOG_BUCKET:-siem-logs}
SIEM_GEO_BUCKET=${SIEM_GEO_BUCKET:-siem-geo}
SIEM_QUEUE_NAME=${SIEM_QUEUE_NAME:-siem-s3-events}
SIEM_DLQ_NAME=${SIEM_DLQ_NAME:-${SIEM_QUEUE_NAME}-dlq}
SIEM_QUEUE_VISIBILITY=${SIEM_QUEUE_VISIBILITY:-60}
SIEM_QUEUE_MAX_RECEIVE=${SIEM_QUEUE_MAX_RECEIVE:-5}
SIEM_STREAM=${SIEM_STREAM:-siem-stream}
SIEM_STREAM_SHARDS=${SIEM_STREAM_SHARDS:-4}
SIEM_APP_NAME=${SIEM_APP_NAME:-siemstream}
SIEM_LEASE_TABLE=${SIEM_LEASE_TABLE:-$SIEM_APP_NAME}
SIEM_INDEX_PATTERN=${SIEM_INDEX_PATTERN:-log-*}

SIEM_AWS_ENDPOINT="http://$SIEM_HOST:$SIEM_MOTO_PORT"
SIEM_KINESIS_ENDPOINT="http://$SIEM_HOST:$SIEM_KINESIS_PORT"
SIEM_KINESIS_MOCK_ENDPOINT="http://$SIEM_HOST:$SIEM_KINESIS_MOCK_PORT"
OPENSEARCH_URL="http://$SIEM_HOST:$SIEM_OS_PORT"

# siem_aws_env: export the fake credentials/region for the emulators in the current shell.
siem_aws_env() {
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION AWS_DEFAULT_REGION="$AWS_REGION"
  export AWS_CONFIG_FILE="$SIEM_LOCAL_DIR/aws/config"
  export AWS_SHARED_CREDENTIALS_FILE="$SIEM_LOCAL_DIR/aws/credentials"
  unset AWS_PROFILE AWS_SESSION_TOKEN
  mkdir -p "$SIEM_LOCAL_DIR/aws"
  # awscli v1 would otherwise try to fetch any parameter value that starts with http://.
  [[ -s "$AWS_CONFIG_FILE" ]] || printf '%s\n' '[default]' "region = $AWS_REGION" \
    'cli_follow_urlparam = false' 's3 =' '    addressing_style = path' >"$AWS_CONFIG_FILE"
  [[ -e "$AWS_SHARED_CREDENTIALS_FILE" ]] || : >"$AWS_SHARED_CREDENTIALS_FILE"
}

# siem_python: the Python that has moto/boto3 (the one behind moto_server if we can tell).
siem_python() {
  local py
  for py in "${SIEM_PYTHON:-}" python3 python; do
    [[ -n "$py" ]] && command -v "$py" >/dev/null 2>&1 && {
      printf '%s\n' "$py"
      return 0
    }
  done
  return 1
}

# Java for OpenSearch 2.x: explicit override, then Java 17 (OpenSearch 2.19 needs the security
# manager, gone in Java 24+), then JAVA_HOME / java on PATH if its major version is 11..23.
siem_os_java_home() {
  local cand major
  if [[ -n "${SIEM_OS_JAVA_HOME:-}" ]]; then
    printf '%s\n' "$SIEM_OS_JAVA_HOME"
    return 0
  fi
  for cand in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64 \
    "${JAVA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    [[ -n "$cand" && -x "$cand/bin/java" ]] || continue
    major=$("$cand/bin/java" -XshowSettings:properties -version 2>&1 |
      sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')
    if [[ "$major" =~ ^[0-9]+$ ]] && ((major >= 11 && major <= 23)); then
      printf '%s\n' "$cand"
      return 0
    fi
  done
  return 1
}

# siem_export_settings: export the settings the helper programs (resources.py, smoke) read.
siem_export_settings() {
  export SIEM_ROOT SIEM_LOCAL_DIR SIEM_PIDS_DIR SIEM_LOGS_DIR SIEM_ENV_FILE
  export SIEM_AWS_ENDPOINT SIEM_KINESIS_ENDPOINT SIEM_KINESIS_MOCK_ENDPOINT OPENSEARCH_URL
  export SIEM_LOG_BUCKET SIEM_GEO_BUCKET SIEM_QUEUE_NAME SIEM_DLQ_NAME SIEM_QUEUE_VISIBILITY
  export SIEM_QUEUE_MAX_RECEIVE SIEM_STREAM SIEM_STREAM_SHARDS SIEM_APP_NAME SIEM_LEASE_TABLE
  export SIEM_INDEX_PATTERN AWS_REGION
}

# siem_lock: serialise up/down/reset/kinesis-mock (tests may call `task up` concurrently).
siem_lock() {
  exec 9>"$SIEM_LOCK_FILE"
  if ! flock -n 9; then
    log_info "waiting for another local-stack command to finish (lock $SIEM_LOCK_FILE)"
    flock -w "${SIEM_LOCK_TIMEOUT:-900}" 9 || die "lock $SIEM_LOCK_FILE still held after ${SIEM_LOCK_TIMEOUT:-900}s"
  fi
}
