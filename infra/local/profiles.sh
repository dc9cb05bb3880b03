# shellcheck shell=bash disable=SC2034 # SIEM_* state is used by the sourcing scripts
# Extra OpenSearch nodes ("profiles") next to the default 2.19.6 node, for the tests that need a
# real security plugin or OpenSearch 3.x. Sourced after lib.sh, config.sh and services.sh.
#
#   security  OpenSearch $SIEM_OS_SEC_VERSION + opensearch-security $SIEM_OS_SEC_PLUGIN_VERSION,
#             TLS on HTTP and transport (CA, node and admin certificates made here with openssl),
#             basic auth, internal users admin / siemstream / siemstream_noindex (see below)
#   3         OpenSearch $SIEM_OS3_VERSION on Java 21+ ($SIEM_OS3_JAVA_HOME), plain HTTP
#
# Each profile is a service of its own (opensearch-security, opensearch-3): own install under
# .local/opt, own data, logs, PID file and ports, run as $SIEM_OS_USER like the default node.
# Starting or stopping one never touches the default node.

SIEM_OS_PROFILES=(security 3)

# profile_svc PROFILE -> service name
profile_svc() {
  case $1 in
  security | 3) echo "opensearch-$1" ;;
  *) die "unknown OpenSearch profile '$1' (known: ${SIEM_OS_PROFILES[*]})" ;;
  esac
}

# prof_vars PROFILE: sets P_VERSION P_PORT P_TPORT P_SCHEME P_URL P_JAVA P_NAME for the profile.
prof_vars() {
  case $1 in
  security)
    P_VERSION=$SIEM_OS_SEC_VERSION P_PORT=$SIEM_OS_SEC_PORT P_TPORT=$SIEM_OS_SEC_TRANSPORT_PORT
    P_SCHEME=https P_JAVA=
    ;;
  3)
    P_VERSION=$SIEM_OS3_VERSION P_PORT=$SIEM_OS3_PORT P_TPORT=$SIEM_OS3_TRANSPORT_PORT
    P_SCHEME=http P_JAVA=$SIEM_OS3_JAVA_HOME
    ;;
  *) die "unknown OpenSearch profile '$1'" ;;
  esac
  P_NAME=opensearch-$1
  P_URL="$P_SCHEME://$SIEM_HOST:$P_PORT"
}

# prof_paths PROFILE: sets P_HOME P_DATA P_LOGDIR P_TMP P_CERTS (after os_resolve_paths: the same
# base as the default node, i.e. .local or the root fallback base).
prof_paths() {
  local base
  prof_vars "$1"
  if [[ -s "$SIEM_LOCAL_DIR/opensearch-base" ]]; then
    base=$(<"$SIEM_LOCAL_DIR/opensearch-base")
    P_HOME="$base/$P_NAME-$P_VERSION" P_DATA="$base/data-$P_NAME" P_LOGDIR="$base/logs-$P_NAME"
    P_TMP="$base/tmp-$P_NAME"
  else
    P_HOME="$SIEM_LOCAL_DIR/opt/$P_NAME-$P_VERSION" P_DATA="$SIEM_DATA_DIR/$P_NAME"
    P_LOGDIR="$SIEM_LOGS_DIR/$P_NAME" P_TMP="$SIEM_DATA_DIR/$P_NAME-tmp"
  fi
  # Certificates and the generated passwords: readable by the caller (tests), not only ossvc.
  P_CERTS="$SIEM_LOCAL_DIR/state/$P_NAME"
}

# prof_curl PROFILE ARGS...: curl against the profile (CA + admin basic auth for security).
prof_curl() {
  local p=$1
  shift
  prof_paths "$p"
  if [[ $p == security ]]; then
    [[ -s "$P_CERTS/passwords" ]] || return 1
    local admin_pw
    admin_pw=$(sed -n 's/^admin=//p' "$P_CERTS/passwords")
    curl -s --connect-timeout 1 --max-time 5 --cacert "$P_CERTS/ca.pem" -u "admin:$admin_pw" "$@"
  else
    curl -s --connect-timeout 1 --max-time 5 "$@"
  fi
}

prof_healthy() {
  prof_vars "$1"
  prof_curl "$1" "$P_URL/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null |
    grep -Eq '"status":"(green|yellow)"'
}

# prof_download COORDS FILE: one Maven artifact into .local/downloads (cached).
prof_download() {
  local coords=$1 file=$2 tmp
  [[ -s "$SIEM_DOWNLOADS_DIR/$file" ]] && return 0
  ensure_cmd mvn maven
  mkdir -p "$SIEM_DOWNLOADS_DIR"
  tmp=$(mktemp -d "$SIEM_DOWNLOADS_DIR.tmp.XXXXXX")
  # shellcheck disable=SC2086 # SIEM_MVN_OPTS is a list of extra arguments
  mvn -B -q ${SIEM_MVN_OPTS:-} "$SIEM_MVN_DEP_PLUGIN:copy" "-Dartifact=$coords" \
    "-DoutputDirectory=$tmp" >>"$SIEM_INSTALL_LOG" 2>&1 || {
    rm -rf "$tmp"
    tail_log "$SIEM_INSTALL_LOG"
    die "Maven download of $coords failed"
  }
  mv "$tmp"/*.zip "$SIEM_DOWNLOADS_DIR/$file"
  rm -rf "$tmp"
  SIEM_INSTALL_NOTE+="download:$file "
}

# ensure_profile PROFILE: download, unpack, (security: plugin, certificates, users, roles) into
# $P_HOME; a no-op when $P_HOME/.installed matches what this script would install.
ensure_profile() {
  local p=$1 zip tmp stamp
  prof_paths "$p"
  zip="opensearch-$P_VERSION.zip"
  prof_download "org.opensearch.distribution.integ-test-zip:opensearch:$P_VERSION:zip" "$zip"
  stamp="$P_VERSION"
  if [[ $p == security ]]; then
    prof_download "org.opensearch.plugin:opensearch-security:$SIEM_OS_SEC_PLUGIN_VERSION:zip" \
      "opensearch-security-$SIEM_OS_SEC_PLUGIN_VERSION.zip"
    stamp+=" security-$SIEM_OS_SEC_PLUGIN_VERSION $(sec_config_hash)"
  fi
  if [[ ! -f "$P_HOME/.installed" || "$(<"$P_HOME/.installed")" != "$stamp" ]]; then
    # A running node of an older install (another version or security configuration) stops first.
    if svc_pid "$P_NAME" >/dev/null; then
      log_info "$P_NAME: install changed; stopping the running node to reinstall it"
      stop_profile "$p"
      prof_paths "$p"
    fi
    ensure_cmd unzip unzip
    rm -rf "$P_HOME"
    mkdir -p "$(dirname "$P_HOME")"
    tmp=$(mktemp -d "$P_HOME.tmp.XXXXXX")
    unzip -q "$SIEM_DOWNLOADS_DIR/$zip" -d "$tmp" || {
      rm -rf "$tmp" "${SIEM_DOWNLOADS_DIR:?}/$zip"
      die "unzip $zip failed (removed it; run up again to download it anew)"
    }
    mv "$tmp/opensearch-$P_VERSION" "$P_HOME"
    rm -rf "$tmp"
    if [[ $p == security ]]; then
      sec_install_plugin
      # A new install means a new security configuration: start from an empty data dir so
      # the plugin initialises its index from the files written here.
      rm -rf "$P_DATA"
    fi
    printf '%s\n' "$stamp" >"$P_HOME/.installed"
    SIEM_INSTALL_NOTE+="$P_NAME-unpack "
  fi
  mkdir -p "$P_DATA" "$P_LOGDIR" "$P_TMP"
  if [[ $EUID -eq 0 ]]; then
    local d
    for d in "$P_HOME" "$P_DATA" "$P_LOGDIR" "$P_TMP"; do
      if [[ "$(stat -c %U "$d")" != "$SIEM_OS_USER" ]] ||
        [[ -n "$(find "$d" ! -user "$SIEM_OS_USER" -print -quit 2>/dev/null)" ]]; then
        chown -R "$SIEM_OS_USER:$SIEM_OS_USER" "$d"
      fi
    done
  fi
}

# --- security profile -----------------------------------------------------------------------

# The files that decide the security configuration; a change reinstalls the profile.
sec_config_hash() {
  cat "${BASH_SOURCE[0]}" "$SIEM_LOCAL_SCRIPTS/security/"*.yml 2>/dev/null | cksum | cut -d' ' -f1
}

# sec_certs: CA, node and admin certificates (RSA 2048, PKCS#8 keys as the plugin wants) and
# random test passwords, made once into $P_CERTS. The admin certificate's DN is the only one
# allowed to run securityadmin.sh; the node DN is the one nodes_dn trusts.
# DNs in RFC 2253 order (as the plugin prints them); openssl -subj takes them the other way round.
SIEM_OS_SEC_DN_BASE="OU=siemstream-local,O=siemstream"
SIEM_OS_SEC_SUBJ_BASE="/O=siemstream/OU=siemstream-local"
sec_certs() {
  local d=$P_CERTS
  mkdir -p "$d"
  if ! [[ -s "$d/ca.pem" && -s "$d/node.pem" && -s "$d/admin.pem" &&
    "$(cat "$d/subject" 2>/dev/null)" == "$SIEM_OS_SEC_SUBJ_BASE" ]]; then
    ensure_cmd openssl openssl
    rm -f "$d"/*.pem "$d/subject"
    (
      cd "$d"
      exec >>"$SIEM_INSTALL_LOG" 2>&1
      openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca-key.pem -out ca.pem \
        -subj "$SIEM_OS_SEC_SUBJ_BASE/CN=siemstream-local-ca" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
      local who
      for who in node admin; do
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$who-key.pem"
        openssl req -new -key "$who-key.pem" -out "$who.csr" -subj "$SIEM_OS_SEC_SUBJ_BASE/CN=$who"
        if [[ $who == node ]]; then
          printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
            'extendedKeyUsage=serverAuth,clientAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost' >"$who.ext"
        else
          printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
            'extendedKeyUsage=clientAuth' >"$who.ext"
        fi
        openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 \
          -days 3650 -extfile "$who.ext" -out "$who.pem"
        rm -f "$who.csr" "$who.ext"
      done
      rm -f ca.srl
    ) || die "generating the security profile's certificates failed (see $SIEM_INSTALL_LOG)"
    printf '%s\n' "$SIEM_OS_SEC_SUBJ_BASE" >"$d/subject"
    chmod 600 "$d"/*-key.pem
    chmod 644 "$d/ca.pem"
  fi
  # Test-only passwords, random per machine, made once. Letters, digits and '-' only: no quoting
  # issues in .local/env, and strong enough for the plugin's password rules.
  if [[ ! -s "$d/passwords" ]]; then
    local u
    for u in admin siemstream siemstream_noindex; do
      printf '%s=Sx-%s-%s\n' "$u" "$(openssl rand -hex 8)" "$(openssl rand -hex 8)"
    done >"$d/passwords.tmp"
    chmod 600 "$d/passwords.tmp"
    mv "$d/passwords.tmp" "$d/passwords"
  fi
}

# sec_password USER
sec_password() { sed -n "s/^$1=//p" "$P_CERTS/passwords"; }

# sec_hash PASSWORD: the bcrypt hash internal_users.yml wants, from the plugin's own tool.
sec_hash() {
  local java
  java=$(siem_os_java_home) || die "no Java 11..23 for the security plugin's hash tool"
  as_os_user env JAVA_HOME="$java" OPENSEARCH_JAVA_HOME="$java" \
    bash "$P_HOME/plugins/opensearch-security/tools/hash.sh" -p "$1" 2>>"$SIEM_INSTALL_LOG" | tail -n 1
}

# sec_install_plugin: the plugin zip, certificates, opensearch.yml settings and the security
# configuration (users, roles, mappings) that the plugin loads into its index on first start.
sec_install_plugin() {
  local plugin="$SIEM_DOWNLOADS_DIR/opensearch-security-$SIEM_OS_SEC_PLUGIN_VERSION.zip" java
  java=$(siem_os_java_home) || die "no Java 11..23 found for OpenSearch $P_VERSION"
  # The installer runs as the OpenSearch user, who may not reach .local/downloads (the fallback
  # base of os_resolve_paths): give it a copy inside the install.
  cp "$plugin" "$P_HOME/security-plugin.zip"
  [[ $EUID -eq 0 ]] && chown -R "$SIEM_OS_USER:$SIEM_OS_USER" "$P_HOME"
  as_os_user env JAVA_HOME="$java" OPENSEARCH_JAVA_HOME="$java" \
    "$P_HOME/bin/opensearch-plugin" install --batch "file://$P_HOME/security-plugin.zip" >>"$SIEM_INSTALL_LOG" 2>&1 || {
    tail_log "$SIEM_INSTALL_LOG"
    die "installing the security plugin failed"
  }
  rm -f "$P_HOME/security-plugin.zip"
  sec_certs
  mkdir -p "$P_HOME/config/certs"
  cp "$P_CERTS/ca.pem" "$P_CERTS/node.pem" "$P_CERTS/node-key.pem" "$P_CERTS/admin.pem" \
    "$P_CERTS/admin-key.pem" "$P_HOME/config/certs/"
  cat >>"$P_HOME/config/opensearch.yml" <<EOF

# --- written by infra/local/profiles.sh (security profile) ---
plugins.security.ssl.transport.pemcert_filepath: certs/node.pem
plugins.security.ssl.transport.pemkey_filepath: certs/node-key.pem
plugins.security.ssl.transport.pemtrustedcas_filepath: certs/ca.pem
plugins.security.ssl.transport.enforce_hostname_verification: false
plugins.security.ssl.http.enabled: true
plugins.security.ssl.http.pemcert_filepath: certs/node.pem
plugins.security.ssl.http.pemkey_filepath: certs/node-key.pem
plugins.security.ssl.http.pemtrustedcas_filepath: certs/ca.pem
plugins.security.allow_default_init_securityindex: true
plugins.security.authcz.admin_dn: ["CN=admin,$SIEM_OS_SEC_DN_BASE"]
plugins.security.nodes_dn: ["CN=node,$SIEM_OS_SEC_DN_BASE"]
plugins.security.restapi.roles_enabled: ["all_access"]
plugins.security.audit.type: noop
plugins.security.system_indices.enabled: true
EOF
  local cfg="$P_HOME/config/opensearch-security"
  # Users: bcrypt hashes of the generated passwords.
  {
    printf '%s\n' '_meta:' '  type: "internalusers"' '  config_version: 2'
    local u
    for u in admin siemstream siemstream_noindex; do
      printf '%s:\n  hash: "%s"\n  reserved: false\n  description: "%s"\n' "$u" \
        "$(sec_hash "$(sec_password "$u")")" "siemstream local test user"
    done
  } >"$cfg/internal_users.yml"
  # Roles and mappings: the committed files (the same as the README documents).
  cp "$SIEM_LOCAL_SCRIPTS/security/roles.yml" "$cfg/roles.yml"
  cp "$SIEM_LOCAL_SCRIPTS/security/roles_mapping.yml" "$cfg/roles_mapping.yml"
}

# --- start / stop -----------------------------------------------------------------------------

# start_profile PROFILE: detached, as the OpenSearch user, with the stock launcher (the direct
# launch of the default node caches one option set; two more would evict it).
start_profile() {
  local p=$1 java prefix=() svc
  prof_paths "$p"
  svc=$P_NAME
  os_user_prefix prefix
  if [[ -n "$P_JAVA" ]]; then
    java=$P_JAVA
    [[ -x "$java/bin/java" ]] || die "profile $p needs Java 21+ at $java (set SIEM_OS3_JAVA_HOME)"
  else
    java=$(siem_os_java_home) || die "no Java 11..23 found for OpenSearch $P_VERSION"
  fi
  start_detached "$(svc_log "$svc")" "$(svc_pidfile "$svc")" \
    "${prefix[@]}" env -C "$P_HOME" HOME="$P_TMP" \
    OPENSEARCH_JAVA_HOME="$java" JAVA_HOME="$java" OPENSEARCH_TMPDIR="$P_TMP" \
    OPENSEARCH_JAVA_OPTS="-Xms$SIEM_OS_HEAP -Xmx$SIEM_OS_HEAP" \
    ./bin/opensearch \
    -E cluster.name="$SIEM_OS_CLUSTER-$p" -E node.name="$p-0" \
    -E discovery.type=single-node -E network.host="$SIEM_HOST" \
    -E http.port="$P_PORT" -E transport.port="$P_TPORT" \
    -E path.data="$P_DATA" -E path.logs="$P_LOGDIR" \
    -E cluster.routing.allocation.disk.threshold_enabled=false \
    -E action.destructive_requires_name=false
}

# profile_env PROFILE: the .local/env lines of a running profile (kv from up.sh's format).
profile_env() {
  local p=$1
  prof_paths "$p"
  case $p in
  security)
    printf "export %s='%s'\n" SIEM_OS_SECURITY_URL "$P_URL" SIEM_OS_SECURITY_CA "$P_CERTS/ca.pem" \
      SIEM_OS_SECURITY_ADMIN_USER admin SIEM_OS_SECURITY_ADMIN_PASSWORD "$(sec_password admin)" \
      SIEM_OS_SECURITY_USER siemstream SIEM_OS_SECURITY_PASSWORD "$(sec_password siemstream)" \
      SIEM_OS_SECURITY_NOINDEX_USER siemstream_noindex \
      SIEM_OS_SECURITY_NOINDEX_PASSWORD "$(sec_password siemstream_noindex)"
    ;;
  3) printf "export %s='%s'\n" SIEM_OS3_URL "$P_URL" SIEM_OS3_VERSION "$P_VERSION" ;;
  esac
}

# profile_env_block: the marker line and the .local/env lines of every profile that is running
# (ours by PID file and command line). Health is not asked again here: up.sh has just waited for
# the profiles it started, and a busy machine can make one probe time out.
SIEM_PROFILE_ENV_MARK='# --- OpenSearch profiles (infra/local/profiles.sh) ---'
profile_env_block() {
  local p
  printf '%s\n' "$SIEM_PROFILE_ENV_MARK"
  for p in "${SIEM_OS_PROFILES[@]}"; do
    if svc_pid "$(profile_svc "$p")" >/dev/null; then profile_env "$p"; fi
  done
}

# write_profile_env: rewrite the profile block at the end of .local/env (one atomic rename; the
# core block written by up.sh stays as it is).
write_profile_env() {
  [[ -f "$SIEM_ENV_FILE" ]] || return 0
  {
    awk -v mark="$SIEM_PROFILE_ENV_MARK" '$0 == mark { exit } { print }' "$SIEM_ENV_FILE"
    profile_env_block
  } >"$SIEM_ENV_FILE.tmp"
  mv "$SIEM_ENV_FILE.tmp" "$SIEM_ENV_FILE"
}

# stop_profile PROFILE: stop the profile's process group (never the default node's).
stop_profile() {
  local p=$1 svc pidfile pid
  svc=$(profile_svc "$p")
  pidfile=$(svc_pidfile "$svc")
  pid=$(pid_read "$pidfile")
  [[ -n "$pid" ]] || {
    rm -f "$pidfile"
    return 0
  }
  if pid_alive "$pid" && ! svc_pid "$svc" >/dev/null; then
    log_warn "$svc: PID $pid from $pidfile is not ours any more (stale file); not killing it"
    rm -f "$pidfile"
    return 0
  fi
  stop_pgroup "$svc" "$pidfile" "$SIEM_STOP_TIMEOUT"
  wait_port_free "$(svc_port "$svc")" "$SIEM_STOP_TIMEOUT" || die "$svc: port still in use after stopping pgid $pid"
}
