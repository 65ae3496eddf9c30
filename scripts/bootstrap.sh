#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine for Anola Health development and tests.
#
# Usage: scripts/bootstrap.sh [--no-apt] [--only=STEP[,STEP...]]
#
# Steps (in order):
#   apt           Debian packages for Tauri (WebKitGTK), test display (Xvfb), WebDriver, builds
#   tauri-driver  cargo install tauri-driver into .tools/bin
#   ferretdb      build the embedded FerretDB server (scripts/ferretdb.sh build)
#   ui            npm ci in ui/ when node_modules is missing or older than package-lock.json
#
# --no-apt   skip the Debian packages step (machines without root/sudo)
# --only=... run only the listed steps (comma-separated)
#
# Every step is skipped quickly when already done; a second run takes a few seconds.
# Run as root, or as a user with sudo (only the apt step needs it).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
TOOLS_DIR="$ROOT/.tools"
LOG_DIR="$TOOLS_DIR/logs"

APT_PACKAGES=(
  libwebkit2gtk-4.1-dev
  librsvg2-dev
  libayatana-appindicator3-dev
  libxdo-dev
  libssl-dev
  libclang-dev
  nasm
  xvfb
  xauth
  webkit2gtk-driver
  pkg-config
  build-essential
  curl
  file
  # The reference QR decoder the scan benchmark compares against (zbarimg).
  zbar-tools
  # Text on printable cards rendered to PNG (resvg uses the system fonts).
  fonts-dejavu-core
  # The real browser the web portal's end-to-end tests drive (playwright-core, no download).
  chromium
)

# tauri-driver 2.1.0 is the newest 2.x release on crates.io (checked with `cargo info`;
# the only newer version is 3.0.0-alpha.1). It needs rustc 1.90+.
TAURI_DRIVER_VERSION=2.1.0

ALL_STEPS=(apt tauri-driver ferretdb ui)

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

ok() { printf '✓ %s\n' "$*"; }
note() { printf '  … %s\n' "$*"; }
fail() {
  printf '✗ %s\n' "$*" >&2
  exit 1
}

# Prints the last lines of log file $1 (indented) to stderr.
show_log() {
  [[ -f $1 ]] || return 0
  echo "  --- last lines of ${1#"$ROOT"/} ---" >&2
  tail -n 25 "$1" | sed 's/^/  | /' >&2
}

# Runs "$@" with output appended to log $1; on failure shows the log and fails with message $2.
run_logged() {
  local log=$1 msg=$2
  shift 2
  mkdir -p "$LOG_DIR"
  {
    echo "=== $(date -Is) $*"
  } >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    show_log "$log"
    fail "$msg (full log: ${log#"$ROOT"/})"
  fi
}

now() { date +%s; }

# ---------------------------------------------------------------------------------------

step_apt() {
  if ((NO_APT)); then
    ok "debian packages (skipped: --no-apt)"
    return
  fi
  command -v dpkg-query >/dev/null 2>&1 ||
    fail "debian packages: dpkg-query not found; this script targets Debian 12 (use --no-apt elsewhere)"

  local p status missing=()
  for p in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    ok "debian packages (already installed)"
    return
  fi

  local sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      fail "debian packages: need root to install ${missing[*]}; re-run as root, or use --no-apt and install them yourself"
    fi
  fi

  local log="$LOG_DIR/apt.log" t0
  t0=$(now)
  note "installing ${#missing[@]} debian package(s): ${missing[*]} (log: ${log#"$ROOT"/})"
  run_logged "$log" "debian packages: apt-get update failed" \
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  run_logged "$log" "debian packages: apt-get install failed for: ${missing[*]}" \
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  ok "debian packages (installed ${missing[*]} in $(($(now) - t0))s)"
}

find_cargo() {
  if command -v cargo >/dev/null 2>&1; then
    command -v cargo
  elif [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    echo "$HOME/.cargo/bin/cargo"
  else
    fail "tauri-driver: cargo not found: install Rust 1.90+ with rustup (https://rustup.rs)"
  fi
}

step_tauri_driver() {
  local bin="$TOOLS_DIR/bin/tauri-driver" crates="$TOOLS_DIR/.crates.toml"
  local reinstall=()
  if [[ -x $bin ]]; then
    # cargo records what it installed under --root in .crates.toml.
    if [[ -f $crates ]] && grep -q '^"tauri-driver ' "$crates" &&
      ! grep -q "^\"tauri-driver $TAURI_DRIVER_VERSION " "$crates"; then
      reinstall=(--force)
      note "tauri-driver: installed version is not $TAURI_DRIVER_VERSION; reinstalling"
    else
      ok "tauri-driver $TAURI_DRIVER_VERSION (already installed: ${bin#"$ROOT"/})"
      return
    fi
  fi

  local cargo log="$LOG_DIR/tauri-driver.log" target t0
  cargo=$(find_cargo)
  mkdir -p "$TOOLS_DIR" "$LOG_DIR"
  # Private, temporary target dir: never share (or wait for the lock of) the workspace's target/.
  target=$(mktemp -d "${TMPDIR:-/tmp}/anola-tauri-driver.XXXXXX")
  # shellcheck disable=SC2064 # expand $target now
  trap "rm -rf '$target'" EXIT
  t0=$(now)
  note "building tauri-driver $TAURI_DRIVER_VERSION with cargo (takes a few minutes; log: ${log#"$ROOT"/})"
  run_logged "$log" "tauri-driver: cargo install failed (needs network access to crates.io and rustc 1.90+)" \
    env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR "$cargo" install tauri-driver \
    --locked --version "$TAURI_DRIVER_VERSION" --root "$TOOLS_DIR" --target-dir "$target" "${reinstall[@]}"
  rm -rf "$target"
  trap - EXIT
  [[ -x $bin ]] || fail "tauri-driver: cargo install succeeded but $bin is missing"
  ok "tauri-driver $TAURI_DRIVER_VERSION (installed in $(($(now) - t0))s: ${bin#"$ROOT"/})"
}

step_ferretdb() {
  local fdb="$SCRIPT_DIR/ferretdb.sh" log="$LOG_DIR/ferretdb-build.log" t0
  [[ -x $fdb ]] || fail "ferretdb: $fdb is missing or not executable"
  if "$fdb" build --check; then
    ok "ferretdb (already built: .tools/bin/anola-ferretdb)"
    return
  fi
  t0=$(now)
  note "building FerretDB v1.24.2 (about a minute on a cold Go cache; log: ${log#"$ROOT"/})"
  run_logged "$log" "ferretdb: build failed (needs Go 1.24+ and the Go module proxy)" "$fdb" build
  ok "ferretdb (built in $(($(now) - t0))s: .tools/bin/anola-ferretdb)"
}

step_ui() {
  local ui="$ROOT/ui"
  if [[ ! -f $ui/package.json ]]; then
    ok "ui packages (skipped: no ui/package.json)"
    return
  fi
  [[ -f $ui/package-lock.json ]] ||
    fail "ui packages: ui/package-lock.json is missing (npm ci needs it: run 'npm install' in ui/ and commit the lock file)"
  local marker="$ui/node_modules/.package-lock.json"
  if [[ -f $marker && ! $marker -ot $ui/package-lock.json ]]; then
    ok "ui packages (up to date)"
    return
  fi
  command -v npm >/dev/null 2>&1 ||
    fail "ui packages: npm not found: install Node.js 20+ and npm (e.g. apt-get install nodejs npm)"
  local log="$LOG_DIR/npm-ci.log" t0
  t0=$(now)
  note "npm ci in ui/ (log: ${log#"$ROOT"/})"
  run_logged "$log" "ui packages: npm ci failed" npm --prefix "$ui" ci --no-audit --no-fund
  # npm ci rewrites node_modules/.package-lock.json; make sure the marker is newer than the lock.
  [[ -f $marker ]] && touch "$marker"
  ok "ui packages (installed in $(($(now) - t0))s)"
}

# ---------------------------------------------------------------------------------------

NO_APT=0
ONLY=""
while (($#)); do
  case $1 in
    --no-apt) NO_APT=1 ;;
    --only=*) ONLY=${1#--only=} ;;
    --only)
      [[ $# -ge 2 ]] || fail "--only needs a value (steps: ${ALL_STEPS[*]})"
      ONLY=$2
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      fail "unknown argument '$1'"
      ;;
  esac
  shift
done

STEPS=("${ALL_STEPS[@]}")
if [[ -n $ONLY ]]; then
  IFS=, read -r -a requested <<<"$ONLY"
  for s in "${requested[@]}"; do
    [[ " ${ALL_STEPS[*]} " == *" $s "* ]] || fail "unknown step '$s' in --only (steps: ${ALL_STEPS[*]})"
  done
  STEPS=()
  for s in "${ALL_STEPS[@]}"; do # keep the canonical order
    [[ ",$ONLY," == *",$s,"* ]] && STEPS+=("$s")
  done
fi

for s in "${STEPS[@]}"; do
  case $s in
    apt) step_apt ;;
    tauri-driver) step_tauri_driver ;;
    ferretdb) step_ferretdb ;;
    ui) step_ui ;;
  esac
done
