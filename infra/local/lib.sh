# shellcheck shell=bash
# Reusable helpers for the local-stack scripts (source it; it does not run anything).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Logging:  log_info / log_warn / log_error MSG...   die MSG...   (prefix: [$LOG_TAG])
# Timing:   timer_start NAME; timer_end NAME [NOTE]  -> "[tag] NAME ........ 1.23s  NOTE"
# Waiting:  wait_until TIMEOUT DESC [--log FILE] [--pid PID] -- CMD...  (polls every 0.1 s)
#           wait_port PORT TIMEOUT [--log FILE] [--pid PID]
#           wait_http URL TIMEOUT [--codes REGEX] [--log FILE] [--pid PID]
#           wait_port_free PORT TIMEOUT
# Probes:   port_open PORT [HOST]; http_code URL [curl args...]
# Processes: start_detached LOGFILE PIDFILE CMD...  (setsid: new session + process group)
#           pid_read PIDFILE; pid_alive PID; pgroup_alive PGID
#           stop_pgroup NAME PIDFILE [TIMEOUT]  (TERM the group, then KILL after TIMEOUT)
#
# Every wait polls with a bounded timeout; on failure it names what it waited for and prints the
# tail of the given log file, and it gives up at once if the given PID has exited.

# Guard against double sourcing.
if [[ -n "${_SIEM_LIB_SH:-}" ]]; then return 0; fi
_SIEM_LIB_SH=1

LOG_TAG=${LOG_TAG:-local}

log_info() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
log_warn() { printf '[%s] WARN: %s\n' "$LOG_TAG" "$*" >&2; }
log_error() { printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2; }
die() {
  log_error "$*"
  exit 1
}

# tail_log FILE [LINES]: print the last lines of a log to stderr, indented.
tail_log() {
  local file=$1 lines=${2:-40}
  if [[ -s "$file" ]]; then
    printf '[%s] ---- last %s lines of %s ----\n' "$LOG_TAG" "$lines" "$file" >&2
    tail -n "$lines" "$file" | sed 's/^/    /' >&2
    printf '[%s] ----\n' "$LOG_TAG" >&2
  elif [[ -n "$file" ]]; then
    printf '[%s] (log %s is empty or missing)\n' "$LOG_TAG" "$file" >&2
  fi
}

# ---------------------------------------------------------------------------------------------
# Timing (bash 5 EPOCHREALTIME; no external processes)

declare -gA _SIEM_TIMERS=()

now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  printf '%s\n' "$((t / 1000))"
}

# fmt_ms MS -> "1.23s"
fmt_ms() {
  local ms=$1
  printf '%d.%02ds' "$((ms / 1000))" "$(((ms % 1000) / 10))"
}

timer_start() { _SIEM_TIMERS[$1]=$(now_ms); }

# timer_ms NAME -> elapsed milliseconds since timer_start NAME
timer_ms() {
  local start=${_SIEM_TIMERS[$1]:-}
  [[ -n "$start" ]] || {
    echo 0
    return
  }
  echo $(($(now_ms) - start))
}

# timer_end NAME [NOTE]: print one timing line for a step.
timer_end() {
  local name=$1 note=${2:-} ms
  ms=$(timer_ms "$name")
  printf '[%s] %-28s %8s  %s\n' "$LOG_TAG" "$name" "$(fmt_ms "$ms")" "$note" >&2
}

# ---------------------------------------------------------------------------------------------
# Probes

# port_open PORT [HOST]: true if something accepts TCP connections there.
port_open() {
  local port=$1 host=${2:-127.0.0.1}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# http_code URL [extra curl args...]: prints the HTTP status (000 when nothing answered).
http_code() {
  local url=$1
  shift
  curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 5 "$@" "$url" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Processes

# pid_read PIDFILE: prints the PID recorded there (nothing if missing/garbage).
pid_read() {
  local f=$1 pid=
  if [[ -r "$f" ]]; then read -r pid <"$f" || true; fi
  [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  return 0
}

# pid_alive PID: the process exists and is not a zombie (an exited child that init has not reaped
# yet; on some machines PID 1 reaps only every few seconds).
pid_alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z ]]
}

# pgroup_alive PGID: some non-zombie process is left in the process group.
pgroup_alive() {
  [[ -n "${1:-}" ]] && kill -0 -- "-$1" 2>/dev/null || return 1
  local p
  for p in $(pgrep -g "$1" 2>/dev/null); do
    pid_alive "$p" && return 0
  done
  return 1
}

# start_detached LOGFILE PIDFILE CMD...: start CMD in a new session (setsid) with stdin from
# /dev/null and stdout+stderr appended to LOGFILE; the PID written to PIDFILE is also the
# process-group id, so stop_pgroup can end the whole tree. Survives the caller exiting.
start_detached() {
  local log=$1 pidfile=$2
  shift 2
  mkdir -p "$(dirname "$log")" "$(dirname "$pidfile")"
  printf '\n==== %s start: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
  # A non-interactive shell's background child is not a group leader, so setsid does not fork:
  # $! is the PID of the new session leader (== its process group id).
  # fd 9 is closed so the service does not inherit the local-stack lock (see siem_lock).
  setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
  local pid=$!
  printf '%s\n' "$pid" >"$pidfile"
  disown "$pid" 2>/dev/null || true
  _SIEM_STARTED_PID=$pid
}

# stop_pgroup NAME PIDFILE [TIMEOUT_S]: SIGTERM the process group recorded in PIDFILE, wait for
# it to exit (polling), SIGKILL it after TIMEOUT_S (default 20). Removes PIDFILE. Returns 0 if
# nothing was running.
stop_pgroup() {
  local name=$1 pidfile=$2 timeout=${3:-20} pid deadline
  pid=$(pid_read "$pidfile")
  if [[ -z "$pid" ]]; then
    rm -f "$pidfile"
    return 0
  fi
  if ! pgroup_alive "$pid" && ! pid_alive "$pid"; then
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  # A paused (SIGSTOP, e.g. by a fault test) process only acts on SIGTERM once continued.
  kill -CONT -- "-$pid" 2>/dev/null || kill -CONT "$pid" 2>/dev/null || true
  deadline=$(($(now_ms) + timeout * 1000))
  while pgroup_alive "$pid" || pid_alive "$pid"; do
    if (($(now_ms) > deadline)); then
      log_warn "$name (pgid $pid) did not stop within ${timeout}s after SIGTERM; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      deadline=$(($(now_ms) + 5000))
      while pgroup_alive "$pid" || pid_alive "$pid"; do
        (($(now_ms) > deadline)) && die "$name (pgid $pid) survived SIGKILL"
        sleep 0.1
      done
      break
    fi
    sleep 0.1
  done
  rm -f "$pidfile"
}

# ---------------------------------------------------------------------------------------------
# Waiting (polling with bounded timeouts)

# wait_until TIMEOUT_S DESC [--log FILE] [--pid PID] -- CMD...
# Polls CMD every 0.1 s until it succeeds. Fails (returns 1, after printing the log tail) when
# TIMEOUT_S passes or PID exits first.
wait_until() {
  local timeout=$1 desc=$2 log='' pid=
  shift 2
  while (($#)); do
    case $1 in
    --log)
      log=$2
      shift 2
      ;;
    --pid)
      pid=$2
      shift 2
      ;;
    --)
      shift
      break
      ;;
    *) break ;;
    esac
  done
  local deadline=$(($(now_ms) + timeout * 1000))
  while true; do
    if "$@"; then return 0; fi
    if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
      log_error "$desc: process $pid exited before becoming ready"
      tail_log "$log"
      return 1
    fi
    if (($(now_ms) > deadline)); then
      log_error "$desc: not ready after ${timeout}s"
      tail_log "$log"
      return 1
    fi
    sleep 0.1
  done
}

# wait_port PORT TIMEOUT_S [--log FILE] [--pid PID]
wait_port() {
  local port=$1 timeout=$2
  shift 2
  wait_until "$timeout" "port $port" "$@" -- port_open "$port"
}

# wait_port_free PORT TIMEOUT_S: wait until nothing listens on 127.0.0.1:PORT.
wait_port_free() {
  local port=$1 timeout=$2
  wait_until "$timeout" "port $port to be free" -- _port_closed "$port"
}
_port_closed() { ! port_open "$1"; }

# wait_http URL TIMEOUT_S [--codes REGEX] [--log FILE] [--pid PID]
# Default accepted codes: 2xx. Use --codes '.*' to accept any answer (not 000).
wait_http() {
  local url=$1 timeout=$2 codes='2[0-9][0-9]'
  shift 2
  if [[ "${1:-}" == --codes ]]; then
    codes=$2
    shift 2
  fi
  wait_until "$timeout" "$url" "$@" -- _http_matches "$url" "$codes"
}
_http_matches() {
  local code
  code=$(http_code "$1")
  [[ "$code" != 000 && "$code" =~ ^($2)$ ]]
}
