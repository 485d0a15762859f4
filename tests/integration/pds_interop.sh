#!/usr/bin/env bash
# atcr's PDS and dev PLC against the reference client libraries: usage: pds_interop.sh ATCR_BINARY
#
# Starts `atcr plc serve` and `atcr pds serve` (both on SQLite under the work dir) on free
# loopback ports, then:
# - @atproto/api (tests/peers/pds-api-interop.mjs): createAccount (did:plc registered in atcr's
#   PLC), login, app password login, record writes with swaps, applyWrites, paged listRecords,
#   deletes, uploadBlob, refresh/delete session, getServiceAuth verified with @atproto/crypto;
# - a live firehose consumer (tests/peers/firehose-verify.mjs) receives every commit of a burst
#   of writes in order, verifying each #commit CAR slice against the previous root with
#   @atproto/repo; a second one replays the whole history from cursor 0 with a disconnect and a
#   reconnect (cursor = last seq) in the middle, with 3 consumers that must agree;
# - sync.getRepo's CAR passes the reference verifier (tests/peers/car-verify.mjs, key from PLC);
# - a burst of writes (tests/peers/pds-burst.mjs) is cut by kill -9 of the PDS; after a
#   restart every acknowledged record is there with its CID, the repo CAR verifies, and the
#   firehose replays and verifies from cursor 0;
# - the PLC keeps its DIDs across a restart (--data), and a future cursor gets FutureCursor.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init pds_interop
need node python3 curl
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/tests/peers"
W=$E2E_WORK

expect_ok "tests/peers/bootstrap-npm" "$PEERS/bootstrap-npm"

PLC_PORT=$(free_port)
PDS_PORT=$(free_port)
while [ "$PDS_PORT" = "$PLC_PORT" ]; do PDS_PORT=$(free_port); done
PLC_URL="http://127.0.0.1:$PLC_PORT"
PDS_URL="http://127.0.0.1:$PDS_PORT"
E2E_LOGS+=("$W/plc.log" "$W/pds.log")

start_plc() {
  "$BIN" plc serve --addr "127.0.0.1:$PLC_PORT" --data "$W/plc" >>"$W/plc.log" 2>&1 &
  PLC_PID=$!
  wait_http "$PLC_URL/_health" "$PLC_PID" 30
}
start_pds() {
  "$BIN" pds serve --addr "127.0.0.1:$PDS_PORT" --data "$W/pds" --plc "$PLC_URL" \
    --handle-domain .test >>"$W/pds.log" 2>&1 &
  PDS_PID=$!
  wait_http "$PDS_URL/xrpc/_health" "$PDS_PID" 30
}
start_plc
on_exit 'stop_pid $PLC_PID'
start_pds
on_exit 'stop_pid $PDS_PID'
pass "atcr plc serve and atcr pds serve are up"

# ------------------------------------------------------------------ @atproto/api
out=$(node "$PEERS/pds-api-interop.mjs" --pds "$PDS_URL" --plc "$PLC_URL") || fail "@atproto/api flow: $out"
pass "@atproto/api flow: $(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["checks"]), "checks")' "$out")"

client() { node "$PEERS/pds-client.mjs" --pds "$PDS_URL" --plc "$PLC_URL" "$@"; }
client create-account --handle bob.test --password bob-password-1 >"$W/bob.json" || fail "create bob"
BOB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["did"])' "$W/bob.json")

# ------------------------------------------------------------------ live firehose
# The burst makes 45 commits (80 records: putRecord, and applyWrites of 5 every fifth call).
node "$PEERS/firehose-verify.mjs" --pds "$PDS_URL" --plc "$PLC_URL" --count 45 --timeout 30 \
  --ready-file "$W/live.ready" >"$W/live.json" &
LIVE=$!
for _ in $(seq 1 300); do [ -f "$W/live.ready" ] && break; sleep 0.1; done
[ -f "$W/live.ready" ] || fail "live firehose consumer did not connect"
out=$(node "$PEERS/pds-burst.mjs" --pds "$PDS_URL" --session "$W/bob.json" --acks "$W/acks-live.txt" --count 80 --prefix live) \
  || fail "burst writer"
expect_eq "burst commits" '{"acked":81,"commits":45}' "$out"
wait "$LIVE" || fail "live firehose consumer: $(cat "$W/live.json")"
pass "live firehose: $(cat "$W/live.json")"

# ------------------------------------------------------------------ replay with reconnect, fan-out
out=$(node "$PEERS/firehose-verify.mjs" --pds "$PDS_URL" --plc "$PLC_URL" --cursor 0 --count 0 --timeout 3 \
  --disconnect-after 25 --consumers 3) || fail "firehose replay: $out"
pass "firehose replay from cursor 0 with a reconnect, 3 consumers: $out"

code=$(curl -s -o "$W/future.json" -w '%{http_code}' "$PDS_URL/xrpc/com.atproto.sync.getLatestCommit?did=$BOB")
expect_eq "getLatestCommit status" 200 "$code"
out=$(node "$PEERS/pds-client.mjs" --pds "$PDS_URL" subscribe --cursor 999999999 --count 1 --timeout 5 2>&1 || true)
expect_contains "future cursor" "$out" "FutureCursor"

# ------------------------------------------------------------------ getRepo CAR
client get-repo --did "$BOB" --out "$W/bob.car" >/dev/null || fail "getRepo"
node "$PEERS/car-verify.mjs" "$W/bob.car" --plc "$PLC_URL" --did "$BOB" --strict --quiet \
  || fail "reference verifier rejected atcr's getRepo CAR"
pass "getRepo CAR verified by @atproto/repo"

# ------------------------------------------------------------------ kill -9 mid-burst
node "$PEERS/pds-burst.mjs" --pds "$PDS_URL" --session "$W/bob.json" --acks "$W/acks-crash.txt" --count 100000 \
  --prefix crash >"$W/burst.json" 2>"$W/burst.err" &
BURST=$!
for _ in $(seq 1 100); do
  [ -f "$W/acks-crash.txt" ] && [ "$(wc -l <"$W/acks-crash.txt")" -ge 150 ] && break
  sleep 0.1
done
kill -KILL "$PDS_PID"
wait "$PDS_PID" 2>/dev/null || true
wait "$BURST" || true
acked=$(wc -l <"$W/acks-crash.txt")
((acked >= 150)) || fail "only $acked writes acknowledged before the kill"
start_pds
out=$(node "$PEERS/pds-burst.mjs" --check --pds "$PDS_URL" --session "$W/bob.json" --acks "$W/acks-crash.txt") \
  || fail "acknowledged records lost after kill -9: $out"
pass "kill -9 after $acked acknowledged writes: $out"
client get-repo --did "$BOB" --out "$W/bob2.car" >/dev/null || fail "getRepo after restart"
node "$PEERS/car-verify.mjs" "$W/bob2.car" --plc "$PLC_URL" --did "$BOB" --strict --quiet \
  || fail "repo CAR after kill -9 does not verify"
out=$(node "$PEERS/firehose-verify.mjs" --pds "$PDS_URL" --plc "$PLC_URL" --cursor 0 --count 0 --timeout 3) \
  || fail "firehose replay after kill -9: $out"
pass "repo and firehose verify after the restart: $out"
# The PDS keeps working after the crash (the session from before it is still valid).
client --session "$W/bob.json" put-record --collection io.atcr.tag --rkey after-crash \
  --record '{"$type":"io.atcr.tag","repository":"x","tag":"y","manifestDigest":"sha256:'"$(printf 'f%.0s' {1..64})"'","createdAt":"2026-01-01T00:00:00Z"}' >/dev/null \
  || fail "write after restart"

# ------------------------------------------------------------------ PLC persistence
stop_pid "$PLC_PID"
start_plc
code=$(curl -s -o "$W/doc.json" -w '%{http_code}' "$PLC_URL/$BOB")
expect_eq "PLC serves bob's DID document after a restart" 200 "$code"
expect_contains "DID document names the PDS" "$(cat "$W/doc.json")" "$PDS_URL"
