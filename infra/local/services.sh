# shellcheck shell=bash disable=SC2034 # SIEM_* lists/state are used by the sourcing scripts
# Install / start / probe functions for each local service. Sourced after lib.sh and config.sh.
#
# Services: moto (S3, SQS, SNS, EventBridge, DynamoDB, SSM), kinesalite (Kinesis), opensearch,
# kinesis-mock (Kinesis with ChildShards/UpdateShardCount; not started by `up`).

SIEM_SERVICES=(moto kinesalite opensearch)
SIEM_ALL_SERVICES=(moto kinesalite opensearch kinesis-mock opensearch-security opensearch-3)
SIEM_INSTALL_LOG="$SIEM_LOGS_DIR/install.log"

svc_port() {
  case $1 in
  moto) echo "$SIEM_MOTO_PORT" ;;
  kinesalite) echo "$SIEM_KINESIS_PORT" ;;
  opensearch) echo "$SIEM_OS_PORT" ;;
  kinesis-mock) echo "$SIEM_KINESIS_MOCK_PORT" ;;
  opensearch-security) echo "$SIEM_OS_SEC_PORT" ;;
  opensearch-3) echo "$SIEM_OS3_PORT" ;;
  *) die "unknown service $1" ;;
  esac
}

svc_url() {
  case $1 in
  moto) echo "$SIEM_AWS_ENDPOINT" ;;
  kinesalite) echo "$SIEM_KINESIS_ENDPOINT" ;;
  opensearch) echo "$OPENSEARCH_URL" ;;
  kinesis-mock) echo "$SIEM_KINESIS_MOCK_ENDPOINT" ;;
  opensearch-security) echo "https://$SIEM_HOST:$SIEM_OS_SEC_PORT" ;;
  opensearch-3) echo "http://$SIEM_HOST:$SIEM_OS3_PORT" ;;
  esac
}

# A string that must appear in /proc/PID/cmdline of the session leader we started.
svc_pattern() {
  case $1 in
  moto) echo moto.server ;;
  kinesalite) echo kinesalite ;;
  opensearch) echo opensearch ;;
  kinesis-mock) echo kinesis-local ;;
  opensearch-security) echo "cluster.name=$SIEM_OS_CLUSTER-security" ;;
  opensearch-3) echo "cluster.name=$SIEM_OS_CLUSTER-3" ;;
  esac
}

svc_pidfile() { echo "$SIEM_PIDS_DIR/$1.pid"; }
svc_log() { echo "$SIEM_LOGS_DIR/$1.log"; }

# svc_pid NAME: prints the PID from the PID file if that process is alive and is ours.
svc_pid() {
  local pid cmdline
  pid=$(pid_read "$(svc_pidfile "$1")")
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" == *"$(svc_pattern "$1")"* ]] || return 1
  printf '%s\n' "$pid"
}

# svc_healthy NAME: the service answers on its port and is the expected kind of server.
svc_healthy() {
  case $1 in
  moto) [[ "$(http_code "$SIEM_AWS_ENDPOINT/moto-api/")" == 200 ]] ;;
  kinesalite) kinesis_healthy "$SIEM_KINESIS_ENDPOINT" ;;
  kinesis-mock) kinesis_healthy "$SIEM_KINESIS_MOCK_ENDPOINT" ;;
  opensearch) os_healthy ;;
  opensearch-security) prof_healthy security ;;
  opensearch-3) prof_healthy 3 ;;
  esac
}

kinesis_healthy() {
  curl -s --connect-timeout 1 --max-time 5 -X POST "$1/" \
    -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: Kinesis_20131202.ListStreams' \
    -H 'X-Amz-Date: 20200101T000000Z' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0' \
    -d '{}' 2>/dev/null | grep -q '"StreamNames"'
}

os_healthy() {
  curl -s --connect-timeout 1 --max-time 5 \
    "$OPENSEARCH_URL/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null |
    grep -Eq '"status":"(green|yellow)"'
}

# ---------------------------------------------------------------------------------------------
# Installs (each is a no-op when already installed)

# ensure_cmd CMD DEBIAN_PACKAGE: install the Debian package when CMD is missing (root only).
ensure_cmd() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "'$cmd' is missing; install the Debian package '$pkg'"
  fi
  log_info "installing Debian package $pkg (for $cmd)"
  mkdir -p "$SIEM_LOGS_DIR"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "$pkg" >>"$SIEM_INSTALL_LOG" 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$SIEM_INSTALL_LOG" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "$pkg" >>"$SIEM_INSTALL_LOG" 2>&1 || {
      tail_log "$SIEM_INSTALL_LOG"
      die "apt-get install $pkg failed"
    }
  fi
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' still missing after installing $pkg"
}

# ensure_moto: moto[server] importable by $SIEM_PY (set here: the real interpreter path, so the
# pyenv shim is skipped at start). One Python start when already installed.
ensure_moto() {
  local py info ver
  py=$(siem_python) || ensure_cmd python3 python3
  py=$(siem_python) || die "python3 not found"
  local probe='import sys, importlib.util as u, importlib.metadata as m
ok = all(u.find_spec(x) for x in ("moto", "boto3", "flask", "flask_cors"))
print(sys.executable, m.version("moto") if ok else "-")'
  info=$("$py" -c "$probe") || die "$py does not run"
  if [[ "${info##* }" == - ]]; then
    log_info "installing moto[server]==$SIEM_MOTO_VERSION with pip"
    "$py" -m pip install --quiet --disable-pip-version-check "moto[server]==$SIEM_MOTO_VERSION" \
      >>"$SIEM_INSTALL_LOG" 2>&1 || {
      tail_log "$SIEM_INSTALL_LOG"
      die "pip install moto[server]==$SIEM_MOTO_VERSION failed"
    }
    SIEM_INSTALL_NOTE+="moto "
    info=$("$py" -c "$probe")
  fi
  SIEM_PY=${info% *}
  ver=${info##* }
  [[ "$ver" == "$SIEM_MOTO_VERSION" ]] ||
    log_warn "moto $ver is installed (pinned: $SIEM_MOTO_VERSION); using it anyway"
}

# ensure_node_packages: kinesalite + kinesis-local from the committed lockfile into .local/node.
ensure_node_packages() {
  local src="$SIEM_LOCAL_SCRIPTS/node"
  if [[ -f "$SIEM_NODE_DIR/.installed" ]] && cmp -s "$src/package-lock.json" "$SIEM_NODE_DIR/.installed"; then
    return 0
  fi
  ensure_cmd node nodejs
  ensure_cmd npm npm
  rm -rf "$SIEM_NODE_DIR"
  mkdir -p "$SIEM_NODE_DIR"
  cp "$src/package.json" "$src/package-lock.json" "$SIEM_NODE_DIR/"
  (cd "$SIEM_NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) >>"$SIEM_INSTALL_LOG" 2>&1 || {
    tail_log "$SIEM_INSTALL_LOG"
    die "npm ci in $SIEM_NODE_DIR failed"
  }
  cp "$src/package-lock.json" "$SIEM_NODE_DIR/.installed"
  SIEM_INSTALL_NOTE+="node "
}

# as_os_user CMD...: run CMD as the OpenSearch user (or as ourselves when not root).
as_os_user() {
  local prefix=()
  os_user_prefix prefix
  "${prefix[@]}" "$@"
}

# os_user_prefix ARRAY_NAME: fills the named array with the command prefix that switches to the
# OpenSearch user (setpriv execs, so the PID stays the same; empty when not root).
os_user_prefix() {
  local -n _prefix=$1
  _prefix=()
  if [[ $EUID -eq 0 ]]; then
    _prefix=(setpriv "--reuid=$SIEM_OS_USER" "--regid=$SIEM_OS_USER" --init-groups --)
  fi
}

# os_resolve_paths: sets SIEM_OS_HOME / SIEM_OS_DATA_DIR / SIEM_OS_LOG_DIR / SIEM_OS_TMP_DIR.
# OpenSearch refuses to run as root, so as root it runs as $SIEM_OS_USER (created here). If that
# user cannot reach $SIEM_LOCAL_DIR (e.g. a clone under /root, mode 700), the install and data go
# to $SIEM_OS_FALLBACK_BASE/<hash of the .local path> instead; nothing else changes mode.
os_resolve_paths() {
  local base
  if [[ $EUID -eq 0 ]]; then
    if ! id -u "$SIEM_OS_USER" >/dev/null 2>&1; then
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$SIEM_OS_USER" || die "useradd $SIEM_OS_USER failed"
      log_info "created system user $SIEM_OS_USER (runs OpenSearch)"
    fi
    if ! as_os_user test -x "$SIEM_LOCAL_DIR" 2>/dev/null; then
      base="$SIEM_OS_FALLBACK_BASE/$(printf '%s' "$SIEM_LOCAL_DIR" | cksum | cut -d' ' -f1)"
      SIEM_OS_HOME="$base/opensearch-$SIEM_OS_VERSION"
      SIEM_OS_DATA_DIR="$base/data"
      SIEM_OS_LOG_DIR="$base/logs"
      SIEM_OS_TMP_DIR="$base/tmp"
      [[ -d "$SIEM_OS_FALLBACK_BASE" ]] || mkdir -p "$SIEM_OS_FALLBACK_BASE" # umask 022 (config.sh)
      [[ -d "$base" ]] || mkdir -m 755 "$base"
      printf '%s\n' "$base" >"$SIEM_LOCAL_DIR/opensearch-base"
      return 0
    fi
  fi
  rm -f "$SIEM_LOCAL_DIR/opensearch-base"
  SIEM_OS_HOME="$SIEM_LOCAL_DIR/opt/opensearch-$SIEM_OS_VERSION"
  SIEM_OS_DATA_DIR="$SIEM_DATA_DIR/opensearch"
  SIEM_OS_LOG_DIR="$SIEM_LOGS_DIR/opensearch"
  SIEM_OS_TMP_DIR="$SIEM_DATA_DIR/opensearch-tmp"
}

# ensure_opensearch: zip via Maven (cached in .local/downloads), unzipped to $SIEM_OS_HOME.
ensure_opensearch() {
  local zip="$SIEM_DOWNLOADS_DIR/opensearch-$SIEM_OS_VERSION.zip" tmp
  if [[ ! -s "$zip" ]]; then
    ensure_cmd mvn maven
    tmp=$(mktemp -d "$SIEM_DOWNLOADS_DIR.tmp.XXXXXX")
    # shellcheck disable=SC2086 # SIEM_MVN_OPTS is a list of extra arguments
    mvn -B -q ${SIEM_MVN_OPTS:-} "$SIEM_MVN_DEP_PLUGIN:copy" \
      "-Dartifact=org.opensearch.distribution.integ-test-zip:opensearch:$SIEM_OS_VERSION:zip" \
      "-DoutputDirectory=$tmp" >>"$SIEM_INSTALL_LOG" 2>&1 || {
      rm -rf "$tmp"
      tail_log "$SIEM_INSTALL_LOG"
      die "Maven download of OpenSearch $SIEM_OS_VERSION failed"
    }
    mkdir -p "$SIEM_DOWNLOADS_DIR"
    mv "$tmp/opensearch-$SIEM_OS_VERSION.zip" "$zip"
    rm -rf "$tmp"
    SIEM_INSTALL_NOTE+="opensearch-download "
  fi
  if [[ ! -f "$SIEM_OS_HOME/.installed" ]]; then
    ensure_cmd unzip unzip
    rm -rf "$SIEM_OS_HOME"
    mkdir -p "$(dirname "$SIEM_OS_HOME")"
    tmp=$(mktemp -d "$SIEM_OS_HOME.tmp.XXXXXX")
    unzip -q "$zip" -d "$tmp" || {
      rm -rf "$tmp" "$zip"
      die "unzip $zip failed (removed it; run up again to download it anew)"
    }
    mv "$tmp/opensearch-$SIEM_OS_VERSION" "$SIEM_OS_HOME"
    rm -rf "$tmp"
    touch "$SIEM_OS_HOME/.installed"
    SIEM_INSTALL_NOTE+="opensearch-unzip "
  fi
  mkdir -p "$SIEM_OS_DATA_DIR" "$SIEM_OS_LOG_DIR" "$SIEM_OS_TMP_DIR"
  if [[ $EUID -eq 0 ]]; then
    # Only chown when needed: a recursive chown of the install costs ~0.1 s, skip it when warm.
    local d
    for d in "$SIEM_OS_HOME" "$SIEM_OS_DATA_DIR" "$SIEM_OS_LOG_DIR" "$SIEM_OS_TMP_DIR"; do
      if [[ "$(stat -c %U "$d")" != "$SIEM_OS_USER" ]] ||
        [[ -n "$(find "$d" ! -user "$SIEM_OS_USER" -print -quit 2>/dev/null)" ]]; then
        chown -R "$SIEM_OS_USER:$SIEM_OS_USER" "$d"
      fi
    done
  fi
}

# ---------------------------------------------------------------------------------------------
# Starts (detached; readiness is checked separately by svc_wait)

start_moto() {
  start_detached "$(svc_log moto)" "$(svc_pidfile moto)" \
    "$SIEM_PY" -m moto.server -H "$SIEM_HOST" -p "$SIEM_MOTO_PORT"
}

start_kinesalite() {
  # kinesalite's CLI has no --host; listen on 127.0.0.1 through its module API instead.
  start_detached "$(svc_log kinesalite)" "$(svc_pidfile kinesalite)" \
    node -e '
      const [dir, host, port] = process.argv.slice(1);
      const server = require(dir)({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100000});
      server.listen(Number(port), host, () => console.log("kinesalite listening on %s:%s", host, port));
      for (const s of ["SIGTERM", "SIGINT"]) process.on(s, () => process.exit(0));
      // shardLimit: the per-account shard quota of AWS (100 in kinesalite) is an
      // account quota, not a behaviour under test; the test suite creates a
      // stream per test on one long-lived emulator, so it must not run out.
      // kinesalite throws from a request error handler when a client drops a
      // connection mid-request (a killed consumer, a cancelled call); without
      // this the whole emulator dies. Log it and keep serving.
      process.on("uncaughtException", (err) => console.error("kinesalite: ignored client error:", err && err.code || err));
    ' "$SIEM_NODE_DIR/node_modules/kinesalite" "$SIEM_HOST" "$SIEM_KINESIS_PORT"
}

start_kinesis_mock() {
  local pkg="$SIEM_NODE_DIR/node_modules/kinesis-local"
  start_detached "$(svc_log kinesis-mock)" "$(svc_pidfile kinesis-mock)" \
    env KINESIS_MOCK_CERT_PATH="$pkg/server.json" \
    KINESIS_MOCK_PLAIN_PORT="$SIEM_KINESIS_MOCK_PORT" KINESIS_MOCK_TLS_PORT="$SIEM_KINESIS_MOCK_TLS_PORT" \
    AWS_ACCOUNT_ID="${SIEM_KINESIS_MOCK_ACCOUNT:-123456789012}" AWS_REGION="$AWS_REGION" \
    CREATE_STREAM_DURATION=0ms DELETE_STREAM_DURATION=0ms UPDATE_STREAM_MODE_DURATION=0ms \
    SPLIT_SHARD_DURATION=0ms MERGE_SHARDS_DURATION=0ms UPDATE_SHARD_COUNT_DURATION=0ms \
    REGISTER_STREAM_CONSUMER_DURATION=0ms DEREGISTER_STREAM_CONSUMER_DURATION=0ms \
    node "$pkg/main.js"
}

# os_jvm_options JAVA_HOME: the JVM options OpenSearch's launcher would compute (config/jvm.options +
# heap), cached per input in .local/state so a start runs one JVM instead of five.
os_jvm_options() {
  local java=$1 key file f
  key=$({
    printf '%s\n' "$java" "$SIEM_OS_HEAP" "$SIEM_OS_TMP_DIR" "$SIEM_OS_HOME"
    for f in "$SIEM_OS_HOME/config/jvm.options" "$SIEM_OS_HOME"/config/jvm.options.d/*.options; do
      if [[ -f "$f" ]]; then cat "$f"; fi
    done
  } | cksum)
  file="$SIEM_LOCAL_DIR/state/opensearch-jvm-options.${key%% *}"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$SIEM_LOCAL_DIR/state"
    rm -f "$SIEM_LOCAL_DIR"/state/opensearch-jvm-options.*
    # cwd = home: the options name relative paths (logs/gc.log) that the parser's probe JVM opens.
    as_os_user env -C "$SIEM_OS_HOME" OPENSEARCH_TMPDIR="$SIEM_OS_TMP_DIR" OPENSEARCH_JAVA_OPTS="-Xms$SIEM_OS_HEAP -Xmx$SIEM_OS_HEAP" \
      "$java/bin/java" -Xshare:auto -cp "$SIEM_OS_HOME/lib/*" org.opensearch.tools.launchers.JvmOptionsParser \
      "$SIEM_OS_HOME/config" >"$file.tmp" || die "OpenSearch JvmOptionsParser failed"
    mv "$file.tmp" "$file"
  fi
  cat "$file"
}

# start_opensearch: by default runs the JVM directly with what bin/opensearch would pass (its
# wrapper starts four extra JVMs: CDS probe, version check, keystore check, options parser;
# ~2-3 s). SIEM_OS_LAUNCHER=script uses bin/opensearch instead.
start_opensearch() {
  local java prefix=() launch=() opts=() opts_line
  os_user_prefix prefix
  java=$(siem_os_java_home) || {
    ensure_cmd java openjdk-17-jre-headless
    java=$(siem_os_java_home) || die "no Java 11..23 found for OpenSearch $SIEM_OS_VERSION (set SIEM_OS_JAVA_HOME)"
  }
  if [[ "${SIEM_OS_LAUNCHER:-direct}" == script ]]; then
    launch=(./bin/opensearch)
  else
    opts_line=$(os_jvm_options "$java") || die "could not compute OpenSearch's JVM options"
    read -ra opts <<<"$opts_line"
    launch=("$java/bin/java" -Xshare:auto "${opts[@]}"
      "-Dopensearch.path.home=$SIEM_OS_HOME" "-Dopensearch.path.conf=$SIEM_OS_HOME/config"
      -Dopensearch.distribution.type=zip -Dopensearch.bundled_jdk=false
      -cp "$SIEM_OS_HOME/lib/*" org.opensearch.bootstrap.OpenSearch)
  fi
  start_detached "$(svc_log opensearch)" "$(svc_pidfile opensearch)" \
    "${prefix[@]}" env -C "$SIEM_OS_HOME" HOME="$SIEM_OS_TMP_DIR" \
    OPENSEARCH_JAVA_HOME="$java" JAVA_HOME="$java" OPENSEARCH_TMPDIR="$SIEM_OS_TMP_DIR" \
    OPENSEARCH_JAVA_OPTS="-Xms$SIEM_OS_HEAP -Xmx$SIEM_OS_HEAP" \
    "${launch[@]}" \
    -E cluster.name="$SIEM_OS_CLUSTER" -E node.name=local-0 \
    -E discovery.type=single-node -E network.host="$SIEM_HOST" \
    -E http.port="$SIEM_OS_PORT" -E transport.port="$SIEM_OS_TRANSPORT_PORT" \
    -E path.data="$SIEM_OS_DATA_DIR" -E path.logs="$SIEM_OS_LOG_DIR" \
    -E cluster.routing.allocation.disk.threshold_enabled=false \
    -E action.destructive_requires_name=false
}

# svc_preflight NAME: die early (before anything is started) if the service's port is taken by
# a program that is neither ours nor a healthy server of the same kind.
svc_preflight() {
  local name=$1 port
  port=$(svc_port "$name")
  if svc_pid "$name" >/dev/null || ! port_open "$port" || svc_healthy "$name"; then
    return 0
  fi
  ss -ltnp "sport = :$port" >&2 2>/dev/null || true
  die "$name: port $port is in use by another program (set the port via env to move it)"
}

# svc_start NAME: start unless ours is already running or the port is already served by a
# healthy server of the same kind (then it is reused, with a warning). Sets SVC_STATE[NAME].
declare -gA SVC_STATE=()
svc_start() {
  local name=$1 port pid
  port=$(svc_port "$name")
  if pid=$(svc_pid "$name"); then
    SVC_STATE[$name]="running (pid $pid)"
    return 0
  fi
  rm -f "$(svc_pidfile "$name")"
  if port_open "$port"; then
    if svc_healthy "$name"; then
      log_warn "$name: port $port is already served by a process this checkout did not start; reusing it (down will not stop it)"
      SVC_STATE[$name]="reused (foreign process)"
      return 0
    fi
    ss -ltnp "sport = :$port" >&2 2>/dev/null || true
    die "$name: port $port is in use by another program (set the port via env to move it)"
  fi
  case $name in
  moto) start_moto ;;
  kinesalite) start_kinesalite ;;
  opensearch) start_opensearch ;;
  kinesis-mock) start_kinesis_mock ;;
  opensearch-security) start_profile security ;;
  opensearch-3) start_profile 3 ;;
  esac
  SVC_STATE[$name]="started (pid $_SIEM_STARTED_PID)"
}

# svc_wait NAME TIMEOUT: poll until healthy; fail early if the started process dies.
svc_wait() {
  local name=$1 timeout=$2 pid args=()
  pid=$(pid_read "$(svc_pidfile "$name")")
  [[ -n "$pid" ]] && args=(--pid "$pid")
  wait_until "$timeout" "$name ($(svc_url "$name"))" --log "$(svc_log "$name")" "${args[@]}" -- svc_healthy "$name"
}

# The extra OpenSearch profiles (security, 3): profiles.sh.
# shellcheck source=profiles.sh
source "$SIEM_LOCAL_SCRIPTS/profiles.sh"
