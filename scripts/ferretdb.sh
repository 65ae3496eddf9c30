#!/usr/bin/env bash
# Build, start, stop and probe a local FerretDB v1.24.2 (MongoDB wire protocol, SQLite
# storage) for development and integration tests. See tools/ferretdb/main.go.
#
# Usage:
#   scripts/ferretdb.sh build [--force | --check]
#   scripts/ferretdb.sh start  [--data-dir DIR] [--port PORT]
#   scripts/ferretdb.sh stop   [--data-dir DIR]
#   scripts/ferretdb.sh status [--data-dir DIR]
#   scripts/ferretdb.sh ping   [--port PORT]
#
# Defaults: data dir .data/ferretdb, port 27017. Environment overrides:
#   ANOLA_FERRETDB_DATA, ANOLA_FERRETDB_PORT, ANOLA_FERRETDB_LOG_LEVEL (default warn),
#   ANOLA_FERRETDB_START_TIMEOUT (seconds, default 30).
# Relative paths are resolved against the repository root, so the script works from any cwd.
# `start` prints the MongoDB URI (mongodb://127.0.0.1:PORT/) on stdout; messages go to stderr.
# `status` exits 0 when running, 3 when stopped.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
SRC_DIR="$ROOT/tools/ferretdb"
TOOLS_DIR="$ROOT/.tools"
BIN="$TOOLS_DIR/bin/anola-ferretdb"
STAMP="$TOOLS_DIR/anola-ferretdb.stamp"
MIN_GO_MINOR=24 # go 1.24+

PROG="ferretdb.sh"

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}
info() { echo "$PROG: $*" >&2; }

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# ---------------------------------------------------------------------------------------
# build

source_hash() {
  local f
  for f in go.mod go.sum main.go id-pushdown.sh; do
    [[ -f "$SRC_DIR/$f" ]] || die "missing $SRC_DIR/$f"
  done
  (cd "$SRC_DIR" && sha256sum go.mod go.sum main.go id-pushdown.sh) | sha256sum | cut -d' ' -f1
}

find_go() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    die "go not found: install Go 1.${MIN_GO_MINOR}+ (https://go.dev/dl/) and put it on PATH"
  fi
}

check_go_version() {
  local go_bin=$1 ver major minor
  ver=$(GOTOOLCHAIN=local "$go_bin" env GOVERSION 2>/dev/null) || die "'$go_bin env GOVERSION' failed: is Go installed correctly?"
  # e.g. go1.26.8, go1.24rc1, devel go1.27-...
  if [[ $ver =~ go([0-9]+)\.([0-9]+) ]]; then
    major=${BASH_REMATCH[1]}
    minor=${BASH_REMATCH[2]}
    if ((major < 1 || (major == 1 && minor < MIN_GO_MINOR))); then
      die "$ver is too old: install Go 1.${MIN_GO_MINOR}+ (https://go.dev/dl/)"
    fi
  else
    info "warning: cannot parse Go version '$ver'; trying anyway"
  fi
}

binary_up_to_date() {
  [[ -x "$BIN" && -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(source_hash)" ]]
}

cmd_build() {
  local force=0
  while (($#)); do
    case $1 in
      --force | -f) force=1 ;;
      --check)
        # Exit 0 if the binary is up to date, 1 if a build is needed (nothing is built).
        binary_up_to_date
        return
        ;;
      -h | --help) usage; exit 0 ;;
      *) die "build: unknown argument '$1'" ;;
    esac
    shift
  done

  if ((!force)) && binary_up_to_date; then
    info "anola-ferretdb is up to date (${BIN#"$ROOT"/})"
    return 0
  fi

  local go_bin
  go_bin=$(find_go)
  check_go_version "$go_bin"
  mkdir -p "$TOOLS_DIR/bin"

  # Serialise concurrent builds (e.g. parallel test jobs calling `start`).
  exec 9>"$TOOLS_DIR/.anola-ferretdb.build.lock"
  if command -v flock >/dev/null 2>&1; then
    flock 9
    if ((!force)) && binary_up_to_date; then
      info "anola-ferretdb is up to date (built by a concurrent run)"
      exec 9>&-
      return 0
    fi
  fi

  local hash tmp start end
  hash=$(source_hash)
  tmp="$BIN.tmp.$$"
  info "building anola-ferretdb (FerretDB v1.24.2) with $("$go_bin" env GOVERSION) ..."
  start=$(date +%s)
  # GOTOOLCHAIN=local: never download a Go toolchain (the module asks for 1.24; any newer local Go works).
  # -mod=mod: allow resolving modules from the proxy on a fresh machine (go.sum is complete).
  # The `_id` look-up fix (docs/adr/0008-ferretdb-id-lookups-use-the-index.md): a patched copy of
  # the module that queries `_id` with the expression its own unique index is built on.
  local modfile
  modfile=$(GOTOOLCHAIN=local GOFLAGS="-mod=mod" "$SRC_DIR/id-pushdown.sh" "$go_bin" "$TOOLS_DIR/ferretdb-patched") ||
    die "could not prepare the FerretDB _id look-up fix (see above)"
  if ! (cd "$SRC_DIR" &&
    GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 \
      "$go_bin" build -modfile "$modfile" -trimpath -ldflags="-s -w" -o "$tmp" .); then
    rm -f "$tmp"
    die "go build of tools/ferretdb failed (see output above). Is the Go module proxy reachable (GOPROXY=$("$go_bin" env GOPROXY))?"
  fi
  mv -f "$tmp" "$BIN"
  echo "$hash" >"$STAMP"
  end=$(date +%s)
  info "built ${BIN#"$ROOT"/} in $((end - start))s"
  exec 9>&-
}

ensure_built() {
  binary_up_to_date || cmd_build
}

# ---------------------------------------------------------------------------------------
# helpers for start/stop/status

DATA_DIR=""
PORT=""
PORT_EXPLICIT=0

resolve_path() {
  local p=$1
  [[ $p == /* ]] || p="$ROOT/$p"
  realpath -m -- "$p"
}

validate_port() {
  if [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); then
    return 0
  fi
  die "invalid port '$1' (want 1-65535)"
}

# parse_args ALLOWED... -- ARGS...   (ALLOWED: data-dir, port)
parse_args() {
  local allowed=" "
  while [[ $1 != -- ]]; do
    allowed+="$1 "
    shift
  done
  shift

  DATA_DIR=${ANOLA_FERRETDB_DATA:-.data/ferretdb}
  PORT=${ANOLA_FERRETDB_PORT:-27017}
  [[ -n ${ANOLA_FERRETDB_PORT:-} ]] && PORT_EXPLICIT=1

  local opt val
  while (($#)); do
    opt=$1
    val=""
    case $opt in
      -h | --help) usage; exit 0 ;;
      --*=*)
        val=${opt#*=}
        opt=${opt%%=*}
        ;;
      --*)
        if [[ $# -ge 2 ]]; then
          val=$2
          shift
        else
          die "$opt needs a value"
        fi
        ;;
      *) die "unexpected argument '$opt'" ;;
    esac
    shift
    case $opt in
      --data-dir)
        [[ $allowed == *" data-dir "* ]] || die "option --data-dir is not accepted here"
        DATA_DIR=$val
        ;;
      --port)
        [[ $allowed == *" port "* ]] || die "option --port is not accepted here"
        PORT=$val
        PORT_EXPLICIT=1
        ;;
      *) die "unknown option '$opt'" ;;
    esac
  done

  [[ -n $DATA_DIR ]] || die "empty data dir"
  DATA_DIR=$(resolve_path "$DATA_DIR")
  validate_port "$PORT"
  PORT=$((10#$PORT))
  PID_FILE="$DATA_DIR/ferretdb.pid"
  LOG_FILE="$DATA_DIR/ferretdb.log"
}

# Prints the value following FLAG in the command line of PID (empty if absent).
proc_arg() {
  local pid=$1 flag=$2 prev="" arg
  [[ -r /proc/$pid/cmdline ]] || return 0
  while IFS= read -r -d '' arg; do
    if [[ $prev == "$flag" ]]; then
      printf '%s\n' "$arg"
      return 0
    fi
    prev=$arg
  done </proc/"$pid"/cmdline
}

# True if PID is a live anola-ferretdb serving data dir DIR.
is_our_server() {
  local pid=$1 dir=$2 exe
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # A zombie (exited, not yet reaped) is not a server.
  [[ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ]] || return 1
  exe=$(tr '\0' '\n' </proc/"$pid"/cmdline 2>/dev/null | head -n1) || return 1
  [[ $(basename -- "$exe") == anola-ferretdb ]] || return 1
  [[ "$(proc_arg "$pid" --data-dir)" == "$dir" ]]
}

# Prints the pid of the live server for DATA_DIR (from the pid file), or returns 1.
running_pid() {
  local pid
  [[ -f $PID_FILE ]] || return 1
  pid=$(tr -dc '0-9' <"$PID_FILE")
  if is_our_server "$pid" "$DATA_DIR"; then
    echo "$pid"
  else
    return 1
  fi
}

server_port() {
  local addr
  addr=$(proc_arg "$1" --listen-addr)
  echo "${addr##*:}"
}

port_open() {
  # Succeeds if something accepts TCP connections on 127.0.0.1:$1.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Best-effort description of what listens on port $1.
port_owner() {
  local port=$1 line pid p
  if command -v ss >/dev/null 2>&1; then
    line=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n1 || true)
    if [[ $line =~ users:\(\(\"([^\"]+)\",pid=([0-9]+) ]]; then
      echo "${BASH_REMATCH[1]} (pid ${BASH_REMATCH[2]})"
      return 0
    fi
  fi
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [[ "$(tr '\0' '\n' <"$p/cmdline" 2>/dev/null | head -n1 | xargs -r basename 2>/dev/null)" == anola-ferretdb ]] || continue
    if [[ "$(proc_arg "$pid" --listen-addr)" == *":$port" ]]; then
      echo "anola-ferretdb (pid $pid, data dir $(proc_arg "$pid" --data-dir))"
      return 0
    fi
  done
  echo "another process"
}

# Serialise start/stop on one data dir (fd 8 is closed for the server itself).
lock_data_dir() {
  command -v flock >/dev/null 2>&1 || return 0
  [[ -d $DATA_DIR ]] || return 0
  exec 8>"$DATA_DIR/.ferretdb.lock"
  flock -w 60 8 || die "timed out waiting for another ferretdb.sh start/stop on $DATA_DIR"
}

do_ping() {
  "$BIN" --ping "127.0.0.1:$1" --timeout "${2:-2s}"
}

# ---------------------------------------------------------------------------------------
# commands

cmd_start() {
  parse_args data-dir port -- "$@"
  local pid port

  mkdir -p "$DATA_DIR" || die "cannot create data dir $DATA_DIR"
  lock_data_dir

  if pid=$(running_pid); then
    port=$(server_port "$pid")
    if ((PORT_EXPLICIT)) && [[ $port != "$PORT" ]]; then
      die "FerretDB for $DATA_DIR is already running on port $port (pid $pid), not $PORT; run '$0 stop --data-dir $DATA_DIR' first"
    fi
    info "FerretDB already running (pid $pid, data dir $DATA_DIR)"
    echo "mongodb://127.0.0.1:$port/"
    return 0
  fi
  if [[ -f $PID_FILE ]]; then
    info "removing stale pid file $PID_FILE"
    rm -f "$PID_FILE"
  fi

  if port_open "$PORT"; then
    die "port $PORT on 127.0.0.1 is already in use by $(port_owner "$PORT"); choose another with --port PORT or ANOLA_FERRETDB_PORT"
  fi

  ensure_built

  local log_level=${ANOLA_FERRETDB_LOG_LEVEL:-warn}
  local timeout=${ANOLA_FERRETDB_START_TIMEOUT:-30}
  [[ $timeout =~ ^[0-9]+$ ]] || die "invalid ANOLA_FERRETDB_START_TIMEOUT '$timeout'"
  local log_offset=0
  [[ -f $LOG_FILE ]] && log_offset=$(stat -c %s "$LOG_FILE")
  echo "=== $(date -Is) start: port $PORT, data dir $DATA_DIR" >>"$LOG_FILE"

  # setsid: own session, so the server survives the caller's terminal/process group going away.
  # (The forked child is never a process-group leader, so setsid execs without forking and
  # $! is the server's own pid.)
  setsid "$BIN" --listen-addr "127.0.0.1:$PORT" --data-dir "$DATA_DIR" --log-level "$log_level" \
    </dev/null >>"$LOG_FILE" 2>&1 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + timeout))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null || [[ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" == Z ]]; then
      wait "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      echo "$PROG: error: FerretDB exited during start-up; log ($LOG_FILE):" >&2
      tail -c +$((log_offset + 1)) "$LOG_FILE" | tail -n 20 | sed 's/^/  | /' >&2
      exit 1
    fi
    if do_ping "$PORT" 1s >/dev/null 2>&1; then
      break
    fi
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      echo "$PROG: error: FerretDB did not answer ping on port $PORT within ${timeout}s; killed it. Log ($LOG_FILE):" >&2
      tail -c +$((log_offset + 1)) "$LOG_FILE" | tail -n 20 | sed 's/^/  | /' >&2
      exit 1
    fi
    sleep 0.2
  done

  info "FerretDB started (pid $pid, data dir $DATA_DIR, log $LOG_FILE)"
  echo "mongodb://127.0.0.1:$PORT/"
}

cmd_stop() {
  parse_args data-dir port -- "$@" # --port accepted (and ignored) for symmetry with start
  local pid
  lock_data_dir
  if ! pid=$(running_pid); then
    if [[ -f $PID_FILE ]]; then
      rm -f "$PID_FILE"
      info "FerretDB not running (removed stale pid file)"
    else
      info "FerretDB not running"
    fi
    return 0
  fi

  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do
    is_our_server "$pid" "$DATA_DIR" || break
    sleep 0.1
  done
  if is_our_server "$pid" "$DATA_DIR"; then
    info "FerretDB (pid $pid) did not stop within 10s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      is_our_server "$pid" "$DATA_DIR" || break
      sleep 0.1
    done
    is_our_server "$pid" "$DATA_DIR" && die "FerretDB (pid $pid) survived SIGKILL"
  fi
  # The server has exited. Its parent is normally init, which reaps it at once; some
  # container inits reap lazily, leaving a <defunct> entry for a second or so. Wait
  # (briefly) for it to vanish so `pgrep anola-ferretdb` right after `stop` is empty.
  for ((i = 0; i < 30; i++)); do
    [[ "$(awk '{print $2}' /proc/"$pid"/stat 2>/dev/null)" == "(anola-ferretdb)" ]] || break
    sleep 0.1
  done
  rm -f "$PID_FILE"
  info "FerretDB stopped (pid $pid)"
}

cmd_status() {
  parse_args data-dir port -- "$@" # --port accepted (and ignored) for symmetry with start
  local pid port
  if pid=$(running_pid); then
    port=$(server_port "$pid")
    if [[ -x $BIN ]] && do_ping "$port" 1s >/dev/null 2>&1; then
      echo "running (pid $pid, mongodb://127.0.0.1:$port/, data dir $DATA_DIR)"
    else
      echo "running but not answering ping (pid $pid, port $port, data dir $DATA_DIR)"
    fi
    return 0
  fi
  echo "stopped (data dir $DATA_DIR)"
  exit 3
}

cmd_ping() {
  parse_args port -- "$@"
  ensure_built
  do_ping "$PORT"
}

main() {
  (($#)) || {
    usage
    exit 2
  }
  local cmd=$1
  shift
  case $cmd in
    build) cmd_build "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    ping) cmd_ping "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage
      die "unknown command '$cmd'"
      ;;
  esac
}

main "$@"
