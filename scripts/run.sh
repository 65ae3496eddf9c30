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
if [ ! -f ui/dist/index.html ] || [ -n "$(find ui/src ui/index.html ui/package.json -newer ui/dist/index.html -print -quit)" ]; then
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
step "starting the sync server on 127.0.0.1:$sync_port (log in .data/sync-server.log)"
ANOLA_LISTEN="127.0.0.1:$sync_port" target/debug/anola-sync-server >"$data/sync-server.log" 2>&1 &
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
if [ ! -f "$data/demo-seeded" ]; then
  step "adding demo patients (through a demo device, synced to the server)"
  demo=(target/debug/anola --data-dir "$data/demo-device" --server "$server_url")
  "${demo[@]}" patient add --given Amina --family Okafor --dob 1988-04-12 --gender female --phone "+254 712 345 678" \
    --blood-type "O+" --fields-json '{"address": {"city": "Kisumu", "country": "Kenya"}, "allergies": [{"allergen": "Penicillin", "severity": "severe"}]}' >/dev/null
  "${demo[@]}" patient add --given Juma --family Otieno --dob 1975-01-02 --gender male --phone "0722 000 111" \
    --national-id "23456789" --fields-json '{"chronic_conditions": [{"condition": "Hypertension", "status": "managed"}]}' >/dev/null
  "${demo[@]}" patient add --given Wanjiru --family Kamau --dob 2001-09-30 --gender female --email wanjiru@example.org >/dev/null
  "${demo[@]}" patient add --given Baraka --family Mwangi --dob 2019-06-15 --gender male \
    --fields-json '{"emergency_contact": {"name": "Grace Mwangi", "relationship": "mother", "phone": "+254 701 222 333"}}' >/dev/null
  "${demo[@]}" patient add --given Halima --family Said --dob 1962-11-03 --gender female --health-card-id AH-2026-0042 \
    --blood-type "A-" >/dev/null
  "${demo[@]}" admin put-provider '{"id":"11111111-1111-4111-8111-111111111111","clinic_id":"main","title":"Dr.","given_name":"Achieng","family_name":"Odhiambo","specializations":["general practice"],"consultation_modes":["in_person","phone"],"services":[{"name":"Consultation","price_minor":150000,"currency":"KES"}],"weekly_availability":[{"day":"mon","start":"08:00","end":"17:00"},{"day":"wed","start":"08:00","end":"17:00"}],"active":true}' >/dev/null
  "${demo[@]}" admin put-provider '{"id":"22222222-2222-4222-8222-222222222222","clinic_id":"main","title":"CO","given_name":"Peter","family_name":"Mutua","specializations":["clinical officer"],"consultation_modes":["in_person","home_visit"],"active":true}' >/dev/null
  "${demo[@]}" sync >/dev/null
  today=$(date +%F)
  ids=$("${demo[@]}" --json patient list | python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin)))')
  set -- $ids
  "${demo[@]}" appointment book --patient "$1" --provider 11111111-1111-4111-8111-111111111111 --date "$today" --time 09:00 --reason "blood pressure review" >/dev/null
  "${demo[@]}" appointment book --patient "$2" --provider 11111111-1111-4111-8111-111111111111 --date "$today" --time 09:30 --type follow_up --reason "diabetes follow-up" >/dev/null
  "${demo[@]}" appointment book --patient "$3" --provider 22222222-2222-4222-8222-222222222222 --date "$today" --time 10:00 --mode home_visit --reason "postnatal visit" >/dev/null
  "${demo[@]}" record add --patient "$4" --author "Dr. Achieng Odhiambo" --notes "BP 150/95 on two readings. No chest pain." \
    --diagnosis "I10:Essential hypertension" --plan "Start amlodipine 5 mg daily; recheck in 2 weeks" >/dev/null
  "${demo[@]}" sync >/dev/null
  touch "$data/demo-seeded"
fi

echo
echo "sync server:  $server_url   (health: $server_url/health)"
echo "MongoDB:      $MONGODB_URI"
echo "CLI example:  target/debug/anola --data-dir .data/cli --server $server_url patient list"

if [ "${ANOLA_NO_APP:-}" = "1" ]; then
  echo "servers running; Ctrl+C stops them"
  wait "$server_pid"
  exit 0
fi

step "opening the clinic app (data in .data/clinic-app)"
export ANOLA_DATA_DIR="$data/clinic-app" ANOLA_SERVER_URL="$server_url"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "no display found: running the window under Xvfb (xvfb-run)"
  xvfb-run -a -s "-screen 0 1400x900x24" target/debug/anola-clinic
else
  target/debug/anola-clinic
fi
