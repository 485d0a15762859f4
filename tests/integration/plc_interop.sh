#!/usr/bin/env bash
# `atcr plc serve` against the reference did:plc stack: usage: plc_interop.sh ATCR_BINARY
#
# - @did-plc/lib's client creates a DID on atcr's PLC, updates it (handle, PDS, signing key),
#   reads it back and validates the served log with the reference validator; refused ops get a
#   400 with a message; a recovery fork and a tombstone behave as in the reference
#   (tests/peers/plc-lib-interop.mjs);
# - ops minted by atcr (`atcr plc create`) are accepted by the reference directory
#   (tests/peers/plc.cjs), which validates the signature and the DID derivation;
# - the reference PDS (@atproto/pds) creates an account whose did:plc lives in atcr's PLC,
#   changes its handle (an update op signed by the PDS's rotation key), and `atcr tool resolve`
#   resolves the DID and the handle through atcr's PLC;
# - with --data the log survives a restart; SIGTERM stops the server with exit code 0.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init plc_interop
need node python3 curl
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/tests/peers"
W=$E2E_WORK

start_plc() { # start_plc: atcr plc serve on $PLC_PORT with data in $W/plc-data; sets PLC_PID
  "$BIN" plc serve --addr "127.0.0.1:$PLC_PORT" --data "$W/plc-data" >>"$W/plc.log" 2>&1 &
  PLC_PID=$!
  on_exit "stop_pid $PLC_PID"
  wait_http "$PLC_URL/_health" "$PLC_PID" 20
}
stop_plc_cleanly() {
  local rc=0
  stop_pid "$PLC_PID" 10 || rc=$?
  ((rc == 0)) || fail "atcr plc serve exited with status $rc on SIGTERM (want 0)"
  pass "atcr plc serve stopped cleanly on SIGTERM"
}
http_code() { curl -s -o "$W/body" -w '%{http_code}' "$@"; }

expect_ok "tests/peers/bootstrap-npm" "$PEERS/bootstrap-npm"
E2E_LOGS+=("$W/plc.log")

# ---------------------------------------------------------------- atcr's PLC, in memory
PLC_PORT=$(free_port)
PLC_URL="http://127.0.0.1:$PLC_PORT"
"$BIN" plc serve --addr "127.0.0.1:$PLC_PORT" >>"$W/plc.log" 2>&1 &
MEM_PID=$!
on_exit "stop_pid $MEM_PID"
wait_http "$PLC_URL/_health" "$MEM_PID" 20
pass "atcr plc serve (in memory) at $PLC_URL"
out=$(node "$PEERS/plc-lib-interop.mjs" --plc "$PLC_URL") || fail "@did-plc/lib against atcr's PLC: $out"
pass "@did-plc/lib client flow against atcr's PLC: $out"
lib_did=$(json_query 'd["did"]' <<<"$out")
[ "$(http_code "$PLC_URL/$lib_did")" = 410 ] || fail "tombstoned DID answers 410"
pass "tombstoned $lib_did answers 410"
[ "$(http_code -X POST -H 'Content-Type: application/json' --data 'not json' "$PLC_URL/$lib_did")" = 400 ] ||
  fail "garbage POST answers 400"
expect_contains "garbage POST has a message" "$(cat "$W/body")" '"message"'
stop_pid "$MEM_PID" 10 || fail "in-memory atcr plc serve did not exit 0 on SIGTERM"
[ "$(http_code --max-time 2 "$PLC_URL/_health" || true)" = 000 ] || fail "the in-memory PLC is still answering"
pass "in-memory PLC stopped cleanly"

# ---------------------------------------------------------------- atcr's ops on the reference PLC
REF_PORT=$(free_port)
REF_URL="http://127.0.0.1:$REF_PORT"
PLC_PORT=$REF_PORT node "$PEERS/plc.cjs" </dev/null >"$W/ref-plc.log" 2>&1 &
REF_PID=$!
on_exit "stop_pid $REF_PID"
E2E_LOGS+=("$W/ref-plc.log")
wait_http "$REF_URL/_health" "$REF_PID" 30
for kt in k256 p256; do
  out=$("$BIN" plc create --plc "$REF_URL" --handle "atcr-$kt.test" --pds http://localhost:2583 \
    --rotation-key-type $kt) || fail "atcr plc create ($kt) against the reference PLC: $out"
  did=$(json_query 'd["did"]' <<<"$out")
  signing=$(json_query 'd["signingKey"]' <<<"$out")
  curl -sf "$REF_URL/$did/data" >"$W/ref-data.json" || fail "reference PLC serves the DID atcr minted ($kt)"
  expect_eq "reference PLC: handle of atcr's $kt op" '["at://atcr-'$kt'.test"]' \
    "$(json_query 'json.dumps(d["alsoKnownAs"], separators=(",", ":"))' <"$W/ref-data.json")"
  expect_eq "reference PLC: signing key of atcr's $kt op" "$signing" \
    "$(json_query 'd["verificationMethods"]["atproto"]' <"$W/ref-data.json")"
done
stop_pid "$REF_PID" 10 || true

# ---------------------------------------------------------------- reference PDS on atcr's PLC
PLC_PORT=$(free_port)
PLC_URL="http://127.0.0.1:$PLC_PORT"
start_plc
pass "atcr plc serve --data at $PLC_URL"
PDS_PORT=$(free_port)
while [ "$PDS_PORT" = "$PLC_PORT" ]; do PDS_PORT=$(free_port); done
state="$W/peers"
on_exit "PDS_STATE='$state' '$PEERS/stop-pds.sh'"
E2E_LOGS+=("$state/pds.log" "$W/start.err")
if ! EXTERNAL_PLC_URL=$PLC_URL PDS_PORT=$PDS_PORT PDS_STATE=$state "$PEERS/start-pds.sh" >"$W/peers.env" 2>"$W/start.err"; then
  fail "reference PDS :$PDS_PORT on atcr's PLC did not start"
fi
PDS_URL=$(awk -F= '$1 == "PDS_URL" { print $2 }' "$W/peers.env")
pass "reference PDS at $PDS_URL using atcr's PLC"
client() { node "$PEERS/pds-client.mjs" --pds "$PDS_URL" --plc "$PLC_URL" "$@"; }

handle=plcuser.test
client create-account --handle $handle --password plc-pw >"$W/session.json" || fail "createAccount on the reference PDS"
did=$(json_query 'd["did"]' <"$W/session.json")
signing_key=$(json_query 'd["signingKey"]' <"$W/session.json")
[[ $did == did:plc:* ]] || fail "account DID is a did:plc: $did"
pass "reference PDS created $did in atcr's PLC"
curl -sf "$PLC_URL/$did/log/audit" >"$W/audit.json" || fail "atcr's PLC has the audit log of $did"
expect_eq "one genesis op in atcr's PLC" 1 "$(json_query 'len(d)' <"$W/audit.json")"

resolve() { "$BIN" tool resolve "$@" --plc "$PLC_URL" --handle-override ".test=$PDS_URL" --no-dns --json; }
out=$(resolve "$did") || fail "atcr tool resolve $did through atcr's PLC"
expect_eq "resolve DID: handle verified both ways" "$handle" "$(json_query 'd["handle"]' <<<"$out")"
expect_eq "resolve DID: pds" "$PDS_URL" "$(json_query 'd["pds"]' <<<"$out")"
expect_eq "resolve DID: signing key" "$signing_key" "$(json_query 'd["signing_key"]' <<<"$out")"
out=$(resolve "$handle") || fail "atcr tool resolve $handle"
expect_eq "resolve handle: did" "$did" "$(json_query 'd["did"]' <<<"$out")"

# A handle change: the PDS signs an update op with its rotation key and posts it to atcr's PLC.
new_handle=plcuser2.test
echo "{\"handle\":\"$new_handle\"}" >"$W/handle.json"
client --session "$W/session.json" xrpc POST com.atproto.identity.updateHandle --body "@$W/handle.json" >/dev/null ||
  fail "updateHandle on the reference PDS"
curl -sf "$PLC_URL/$did/log" >"$W/log.json" || fail "GET /{did}/log"
expect_eq "two ops in the log after updateHandle" 2 "$(json_query 'len(d)' <"$W/log.json")"
out=$(resolve "$did") || fail "resolve after updateHandle"
expect_eq "resolve DID after updateHandle" "$new_handle" "$(json_query 'd["handle"]' <<<"$out")"

# ---------------------------------------------------------------- persistence
stop_plc_cleanly
start_plc
out=$(resolve "$did") || fail "resolve after restarting atcr's PLC on the same --data"
expect_eq "after restart: handle" "$new_handle" "$(json_query 'd["handle"]' <<<"$out")"
expect_eq "after restart: signing key" "$signing_key" "$(json_query 'd["signing_key"]' <<<"$out")"
curl -sf "$PLC_URL/$did/log/audit" >"$W/audit2.json" || fail "audit log after restart"
python3 -c 'import json, sys
log = json.load(open(sys.argv[1])); audit = json.load(open(sys.argv[2]))
sys.exit(0 if [e["operation"] for e in audit] == log and not any(e["nullified"] for e in audit) else 1)' \
  "$W/log.json" "$W/audit2.json" || fail "after restart the audit log holds exactly the ops of the log before"
pass "after restart: the audit log holds the same ops"
PDS_STATE="$state" "$PEERS/stop-pds.sh"
stop_plc_cleanly
