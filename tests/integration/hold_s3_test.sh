#!/usr/bin/env bash
# `atcr hold serve` with S3 storage on Ceph radosgw: usage: hold_s3_test.sh ATCR_BINARY
#
# Starts a single-node radosgw (tests/peers/start-radosgw.sh) and a hold whose storage is a
# bucket there. Service tokens come from `atcr tool jwt sign` for an issuer whose did:web
# document a local static server publishes (the reference-PDS path is e2e_hold's). Checks:
# - getPartUploadUrl hands out presigned radosgw URLs: two parts (6 MiB + 1 MiB) go straight to
#   S3 with curl, completeUpload verifies the digest, getBlob redirects (307) to a presigned GET
#   on radosgw and the download matches byte for byte;
# - uploadPart through the hold (proxied to S3) works; a wrong digest is DigestMismatch and
#   nothing becomes visible; an aborted upload's presigned part URL is refused by S3;
# - notifyManifest records the layer; GC (no grace) deletes the unreferenced blob from the
#   bucket and keeps the referenced one.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init hold_s3
need python3 curl radosgw
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/tests/peers"
W=$E2E_WORK

# ---------------------------------------------------------------- radosgw
on_exit "'$PEERS/stop-radosgw.sh' '$W/rgw'"
E2E_LOGS+=("$W/rgw/log/radosgw.log" "$W/rgw/log/setup.log")
"$PEERS/start-radosgw.sh" "$W/rgw" >"$W/rgw.env" 2>"$W/rgw.err" || fail "radosgw did not start: $(tail -5 "$W/rgw.err")"
# shellcheck disable=SC1091
. "$W/rgw.env"
pass "radosgw at $S3_ENDPOINT, bucket $S3_BUCKET (up in ${RADOSGW_START_SECONDS}s)"

# ---------------------------------------------------------------- a token issuer (did:web)
ISSUER_PORT=$(free_port)
ISSUER="did:web:127.0.0.1%3A$ISSUER_PORT"
"$BIN" tool key gen k256 >"$W/issuer.key" || fail "atcr tool key gen"
ISSUER_PRIV=$(sed -n 1p "$W/issuer.key")
ISSUER_DIDKEY=$(sed -n 2p "$W/issuer.key")
mkdir -p "$W/issuer/.well-known"
cat >"$W/issuer/.well-known/did.json" <<EOF
{"id":"$ISSUER","alsoKnownAs":[],"verificationMethod":[{"id":"$ISSUER#atproto","type":"Multikey","controller":"$ISSUER","publicKeyMultibase":"${ISSUER_DIDKEY#did:key:}"}],"service":[]}
EOF
python3 -m http.server --bind 127.0.0.1 --directory "$W/issuer" "$ISSUER_PORT" >"$W/issuer.log" 2>&1 &
ISSUER_PID=$!
on_exit 'stop_pid $ISSUER_PID'
wait_http "http://127.0.0.1:$ISSUER_PORT/.well-known/did.json" "$ISSUER_PID" 20

# ---------------------------------------------------------------- the hold on S3
HOLD_PORT=$(free_port)
HOLD_URL="http://127.0.0.1:$HOLD_PORT"
HOLD_DID="did:web:127.0.0.1%3A$HOLD_PORT"
HOLD_DID_Q="did:web:127.0.0.1%253A$HOLD_PORT"
ADMIN_TOKEN=e2e-admin-token-0123456789
cat >"$W/hold.yaml" <<EOF
server:
  addr: "127.0.0.1:$HOLD_PORT"
  public_url: "$HOLD_URL"
  data_dir: "$W/hold"
storage:
  driver: s3
  endpoint: "$S3_ENDPOINT"
  region: "$S3_REGION"
  bucket: "$S3_BUCKET"
  access_key: "$S3_ACCESS_KEY"
  secret_key: "$S3_SECRET_KEY"
  force_path_style: true
  prefix: "hold/"
registration:
  owner_did: "$ISSUER"
gc:
  grace_period: 0s
admin:
  enabled: true
  token: "$ADMIN_TOKEN"
EOF
E2E_LOGS+=("$W/hold.log")
"$BIN" hold serve --config "$W/hold.yaml" >>"$W/hold.log" 2>&1 &
HOLD_PID=$!
on_exit 'stop_pid $HOLD_PID'
wait_http "$HOLD_URL/xrpc/_health" "$HOLD_PID" 30
pass "hold $HOLD_DID on s3://$S3_BUCKET/hold/"

token() { "$BIN" tool jwt sign "$ISSUER_PRIV" --iss "$ISSUER" --aud "$HOLD_DID" --lxm "$1"; }
call() { # call NSID JSON -> status; body in $W/out.json
  curl -s -o "$W/out.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $(token "$1")" \
    -H 'Content-Type: application/json' --data "$2" "$HOLD_URL/xrpc/$1"
}
field() { json_query "d[\"$1\"]" <"$W/out.json"; }
err() { json_query 'd.get("error", "")' <"$W/out.json"; }
sha() { python3 -c 'import hashlib,sys; print("sha256:" + hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }
rand_file() { python3 -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(int(sys.argv[2])))' "$1" "$2"; }
head_blob() {
  curl -s -o /dev/null -w '%{http_code}' -I -H "Authorization: Bearer $(token com.atproto.sync.getBlob)" \
    "$HOLD_URL/xrpc/com.atproto.sync.getBlob?did=$HOLD_DID_Q&cid=$1"
}

# ---------------------------------------------------------------- presigned parts straight to S3
rand_file "$W/a.1" $((6 * 1024 * 1024))
rand_file "$W/a.2" $((1024 * 1024))
cat "$W/a.1" "$W/a.2" >"$W/a.bin"
A=$(sha "$W/a.bin")
expect_eq "initiateUpload" 200 "$(call io.atcr.hold.initiateUpload "{\"digest\":\"$A\"}")"
UP=$(field uploadId)
parts="["
for n in 1 2; do
  expect_eq "getPartUploadUrl $n" 200 "$(call io.atcr.hold.getPartUploadUrl "{\"uploadId\":\"$UP\",\"partNumber\":$n}")"
  url=$(field url)
  expect_contains "part $n URL is presigned on radosgw" "$url" "$S3_ENDPOINT/"
  expect_contains "part $n URL signature" "$url" "X-Amz-Signature="
  etag=$(curl -s -D - -o /dev/null -X PUT --data-binary "@$W/a.$n" "$url" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: *//p')
  [ -n "$etag" ] || fail "radosgw gave no ETag for part $n"
  [ $n = 2 ] && parts+=","
  parts+="{\"partNumber\":$n,\"etag\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$etag")}"
done
parts+="]"
expect_eq "completeUpload" 200 "$(call io.atcr.hold.completeUpload "{\"uploadId\":\"$UP\",\"digest\":\"$A\",\"parts\":$parts}")"
loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "Authorization: Bearer $(token com.atproto.sync.getBlob)" \
  "$HOLD_URL/xrpc/com.atproto.sync.getBlob?did=$HOLD_DID_Q&cid=$A")
expect_eq "getBlob redirects" 307 "${loc%% *}"
expect_contains "to a presigned radosgw GET" "${loc#* }" "$S3_ENDPOINT/"
curl -sf -o "$W/a.down" "${loc#* }" || fail "download from the presigned URL"
expect_eq "downloaded digest" "$A" "$(sha "$W/a.down")"
pass "7 MiB in two presigned parts straight to radosgw; getBlob redirects to a presigned GET; bytes match"

# ---------------------------------------------------------------- proxied parts, mismatch, abort
rand_file "$W/b.bin" 300000
B=$(sha "$W/b.bin")
expect_eq "initiate b" 200 "$(call io.atcr.hold.initiateUpload "{\"digest\":\"$B\"}")"
UP=$(field uploadId)
code=$(curl -s -o "$W/out.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $(token io.atcr.hold.uploadPart)" \
  -H "X-Upload-Id: $UP" -H "X-Part-Number: 1" --data-binary "@$W/b.bin" "$HOLD_URL/xrpc/io.atcr.hold.uploadPart")
expect_eq "uploadPart through the hold" 200 "$code"
etag=$(field etag)
expect_eq "complete b" 200 "$(call io.atcr.hold.completeUpload "{\"uploadId\":\"$UP\",\"digest\":\"$B\",\"parts\":[{\"partNumber\":1,\"etag\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$etag")}]}")"
expect_eq "b is stored" 200 "$(head_blob "$B")"

rand_file "$W/c.bin" 1000
C=$(sha "$W/c.bin")
expect_eq "initiate c" 200 "$(call io.atcr.hold.initiateUpload "{\"digest\":\"$C\"}")"
UP=$(field uploadId)
curl -s -o "$W/out.json" -X PUT -H "Authorization: Bearer $(token io.atcr.hold.uploadPart)" \
  -H "X-Upload-Id: $UP" -H "X-Part-Number: 1" --data-binary "@$W/b.bin" "$HOLD_URL/xrpc/io.atcr.hold.uploadPart"
etag=$(field etag)
expect_eq "complete with other bytes" 400 "$(call io.atcr.hold.completeUpload "{\"uploadId\":\"$UP\",\"digest\":\"$C\",\"parts\":[{\"partNumber\":1,\"etag\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$etag")}]}")"
expect_eq "mismatch error" DigestMismatch "$(err)"
expect_eq "nothing visible under c" 400 "$(head_blob "$C")"

expect_eq "initiate d" 200 "$(call io.atcr.hold.initiateUpload "{\"digest\":\"$C\"}")"
UP=$(field uploadId)
expect_eq "part URL for d" 200 "$(call io.atcr.hold.getPartUploadUrl "{\"uploadId\":\"$UP\",\"partNumber\":1}")"
url=$(field url)
expect_eq "abortUpload" 200 "$(call io.atcr.hold.abortUpload "{\"uploadId\":\"$UP\"}")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$W/c.bin" "$url")
expect_eq "S3 refuses a part of the aborted upload" 404 "$code"
pass "parts proxied through the hold; DigestMismatch leaves nothing; abortUpload aborts on S3"

# ---------------------------------------------------------------- records and GC
expect_eq "notifyManifest" 200 "$(call io.atcr.hold.notifyManifest "{\"repository\":\"app\",\"userDid\":\"$ISSUER\",\"manifestDigest\":\"sha256:$(printf %064d 7)\",\"manifest\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"layers\":[{\"digest\":\"$A\",\"size\":7340032,\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\"}]}}")"
expect_eq "layers created" 1 "$(field layersCreated)"
code=$(curl -s -o "$W/gc.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN_TOKEN" "$HOLD_URL/admin/api/gc?dry_run=false")
expect_eq "GC" 200 "$code"
expect_eq "GC deleted the unreferenced blob" 1 "$(json_query 'd["blobsDeleted"]' <"$W/gc.json")"
expect_eq "GC errors" 0 "$(json_query 'len(d["errors"])' <"$W/gc.json")"
expect_eq "referenced blob kept" 200 "$(head_blob "$A")"
expect_eq "unreferenced blob gone" 400 "$(head_blob "$B")"
pass "layer record for the pushed blob; GC on S3 deleted the unreferenced one only"

stop_pid "$HOLD_PID" || fail "the hold did not exit cleanly on SIGTERM"
pass "clean shutdown"
