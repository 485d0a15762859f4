#!/usr/bin/env bash
# The whole stack as separate real processes (issue 6 §2): usage: stack_test.sh ATCR_BINARY
#
# Phase 1, the reference PDS as the users' PDS: the reference PLC + PDS (tests/peers/start-pds.sh)
# with accounts captain.test (owns the hold), alice.test and bob.test (app passwords);
# `atcr hold serve` (filesystem, public, allowAllCrew, default tier "small" = 3 MiB) and
# `atcr appview serve` (ATCR_APPVIEW_* env; identities through that PLC/PDS). Then:
# - skopeo pushes a 3-layer image and a 2-platform index as alice (app password) and pulls them
#   back, as alice and anonymously, with identical manifest digests and blob sets;
# - the io.atcr.manifest / io.atcr.tag records are read back through the reference PDS's own
#   XRPC (listRecords, getRecord, sync.getBlob) and validated with @atproto/lexicon against
#   lexicons/: holdDid = the hold, manifestBlob = the exact manifest bytes, platforms in the
#   index record; the tag's rkey is deterministic (a retag overwrites the same record);
# - the hold took the reference PDS's service tokens: alice is crew (by request), her layers are
#   io.atcr.hold.layer records (validated too), getQuota counts them against the small tier;
# - refusals: alice pushing into bob.test/..., a wrong password, a push past the hold quota (the
#   hold refuses it at notifyManifest) and a blob upload by a user already over quota (refused at
#   initiateUpload; the owner lowers her tier through the admin API): skopeo's error must say
#   "quota" (the AppView answers DENIED with the hold's reason);
# - the hold, then the AppView, is stopped (SIGTERM, exit 0) and restarted while idle: the
#   images still pull with the same digests, the quota is unchanged, alice can still push.
# Phase 2, atcr's own PLC and PDS (the reference PDS cannot restart with its state): `atcr plc
# serve`, `atcr pds serve`, a hold and an AppView (no manifest cache, no identity cache, so every
# pull goes to the PLC and the PDS); carol.test pushes an image; the PLC, then the PDS, is
# restarted while idle: the DID document and the records are unchanged, the image pulls with the
# same digest, and carol can still push (her stored PDS session and service tokens still work).
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init stack
need node python3 curl skopeo
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/tests/peers"
LEXICONS="$ROOT/lexicons"
W=$E2E_WORK
SK=(skopeo --insecure-policy)
T0=$(date +%s)

sha_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1 | sed 's/^/sha256:/'; }
# other_port EXCLUDED...: a free port not in the list.
other_port() {
  local p
  while :; do
    p=$(free_port)
    [[ " $* " == *" $p "* ]] || { echo "$p"; return; }
  done
}
# start_bg NAME LOG CMD...: starts a daemon, sets ${NAME}_PID, stops it on exit.
start_bg() {
  local name=$1 logf=$2
  shift 2
  E2E_LOGS+=("$logf")
  "$@" >>"$logf" 2>&1 &
  printf -v "${name}_PID" '%s' "$!"
  on_exit "stop_pid \$${name}_PID 15"
}
# stop_clean WHAT PID: SIGTERM; the process must exit with status 0.
stop_clean() {
  local rc=0
  stop_pid "$2" 15 || rc=$?
  ((rc == 0)) || fail "$1 (pid $2) exited with status $rc on SIGTERM"
  pass "$1 stopped cleanly on SIGTERM"
}
# raw_digest REF [USER:PASS]: the digest of the manifest REF serves.
raw_digest() {
  local raw creds=()
  [ -n "${2:-}" ] && creds=(--creds "$2")
  raw=$("${SK[@]}" inspect --raw --tls-verify=false "${creds[@]}" "docker://$1") || return 1
  sha_of "$raw"
}
# pull_check WHAT REF WANT_DIGEST SRC_LAYOUT SRC_TAG [USER:PASS]: REF pulls (all platforms;
# anonymously without credentials) with manifest digest WANT_DIGEST and the blob set of
# SRC_LAYOUT:SRC_TAG.
pull_check() {
  local what=$1 ref=$2 want=$3 src=$4 tag=$5 creds=() out
  [ -n "${6:-}" ] && creds=(--src-creds "$6")
  out=$(mktemp -d "$W/pull.XXXX")
  expect_ok "$what: pull" "${SK[@]}" copy --all --src-tls-verify=false "${creds[@]}" "docker://$ref" "oci:$out:x"
  expect_eq "$what: manifest digest" "$want" "$(raw_digest "$ref" "${6:-}")"
  expect_eq "$what: blob set" "$(layout_reachable "$src" "$tag")" "$(layout_blobs "$out")"
  rm -rf "$out"
}
push() { # push WHAT USER:PASS SRC_LAYOUT:TAG REF
  expect_ok "$1" "${SK[@]}" copy --all --dest-tls-verify=false --dest-creds "$2" "oci:$3" "docker://$4"
}

# ================================================================ phase 1: the reference PDS
start_reference_peers

# new_account PDS_URL HANDLE: createAccount + createAppPassword with curl (no node start-up per
# call); sets ACC_DID and ACC_APP.
new_account() {
  local pds=$1 handle=$2 out
  out=$(curl -sf -X POST -H 'Content-Type: application/json' \
    --data "{\"handle\":\"$handle\",\"password\":\"pw-$handle-1\",\"email\":\"${handle%%.*}@example.com\"}" \
    "$pds/xrpc/com.atproto.server.createAccount") || fail "createAccount $handle on $pds"
  ACC_DID=$(json_query 'd["did"]' <<<"$out")
  ACC_APP=$(curl -sf -X POST -H 'Content-Type: application/json' --data '{"name":"e2e"}' \
    -H "Authorization: Bearer $(json_query 'd["accessJwt"]' <<<"$out")" \
    "$pds/xrpc/com.atproto.server.createAppPassword" | json_query 'd["password"]') \
    || fail "createAppPassword for $handle on $pds"
}
declare -A DID APP
for who in captain alice bob; do
  new_account "$PDS_URL" "$who.test"
  DID[$who]=$ACC_DID
  APP[$who]=$ACC_APP
done
ALICE=${DID[alice]}
pass "accounts on the reference PDS: captain.test ${DID[captain]}, alice.test $ALICE, bob.test ${DID[bob]}"

# ---------------------------------------------------------------- the hold
HOLD_PORT=$(other_port "$PLC_PORT" "$PDS_PORT")
HOLD_URL="http://127.0.0.1:$HOLD_PORT"
HOLD_DID="did:web:127.0.0.1%3A$HOLD_PORT"
HOLD_DID_Q="did:web:127.0.0.1%253A$HOLD_PORT"  # as a query value
QUOTA=$((3 * 1024 * 1024))
ADMIN_TOKEN=stack-e2e-admin-token-0123456789
cat >"$W/hold.yaml" <<EOF
server:
  addr: "127.0.0.1:$HOLD_PORT"
  public_url: "$HOLD_URL"
  public: true
  data_dir: "$W/hold"
  plc_directory_url: "$PLC_URL"
storage:
  driver: filesystem
registration:
  owner_did: "${DID[captain]}"
  allow_all_crew: true
quota:
  tiers:
    - name: small
      quota: 3MiB
    - name: tiny
      quota: 100KB
  defaults:
    new_crew_tier: small
admin:
  enabled: true
  token: "$ADMIN_TOKEN"
EOF
start_hold() {
  start_bg HOLD "$W/hold.log" "$BIN" hold serve --config "$W/hold.yaml"
  wait_http "$HOLD_URL/xrpc/_health" "$HOLD_PID" 30
}
start_hold
pass "hold $HOLD_DID (owner captain.test, public, allowAllCrew, default tier small = 3 MiB)"

# ---------------------------------------------------------------- the AppView
AV_PORT=$(other_port "$PLC_PORT" "$PDS_PORT" "$HOLD_PORT")
REG="127.0.0.1:$AV_PORT"
start_appview() {
  start_bg AV "$W/appview.log" env \
    ATCR_APPVIEW_ADDR="$REG" \
    ATCR_APPVIEW_DATA="$W/appview" \
    ATCR_APPVIEW_HOLD_DEFAULT_DID="$HOLD_DID" \
    ATCR_APPVIEW_IDENTITY_PLC_URL="$PLC_URL" \
    ATCR_APPVIEW_IDENTITY_USE_DNS=false \
    ATCR_APPVIEW_IDENTITY_HANDLE_OVERRIDES=".test=$PDS_URL" \
    "$BIN" appview serve
  wait_http "http://$REG/healthz" "$AV_PID" 30
}
start_appview
expect_eq "GET /v2/ without a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/")"
pass "AppView on $REG (the hold found through its did:web document)"

# ---------------------------------------------------------------- push and pull as alice
ALICE_CREDS="alice.test:${APP[alice]}"
gen=$(python3 "$E2E_OCIGEN" "$W/img" --tag v1 --layers 3 --random-bytes 524288)
IMG=$(json_query 'd["digest"]' <<<"$gen")
push "skopeo pushes a 3-layer image as alice (app password)" "$ALICE_CREDS" "$W/img:v1" "$REG/alice.test/hello:v1"
gen=$(python3 "$E2E_OCIGEN" "$W/multi" --tag multi --name multi --platforms linux/amd64,linux/arm64/v8)
MULTI=$(json_query 'd["digest"]' <<<"$gen")
push "skopeo pushes a 2-platform index" "$ALICE_CREDS" "$W/multi:multi" "$REG/alice.test/tools/multi:multi"
pull_check "image as alice" "$REG/alice.test/hello:v1" "$IMG" "$W/img" v1 "$ALICE_CREDS"
pull_check "image anonymously (public hold)" "$REG/alice.test/hello:v1" "$IMG" "$W/img" v1
pull_check "index anonymously" "$REG/alice.test/tools/multi:multi" "$MULTI" "$W/multi" multi
pull_check "image by digest" "$REG/alice.test/hello@$IMG" "$IMG" "$W/img" v1

# ---------------------------------------------------------------- records on the reference PDS
# list COLLECTION: every record of alice's in COLLECTION, through the reference PDS's XRPC.
list() {
  curl -sf "$PDS_URL/xrpc/com.atproto.repo.listRecords?repo=$ALICE&collection=$1&limit=100" \
    || fail "listRecords $1 on the reference PDS"
}
validate() { # validate WHAT JSON_WITH_records: @atproto/lexicon against lexicons/
  local out
  out=$(json_query 'json.dumps(d["records"])' <<<"$2" | node "$PEERS/lexicon-validate.mjs" "$LEXICONS") \
    || fail "$1 do not validate against lexicons/: $out"
  pass "$1 validate against lexicons/ (@atproto/lexicon): $(grep -c '^ok' <<<"$out") records"
}
manifests=$(list io.atcr.manifest)
tags=$(list io.atcr.tag)
validate "io.atcr.manifest records" "$manifests"
validate "io.atcr.tag records" "$tags"
profile=$(curl -sf "$PDS_URL/xrpc/com.atproto.repo.getRecord?repo=$ALICE&collection=io.atcr.sailor.profile&rkey=self") \
  || fail "alice has no io.atcr.sailor.profile/self"
validate "io.atcr.sailor.profile" "{\"records\":[$profile]}"
expect_eq "profile defaultHold" "$HOLD_DID" "$(json_query 'd["value"]["defaultHold"]' <<<"$profile")"

# The fields, and manifestBlob = the exact bytes (fetched from the reference PDS's blob store).
python3 - "$W" "$PDS_URL" "$ALICE" "$HOLD_DID" "$IMG" "$MULTI" <<'PY' >"$W/records.out" 2>&1 || fail "manifest/tag records: $(cat "$W/records.out")"
import hashlib, json, sys, urllib.request
w, pds, did, hold, img, multi = sys.argv[1:]
def get(path):
    with urllib.request.urlopen(pds + path) as r:
        return r.read()
def records(coll):
    return json.loads(get(f"/xrpc/com.atproto.repo.listRecords?repo={did}&collection={coll}&limit=100"))["records"]
ms = {(r["value"]["repository"], r["value"]["digest"]): r for r in records("io.atcr.manifest")}
for repo, digest, kind in (("hello", img, "image"), ("tools/multi", multi, "index")):
    r = ms.get((repo, digest))
    assert r, f"no io.atcr.manifest record for {repo}@{digest}: {list(ms)}"
    v = r["value"]
    assert v["holdDid"] == hold, ("holdDid", v["holdDid"], hold)
    assert v["schemaVersion"] == 2 and v["createdAt"], v
    blob = v["manifestBlob"]
    assert blob["$type"] == "blob" and blob["ref"]["$link"] and blob["size"] > 0, blob
    raw = get(f"/xrpc/com.atproto.sync.getBlob?did={did}&cid={blob['ref']['$link']}")
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest, "manifestBlob is not the manifest's bytes"
    assert len(raw) == blob["size"], (len(raw), blob["size"])
    m = json.loads(raw)
    assert v["mediaType"] == m["mediaType"], (v["mediaType"], m.get("mediaType"))
    if kind == "image":
        assert v["config"]["digest"] == m["config"]["digest"], "config"
        assert [l["digest"] for l in v["layers"]] == [l["digest"] for l in m["layers"]], "layers"
        assert len(v["layers"]) == 3, v["layers"]
    else:
        got = [(x["digest"], x["platform"]["os"], x["platform"]["architecture"], x["platform"].get("variant"))
               for x in v["manifests"]]
        want = [(x["digest"], x["platform"]["os"], x["platform"]["architecture"], x["platform"].get("variant"))
                for x in m["manifests"]]
        assert got == want and len(got) == 2, (got, want)
ts = [r for r in records("io.atcr.tag") if (r["value"]["repository"], r["value"]["tag"]) == ("hello", "v1")]
assert len(ts) == 1, ts
t = ts[0]
target = ms[("hello", img)]
assert t["value"]["manifest"] == target["uri"], (t["value"]["manifest"], target["uri"])
print(t["uri"].rsplit("/", 1)[1])
PY
TAG_RKEY=$(tail -n 1 "$W/records.out")
pass "records: holdDid = $HOLD_DID, manifestBlob = the exact bytes, config/layers/platforms, tag hello:v1 ($TAG_RKEY) -> the manifest's AT-URI"

# Retag: hello:v1 moves to another image, then back; the tag record keeps its key.
gen=$(python3 "$E2E_OCIGEN" "$W/img2" --tag v1 --name second --layers 1)
IMG2=$(json_query 'd["digest"]' <<<"$gen")
push "retag hello:v1 to another image" "$ALICE_CREDS" "$W/img2:v1" "$REG/alice.test/hello:v1"
tag_record() { # tag_record RKEY: prints "<count of hello:v1 records> <manifest URI of RKEY>"
  local t n
  t=$(list io.atcr.tag)
  n=$(json_query 'sum(1 for r in d["records"] if (r["value"]["repository"], r["value"]["tag"]) == ("hello", "v1"))' <<<"$t")
  echo "$n $(curl -sf "$PDS_URL/xrpc/com.atproto.repo.getRecord?repo=$ALICE&collection=io.atcr.tag&rkey=$1" | json_query 'd["value"]["manifest"]')"
}
manifest_uri() { # manifest_uri REPO DIGEST
  list io.atcr.manifest | json_query "[r['uri'] for r in d['records'] if (r['value']['repository'], r['value']['digest']) == ('$1', '$2')][0]"
}
expect_eq "retag overwrote the same tag record" "1 $(manifest_uri hello "$IMG2")" "$(tag_record "$TAG_RKEY")"
expect_eq "hello:v1 now serves the other image" "$IMG2" "$(raw_digest "$REG/alice.test/hello:v1")"
push "retag hello:v1 back" "$ALICE_CREDS" "$W/img:v1" "$REG/alice.test/hello:v1"
expect_eq "retag back: still one record under the same key" "1 $(manifest_uri hello "$IMG")" "$(tag_record "$TAG_RKEY")"
expect_eq "hello:v1 serves the first image again" "$IMG" "$(raw_digest "$REG/alice.test/hello:v1")"

# ---------------------------------------------------------------- the hold's side
crew=$(curl -sf "$HOLD_URL/xrpc/com.atproto.repo.listRecords?repo=$HOLD_DID_Q&collection=io.atcr.hold.crew&limit=100") \
  || fail "listRecords io.atcr.hold.crew on the hold"
expect_eq "alice joined the hold's crew (allowAllCrew), tier small" "small blob:write" \
  "$(json_query "' '.join([(r['value'].get('tier') or '') + ' ' + ('blob:write' if 'blob:write' in r['value']['permissions'] else '') for r in d['records'] if r['value']['member'] == '$ALICE'])" <<<"$crew")"
layers=$(curl -sf "$HOLD_URL/xrpc/com.atproto.repo.listRecords?repo=$HOLD_DID_Q&collection=io.atcr.hold.layer&limit=100") \
  || fail "listRecords io.atcr.hold.layer on the hold"
validate "the hold's io.atcr.hold.layer records" "$layers"
want_layers=$(python3 "$E2E_LAYOUT" blobs "$W/img" v1 | sort)
got_layers=$(json_query "'\n'.join(sorted(set(r['value']['digest'] for r in d['records'] if r['value']['userDid'] == '$ALICE' and r['value']['manifest'].endswith('/' + '$IMG'.split(':')[1]))))" <<<"$layers")
expect_eq "layer records of alice's image (config + 3 layers; the manifest is on the PDS)" \
  "$(grep -vx "$IMG" <<<"$want_layers")" "$got_layers"
quota() { curl -sf "$HOLD_URL/xrpc/io.atcr.hold.getQuota?userDid=$ALICE" || fail "getQuota"; }
q=$(quota)
USAGE=$(json_query 'd["totalSize"]' <<<"$q")
expect_eq "getQuota: tier and limit" "small $QUOTA" "$(json_query 'd["tier"], d["limit"]' <<<"$q" | tr -d "(),'")"
expect_eq "getQuota counts alice's layers" "$(json_query "sum(r['value']['size'] for r in {r['value']['digest']: r for r in d['records'] if r['value']['userDid'] == '$ALICE'}.values())" <<<"$layers")" "$USAGE"
((USAGE > 500000 && USAGE < QUOTA)) || fail "alice's usage $USAGE is not between 500 kB and the quota"
pass "the hold accepted the reference PDS's service tokens: alice uses $USAGE of $QUOTA bytes"

# ---------------------------------------------------------------- refusals
expect_fail "alice cannot push into bob.test's namespace" \
  "${SK[@]}" copy --dest-tls-verify=false --dest-creds "$ALICE_CREDS" "oci:$W/img2:v1" "docker://$REG/bob.test/hello:v1"
expect_contains "... and is told so" "$LAST_OUT" "denied"
tok=$(curl -sf -u "$ALICE_CREDS" "http://$REG/auth/token?service=localhost:$AV_PORT&scope=repository:bob.test/hello:pull,push") \
  || fail "token request for bob.test/hello"
expect_eq "alice's token for bob.test/hello grants pull only" "['pull']" \
  "$(json_query 'json.loads(__import__("base64").urlsafe_b64decode(d["token"].split(".")[1] + "==="))["access"][0]["actions"]' <<<"$tok")"
expect_fail "a wrong password is refused" \
  "${SK[@]}" copy --dest-tls-verify=false --dest-creds "alice.test:wrong-password-1" "oci:$W/img2:v1" "docker://$REG/alice.test/hello:bad"
expect_contains "... with an authentication error" "$LAST_OUT" "unauthorized"
expect_eq "/auth/token with a wrong password" 401 \
  "$(curl -s -o /dev/null -w '%{http_code}' -u alice.test:wrong-password-1 "http://$REG/auth/token?service=localhost:$AV_PORT&scope=repository:alice.test/hello:pull,push")"
expect_eq "bob's app password is not alice's" 401 \
  "$(curl -s -o /dev/null -w '%{http_code}' -u "alice.test:${APP[bob]}" "http://$REG/auth/token?service=localhost:$AV_PORT&scope=repository:alice.test/hello:pull,push")"
gen=$(python3 "$E2E_OCIGEN" "$W/big" --tag big --name big --layers 1 --random-bytes $((3 * 1024 * 1024)))
expect_fail "a push past the hold quota fails" \
  "${SK[@]}" copy --dest-tls-verify=false --dest-creds "$ALICE_CREDS" "oci:$W/big:big" "docker://$REG/alice.test/big:big"
printf '%s\n' "$LAST_OUT" >"$W/quota.out"
expect_contains "... and skopeo says why" "$LAST_OUT" "quota"
log "skopeo said: $(grep -i quota "$W/quota.out" | tail -n 1)"
expect_eq "the refused push wrote no manifest record" "" \
  "$(list io.atcr.manifest | json_query "' '.join(r['uri'] for r in d['records'] if r['value']['repository'] == 'big')")"
expect_eq "the refused push left the usage alone" "$USAGE" "$(quota | json_query 'd["totalSize"]')"
# Over the limit already (the owner moves alice to the 100 kB tier): the hold refuses the first
# blob at initiateUpload, and the client is told so.
crew_tier() {
  curl -sf -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data "{\"did\":\"$ALICE\",\"tier\":\"$1\"}" "$HOLD_URL/admin/api/crew" >/dev/null || fail "admin: alice to tier $1"
}
crew_tier tiny
gen=$(python3 "$E2E_OCIGEN" "$W/third" --tag t --name third --layers 1)
expect_fail "a user already over quota cannot upload a blob" \
  "${SK[@]}" copy --dest-tls-verify=false --dest-creds "$ALICE_CREDS" "oci:$W/third:t" "docker://$REG/alice.test/third:t"
expect_contains "... and skopeo says why" "$LAST_OUT" "quota exceeded"
log "skopeo said: $(grep -i quota <<<"$LAST_OUT" | tail -n 1)"
crew_tier small

# ---------------------------------------------------------------- restarts while idle
stop_clean "the hold" "$HOLD_PID"
start_hold
pull_check "after the hold restarted: image" "$REG/alice.test/hello:v1" "$IMG" "$W/img" v1
pull_check "after the hold restarted: index" "$REG/alice.test/tools/multi:multi" "$MULTI" "$W/multi" multi
expect_eq "after the hold restarted: usage" "$USAGE" "$(quota | json_query 'd["totalSize"]')"
push "after the hold restarted: alice pushes" "$ALICE_CREDS" "$W/img2:v1" "$REG/alice.test/hello:v2"

stop_clean "the AppView" "$AV_PID"
start_appview
pull_check "after the AppView restarted: image (anonymous)" "$REG/alice.test/hello:v1" "$IMG" "$W/img" v1
pull_check "after the AppView restarted: index (alice)" "$REG/alice.test/tools/multi:multi" "$MULTI" "$W/multi" multi "$ALICE_CREDS"
pull_check "after the AppView restarted: the tag pushed after the hold restart" "$REG/alice.test/hello:v2" "$IMG2" "$W/img2" v1
push "after the AppView restarted: alice pushes" "$ALICE_CREDS" "$W/img:v1" "$REG/alice.test/hello:v3"
log "phase 1 took $(($(date +%s) - T0)) s"

# ================================================================ phase 2: atcr's PLC and PDS
T1=$(date +%s)
PDS_STATE="$PEERS_STATE" "$PEERS/stop-pds.sh"
stop_clean "phase 1 AppView" "$AV_PID"
stop_clean "phase 1 hold" "$HOLD_PID"

PLC2_PORT=$(free_port)
PDS2_PORT=$(other_port "$PLC2_PORT")
HOLD2_PORT=$(other_port "$PLC2_PORT" "$PDS2_PORT")
AV2_PORT=$(other_port "$PLC2_PORT" "$PDS2_PORT" "$HOLD2_PORT")
PLC2_URL="http://127.0.0.1:$PLC2_PORT"
PDS2_URL="http://127.0.0.1:$PDS2_PORT"
HOLD2_URL="http://127.0.0.1:$HOLD2_PORT"
HOLD2_DID="did:web:127.0.0.1%3A$HOLD2_PORT"
REG2="127.0.0.1:$AV2_PORT"
start_plc2() {
  start_bg PLC2 "$W/plc2.log" "$BIN" plc serve --addr "127.0.0.1:$PLC2_PORT" --data "$W/plc2"
  wait_http "$PLC2_URL/_health" "$PLC2_PID" 30
}
start_pds2() {
  start_bg PDS2 "$W/pds2.log" "$BIN" pds serve --addr "127.0.0.1:$PDS2_PORT" --data "$W/pds2" \
    --plc "$PLC2_URL" --handle-domain .test
  wait_http "$PDS2_URL/xrpc/_health" "$PDS2_PID" 30
}
start_plc2
start_pds2
new_account "$PDS2_URL" carol.test
CAROL=$ACC_DID
CAROL_CREDS="carol.test:$ACC_APP"
pass "atcr plc serve :$PLC2_PORT, atcr pds serve :$PDS2_PORT, carol.test $CAROL"

start_bg HOLD2 "$W/hold2.log" env \
  ATCR_HOLD_SERVER_ADDR="127.0.0.1:$HOLD2_PORT" ATCR_HOLD_SERVER_PUBLIC_URL="$HOLD2_URL" \
  ATCR_HOLD_SERVER_PUBLIC=true ATCR_HOLD_SERVER_DATA_DIR="$W/hold2" \
  ATCR_HOLD_SERVER_PLC_DIRECTORY_URL="$PLC2_URL" ATCR_HOLD_REGISTRATION_OWNER_DID="$CAROL" \
  "$BIN" hold serve
wait_http "$HOLD2_URL/xrpc/_health" "$HOLD2_PID" 30
# No manifest cache and no identity cache: every pull asks the PLC and the PDS.
start_bg AV2 "$W/appview2.log" env \
  ATCR_APPVIEW_ADDR="$REG2" ATCR_APPVIEW_DATA="$W/appview2" \
  ATCR_APPVIEW_HOLD_DEFAULT_DID="$HOLD2_DID" ATCR_APPVIEW_HOLD_DEFAULT_URL="$HOLD2_URL" \
  ATCR_APPVIEW_IDENTITY_PLC_URL="$PLC2_URL" ATCR_APPVIEW_IDENTITY_USE_DNS=false \
  ATCR_APPVIEW_IDENTITY_HANDLE_OVERRIDES=".test=$PDS2_URL" \
  ATCR_APPVIEW_IDENTITY_CACHE_TTL=0s ATCR_APPVIEW_CACHE_MAX_SIZE=0 \
  "$BIN" appview serve
wait_http "http://$REG2/healthz" "$AV2_PID" 30

push "phase 2: carol pushes a 3-layer image" "$CAROL_CREDS" "$W/img:v1" "$REG2/carol.test/hello:v1"
pull_check "phase 2: image" "$REG2/carol.test/hello:v1" "$IMG" "$W/img" v1

plc_state() { # the DID document and the op log
  curl -sf "$PLC2_URL/$CAROL" || fail "PLC: GET /$CAROL"
  curl -sf "$PLC2_URL/$CAROL/log/audit" || fail "PLC: GET /$CAROL/log/audit"
}
pds_state() { # carol's io.atcr records and the repo head
  local c
  for c in io.atcr.manifest io.atcr.tag io.atcr.sailor.profile; do
    curl -sf "$PDS2_URL/xrpc/com.atproto.repo.listRecords?repo=$CAROL&collection=$c&limit=100" || fail "PDS: listRecords $c"
  done
  curl -sf "$PDS2_URL/xrpc/com.atproto.sync.getLatestCommit?did=$CAROL" || fail "PDS: getLatestCommit"
}

before=$(plc_state)
stop_clean "atcr plc serve" "$PLC2_PID"
start_plc2
expect_eq "after the PLC restarted: carol's DID document and op log" "$before" "$(plc_state)"
pull_check "after the PLC restarted: image" "$REG2/carol.test/hello:v1" "$IMG" "$W/img" v1
push "after the PLC restarted: carol pushes" "$CAROL_CREDS" "$W/img2:v1" "$REG2/carol.test/hello:v2"

before=$(pds_state)
expect_contains "carol's records are on atcr's PDS" "$before" "\"digest\":\"$IMG2\""
stop_clean "atcr pds serve" "$PDS2_PID"
start_pds2
expect_eq "after the PDS restarted: carol's records and repo head" "$before" "$(pds_state)"
pull_check "after the PDS restarted: image" "$REG2/carol.test/hello:v1" "$IMG" "$W/img" v1 "$CAROL_CREDS"
pull_check "after the PDS restarted: the tag pushed after the PLC restart" "$REG2/carol.test/hello:v2" "$IMG2" "$W/img2" v1
push "after the PDS restarted: carol pushes (stored session)" "$CAROL_CREDS" "$W/multi:multi" "$REG2/carol.test/multi:m"
pull_check "after the PDS restarted: the new index" "$REG2/carol.test/multi:m" "$MULTI" "$W/multi" multi
log "phase 2 took $(($(date +%s) - T1)) s; total $(($(date +%s) - T0)) s"
