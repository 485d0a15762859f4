#!/usr/bin/env bash
# Smoke test of the reference peers: bootstrap-npm, start PLC + PDS on free ports, create an
# account, write an io.atcr.manifest record, read it back, fetch getRepo and verify the CAR,
# mint a service-auth JWT and verify it, watch the firehose, sign/verify a locally made ES256
# token, log in with the reference client library (@atproto/api), run the CAR verifier self-test; everything is stopped on exit.
# Exit 0 only if every step passed. env: PEERS_SELFTEST_KEEP=1 keeps the work dir.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE=${NODE:-node}
work=$(mktemp -d "${TMPDIR:-/tmp}/atcr-peers-selftest.XXXXXX")
state="$work/state"
passed=0

cleanup() {
  local rc=$?
  PDS_STATE="$state" "$here/stop-pds.sh" || true
  if [ -n "${PEERS_SELFTEST_KEEP:-}" ]; then
    echo "selftest: work dir kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() {
  echo "FAIL $*"
  [ -f "$state/pds.log" ] && { echo "--- pds.log (tail)"; tail -n 20 "$state/pds.log"; } >&2
  echo "$passed passed, 1 failed"
  exit 1
}
step() { # step NAME CMD... : runs CMD, output to $work/NAME.out
  local name=$1; shift
  if "$@" >"$work/$name.out" 2>&1; then ok "$name"; else
    cat "$work/$name.out" >&2
    fail "$name"
  fi
}

t0=$(date +%s.%N)
step bootstrap-npm "$here/bootstrap-npm"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PLC_PORT=$(free_port)
PDS_PORT=$(free_port)
while [ "$PDS_PORT" = "$PLC_PORT" ]; do PDS_PORT=$(free_port); done

ts=$(date +%s.%N)
if ! PLC_PORT=$PLC_PORT PDS_PORT=$PDS_PORT PDS_STATE=$state "$here/start-pds.sh" >"$work/start.env" 2>"$work/start.err"; then
  cat "$work/start.err" >&2
  fail "start PLC :$PLC_PORT + PDS :$PDS_PORT"
fi
start_s=$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
ok "start PLC :$PLC_PORT + PDS :$PDS_PORT (${start_s}s)"
# shellcheck disable=SC1090
. "$work/start.env"
export PDS_URL PLC_URL

client() { "$NODE" "$here/pds-client.mjs" "$@"; }

step create-account client create-account --handle selftest.test --password selftest-pw
cp "$work/create-account.out" "$work/session.json"
did=$(jq -r .did "$work/session.json")
signing_key=$(jq -r .signingKey "$work/session.json")
[[ "$did" == did:plc:* && "$signing_key" == did:key:z* ]] || fail "account JSON has did ($did) and signingKey ($signing_key)"
ok "account $did, signing key $signing_key"

digest="sha256:$(printf 'atcr peers selftest' | sha256sum | cut -d' ' -f1)"
record=$(jq -cn --arg d "$digest" '{"$type":"io.atcr.manifest", repository:"selftest", digest:$d,
  mediaType:"application/vnd.oci.image.manifest.v1+json", schemaVersion:2, createdAt:"2026-01-01T00:00:00.000Z"}')
step put-record client --session "$work/session.json" put-record --collection io.atcr.manifest --rkey "$digest" --record "$record"
step get-record client get-record --repo "$did" --collection io.atcr.manifest --rkey "$digest"
[ "$(jq -r .value.digest "$work/get-record.out")" = "$digest" ] || fail "get-record returns the record"
ok "record round-trips"

step get-repo client get-repo --did "$did" --out "$work/repo.car"
step car-verify-plc "$NODE" "$here/car-verify.mjs" "$work/repo.car" --plc "$PLC_URL" --strict
step car-verify-didkey "$NODE" "$here/car-verify.mjs" "$work/repo.car" --did-key "$signing_key" --did "$did" --json
[ "$(jq -r .records "$work/car-verify-didkey.out")" = 1 ] || fail "verified CAR holds exactly 1 record"
ok "CAR holds exactly the 1 record"
curl -sf "$PLC_URL/$did" >"$work/did.json" || fail "PLC serves the DID document"
[ "$(jq -r '.verificationMethod[0].type' "$work/did.json")" = Multikey ] || fail "PLC DID document is Multikey-shaped"
step car-verify-diddoc "$NODE" "$here/car-verify.mjs" "$work/repo.car" --did-doc "$work/did.json"

step api-smoke "$NODE" "$here/api-smoke.mjs" --pds "$PDS_URL" --handle selftest.test --password selftest-pw

aud="did:web:localhost%3A$PDS_PORT"
step service-auth client --session "$work/session.json" service-auth --aud "$aud" --lxm io.atcr.hold.getQuota --exp +300
token=$(tr -d '\n' <"$work/service-auth.out")
step jwt-verify "$NODE" "$here/jwt-verify.mjs" "$token" --did-key "$signing_key" --aud "$aud" --lxm io.atcr.hold.getQuota --iss "$did"
if "$NODE" "$here/jwt-verify.mjs" "$token" --did-key "$signing_key" --aud did:web:someone-else --quiet 2>/dev/null; then
  fail "jwt-verify rejects a wrong aud"
fi
ok "jwt-verify rejects a wrong aud"

step subscribe client subscribe --cursor 0 --count 6 --timeout 10 --omit-blocks
jq -e 'select(.t=="#commit") | .body.ops[]? | select(.path | startswith("io.atcr.manifest/"))' "$work/subscribe.out" >/dev/null ||
  fail "firehose has a #commit for the io.atcr.manifest record"
ok "firehose carries the io.atcr.manifest create"

# ES256 token made with sign.mjs, checked by jwt-verify (P-256 path, independent of the PDS)
key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
p256=$("$NODE" "$here/sign.mjs" --key "$key" --curve p256 --did-key-only)
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
hdr=$(printf '{"typ":"JWT","alg":"ES256"}' | b64url)
pl=$(printf '{"iss":"did:web:selftest.test","aud":"%s","exp":%d,"lxm":"io.atcr.test"}' "$aud" $(($(date +%s) + 60)) | b64url)
sig=$(printf '%s.%s' "$hdr" "$pl" | "$NODE" "$here/sign.mjs" --key "$key" --curve p256 --b64url)
step sign-es256 "$NODE" "$here/jwt-verify.mjs" "$hdr.$pl.$sig" --did-key "$p256" --aud "$aud"

step car-verify-selftest "$NODE" "$here/car-verify-selftest.mjs"
grep -E '^[0-9]+ passed, 0 failed$' "$work/car-verify-selftest.out" >/dev/null || fail "car-verify self-test summary"
sed 's/^/     /' "$work/car-verify-selftest.out" | tail -n 1

total=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
echo "selftest: done in ${total}s"
echo "$passed passed, 0 failed"
