#!/usr/bin/env bash
# Runs the product on this machine: FerretDB (unless MONGODB_URI is set), the sync server, a few
# demo patients, and the clinic app window. Installs and builds what is missing first; a second run
# skips what is done. Ctrl+C (or closing the window) stops everything it started.
#
# Settings: MONGODB_URI (use this MongoDB instead of the local FerretDB), ANOLA_SYNC_PORT (8787),
# ANOLA_FERRETDB_PORT (27017), ANOLA_NO_APP=1 (servers only, e.g. for the CLI).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.tools/bin:$HOME/.cargo/bin:$PATH"

sync_port="${ANOLA_SYNC_PORT:-8787}"
ferret_port="${ANOLA_FERRETDB_PORT:-27017}"
data="$root/.data"
mkdir -p "$data"

step() { printf '==> %s\n' "$*"; }

step "set-up (Debian packages, tauri-driver, FerretDB, UI packages)"
scripts/bootstrap.sh

step "building the UI and the workspace"
if [ ! -f ui/dist/index.html ] || [ ! -f ui/dist-portal/index.html ] ||
  [ -n "$(find ui/src ui/portal ui/index.html ui/package.json -newer ui/dist-portal/index.html -print -quit)" ]; then
  (cd ui && npm run --silent build)
fi
cargo build --workspace --bins --locked

server_pid=""
started_ferret=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$started_ferret" ]; then
    started_ferret=""
    scripts/ferretdb.sh stop --data-dir "$data/ferretdb" >/dev/null || true
  fi
  server_pid=""
}
trap cleanup EXIT INT TERM

if [ -z "${MONGODB_URI:-}" ]; then
  step "starting FerretDB on 127.0.0.1:$ferret_port (data in .data/ferretdb)"
  if ! scripts/ferretdb.sh status --data-dir "$data/ferretdb" >/dev/null 2>&1; then
    started_ferret=1
  fi
  scripts/ferretdb.sh start --data-dir "$data/ferretdb" --port "$ferret_port"
  export MONGODB_URI="mongodb://127.0.0.1:$ferret_port/"
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$sync_port") 2>/dev/null; then
  echo "port $sync_port is already in use: stop what listens there or set ANOLA_SYNC_PORT" >&2
  exit 1
fi
# shellcheck source=demo-accounts.env
. scripts/demo-accounts.env
step "starting the sync server on 127.0.0.1:$sync_port (log in .data/sync-server.log)"
ANOLA_LISTEN="127.0.0.1:$sync_port" ANOLA_BOOTSTRAP_ADMIN="$ANOLA_DEMO_ADMIN" \
  ANOLA_BOOTSTRAP_ADMIN_PASSWORD="$ANOLA_DEMO_ADMIN_PASSWORD" ANOLA_BOOTSTRAP_ADMIN_TOTP_SECRET="$ANOLA_DEMO_ADMIN_TOTP_SECRET" \
  ANOLA_CARD_KEY_SECRET="$ANOLA_DEMO_CARD_KEY_SECRET" ANOLA_SEAL_EXISTING_CARD_KEYS=1 \
  ANOLA_SEALING_KEY_FILE="$data/sealing.key" ANOLA_PORTAL_DIR="$PWD/ui/dist-portal" \
  target/debug/anola-sync-server >"$data/sync-server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$sync_port/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the sync server exited; its log:" >&2
    tail -n 20 "$data/sync-server.log" >&2
    exit 1
  fi
  sleep 0.2
done

server_url="http://127.0.0.1:$sync_port"
if [ -f "$data/demo-seeded" ] && [ ! -f "$data/demo-seeded-accounts" ]; then
  echo "the demo data in .data predates accounts; delete .data and run again" >&2
  exit 1
fi
if [ ! -f "$data/demo-seeded-accounts" ]; then
  step "adding demo staff, devices and patients (through the admin and sync APIs)"
  scripts/demo-seed.sh "$server_url" "$data"
  touch "$data/demo-seeded-accounts"
fi

echo
echo "sync server:  $server_url   (health: $server_url/health)"
echo "web portal:   $server_url/portal/   (administrator below; patient $ANOLA_DEMO_PATIENT / $ANOLA_DEMO_PATIENT_PASSWORD; sponsor $ANOLA_DEMO_SPONSOR / $ANOLA_DEMO_SPONSOR_PASSWORD)"
echo "MongoDB:      $MONGODB_URI"
echo "sign in:      clinician / frontdesk / fieldworker / clinicadmin, password: $ANOLA_DEMO_STAFF_PASSWORD"
echo "admin:        $ANOLA_DEMO_ADMIN / $ANOLA_DEMO_ADMIN_PASSWORD, TOTP secret $ANOLA_DEMO_ADMIN_TOTP_SECRET"
echo "CLI example:  ANOLA_USERNAME=clinician ANOLA_PASSWORD='$ANOLA_DEMO_STAFF_PASSWORD' target/debug/anola --data-dir .data/demo-device --server $server_url patient list"

if [ "${ANOLA_NO_APP:-}" = "1" ]; then
  echo "servers running; Ctrl+C stops them"
  wait "$server_pid"
  exit 0
fi

step "opening the clinic app (data in .data/clinic-app)"
export ANOLA_DATA_DIR="$data/clinic-app" ANOLA_SERVER_URL="$server_url"
# A recorded camera showing a demo card (for machines without a camera): "Scan card" → Recorded frames.
if [ -d "$data/demo-camera" ] && [ -z "${ANOLA_CAMERA_FRAMES:-}" ]; then
  export ANOLA_CAMERA_FRAMES="$data/demo-camera"
  echo "demo cards:   $data/demo-cards/ (printable); the app's 'Recorded frames' camera shows the first one"
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "no display found: running the window under Xvfb (xvfb-run)"
  xvfb-run -a -s "-screen 0 1400x900x24" target/debug/anola-clinic
else
  target/debug/anola-clinic
fi
