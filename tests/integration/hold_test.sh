#!/usr/bin/env bash
# `atcr hold serve` (filesystem storage) against the reference PDS: usage: hold_test.sh ATCR_BINARY
#
# Starts the reference PLC + PDS (tests/peers/start-pds.sh), creates an owner and a crew
# account there, and runs a hold on a free loopback port with the owner from the reference
# PDS. Then:
# - service tokens minted by the reference PDS (getServiceAuth, ES256K) are accepted; replayed,
#   wrong-lxm, wrong-aud, expired and forged ones are refused with the reference's error names;
# - a blob goes up through initiateUpload / uploadPart (2 parts) / completeUpload and comes back
#   with curl through getBlob's 307 to a hold-signed URL, byte for byte; a part goes up through a
#   getPartUploadUrl URL without a token; a wrong digest is DigestMismatch;
# - the crew account joins (requestCrew), pushes (notifyManifest) and sees its quota;
# - the hold's records are a real repo: sync.getRepo's CAR passes the reference verifier with
#   the key of the hold's did.json;
# - GC (via the admin API, in a loop) runs while pushes run; then, after a restart with no grace
#   period, a dry run lists exactly the orphans and a real run deletes them: every blob a
#   recorded push names survives, an upload in flight survives and completes;
# - a second hold with registration.did_method: plc registers a did:plc in the reference PLC
#   (document with #atcr_hold and #atproto_pds), accepts reference-PDS tokens for that DID
#   (the same one twice: it runs with server.allow_token_reuse), refuses ones for the other
#   hold, and keeps its DID over a restart.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init hold
need node python3 curl
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/tests/peers"
W=$E2E_WORK

# ---------------------------------------------------------------- reference PLC + PDS
start_reference_peers

client() { node "$PEERS/pds-client.mjs" --pds "$PDS_URL" --plc "$PLC_URL" "$@"; }
client create-account --handle captain-e2e.test --password owner-pw-1 >"$W/owner.json" || fail "create owner"
client create-account --handle sailor-e2e.test --password crew-pw-1 >"$W/crew.json" || fail "create crew"
OWNER=$(json_query 'd["did"]' <"$W/owner.json")
CREW=$(json_query 'd["did"]' <"$W/crew.json")
pass "accounts $OWNER (owner) and $CREW (crew) on the reference PDS"

# ---------------------------------------------------------------- the hold
HOLD_PORT=$(free_port)
HOLD_URL="http://127.0.0.1:$HOLD_PORT"
HOLD_DID="did:web:127.0.0.1%3A$HOLD_PORT"
HOLD_DID_Q="did:web:127.0.0.1%253A$HOLD_PORT"  # the DID as a query value (% encoded)
ADMIN_TOKEN=e2e-admin-token-0123456789
cat >"$W/hold.yaml" <<EOF
server:
  addr: "127.0.0.1:$HOLD_PORT"
  public_url: "$HOLD_URL"
  data_dir: "$W/hold"
  plc_directory_url: "$PLC_URL"
  token_clock_skew: 0s
registration:
  owner_did: "$OWNER"
  allow_all_crew: true
gc:
  grace_period: 60s
  upload_max_age: 1h
admin:
  enabled: true
  token: "$ADMIN_TOKEN"
EOF
E2E_LOGS+=("$W/hold.log")
"$BIN" hold serve --config "$W/hold.yaml" >>"$W/hold.log" 2>&1 &
HOLD_PID=$!
on_exit 'stop_pid $HOLD_PID'
wait_http "$HOLD_URL/xrpc/_health" "$HOLD_PID" 30
curl -sf "$HOLD_URL/.well-known/did.json" >"$W/did.json" || fail "did.json"
HOLD_KEY=$(python3 - "$W/did.json" "$HOLD_DID" "$HOLD_URL" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["id"] == sys.argv[2], doc["id"]
svc = {s["id"]: s["serviceEndpoint"] for s in doc["service"]}
assert svc["#atproto_pds"] == sys.argv[3] and svc["#atcr_hold"] == sys.argv[3], svc
vm = doc["verificationMethod"][0]
assert vm["id"].endswith("#atproto") and vm["type"] == "Multikey"
print("did:key:" + vm["publicKeyMultibase"])
PY
) || fail "the hold's did.json: $(cat "$W/did.json")"
pass "hold $HOLD_DID up, did.json with #atproto_pds, #atcr_hold and key $HOLD_KEY"

# token SESSION LXM [AUD [EXP]]: a service token minted by the reference PDS (pds-client.mjs).
token() {
  client --session "$W/$1.json" service-auth --aud "${3:-$HOLD_DID}" --lxm "$2" ${4:+--exp "$4"}
}
# ftoken SESSION LXM: the same getServiceAuth call with curl (no node start-up per token), for
# the push loops.
declare -A ACCESS
ftoken() {
  [ -n "${ACCESS[$1]:-}" ] || ACCESS[$1]=$(json_query 'd["accessJwt"]' <"$W/$1.json")
  curl -sf -G "$PDS_URL/xrpc/com.atproto.server.getServiceAuth" -H "Authorization: Bearer ${ACCESS[$1]}" \
    --data-urlencode "aud=$HOLD_DID" --data-urlencode "lxm=$2" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
ACCESS[owner]=$(json_query 'd["accessJwt"]' <"$W/owner.json")
ACCESS[crew]=$(json_query 'd["accessJwt"]' <"$W/crew.json")
# call METHOD NSID TOKEN [BODY] [extra curl args...]: status on stdout, body in $W/out.json.
call() {
  local method=$1 nsid=$2 tok=$3 body=${4:-} auth=()
  shift 4 2>/dev/null || shift $#
  [ -n "$tok" ] && auth=(-H "Authorization: Bearer $tok")
  if [ "$method" = POST ]; then
    curl -s -o "$W/out.json" -w '%{http_code}' -X POST "${auth[@]}" -H 'Content-Type: application/json' \
      --data "${body:-{\}}" "$@" "$HOLD_URL/xrpc/$nsid"
  else
    curl -s -o "$W/out.json" -w '%{http_code}' "${auth[@]}" "$@" "$HOLD_URL/xrpc/$nsid${body:+?$body}"
  fi
}
err() { json_query 'd.get("error", "")' <"$W/out.json"; }
field() { json_query "d[\"$1\"]" <"$W/out.json"; }
sha() { python3 -c 'import hashlib,sys; print("sha256:" + hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }
rand_file() { python3 -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(int(sys.argv[2])))' "$1" "$2"; }

# ---------------------------------------------------------------- service auth
rand_file "$W/a.bin" 3000000
DIGEST=$(sha "$W/a.bin")
T=$(token owner io.atcr.hold.initiateUpload) || fail "getServiceAuth"
expect_eq "initiateUpload with a reference-PDS token" 200 "$(call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
UPLOAD=$(field uploadId)
expect_eq "the same token again" 401 "$(call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
expect_eq "replay error" BadJwt "$(err)"
expect_contains "replay message" "$(cat "$W/out.json")" "replayed"
T=$(token owner io.atcr.hold.completeUpload)
expect_eq "token for another method" 401 "$(call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
expect_eq "wrong lxm error" BadJwtLexiconMethod "$(err)"
T=$(token owner io.atcr.hold.initiateUpload did:web:another-hold.example)
expect_eq "token for another hold" 401 "$(call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
expect_eq "wrong aud error" BadJwtAudience "$(err)"
T=$(token owner io.atcr.hold.initiateUpload "" +2)
sleep 3  # let it expire (the hold allows no clock skew in this config)
expect_eq "expired token" 401 "$(call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
expect_eq "expired error" JwtExpired "$(err)"
T=$(token owner io.atcr.hold.initiateUpload)
FORGED=$(python3 - "$T" <<'PY'
import base64, json, sys
h, p, s = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
claims["exp"] += 600  # a longer life, same signature
p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
print(".".join([h, p2, s]))
PY
)
expect_eq "forged token" 401 "$(call POST io.atcr.hold.initiateUpload "$FORGED" "{\"digest\":\"$DIGEST\"}")"
expect_eq "forged error" BadJwtSignature "$(err)"
expect_eq "no token" 401 "$(call POST io.atcr.hold.initiateUpload "" "{\"digest\":\"$DIGEST\"}")"
T=$(token crew io.atcr.hold.initiateUpload)
expect_eq "valid token of a non-member" 403 "$(call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
pass "reference-PDS tokens accepted; replayed, wrong-lxm, wrong-aud, expired, forged and missing ones refused"

# ---------------------------------------------------------------- upload and download
head -c 1500000 "$W/a.bin" >"$W/a.1"
tail -c +1500001 "$W/a.bin" >"$W/a.2"
parts="["
for n in 1 2; do
  T=$(token owner io.atcr.hold.uploadPart)
  code=$(curl -s -o "$W/out.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $T" \
    -H "X-Upload-Id: $UPLOAD" -H "X-Part-Number: $n" --data-binary "@$W/a.$n" "$HOLD_URL/xrpc/io.atcr.hold.uploadPart")
  expect_eq "uploadPart $n" 200 "$code"
  [ $n = 2 ] && parts+=","
  parts+="{\"partNumber\":$n,\"etag\":\"$(field etag)\"}"
done
parts+="]"
T=$(token owner io.atcr.hold.completeUpload)
expect_eq "completeUpload" 200 "$(call POST io.atcr.hold.completeUpload "$T" "{\"uploadId\":\"$UPLOAD\",\"digest\":\"$DIGEST\",\"parts\":$parts}")"
expect_eq "completed digest" "$DIGEST" "$(field digest)"
T=$(token owner com.atproto.sync.getBlob)
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "Authorization: Bearer $T" \
  "$HOLD_URL/xrpc/com.atproto.sync.getBlob?did=$HOLD_DID_Q&cid=$DIGEST")
expect_eq "getBlob answers with a redirect" 307 "${code%% *}"
expect_contains "redirect target" "${code#* }" "$HOLD_URL/blobs/sha256/"
curl -sf -o "$W/a.down" "${code#* }" || fail "download through the signed URL"
expect_eq "downloaded digest" "$DIGEST" "$(sha "$W/a.down")"
T=$(token owner com.atproto.sync.getBlob)
curl -sfL -o "$W/a.down2" -H "Authorization: Bearer $T" "$HOLD_URL/xrpc/com.atproto.sync.getBlob?did=$HOLD_DID_Q&cid=$DIGEST" \
  || fail "curl -L through the redirect"
expect_eq "downloaded with curl -L" "$DIGEST" "$(sha "$W/a.down2")"
tampered="${code#* }"
tampered="${tampered/sig=/sig=A}"
expect_eq "tampered signed URL" 403 "$(curl -s -o /dev/null -w '%{http_code}' "$tampered")"
expect_eq "anonymous getBlob on a private hold" 401 "$(call GET com.atproto.sync.getBlob "" "did=$HOLD_DID_Q&cid=$DIGEST")"

# A part through a getPartUploadUrl URL (no token on the PUT), and a digest mismatch.
rand_file "$W/b.bin" 70000
B_DIGEST=$(sha "$W/b.bin")
T=$(token owner io.atcr.hold.initiateUpload)
call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$B_DIGEST\"}" >/dev/null
B_UPLOAD=$(field uploadId)
T=$(token owner io.atcr.hold.getPartUploadUrl)
expect_eq "getPartUploadUrl" 200 "$(call POST io.atcr.hold.getPartUploadUrl "$T" "{\"uploadId\":\"$B_UPLOAD\",\"partNumber\":1}")"
url=$(field url)
expect_eq "PUT to the part URL" 200 "$(curl -s -o "$W/out.json" -w '%{http_code}' -X PUT --data-binary "@$W/b.bin" "$url")"
etag=$(field etag)
T=$(token owner io.atcr.hold.completeUpload)
expect_eq "complete with a wrong digest" 400 "$(call POST io.atcr.hold.completeUpload "$T" "{\"uploadId\":\"$B_UPLOAD\",\"digest\":\"$DIGEST\",\"parts\":[{\"partNumber\":1,\"etag\":\"$etag\"}]}")"
expect_eq "mismatch error" DigestMismatch "$(err)"
T=$(token owner io.atcr.hold.abortUpload)
expect_eq "the mismatched upload is gone" 400 "$(call POST io.atcr.hold.abortUpload "$T" "{\"uploadId\":\"$B_UPLOAD\"}")"
expect_eq "gone error" UploadNotFound "$(err)"
pass "3 MB blob up in 2 parts and down through a signed redirect; signed part URL; DigestMismatch discards"

# ---------------------------------------------------------------- crew, push, quota
T=$(token crew io.atcr.hold.requestCrew)
expect_eq "requestCrew" 200 "$(call POST io.atcr.hold.requestCrew "$T" '{}')"
expect_eq "requestCrew status" created "$(field status)"
push() { # push SESSION USER_DID REPO FILE... -> 0 when notifyManifest succeeded
  local session=$1 user=$2 repo=$3 layers="" f d n t
  shift 3
  for f in "$@"; do
    d=$(sha "$f")
    t=$(ftoken "$session" io.atcr.hold.initiateUpload)
    [ "$(call POST io.atcr.hold.initiateUpload "$t" "{\"digest\":\"$d\"}")" = 200 ] || return 2
    local id
    id=$(field uploadId)
    t=$(ftoken "$session" io.atcr.hold.uploadPart)
    n=$(curl -s -o "$W/out.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $t" \
      -H "X-Upload-Id: $id" -H "X-Part-Number: 1" --data-binary "@$f" "$HOLD_URL/xrpc/io.atcr.hold.uploadPart")
    [ "$n" = 200 ] || return 2
    t=$(ftoken "$session" io.atcr.hold.completeUpload)
    [ "$(call POST io.atcr.hold.completeUpload "$t" "{\"uploadId\":\"$id\",\"digest\":\"$d\",\"parts\":[{\"partNumber\":1,\"etag\":\"$(field etag)\"}]}")" = 200 ] || return 2
    [ -n "$layers" ] && layers+=","
    layers+="{\"digest\":\"$d\",\"size\":$(stat -c %s "$f"),\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\"}"
  done
  local mdigest
  mdigest="sha256:$(printf '%s' "$repo$layers" | sha256sum | cut -d' ' -f1)"
  t=$(ftoken "$session" io.atcr.hold.notifyManifest)
  [ "$(call POST io.atcr.hold.notifyManifest "$t" "{\"repository\":\"$repo\",\"userDid\":\"$user\",\"manifestDigest\":\"$mdigest\",\"operation\":\"push\",\"manifest\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"layers\":[$layers]}}")" = 200 ]
}
rand_file "$W/c1.bin" 40000
rand_file "$W/c2.bin" 50000
push crew "$CREW" app "$W/c1.bin" "$W/c2.bin" || fail "crew push: $(cat "$W/out.json")"
expect_eq "layers created" 2 "$(field layersCreated)"
expect_eq "getQuota" 200 "$(call GET io.atcr.hold.getQuota "" "userDid=$CREW")"
expect_eq "crew usage" 90000 "$(field totalSize)"
expect_eq "crew tier" swabbie "$(field tier)"
T=$(token owner io.atcr.hold.notifyManifest)
expect_eq "push for someone else" 403 "$(call POST io.atcr.hold.notifyManifest "$T" "{\"repository\":\"x\",\"userDid\":\"$CREW\",\"manifestDigest\":\"sha256:$(printf %064d 0)\",\"manifest\":{}}")"
expect_eq "UserMismatch" UserMismatch "$(err)"
pass "crew joined through requestCrew, pushed 2 layers, quota 90000 bytes on swabbie"

# ---------------------------------------------------------------- the embedded PDS repo
curl -sf -o "$W/hold.car" "$HOLD_URL/xrpc/com.atproto.sync.getRepo?did=$HOLD_DID_Q" || fail "getRepo"
node "$PEERS/car-verify.mjs" "$W/hold.car" --did-key "$HOLD_KEY" --did "$HOLD_DID" --quiet \
  || fail "the hold's repo CAR does not verify"
code=$(curl -s -o "$W/out.json" -w '%{http_code}' "$HOLD_URL/xrpc/com.atproto.repo.listRecords?repo=$HOLD_DID_Q&collection=io.atcr.hold.layer")
expect_eq "listRecords layers" 200 "$code"
expect_eq "layer records" 2 "$(json_query 'len(d["records"])' <"$W/out.json")"
pass "the hold's repo (captain, crew, layers, stats) verifies with @atproto/repo and the did.json key"

# ---------------------------------------------------------------- GC while pushes run
# An orphan: uploaded, never named by a manifest.
rand_file "$W/orphan.bin" 12345
ORPHAN=$(sha "$W/orphan.bin")
T=$(ftoken owner io.atcr.hold.initiateUpload)
call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$ORPHAN\"}" >/dev/null
O_UPLOAD=$(field uploadId)
T=$(ftoken owner io.atcr.hold.uploadPart)
curl -s -o "$W/out.json" -X PUT -H "Authorization: Bearer $T" -H "X-Upload-Id: $O_UPLOAD" -H "X-Part-Number: 1" \
  --data-binary "@$W/orphan.bin" "$HOLD_URL/xrpc/io.atcr.hold.uploadPart"
T=$(ftoken owner io.atcr.hold.completeUpload)
expect_eq "orphan uploaded" 200 "$(call POST io.atcr.hold.completeUpload "$T" "{\"uploadId\":\"$O_UPLOAD\",\"digest\":\"$ORPHAN\",\"parts\":[{\"partNumber\":1,\"etag\":\"$(field etag)\"}]}")"
# An upload left in flight (started, one part, never completed).
rand_file "$W/inflight.bin" 5000
INFLIGHT=$(sha "$W/inflight.bin")
T=$(ftoken owner io.atcr.hold.initiateUpload)
call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$INFLIGHT\"}" >/dev/null
I_UPLOAD=$(field uploadId)
T=$(ftoken owner io.atcr.hold.uploadPart)
curl -s -o "$W/out.json" -X PUT -H "Authorization: Bearer $T" -H "X-Upload-Id: $I_UPLOAD" -H "X-Part-Number: 1" \
  --data-binary "@$W/inflight.bin" "$HOLD_URL/xrpc/io.atcr.hold.uploadPart"
I_ETAG=$(field etag)

(
  while [ ! -f "$W/pushes.done" ]; do
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $ADMIN_TOKEN" "$HOLD_URL/admin/api/gc?dry_run=false"
    sleep 0.1
  done
) &
GC_LOOP=$!
on_exit "touch '$W/pushes.done'; wait $GC_LOOP"
ok=0
failed=0
: >"$W/pushed.txt"
for i in $(seq 1 6); do
  rand_file "$W/p$i.a" $((20000 + i))
  rand_file "$W/p$i.b" $((30000 + i))
  if push owner "$OWNER" "gc-$i" "$W/p$i.a" "$W/p$i.b"; then
    ok=$((ok + 1))
    sha "$W/p$i.a" >>"$W/pushed.txt"
    sha "$W/p$i.b" >>"$W/pushed.txt"
  else
    # Allowed only as BlobNotFound: a blob collected before its manifest came is never recorded.
    expect_eq "a push that lost a blob to GC says so" BlobNotFound "$(err)"
    failed=$((failed + 1))
  fi
done
touch "$W/pushes.done"
wait $GC_LOOP
runs=$(curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "$HOLD_URL/admin/api/gc" | json_query 'd["blobsScanned"]')
((ok > 0)) || fail "no push got through while GC ran"

# Then the same data dir with no grace period at all (a restart: records, index and uploads
# come back from disk), and one more run: orphans go, referenced blobs and the upload in
# flight stay.
stop_pid "$HOLD_PID" || fail "the hold did not exit cleanly on SIGTERM"
sed -i 's/grace_period: 60s/grace_period: 0s/' "$W/hold.yaml"
"$BIN" hold serve --config "$W/hold.yaml" >>"$W/hold.log" 2>&1 &
HOLD_PID=$!
wait_http "$HOLD_URL/xrpc/_health" "$HOLD_PID" 30
code=$(curl -s -o "$W/gc.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN_TOKEN" "$HOLD_URL/admin/api/gc?dry_run=true")
expect_eq "dry run" 200 "$code"
# Only the orphan and the unreferenced 3 MB blob may be candidates (either may already have
# gone during the loop, once older than the 60 s grace period).
python3 - "$W/gc.json" "$ORPHAN" "$DIGEST" <<'PY' || fail "dry run candidates: $(cat "$W/gc.json")"
import json, sys
report = json.load(open(sys.argv[1]))
found = {c["digest"] for c in report["candidates"]}
assert found <= set(sys.argv[2:]), found
assert report["blobsDeleted"] == 0 and report["dryRun"] is True
PY
code=$(curl -s -o "$W/gc.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN_TOKEN" "$HOLD_URL/admin/api/gc?dry_run=false")
expect_eq "GC run" 200 "$code"
head_blob() {
  local t
  t=$(ftoken owner com.atproto.sync.getBlob)
  curl -s -o /dev/null -w '%{http_code}' -I -H "Authorization: Bearer $t" "$HOLD_URL/xrpc/com.atproto.sync.getBlob?did=$HOLD_DID_Q&cid=$1"
}
while read -r d; do
  expect_eq "blob $d of a recorded push survives GC" 200 "$(head_blob "$d")"
done <"$W/pushed.txt"
for d in "$(sha "$W/c1.bin")" "$(sha "$W/c2.bin")"; do
  expect_eq "crew layer $d survives" 200 "$(head_blob "$d")"
done
expect_eq "the orphan was collected" 400 "$(head_blob "$ORPHAN")"
expect_eq "the unreferenced 3 MB blob was collected" 400 "$(head_blob "$DIGEST")"
# The upload in flight was kept: it completes now and its blob is there.
T=$(ftoken owner io.atcr.hold.completeUpload)
expect_eq "the in-flight upload completes after GC" 200 \
  "$(call POST io.atcr.hold.completeUpload "$T" "{\"uploadId\":\"$I_UPLOAD\",\"digest\":\"$INFLIGHT\",\"parts\":[{\"partNumber\":1,\"etag\":\"$I_ETAG\"}]}")"
pass "GC looping during $((ok + failed)) pushes ($ok recorded, $failed lost a blob; last run scanned $runs blobs), then GC with no grace after a restart: nothing referenced or in flight deleted, orphans gone"

stop_pid "$HOLD_PID" || fail "the hold did not exit cleanly on SIGTERM"
pass "clean shutdown"

# ---------------------------------------------------------------- a did:plc hold
# registration.did_method: plc registers the hold's DID in the reference PLC directory on first
# start; the reference PDS mints tokens for that audience; a restart keeps the DID.
HOLD2_PORT=$(free_port)
HOLD2_URL="http://127.0.0.1:$HOLD2_PORT"
sed -e "s|127.0.0.1:$HOLD_PORT|127.0.0.1:$HOLD2_PORT|g" -e "s|$W/hold\"|$W/hold-plc\"|" \
  -e 's|^registration:|registration:\n  did_method: plc|' \
  -e 's|^server:|server:\n  allow_token_reuse: true|' "$W/hold.yaml" >"$W/hold-plc.yaml"
grep -q "did_method: plc" "$W/hold-plc.yaml" || fail "hold-plc.yaml: $(cat "$W/hold-plc.yaml")"
E2E_LOGS+=("$W/hold-plc.log")
"$BIN" hold serve --config "$W/hold-plc.yaml" >>"$W/hold-plc.log" 2>&1 &
HOLD2_PID=$!
on_exit 'stop_pid $HOLD2_PID'
wait_http "$HOLD2_URL/xrpc/_health" "$HOLD2_PID" 30
HOLD2_DID=$(curl -sf "$HOLD2_URL/.well-known/atproto-did") || fail "atproto-did of the did:plc hold"
expect_contains "the hold's DID" "$HOLD2_DID" "did:plc:"
expect_eq "plc-did file" "$HOLD2_DID" "$(cat "$W/hold-plc/plc-did")"
curl -sf "$PLC_URL/$HOLD2_DID" >"$W/plc-doc.json" || fail "the reference PLC does not know $HOLD2_DID"
python3 - "$W/plc-doc.json" "$HOLD2_DID" "$HOLD2_URL" <<'PY' || fail "PLC document: $(cat "$W/plc-doc.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["id"] == sys.argv[2], doc["id"]
svc = {s["id"]: (s["type"], s["serviceEndpoint"]) for s in doc["service"]}
assert svc["#atcr_hold"] == ("AtcrHoldService", sys.argv[3]), svc
assert svc["#atproto_pds"] == ("AtprotoPersonalDataServer", sys.argv[3]), svc
assert doc["verificationMethod"][0]["id"].endswith("#atproto")
PY
pass "the reference PLC serves $HOLD2_DID with #atcr_hold and #atproto_pds at $HOLD2_URL"
T=$(token owner io.atcr.hold.initiateUpload "$HOLD2_DID") || fail "getServiceAuth for $HOLD2_DID"
expect_eq "initiateUpload on the did:plc hold with a reference-PDS token" 200 \
  "$(HOLD_URL=$HOLD2_URL call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
# This hold has server.allow_token_reuse (for AppViews that cache tokens): the same token again.
expect_eq "the same token again on a hold with allow_token_reuse" 200 \
  "$(HOLD_URL=$HOLD2_URL call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
T=$(token owner io.atcr.hold.initiateUpload) || fail "getServiceAuth"
expect_eq "a token for the did:web hold is refused by the did:plc hold" 401 \
  "$(HOLD_URL=$HOLD2_URL call POST io.atcr.hold.initiateUpload "$T" "{\"digest\":\"$DIGEST\"}")"
stop_pid "$HOLD2_PID" || fail "the did:plc hold did not exit cleanly"
"$BIN" hold serve --config "$W/hold-plc.yaml" >>"$W/hold-plc.log" 2>&1 &
HOLD2_PID=$!
wait_http "$HOLD2_URL/xrpc/_health" "$HOLD2_PID" 30
expect_eq "the did:plc hold's DID after a restart" "$HOLD2_DID" "$(curl -sf "$HOLD2_URL/.well-known/atproto-did")"
stop_pid "$HOLD2_PID" || fail "the did:plc hold did not exit cleanly after the restart"
pass "did:plc hold: registered once, accepted the reference PDS's tokens for its DID, same DID after a restart"
