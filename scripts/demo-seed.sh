#!/usr/bin/env bash
# Demo accounts, devices and clinic data for scripts/run.sh, made through the public API the way a
# clinic administrator would: sign in as the platform administrator (TOTP), create staff, issue
# one-time enrolment codes, enrol a seeding device and the app's device, add patients, providers,
# appointments and a record. Usage: scripts/demo-seed.sh <server-url> <data-dir>
set -euo pipefail
server_url="$1"
data="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=demo-accounts.env
. "$root/scripts/demo-accounts.env"

totp() {
  python3 - "$1" <<'PY'
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

login_body=$(python3 -c 'import json,sys; print(json.dumps({"username": sys.argv[1], "password": sys.argv[2], "totp": sys.argv[3]}))' \
  "$ANOLA_DEMO_ADMIN" "$ANOLA_DEMO_ADMIN_PASSWORD" "$(totp "$ANOLA_DEMO_ADMIN_TOTP_SECRET")")
token=$(curl -fsS -H 'content-type: application/json' -d "$login_body" "$server_url/auth/login" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')
api() { curl -fsS -H 'content-type: application/json' -H "authorization: Bearer $token" "$@"; }

for spec in "clinician:Dr. Achieng Odhiambo:clinician:" "frontdesk:Mary Wekesa:front_desk:" \
  "fieldworker:Joseph Kiprop:field_worker:fw-1" "clinicadmin:Grace Njeri:clinic_admin:"; do
  IFS=: read -r user name role fw <<<"$spec"
  type=provider
  [ "$role" = clinic_admin ] && type="admin"
  body=$(python3 -c 'import json,sys; u,n,r,t,fw,pw=sys.argv[1:]; print(json.dumps({"username": u, "password": pw, "display_name": n, "user_type": t, "role": r, "clinic_id": "main", "field_worker_id": fw or None}))' \
    "$user" "$name" "$role" "$type" "$fw" "$ANOLA_DEMO_STAFF_PASSWORD")
  api -d "$body" "$server_url/admin/users" >/dev/null
done

code() { api -d "{\"role\": \"$1\"}" "$server_url/admin/clinics/main/enrolment-codes" | json_field code; }

export ANOLA_USERNAME=clinician ANOLA_PASSWORD="$ANOLA_DEMO_STAFF_PASSWORD"
demo=("$root/target/debug/anola" --data-dir "$data/demo-device" --server "$server_url")
"${demo[@]}" enrol --code "$(code clinician)" --name "Demo seeding device" >/dev/null
# The app's device: a clinic-admin ceiling, so every demo role can sign in on it (each sees only
# what their own role allows).
"$root/target/debug/anola" --data-dir "$data/clinic-app" --server "$server_url" \
  enrol --code "$(code clinic_admin)" --name "Front desk PC" >/dev/null

"${demo[@]}" patient add --given Amina --family Okafor --dob 1988-04-12 --gender female --phone "+254 712 345 678" \
  --blood-type "O+" --fields-json '{"address": {"city": "Kisumu", "country": "Kenya"}, "allergies": [{"allergen": "Penicillin", "severity": "severe"}], "field_worker_id": "fw-1"}' >/dev/null
"${demo[@]}" patient add --given Juma --family Otieno --dob 1975-01-02 --gender male --phone "0722 000 111" \
  --national-id "23456789" --fields-json '{"chronic_conditions": [{"condition": "Hypertension", "status": "managed"}]}' >/dev/null
"${demo[@]}" patient add --given Wanjiru --family Kamau --dob 2001-09-30 --gender female --email wanjiru@example.org >/dev/null
"${demo[@]}" patient add --given Baraka --family Mwangi --dob 2019-06-15 --gender male \
  --fields-json '{"emergency_contact": {"name": "Grace Mwangi", "relationship": "mother", "phone": "+254 701 222 333"}, "field_worker_id": "fw-1"}' >/dev/null
"${demo[@]}" patient add --given Halima --family Said --dob 1962-11-03 --gender female --health-card-id AH-2026-0042 \
  --blood-type "A-" >/dev/null
export ANOLA_ADMIN_TOKEN="$token"
"${demo[@]}" admin put-provider '{"id":"11111111-1111-4111-8111-111111111111","clinic_id":"main","title":"Dr.","given_name":"Achieng","family_name":"Odhiambo","specializations":["general practice"],"consultation_modes":["in_person","phone"],"services":[{"name":"Consultation","price_minor":150000,"currency":"KES"}],"weekly_availability":[{"day":"mon","start":"08:00","end":"17:00"},{"day":"wed","start":"08:00","end":"17:00"}],"active":true}' >/dev/null
"${demo[@]}" admin put-provider '{"id":"22222222-2222-4222-8222-222222222222","clinic_id":"main","title":"CO","given_name":"Peter","family_name":"Mutua","specializations":["clinical officer"],"consultation_modes":["in_person","home_visit"],"active":true}' >/dev/null
"${demo[@]}" sync >/dev/null
today=$(date +%F)
ids=$("${demo[@]}" --json patient list | python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin)))')
set -- $ids
"${demo[@]}" appointment book --patient "$1" --provider 11111111-1111-4111-8111-111111111111 --date "$today" --time 09:00 --reason "blood pressure review" >/dev/null
"${demo[@]}" appointment book --patient "$2" --provider 11111111-1111-4111-8111-111111111111 --date "$today" --time 09:30 --type follow_up --reason "diabetes follow-up" >/dev/null
"${demo[@]}" appointment book --patient "$3" --provider 22222222-2222-4222-8222-222222222222 --date "$today" --time 10:00 --mode home_visit --reason "postnatal visit" >/dev/null
"${demo[@]}" record add --patient "$4" --notes "BP 150/95 on two readings. No chest pain." \
  --diagnosis "I10:Essential hypertension" --plan "Start amlodipine 5 mg daily; recheck in 2 weeks" >/dev/null
"${demo[@]}" sync >/dev/null

# Health cards for the first three patients, printable (SVG and 300-dpi PNG) in .data/demo-cards/.
# The first card is also the one "frame" of the demo's recorded camera (run.sh), so "Scan card"
# works on a machine without a camera.
mkdir -p "$data/demo-cards" "$data/demo-camera"
"${demo[@]}" --json patient list | python3 -c '
import json, sys
for p in json.load(sys.stdin)[:3]:
    print(p["id"], (p["given_name"] + "-" + p["family_name"]).lower())' |
  while read -r id name; do
    "${demo[@]}" card issue --patient "$id" --svg "$data/demo-cards/$name.svg" --png "$data/demo-cards/$name.png" >/dev/null
  done
# Money: a price list, a 1.5 % platform fee, wallets with money (a sponsored one for the first
# patient, personal ones with a PIN of 1234 for the first three), taken by the front desk.
for item in 'CONS-GP:GP consultation:consultation:150000' 'CONS-CO:Clinical officer consultation:consultation:80000' \
  'LAB-MAL:Malaria rapid test:lab_test:30000' 'LAB-FBC:Full blood count:lab_test:60000' 'MED-AMLO:Amlodipine 5 mg x30:medicine:45000'; do
  IFS=: read -r icode iname ikind iprice <<<"$item"
  body=$(python3 -c 'import json,sys; c,n,k,p=sys.argv[1:]; print(json.dumps({"code": c, "name": n, "kind": k, "price": int(p), "currency": "KES", "active": True}))' \
    "$icode" "$iname" "$ikind" "$iprice")
  api -X PUT -d "$body" "$server_url/money/prices/$icode" >/dev/null
done
api -X PUT -d '{"bps": 150}' "$server_url/money/fee-rate" >/dev/null
fd=(env ANOLA_USERNAME=frontdesk "${demo[@]}")
n=0
for id in $ids; do
  n=$((n + 1))
  [ "$n" -gt 3 ] && break
  "${fd[@]}" wallet open --patient "$id" >/dev/null
  "${fd[@]}" wallet pin --patient "$id" --pin 1234 >/dev/null
  "${fd[@]}" wallet deposit --patient "$id" --amount "$((n * 1000)).00" >/dev/null
done
# A sponsor (docs/sponsorship.md): the demo sponsor's own account for the portal, a profile, a
# bank transfer of 50,000.00 recorded by the platform, and a sponsorship of the first patient:
# consultations and lab tests, at most 500.00 a charge, pre-approval above 1,000.00.
sponsor_body=$(python3 -c 'import json,sys; print(json.dumps({"username": sys.argv[1], "password": sys.argv[2], "display_name": "Hope Foundation", "user_type": "sponsor"}))' \
  "$ANOLA_DEMO_SPONSOR" "$ANOLA_DEMO_SPONSOR_PASSWORD")
sponsor_id=$(api -d "$sponsor_body" "$server_url/admin/users" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -X PUT -d "{\"id\": \"$sponsor_id\", \"name\": \"Hope Foundation\", \"kind\": \"foundation\", \"country\": \"KE\", \"currency\": \"KES\"}" \
  "$server_url/portal/api/sponsors/$sponsor_id" >/dev/null
api -d "{\"id\": \"$(python3 -c 'import uuid; print(uuid.uuid4())')\", \"amount\": 5000000, \"reference\": \"DEMO-BANK-1\"}" \
  "$server_url/admin/sponsors/$sponsor_id/deposits" >/dev/null
"${demo[@]}" sync >/dev/null
first_patient=$(echo "$ids" | awk '{print $1}')
sponsorship=$(python3 -c '
import json, sys, time, uuid
now = int(time.time() * 1000)
print(json.dumps({"id": str(uuid.uuid4()), "patient": sys.argv[1], "programme": "Chronic care 2027", "country": "KE",
  "kind": "chronic_care", "allocation": 1000000, "starts_at": now - 60000, "ends_at": now + 180 * 86400000,
  "recurrence": "one_time", "coverage": {"services": ["consultation", "lab_test"]},
  "caps": {"per_transaction": 50000, "pre_approval_above": 100000}, "activate": True}))' "$first_patient")
api -d "$sponsorship" "$server_url/portal/api/sponsors/$sponsor_id/sponsorships" >/dev/null
"${fd[@]}" wallet prices --refresh >/dev/null
# Amina's own account for the web portal (her card, appointments, wallet, consents): her record
# must be on the server first.
"${demo[@]}" sync >/dev/null
amina=$("${demo[@]}" --json patient list Amina | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
api -d "{\"username\": \"$ANOLA_DEMO_PATIENT\", \"password\": \"$ANOLA_DEMO_PATIENT_PASSWORD\"}" \
  "$server_url/portal/api/patients/$amina/account" >/dev/null

first=$(ls "$data/demo-cards/"*.png | head -n 1)
cp "$first" "$data/demo-camera/frame-000.png"
"${demo[@]}" sync >/dev/null
