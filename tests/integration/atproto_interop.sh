#!/usr/bin/env bash
# `atcr tool` against the reference ATProto stack: usage: atproto_interop.sh ATCR_BINARY
#
# Starts the reference PLC (in memory) + PDS (@atproto/pds) from tests/peers on free loopback
# ports, creates an account and writes records (putRecord, createRecord, applyWrites with 200
# creates, an update, a delete, a blob ref, $bytes and $link values), then checks, both ways:
# - the PDS's getRepo CAR passes `atcr tool car verify` with the key resolved through the
#   reference PLC, `car ls` lists exactly the records the PDS acknowledged (same CIDs), the MST
#   root atcr computes over them equals the PDS's, and single flipped bytes / a wrong key fail;
# - a CAR made by `atcr tool repo build` (1200 records, K-256; and a P-256 one) passes the
#   reference verifier tests/peers/car-verify.mjs (@atproto/repo), which rejects a wrong key;
# - a service JWT from the PDS (getServiceAuth) passes `atcr tool jwt verify` (iss resolved via
#   the PLC) and fails with a wrong aud / lxm and when tampered;
# - JWTs and signatures made by atcr pass @atproto/crypto (jwt-verify.mjs, verifySignature),
#   and signatures made by @atproto/crypto (sign.mjs) pass `atcr tool sig verify`;
# - `atcr tool resolve` of the handle (override .test -> the PDS) and of the DID give the DID,
#   handle, PDS endpoint and signing key the PDS and PLC report;
# - with a PLC serving legacy DID documents (raw 65-byte K-256 key), car verify, jwt verify and
#   resolve still find the account's key.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init atproto_interop
need node python3 curl
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS="$ROOT/tests/peers"
W=$E2E_WORK

run() { # run CMD...: stdout in OUT, stderr in ERR, exit code in RC
  set +e
  OUT=$("$@" 2>"$W/stderr")
  RC=$?
  set -e
  ERR=$(cat "$W/stderr")
}
expect_rc() { # expect_rc WHAT RC CMD...
  local what=$1 want=$2
  shift 2
  run "$@"
  if [ "$RC" != "$want" ]; then
    printf 'stdout: %s\nstderr: %s\n' "$OUT" "$ERR" >&2
    fail "$what: exit code $RC, want $want: $*"
  fi
  pass "$what"
}
tool() { "$BIN" tool "$@"; }
field() { awk -v k="$1" '$1 == k { print $2 }' <<<"$OUT"; }
client() { node "$PEERS/pds-client.mjs" "$@"; }
flip_byte() { # flip_byte FILE OFFSET
  python3 -c 'import sys; p,o=sys.argv[1],int(sys.argv[2]); b=bytearray(open(p,"rb").read()); b[o]^=0x01; open(p,"wb").write(b)' "$1" "$2"
}

# ---------------------------------------------------------------- peers
start_reference_peers

handle=interop.test
expect_ok "create account $handle" client create-account --handle $handle --password interop-pw
client login --handle $handle --password interop-pw >"$W/session.json" || fail "login"
did=$(json_query 'd["did"]' <"$W/session.json")
signing_key=$(json_query 'd["signingKey"]' <"$W/session.json")
[[ $did == did:plc:* && $signing_key == did:key:z* ]] || fail "account has a did:plc ($did) and a did:key ($signing_key)"
pass "account $did with signing key $signing_key"
S=(--session "$W/session.json")

# ---------------------------------------------------------------- records on the reference PDS
declare -A want_cid # path -> CID the PDS acknowledged
put() { # put COLLECTION RKEY JSON
  client "${S[@]}" put-record --collection "$1" --rkey "$2" --record "$3" >"$W/put.json" || fail "putRecord $1/$2"
  want_cid["$1/$2"]=$(json_query 'd["cid"]' <"$W/put.json")
}
digest="sha256:$(printf 'interop manifest' | sha256sum | cut -d' ' -f1)"
printf 'manifest bytes for the interop test' >"$W/manifest.bin"
client "${S[@]}" upload-blob --file "$W/manifest.bin" --mime application/vnd.oci.image.manifest.v1+json >"$W/blob.json" || fail "uploadBlob"
blob=$(cat "$W/blob.json")
put io.atcr.manifest "$digest" "{\"\$type\":\"io.atcr.manifest\",\"repository\":\"interop\",\"digest\":\"$digest\",
  \"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"manifestBlob\":$blob,\"schemaVersion\":2,
  \"holdDid\":\"did:web:hold.test\",\"createdAt\":\"2026-01-01T00:00:00.000Z\"}"
manifest_cid=${want_cid["io.atcr.manifest/$digest"]}
put io.atcr.tag interop_latest "{\"\$type\":\"io.atcr.tag\",\"repository\":\"interop\",\"tag\":\"latest\",
  \"manifest\":\"at://$did/io.atcr.manifest/$digest\",\"createdAt\":\"2026-01-01T00:00:00.000Z\"}"
put io.atcr.sailor.profile self '{"$type":"io.atcr.sailor.profile","defaultHold":"did:web:hold.test","createdAt":"2026-01-01T00:00:00.000Z"}'
put com.example.note linked "{\"\$type\":\"com.example.note\",\"subject\":{\"\$link\":\"$manifest_cid\"},\"sig\":{\"\$bytes\":\"q83vEjRWeJA\"},\"n\":-42}"
put com.example.note gone '{"$type":"com.example.note","text":"deleted below"}'
client "${S[@]}" delete-record --collection com.example.note --rkey gone >/dev/null || fail "deleteRecord"
unset 'want_cid[com.example.note/gone]'
put io.atcr.tag interop_latest "{\"\$type\":\"io.atcr.tag\",\"repository\":\"interop\",\"tag\":\"latest\",
  \"manifest\":\"at://$did/io.atcr.manifest/$digest\",\"createdAt\":\"2026-01-02T00:00:00.000Z\"}"
client "${S[@]}" create-record --collection com.example.note --record '{"$type":"com.example.note","text":"tid rkey"}' >"$W/create.json" ||
  fail "createRecord"
uri=$(json_query 'd["uri"]' <"$W/create.json")
want_cid["${uri#at://$did/}"]=$(json_query 'd["cid"]' <"$W/create.json")
python3 - "$did" >"$W/writes.json" <<'EOF'
import json, sys
writes = [{"$type": "com.atproto.repo.applyWrites#create", "collection": "io.atcr.tag", "rkey": f"bulk{i:04d}",
           "value": {"$type": "io.atcr.tag", "repository": "bulk", "tag": f"v{i}", "createdAt": "2026-01-01T00:00:00.000Z"}}
          for i in range(200)]
print(json.dumps({"repo": sys.argv[1], "writes": writes}))
EOF
client "${S[@]}" xrpc POST com.atproto.repo.applyWrites --body "@$W/writes.json" >"$W/apply.json" || fail "applyWrites (200 creates)"
while read -r path cid; do want_cid["$path"]=$cid; done < <(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["uri"].split("/", 3)[3], r["cid"])' "$W/apply.json")
n_records=${#want_cid[@]}
((n_records == 205)) || fail "expected 205 records on the PDS, tracked $n_records"
pass "wrote $n_records records (put, create, applyWrites, update, delete, blob, \$link, \$bytes)"
for path in "${!want_cid[@]}"; do echo "$path ${want_cid[$path]}"; done | LC_ALL=C sort >"$W/want-ls.txt"

# ---------------------------------------------------------------- reference CAR -> atcr
client get-repo --did "$did" --out "$W/repo.car" >/dev/null || fail "getRepo"
client xrpc GET com.atproto.sync.getLatestCommit --param "did=$did" >"$W/latest.json" || fail "getLatestCommit"
latest_rev=$(json_query 'd["rev"]' <"$W/latest.json")
latest_cid=$(json_query 'd["cid"]' <"$W/latest.json")

expect_rc "car verify of the PDS's CAR, key resolved through the reference PLC" 0 \
  tool car verify "$W/repo.car" --plc "$PLC_URL" --strict
expect_eq "car verify: did" "$did" "$(field did)"
expect_eq "car verify: rev = getLatestCommit rev" "$latest_rev" "$(field rev)"
expect_eq "car verify: records" "$n_records" "$(field records)"
expect_rc "car verify --json with --key and --did" 0 \
  tool car verify "$W/repo.car" --key "$signing_key" --did "$did" --json
expect_eq "car verify --json: commit CID = getLatestCommit cid" "$latest_cid" "$(json_query 'd["commit"]' <<<"$OUT")"
expect_eq "car verify --json: key" "$signing_key" "$(json_query 'd["key"]' <<<"$OUT")"
data_cid=$(json_query 'd["data"]' <<<"$OUT")
((  $(json_query 'd["mst_layers"]' <<<"$OUT") >= 1 )) || fail "the PDS's MST has more than one layer"
expect_ok "the reference verifier agrees (car-verify.mjs --plc)" node "$PEERS/car-verify.mjs" "$W/repo.car" --plc "$PLC_URL" --strict

expect_rc "car ls of the PDS's CAR" 0 tool car ls "$W/repo.car"
printf '%s\n' "$OUT" >"$W/ls.txt"
diff -u "$W/want-ls.txt" "$W/ls.txt" >&2 || fail "car ls differs from the records (and CIDs) the PDS acknowledged"
pass "car ls lists exactly the $n_records records with the CIDs the PDS returned"
expect_rc "mst root over car ls" 0 tool mst root "$W/ls.txt"
expect_eq "atcr's MST root over the PDS's records = the PDS's commit.data" "$data_cid" "$OUT"

other_key=$(tool key gen k256 | sed -n 2p)
expect_rc "car verify of the PDS's CAR with a wrong key" 1 tool car verify "$W/repo.car" --key "$other_key"
expect_rc "car verify of the PDS's CAR for another DID" 1 tool car verify "$W/repo.car" --key "$signing_key" --did did:plc:aaaaaaaaaaaaaaaaaaaaaaaa
size=$(stat -c %s "$W/repo.car")
for off in 30 $((size / 5)) $((size / 2)) $((size * 4 / 5)) $((size - 2)); do
  cp "$W/repo.car" "$W/tampered.car"
  flip_byte "$W/tampered.car" $off
  expect_rc "car verify rejects the PDS's CAR with byte $off flipped" 1 tool car verify "$W/tampered.car" --plc "$PLC_URL"
done

# ---------------------------------------------------------------- atcr CAR -> reference
read -r khex kdid <<<"$(tool key gen k256 | tr "\n" " ")"
fake_did=did:plc:atcrinteropbuild22222222
python3 - "$W/big.jsonl" <<'EOF'
import hashlib, json, sys
alphabet = "234567abcdefghijklmnopqrstuvwxyz"
def tid(us, clock):
    v, out = (us << 10) | clock, ""
    for _ in range(13):
        out = alphabet[v & 31] + out
        v >>= 5
    return out
with open(sys.argv[1], "w") as f:
    for i in range(1200):
        kind = i % 4
        if kind == 0:
            d = "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
            line = {"collection": "io.atcr.manifest", "rkey": d, "record": {"$type": "io.atcr.manifest",
                    "repository": f"app{i % 17}", "digest": d, "schemaVersion": 2, "createdAt": "2026-01-01T00:00:00.000Z"}}
        elif kind == 1:
            line = {"collection": "io.atcr.tag", "rkey": f"app{i % 17}_v{i}", "record": {"$type": "io.atcr.tag",
                    "repository": f"app{i % 17}", "tag": f"v{i}", "createdAt": "2026-01-01T00:00:00.000Z"}}
        else:
            line = {"collection": "com.example.note", "rkey": tid(1767225600000000 + i * 1000, i % 1024),
                    "record": {"$type": "com.example.note", "text": f"note {i} ✓", "n": i, "neg": -i,
                               "ref": {"$link": "bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454"},
                               "raw": {"$bytes": "AAECAw"}, "empty": None, "flag": i % 2 == 0}}
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
EOF
expect_rc "repo build of 1200 records (K-256)" 0 tool repo build --key "$khex" --did $fake_did "$W/big.jsonl" -o "$W/big.car"
expect_eq "repo build: records" 1200 "$(field records)"
run node "$PEERS/car-verify.mjs" "$W/big.car" --did-key "$kdid" --did $fake_did --strict --json
[ "$RC" = 0 ] || { printf '%s\n%s\n' "$OUT" "$ERR" >&2; fail "@atproto/repo (car-verify.mjs) rejects atcr's 1200-record CAR"; }
expect_eq "@atproto/repo accepts atcr's CAR: records" 1200 "$(json_query 'd["records"]' <<<"$OUT")"
expect_eq "@atproto/repo accepts atcr's CAR: valid" True "$(json_query 'd["valid"]' <<<"$OUT")"
expect_eq "@atproto/repo accepts atcr's CAR: no warnings" 0 "$(json_query 'len(d["warnings"])' <<<"$OUT")"
run node "$PEERS/car-verify.mjs" "$W/big.car" --did-key "$other_key" --quiet
expect_eq "@atproto/repo rejects atcr's CAR with a wrong key (exit 1)" 1 "$RC"
cp "$W/big.car" "$W/big-tampered.car"
flip_byte "$W/big-tampered.car" $(($(stat -c %s "$W/big.car") / 2))
run node "$PEERS/car-verify.mjs" "$W/big-tampered.car" --did-key "$kdid" --quiet
expect_eq "@atproto/repo rejects atcr's CAR with a flipped byte (exit 1)" 1 "$RC"
expect_rc "atcr verifies its own 1200-record CAR" 0 tool car verify "$W/big.car" --key "$kdid" --strict

read -r phex pdid <<<"$(tool key gen p256 | tr "\n" " ")"
head -n 60 "$W/big.jsonl" >"$W/small.jsonl"
expect_rc "repo build (P-256)" 0 tool repo build --key "$phex" --type p256 --did $fake_did "$W/small.jsonl" -o "$W/p256.car"
expect_ok "@atproto/repo accepts atcr's P-256-signed CAR" node "$PEERS/car-verify.mjs" "$W/p256.car" --did-key "$pdid" --strict
run node "$PEERS/car-verify.mjs" "$W/p256.car" --did-key "$kdid" --quiet
expect_eq "@atproto/repo rejects the P-256 CAR with the K-256 key (exit 1)" 1 "$RC"

# ---------------------------------------------------------------- reference JWT -> atcr
aud="did:web:localhost%3A$PDS_PORT"
lxm=io.atcr.hold.getQuota
client "${S[@]}" service-auth --aud "$aud" --lxm $lxm --exp +300 >"$W/token" || fail "getServiceAuth"
token=$(tr -d '\n' <"$W/token")
expect_rc "jwt verify of the PDS's service JWT (iss resolved via the PLC)" 0 \
  tool jwt verify "$token" --plc "$PLC_URL" --aud "$aud" --lxm $lxm
expect_eq "jwt verify: iss" "$did" "$(field iss)"
expect_eq "jwt verify: key is the account's signing key" "$signing_key" "$(field key)"
expect_eq "jwt verify: alg" ES256K "$(field alg)"
expect_rc "jwt verify of the PDS's service JWT with --key" 0 tool jwt verify "$token" --key "$signing_key" --iss "$did"
expect_rc "jwt verify of the PDS's JWT with a wrong --aud" 1 tool jwt verify "$token" --plc "$PLC_URL" --aud did:web:someone-else.test
expect_contains "wrong aud is named" "$ERR" BadJwtAudience
expect_rc "jwt verify of the PDS's JWT with a wrong --lxm" 1 tool jwt verify "$token" --plc "$PLC_URL" --lxm io.atcr.hold.other
expect_rc "jwt verify of the PDS's JWT with a wrong key" 1 tool jwt verify "$token" --key "$other_key"
IFS=. read -r h p s <<<"$token"
p2=$(python3 -c 'import base64,json,sys; p=sys.argv[1]; d=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4))); d["lxm"]="com.atproto.server.deleteAccount"; print(base64.urlsafe_b64encode(json.dumps(d,separators=(",",":")).encode()).decode().rstrip("="))' "$p")
expect_rc "jwt verify of the PDS's JWT with a tampered payload" 1 tool jwt verify "$h.$p2.$s" --plc "$PLC_URL"
s2=$(python3 -c 'import base64,sys; s=sys.argv[1]; b=bytearray(base64.urlsafe_b64decode(s+"="*(-len(s)%4))); b[10]^=1; print(base64.urlsafe_b64encode(bytes(b)).decode().rstrip("="))' "$s")
expect_rc "jwt verify of the PDS's JWT with a tampered signature" 1 tool jwt verify "$h.$p.$s2" --plc "$PLC_URL"

# ---------------------------------------------------------------- atcr JWTs and signatures -> reference
for type in k256 p256; do
  read -r hex key <<<"$(tool key gen $type | tr "\n" " ")"
  run node "$PEERS/sign.mjs" --key "$hex" --curve $type --did-key-only
  expect_eq "@atproto/crypto derives the same did:key from atcr's $type key" "$key" "$OUT"
  expect_rc "jwt sign ($type)" 0 tool jwt sign "$hex" --type $type --iss did:web:atcr.test --aud "$aud" --lxm io.atcr.test --exp +120
  jwt=$OUT
  expect_ok "@atproto/crypto accepts atcr's $type JWT (jwt-verify.mjs)" \
    node "$PEERS/jwt-verify.mjs" "$jwt" --did-key "$key" --aud "$aud" --lxm io.atcr.test --iss did:web:atcr.test
  run node "$PEERS/jwt-verify.mjs" "$jwt" --did-key "$key" --aud did:web:other.test --quiet
  expect_eq "jwt-verify.mjs rejects atcr's $type JWT for another aud (exit 1)" 1 "$RC"
  run node "$PEERS/jwt-verify.mjs" "$jwt" --did-key "$other_key" --quiet
  expect_eq "jwt-verify.mjs rejects atcr's $type JWT with another key (exit 1)" 1 "$RC"

  msg=$(head -c 200 /dev/urandom | base64 -w0)
  expect_rc "sig sign ($type)" 0 tool sig sign "$hex" "$msg" --type $type
  sig=$OUT
  cat >"$W/verify-sig.mjs" <<EOF
import { createRequire } from 'node:module'
const crypto = createRequire('$PEERS/noop.js')('@atproto/crypto')
const [didKey, msg, sig] = process.argv.slice(2)
const ok = await crypto.verifySignature(didKey, Buffer.from(msg, 'base64'), Buffer.from(sig, 'base64'))
console.log(ok ? 'valid' : 'invalid')
process.exit(ok ? 0 : 1)
EOF
  run node "$W/verify-sig.mjs" "$key" "$msg" "$sig"
  expect_eq "@atproto/crypto verifySignature accepts atcr's $type signature" valid "$OUT"
  run node "$W/verify-sig.mjs" "$key" "$(printf other | base64 -w0)" "$sig"
  expect_eq "@atproto/crypto rejects atcr's $type signature over another message" invalid "$OUT"

  printf 'signed by the reference' >"$W/ref-msg"
  ref_sig=$(node "$PEERS/sign.mjs" --key "$hex" --curve $type --message-file "$W/ref-msg")
  expect_rc "atcr accepts a $type signature made by @atproto/crypto" 0 tool sig verify "$key" "$(base64 -w0 <"$W/ref-msg")" "$ref_sig"
  expect_rc "atcr rejects that signature for another message" 1 tool sig verify "$key" "$(printf x | base64 -w0)" "$ref_sig"
done

# ---------------------------------------------------------------- resolve
expect_rc "resolve $handle (override .test -> the PDS, DID via the PLC)" 0 \
  tool resolve $handle --plc "$PLC_URL" --handle-override ".test=$PDS_URL" --no-dns
expect_eq "resolve handle: did" "$did" "$(field did)"
expect_eq "resolve handle: handle" "$handle" "$(field handle)"
expect_eq "resolve handle: pds" "$PDS_URL" "$(field pds)"
expect_eq "resolve handle: signing key = PLC's atproto key" "$signing_key" "$(field signing_key)"
expect_rc "resolve DID (handle checked both ways)" 0 \
  tool resolve "$did" --plc "$PLC_URL" --handle-override ".test=$PDS_URL" --no-dns --json
expect_eq "resolve DID: handle verified" "$handle" "$(json_query 'd["handle"]' <<<"$OUT")"
expect_eq "resolve DID: pds" "$PDS_URL" "$(json_query 'd["pds"]' <<<"$OUT")"
expect_eq "resolve DID: signing key" "$signing_key" "$(json_query 'd["signing_key"]' <<<"$OUT")"
run tool resolve nobody.test --plc "$PLC_URL" --handle-override ".test=$PDS_URL" --no-dns
[ "$RC" != 0 ] || fail "resolve of an unknown handle must fail"
pass "resolve of an unknown handle fails (exit $RC): $ERR"
run tool resolve did:plc:aaaaaaaaaaaaaaaaaaaaaaaa --plc "$PLC_URL" --no-dns
[ "$RC" != 0 ] || fail "resolve of an unknown DID must fail"
pass "resolve of an unknown DID fails (exit $RC): $ERR"

# ---------------------------------------------------------------- legacy DID documents
# The stock @did-plc/server 0.0.1 serves the old shape (#atproto as EcdsaSecp256k1VerificationKey2019
# with a raw 65-byte key); atcr must find the same key there.
PDS_STATE="$PEERS_STATE" "$PEERS/stop-pds.sh" >/dev/null 2>&1 || true
PLC_LEGACY_DIDDOC=1 start_reference_peers "$W/peers-legacy"
client create-account --handle legacy.test --password legacy-pw >"$W/legacy.json" || fail "create account legacy.test"
did=$(json_query 'd["did"]' <"$W/legacy.json")
signing_key=$(json_query 'd["signingKey"]' <"$W/legacy.json")
curl -sf "$PLC_URL/$did" >"$W/legacy-doc.json" || fail "PLC serves the legacy DID document"
expect_eq "PLC serves a legacy-shaped document" EcdsaSecp256k1VerificationKey2019 \
  "$(json_query 'd["verificationMethod"][0]["type"]' <"$W/legacy-doc.json")"
client --session "$W/legacy.json" put-record --collection io.atcr.sailor.profile --rkey self \
  --record '{"$type":"io.atcr.sailor.profile","createdAt":"2026-01-01T00:00:00.000Z"}' >/dev/null || fail "putRecord (legacy)"
client get-repo --did "$did" --out "$W/legacy.car" >/dev/null || fail "getRepo (legacy)"
expect_rc "car verify with the key from a legacy DID document" 0 tool car verify "$W/legacy.car" --plc "$PLC_URL"
expect_eq "car verify (legacy): records" 1 "$(field records)"
client --session "$W/legacy.json" service-auth --aud "did:web:localhost%3A$PDS_PORT" --lxm io.atcr.hold.getQuota --exp +300 >"$W/token" || fail "getServiceAuth (legacy)"
expect_rc "jwt verify with the key from a legacy DID document" 0 tool jwt verify "$(tr -d '\n' <"$W/token")" --plc "$PLC_URL"
expect_eq "jwt verify (legacy): key" "$signing_key" "$(field key)"
expect_rc "resolve with a legacy DID document" 0 tool resolve legacy.test --plc "$PLC_URL" --handle-override ".test=$PDS_URL" --no-dns
expect_eq "resolve (legacy): signing key as did:key" "$signing_key" "$(field signing_key)"
expect_eq "resolve (legacy): pds" "$PDS_URL" "$(field pds)"
