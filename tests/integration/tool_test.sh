#!/usr/bin/env bash
# `atcr tool ...` from the outside: usage: tool_test.sh ATCR_BINARY
#
# Every command's answers and exit codes (0 ok, 1 invalid input, 2 usage/I/O), driven by the
# atproto interop vectors in testdata/atproto-interop (data-model CIDs and CBOR, MST key heights
# and root CIDs, signature fixtures, did:key vectors, syntax valid/invalid lists) and by repos and
# JWTs the tool makes itself, including the failures: bad syntax, tampered or truncated CARs,
# non-canonical blocks, wrong keys, wrong audiences, expired tokens, garbage input.
# No peers needed (tests/integration/atproto_interop.sh checks against the reference stack).
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init tool
need python3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VEC="$ROOT/testdata/atproto-interop"
[ -d "$VEC" ] || fail "interop vectors not found at $VEC"
W=$E2E_WORK

# run CMD...: runs CMD, leaving stdout in OUT, stderr in ERR and the exit code in RC.
run() {
  set +e
  OUT=$("$@" 2>"$W/stderr")
  RC=$?
  set -e
  ERR=$(cat "$W/stderr")
}
# expect_rc WHAT RC CMD...: CMD must exit with RC (and on a failure code, say something on stderr).
expect_rc() {
  local what=$1 want=$2
  shift 2
  run "$@"
  if [ "$RC" != "$want" ]; then
    printf 'stdout: %s\nstderr: %s\n' "$OUT" "$ERR" >&2
    fail "$what: exit code $RC, want $want: $*"
  fi
  if [ "$want" != 0 ] && [ -z "$ERR" ]; then fail "$what: exit $RC without a message on stderr"; fi
  pass "$what"
}
tool() { "$BIN" tool "$@"; }
field() { awk -v k="$1" '$1 == k { print $2 }' <<<"$OUT"; } # field KEY: value of a "KEY VALUE" line

# ---------------------------------------------------------------- cid / cbor
python3 - "$VEC/data-model/data-model-fixtures.json" "$W" <<'EOF'
import base64, json, sys
fixtures = json.load(open(sys.argv[1]))
for i, f in enumerate(fixtures):
    open(f"{sys.argv[2]}/dm{i}.json", "w").write(json.dumps(f["json"]))
    b64 = f["cbor_base64"]
    open(f"{sys.argv[2]}/dm{i}.cbor", "wb").write(base64.b64decode(b64 + "=" * (-len(b64) % 4)))
    open(f"{sys.argv[2]}/dm{i}.cid", "w").write(f["cid"])
print(len(fixtures))
EOF
n_dm=$(ls "$W"/dm*.cid | wc -l)
((n_dm >= 3)) || fail "data-model fixtures: expected at least 3, found $n_dm"
for ((i = 0; i < n_dm; i++)); do
  want=$(cat "$W/dm$i.cid")
  expect_rc "cid of data-model fixture $i" 0 tool cid "$W/dm$i.json"
  expect_eq "cid of data-model fixture $i" "$want" "$OUT"
  expect_rc "cbor encode of fixture $i" 0 tool cbor encode "$W/dm$i.json" -o "$W/enc$i.cbor"
  cmp -s "$W/enc$i.cbor" "$W/dm$i.cbor" || fail "cbor encode of fixture $i: bytes differ from the fixture"
  pass "cbor encode of fixture $i gives the fixture's exact bytes"
  expect_rc "cbor decode of fixture $i" 0 tool cbor decode "$W/dm$i.cbor"
  printf '%s\n' "$OUT" >"$W/dec$i.json"
  expect_rc "cid of the decoded fixture $i" 0 tool cid "$W/dec$i.json"
  expect_eq "decode -> JSON -> cid round trip of fixture $i" "$want" "$OUT"
  expect_rc "cid --cbor of fixture $i" 0 tool cid --cbor "$W/dm$i.cbor"
  expect_eq "cid --cbor of fixture $i" "$want" "$OUT"
done
run tool cid - <"$W/dm0.json"
expect_eq "cid reads stdin" "$(cat "$W/dm0.cid")" "$OUT"
run tool cbor encode --hex "$W/dm0.json"
expect_eq "cbor encode --hex" "$(od -An -tx1 -v "$W/dm0.cbor" | tr -d ' \n')" "$OUT"
run tool cbor decode --hex - <<<"$OUT"
expect_eq "cbor decode --hex reads hex" 0 "$RC"

printf 'hello blob' >"$W/blob.bin"
want_raw=$(python3 -c 'import base64,hashlib,sys; d=open(sys.argv[1],"rb").read(); print("b"+base64.b32encode(bytes([1,0x55,0x12,0x20])+hashlib.sha256(d).digest()).decode().lower().rstrip("="))' "$W/blob.bin")
expect_rc "cid --raw" 0 tool cid --raw "$W/blob.bin"
expect_eq "cid --raw is the raw-codec sha-256 CID" "$want_raw" "$OUT"
expect_contains "cid --raw is a bafkrei CID" "$OUT" bafkrei

echo '{"a": 1.5}' >"$W/float.json"
expect_rc "cid rejects a float" 1 tool cid "$W/float.json"
echo 'this is not json' >"$W/garbage.json"
expect_rc "cid rejects garbage" 1 tool cid "$W/garbage.json"
echo '{"a": {"$link": "not-a-cid"}}' >"$W/badlink.json"
expect_rc "cid rejects a bad \$link" 1 tool cid "$W/badlink.json"
echo '{"a": {"$bytes": "AAAA", "x": 1}}' >"$W/badbytes.json"
expect_rc "cid rejects \$bytes with an extra key" 1 tool cid "$W/badbytes.json"
expect_rc "cid of a missing file is an I/O error (2)" 2 tool cid "$W/does-not-exist.json"
expect_contains "missing file is named" "$ERR" does-not-exist.json

printf '\xa2\x61\x62\x01\x61\x61\x02' >"$W/unsorted.cbor"
expect_rc "cbor decode rejects unsorted map keys" 1 tool cbor decode "$W/unsorted.cbor"
printf '\x9f\x01\xff' >"$W/indef.cbor"
expect_rc "cbor decode rejects indefinite lengths" 1 tool cbor decode "$W/indef.cbor"
printf '\x18\x01' >"$W/nonminimal.cbor"
expect_rc "cbor decode rejects a non-minimal integer" 1 tool cbor decode "$W/nonminimal.cbor"
printf '\x01\x02' >"$W/trailing.cbor"
expect_rc "cbor decode rejects trailing bytes" 1 tool cbor decode "$W/trailing.cbor"
printf '\xc1\x01' >"$W/tag.cbor"
expect_rc "cbor decode rejects tags other than 42" 1 tool cbor decode "$W/tag.cbor"
expect_rc "cid --cbor rejects non-canonical CBOR" 1 tool cid --cbor "$W/unsorted.cbor"

# ---------------------------------------------------------------- mst
python3 -c 'import json,sys; [print(k["key"] + "|" + str(k["height"])) for k in json.load(open(sys.argv[1]))]' \
  "$VEC/mst/key_heights.json" >"$W/heights.tsv"
n=0
while IFS='|' read -r key height; do  # not a tab: IFS whitespace would drop the empty key
  expect_rc "mst height of '$key'" 0 tool mst height -- "$key"
  expect_eq "mst height of '$key'" "$height" "$OUT"
  n=$((n + 1))
done <"$W/heights.tsv"
((n >= 9)) || fail "read only $n key height vectors"

leaf=bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454
: >"$W/empty.mst"
expect_rc "mst root of no keys" 0 tool mst root "$W/empty.mst"
expect_eq "mst root of the empty tree" bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm "$OUT"
printf '# the "trivial" tree of @atproto/repo mst.test.ts\ncom.example.record/3jqfcqzm3fo2j %s\n' $leaf >"$W/trivial.mst"
expect_rc "mst root of the trivial tree" 0 tool mst root "$W/trivial.mst"
expect_eq "mst root of the trivial tree" bafyreibj4lsc3aqnrvphp5xmrnfoorvru4wynt6lwidqbm2623a6tatzdu "$OUT"
run tool mst root - < <(printf 'com.example.record/3jqfcqzm3fx2j %s\n' $leaf)
expect_contains "mst root of singlelayer2 (stdin)" "$OUT" bafyreih7wfe
for r in 3jqfcqzm4fc2j 3jqfcqzm3fp2j 3jqfcqzm3ft2j 3jqfcqzm3fr2j 3jqfcqzm3fs2j; do
  printf 'com.example.record/%s\t%s\n' $r $leaf
done >"$W/simple.mst"
expect_rc "mst root of the simple tree (unsorted input)" 0 tool mst root "$W/simple.mst"
expect_contains "mst root of the simple tree" "$OUT" bafyreicmahy
printf 'com.example.record/a %s\ncom.example.record/a %s\n' $leaf $leaf >"$W/dup.mst"
expect_rc "mst root rejects a duplicate key" 1 tool mst root "$W/dup.mst"
expect_contains "duplicate key names the line" "$ERR" "line 2"
printf 'no-slash-key %s\n' $leaf >"$W/badkey.mst"
expect_rc "mst root rejects an invalid MST key" 1 tool mst root "$W/badkey.mst"
printf 'com.example.record/a not-a-cid\n' >"$W/badcid.mst"
expect_rc "mst root rejects a bad CID" 1 tool mst root "$W/badcid.mst"

# ---------------------------------------------------------------- syntax
declare -A kind_of=([did]=did [handle]=handle [nsid]=nsid [tid]=tid [recordkey]=rkey [aturi]=aturi
  [datetime]=datetime [atidentifier]=atidentifier [cid]=cid [language]=language [uri]=uri)
for f in "${!kind_of[@]}"; do
  kind=${kind_of[$f]}
  for want in valid invalid; do
    file="$VEC/syntax/${f}_syntax_${want}.txt"
    [ -f "$file" ] || fail "missing vector file $file"
    n=0 bad=0
    while IFS= read -r line || [ -n "$line" ]; do
      [ -z "$line" ] && continue
      [[ $line == \#* ]] && continue
      n=$((n + 1))
      set +e
      "$BIN" tool syntax "$kind" -- "$line" >/dev/null 2>"$W/syntax.err"
      rc=$?
      set -e
      if [ $want = valid ] && [ $rc != 0 ]; then
        bad=$((bad + 1)); log "syntax $kind rejects valid '$line': $(cat "$W/syntax.err")"
      elif [ $want = invalid ] && { [ $rc != 1 ] || [ ! -s "$W/syntax.err" ]; }; then
        bad=$((bad + 1)); log "syntax $kind: invalid '$line' gave exit $rc"
      fi
    done <"$file"
    ((n > 0)) || fail "no vectors read from $file"
    ((bad == 0)) || fail "syntax $kind: $bad of $n $want vectors misjudged"
    pass "syntax $kind: all $n $want vectors"
  done
done
expect_rc "syntax did valid" 0 tool syntax did did:plc:z72i7hdynmk6r22z27h6tvur
expect_eq "syntax prints valid" valid "$OUT"
expect_rc "syntax did with uppercase method" 1 tool syntax did did:PLC:abc
expect_contains "syntax gives the reason" "$ERR" "invalid"
expect_rc "syntax handle without a dot" 1 tool syntax handle alice
expect_rc "syntax nsid with two segments" 1 tool syntax nsid com.example
expect_rc "syntax tid too short" 1 tool syntax tid 3jzfcijpj2z2
expect_rc "syntax rkey '..'" 1 tool syntax rkey ..
expect_rc "syntax aturi with a query" 1 tool syntax aturi 'at://did:plc:abc/com.example.x/a?x=1'
expect_rc "syntax datetime without timezone" 1 tool syntax datetime 2024-01-01T00:00:00
expect_rc "syntax datetime valid" 0 tool syntax datetime 2024-01-01T00:00:00.000Z
expect_rc "syntax repopath valid" 0 tool syntax repopath io.atcr.manifest/sha256:abc
run tool syntax colour red
[ "$RC" != 0 ] || fail "syntax rejects an unknown kind"
pass "syntax rejects an unknown kind (exit $RC)"

# ---------------------------------------------------------------- keys and signatures
for type in k256 p256; do
  expect_rc "key gen $type" 0 tool key gen $type
  [ "$(wc -l <<<"$OUT")" = 2 ] || fail "key gen $type prints 2 lines: $OUT"
  hex=$(sed -n 1p <<<"$OUT")
  didkey=$(sed -n 2p <<<"$OUT")
  [[ $hex =~ ^[0-9a-f]{64}$ ]] || fail "key gen $type: line 1 is 64 hex chars: $hex"
  prefix=$([ $type = k256 ] && echo did:key:zQ3s || echo did:key:zDna)
  [[ $didkey == $prefix* ]] || fail "key gen $type: did:key starts with $prefix: $didkey"
  pass "key gen $type prints hex and $prefix..."
  expect_rc "key pub $type" 0 tool key pub "$hex" --type $type
  expect_eq "key pub gives key gen's did:key ($type)" "$didkey" "$OUT"
  expect_rc "key gen $type --json" 0 tool key gen $type --json
  expect_eq "key gen --json type" $type "$(json_query 'd["type"]' <<<"$OUT")"
  jhex=$(json_query 'd["private_key_hex"]' <<<"$OUT")
  jdid=$(json_query 'd["did_key"]' <<<"$OUT")
  expect_eq "key gen --json multikey" "did:key:$(json_query 'd["multikey"]' <<<"$OUT")" "$jdid"
  run tool key pub "$jhex" --type $type
  expect_eq "key gen --json did_key matches its private key" "$jdid" "$OUT"

  msg=$(printf 'atcr tool sig test %s' $type | base64 -w0)
  expect_rc "sig sign $type" 0 tool sig sign "$hex" "$msg" --type $type
  sig=$OUT
  expect_rc "sig verify of sig sign ($type)" 0 tool sig verify "$didkey" "$msg" "$sig"
  expect_eq "sig verify prints valid" valid "$OUT"
  expect_rc "sig verify of another message ($type)" 1 tool sig verify "$didkey" "$(printf other | base64 -w0)" "$sig"
  other=$(tool key gen $type | sed -n 2p)
  expect_rc "sig verify with another key ($type)" 1 tool sig verify "$other" "$msg" "$sig"
  expect_rc "sig verify of a garbage signature ($type)" 1 tool sig verify "$didkey" "$msg" 'AAAA'
  expect_rc "sig verify with a garbage key ($type)" 2 tool sig verify did:key:zzzz "$msg" "$sig"
done
expect_rc "key pub of garbage" 1 tool key pub not-hex
expect_rc "key pub of a zero scalar" 1 tool key pub 0000000000000000000000000000000000000000000000000000000000000000
run tool key gen rsa
[ "$RC" != 0 ] || fail "key gen rsa must fail"
pass "key gen rejects an unknown key type"

# w3c did:key vectors (K-256: private hex -> did:key)
python3 -c '
import json, sys
for v in json.load(open(sys.argv[1])):
    print(v["privateKeyBytesHex"] + "\t" + v["publicDidKey"])' "$VEC/crypto/w3c_didkey_K256.json" >"$W/w3c.tsv"
n=0
while IFS=$'\t' read -r priv want; do
  expect_rc "key pub of w3c vector" 0 tool key pub "$priv" --type k256
  expect_eq "key pub of w3c vector ${priv:0:8}..." "$want" "$OUT"
  n=$((n + 1))
done <"$W/w3c.tsv"
((n >= 5)) || fail "read only $n w3c did:key vectors"

# signature fixtures: valid low-S signatures verify; high-S and DER are rejected
python3 -c '
import json, sys
for v in json.load(open(sys.argv[1])):
    print("\t".join([v["publicKeyDid"], v["messageBase64"], v["signatureBase64"], str(v["validSignature"]), ",".join(v["tags"]) or "valid"]))' \
  "$VEC/crypto/signature-fixtures.json" >"$W/sigs.tsv"
n=0
while IFS=$'\t' read -r didkey msg sig valid tags; do
  want=$([ "$valid" = True ] && echo 0 || echo 1)
  expect_rc "signature fixture ${didkey:0:20}... $tags -> exit $want" "$want" tool sig verify "$didkey" "$msg" "$sig"
  n=$((n + 1))
done <"$W/sigs.tsv"
((n >= 6)) || fail "read only $n signature fixtures"

# ---------------------------------------------------------------- JWTs
iss=did:plc:ewvi7nxzyoun6zhxrhs64oiz
aud='did:web:hold.example#atcr_hold'
for type in k256 p256; do
  read -r hex didkey <<<"$(tool key gen $type | tr "\n" " ")"
  expect_rc "jwt sign $type" 0 tool jwt sign "$hex" --type $type --iss $iss --aud "$aud" --lxm io.atcr.hold.getQuota --exp +120
  token=$OUT
  [ "$(tr -cd . <<<"$token" | wc -c)" = 2 ] || fail "jwt sign prints a compact JWS: $token"
  expect_rc "jwt verify $type with --key" 0 tool jwt verify "$token" --key "$didkey" --aud "$aud" --lxm io.atcr.hold.getQuota
  expect_eq "jwt verify prints iss" $iss "$(field iss)"
  expect_eq "jwt verify prints lxm" io.atcr.hold.getQuota "$(field lxm)"
  expect_eq "jwt verify prints alg" "$([ $type = k256 ] && echo ES256K || echo ES256)" "$(field alg)"
  run tool jwt verify - --key "$didkey" <<<"$token"
  expect_eq "jwt verify reads stdin" 0 "$RC"
  expect_rc "jwt verify --json" 0 tool jwt verify "$token" --key "$didkey" --json
  expect_eq "jwt verify --json claims.aud" "$aud" "$(json_query 'd["claims"]["aud"]' <<<"$OUT")"
  expect_rc "jwt verify with a wrong --aud ($type)" 1 tool jwt verify "$token" --key "$didkey" --aud did:web:other.example
  expect_rc "jwt verify with a wrong --lxm ($type)" 1 tool jwt verify "$token" --key "$didkey" --lxm io.atcr.hold.other
  expect_rc "jwt verify with a wrong --iss ($type)" 1 tool jwt verify "$token" --key "$didkey" --iss did:plc:someoneelse
  other=$(tool key gen $type | sed -n 2p)
  expect_rc "jwt verify with another key ($type)" 1 tool jwt verify "$token" --key "$other"
  IFS=. read -r h p s <<<"$token"
  p2=$(python3 -c 'import base64,json,sys; p=sys.argv[1]; d=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4))); d["lxm"]="io.atcr.hold.evil"; print(base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("="))' "$p")
  expect_rc "jwt verify of a tampered payload ($type)" 1 tool jwt verify "$h.$p2.$s" --key "$didkey"
  expect_rc "jwt sign with an expiry in the past" 0 tool jwt sign "$hex" --type $type --iss $iss --aud "$aud" --exp $(($(date +%s) - 600))
  expect_rc "jwt verify of an expired token ($type)" 1 tool jwt verify "$OUT" --key "$didkey"
  expect_contains "expired token is reported as such" "$ERR" "xpired"
done
expect_rc "jwt verify of garbage" 1 tool jwt verify not.a.jwt --key "$didkey"
expect_rc "jwt verify of one segment" 1 tool jwt verify abc --key "$didkey"
expect_rc "jwt verify with a bad --key" 2 tool jwt verify "$token" --key did:key:nope
expect_rc "jwt sign with a bad --exp" 2 tool jwt sign "$hex" --iss $iss --aud "$aud" --exp soon

# ---------------------------------------------------------------- repo build / car verify / car ls
read -r khex kdid <<<"$(tool key gen k256 | tr "\n" " ")"
repo_did=did:plc:tooltest2222222222222222
python3 - "$W/records.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(120):
        coll = ["io.atcr.manifest", "io.atcr.tag", "io.atcr.sailor.profile"][i % 3]
        rkey = "self" if coll == "io.atcr.sailor.profile" and i == 2 else f"r{i:04d}"
        if coll == "io.atcr.sailor.profile" and i != 2:
            coll = "com.example.note"
        rec = {"$type": coll, "n": i, "text": f"record {i}", "tags": ["a", "b"], "nested": {"ok": True, "none": None}}
        if i == 7:
            del rec["$type"]  # repo build adds $type = collection
        f.write(json.dumps({"collection": coll, "rkey": rkey, "record": rec}) + "\n")
        if i == 50:
            f.write("\n")  # blank lines are skipped
EOF
expect_rc "repo build" 0 tool repo build --key "$khex" --did $repo_did "$W/records.jsonl" -o "$W/repo.car"
expect_eq "repo build reports the record count" 120 "$(field records)"
build_rev=$(field rev)
expect_rc "repo build --rev" 0 tool repo build --key "$khex" --did $repo_did --rev 3kabcdefghij2 "$W/records.jsonl" -o "$W/repo-rev.car"
expect_eq "repo build --rev sets the rev" 3kabcdefghij2 "$(field rev)"

expect_rc "car verify of a built repo" 0 tool car verify "$W/repo.car" --key "$kdid"
expect_eq "car verify: did" $repo_did "$(field did)"
expect_eq "car verify: rev" "$build_rev" "$(field rev)"
expect_eq "car verify: records" 120 "$(field records)"
expect_rc "car verify --did --strict" 0 tool car verify "$W/repo.car" --key "$kdid" --did $repo_did --strict
run tool car verify - --key "$kdid" <"$W/repo.car"
expect_eq "car verify reads stdin" 0 "$RC"
expect_rc "car verify --json" 0 tool car verify "$W/repo.car" --key "$kdid" --json
expect_eq "car verify --json valid" True "$(json_query 'd["valid"]' <<<"$OUT")"
expect_eq "car verify --json records" 120 "$(json_query 'd["records"]' <<<"$OUT")"
expect_eq "car verify --json collections" 40 "$(json_query 'd["collections"]["io.atcr.manifest"]' <<<"$OUT")"
expect_eq "car verify --json key" "$kdid" "$(json_query 'd["key"]' <<<"$OUT")"

expect_rc "car verify with another DID" 1 tool car verify "$W/repo.car" --key "$kdid" --did did:plc:someoneelse
other=$(tool key gen k256 | sed -n 2p)
expect_rc "car verify with the wrong key" 1 tool car verify "$W/repo.car" --key "$other"
expect_contains "wrong key is reported as a signature failure" "$ERR" signature
expect_rc "car verify with a P-256 key for a K-256 repo" 1 tool car verify "$W/repo.car" --key "$(tool key gen p256 | sed -n 2p)"

# tamper with single bytes all over the file: every one must be caught
size=$(stat -c %s "$W/repo.car")
for off in 20 $((size / 7)) $((size / 3)) $((size / 2)) $((size - 40)) $((size - 1)); do
  cp "$W/repo.car" "$W/tampered.car"
  python3 -c 'import sys; p,o=sys.argv[1],int(sys.argv[2]); b=bytearray(open(p,"rb").read()); b[o]^=0x01; open(p,"wb").write(b)' "$W/tampered.car" $off
  run tool car verify "$W/tampered.car" --key "$kdid"
  [ "$RC" = 1 ] || fail "car verify of a CAR with byte $off flipped: exit $RC ($OUT $ERR)"
  pass "car verify rejects a flipped byte at offset $off: $ERR"
done
head -c $((size - 100)) "$W/repo.car" >"$W/truncated.car"
expect_rc "car verify of a truncated CAR" 1 tool car verify "$W/truncated.car" --key "$kdid"
head -c 4096 /dev/urandom >"$W/random.car"
expect_rc "car verify of random bytes" 1 tool car verify "$W/random.car" --key "$kdid"
: >"$W/empty.car"
expect_rc "car verify of an empty file" 1 tool car verify "$W/empty.car" --key "$kdid"
expect_rc "car verify of a missing file" 2 tool car verify "$W/nope.car" --key "$kdid"

# append_block CAR OUT HEXDATA: a CAR with one more block (correct CID) at the end
append_block() {
  python3 - "$@" <<'EOF'
import hashlib, sys
src, dst, data = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
cid = bytes([1, 0x71, 0x12, 0x20]) + hashlib.sha256(data).digest()
body = cid + data
n, varint = len(body), b""
while True:
    b = n & 0x7F
    n >>= 7
    varint += bytes([b | (0x80 if n else 0)])
    if not n:
        break
open(dst, "wb").write(open(src, "rb").read() + varint + body)
EOF
}
append_block "$W/repo.car" "$W/noncanon.car" a2616201616102  # {"b":1,"a":2}: keys out of order
expect_rc "car verify rejects a non-canonical block" 1 tool car verify "$W/noncanon.car" --key "$kdid"
expect_contains "non-canonical block is named" "$ERR" canonical
append_block "$W/repo.car" "$W/float.car" a16161fb3ff8000000000000  # {"a":1.5}
expect_rc "car verify rejects a block with a float" 1 tool car verify "$W/float.car" --key "$kdid"
append_block "$W/repo.car" "$W/extra.car" a1616101  # a valid block nobody links to
expect_rc "car verify accepts an unreferenced block (warning)" 0 tool car verify "$W/extra.car" --key "$kdid"
expect_contains "unreferenced block warning" "$ERR" "not reachable"
expect_rc "car verify --strict rejects an unreferenced block" 1 tool car verify "$W/extra.car" --key "$kdid" --strict

# a repo whose record lacks $type: built by hand with a record block that has no $type
python3 - "$W/notype.jsonl" <<'EOF'
import json, sys
open(sys.argv[1], "w").write(json.dumps({"collection": "com.example.note", "rkey": "a", "record": {"$type": "", "x": 1}}) + "\n")
EOF
expect_rc "repo build rejects an empty \$type" 1 tool repo build --key "$khex" --did $repo_did "$W/notype.jsonl" -o "$W/x.car"

expect_rc "car ls" 0 tool car ls "$W/repo.car"
expect_eq "car ls lists every record" 120 "$(wc -l <<<"$OUT")"
sort -c <<<"$(cut -d' ' -f1 <<<"$OUT")" 2>/dev/null || fail "car ls lists records in key order"
pass "car ls lists records in key order"
expect_contains "car ls shows collection/rkey" "$OUT" "io.atcr.sailor.profile/self "
ls_out=$OUT
# the CID car ls shows is the CID of the record (cross-check with `tool cid`)
python3 -c 'import json,sys; [print(json.dumps(json.loads(l)["record"])) for l in open(sys.argv[1]) if l.strip()][0]' "$W/records.jsonl" | sed -n 1p >"$W/rec0.json"
run tool cid "$W/rec0.json"
expect_contains "car ls CID equals tool cid of the record" "$ls_out" "io.atcr.manifest/r0000 $OUT"
python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()][7]; print(json.dumps(dict(r["record"], **{"$type": r["collection"]})))' "$W/records.jsonl" >"$W/rec7.json"
run tool cid "$W/rec7.json"
expect_contains "repo build added \$type to a record without one" "$ls_out" "io.atcr.tag/r0007 $OUT"
expect_rc "car ls --collection" 0 tool car ls "$W/repo.car" --collection io.atcr.tag
expect_eq "car ls --collection filters" 40 "$(wc -l <<<"$OUT")"
expect_rc "car ls of random bytes" 1 tool car ls "$W/random.car"

# repo build input errors
printf '{"collection":"io.atcr.tag","rkey":"a","record":{"x":1}}\n{"collection":"io.atcr.tag","rkey":"a","record":{"x":2}}\n' >"$W/dup.jsonl"
expect_rc "repo build rejects a duplicate record" 1 tool repo build --key "$khex" --did $repo_did "$W/dup.jsonl" -o "$W/x.car"
expect_contains "duplicate record names the line" "$ERR" "line 2"
printf '{"collection":"io.atcr.tag","rkey":"a","record":{"x":1.5}}\n' >"$W/float.jsonl"
expect_rc "repo build rejects a float" 1 tool repo build --key "$khex" --did $repo_did "$W/float.jsonl" -o "$W/x.car"
printf '{"collection":"notansid","rkey":"a","record":{}}\n' >"$W/badnsid.jsonl"
expect_rc "repo build rejects a bad collection" 1 tool repo build --key "$khex" --did $repo_did "$W/badnsid.jsonl" -o "$W/x.car"
printf '{"collection":"io.atcr.tag","rkey":"a/b","record":{}}\n' >"$W/badrkey.jsonl"
expect_rc "repo build rejects a bad rkey" 1 tool repo build --key "$khex" --did $repo_did "$W/badrkey.jsonl" -o "$W/x.car"
printf 'garbage\n' >"$W/garbage.jsonl"
expect_rc "repo build rejects garbage" 1 tool repo build --key "$khex" --did $repo_did "$W/garbage.jsonl" -o "$W/x.car"
expect_rc "repo build rejects a bad DID" 2 tool repo build --key "$khex" --did not-a-did "$W/records.jsonl" -o "$W/x.car"
expect_rc "repo build rejects a bad key" 2 tool repo build --key abcd --did $repo_did "$W/records.jsonl" -o "$W/x.car"

# an empty repo, and a P-256 repo
: >"$W/none.jsonl"
expect_rc "repo build of no records" 0 tool repo build --key "$khex" --did $repo_did "$W/none.jsonl" -o "$W/empty-repo.car"
expect_rc "car verify of an empty repo" 0 tool car verify "$W/empty-repo.car" --key "$kdid"
expect_eq "empty repo has 0 records" 0 "$(field records)"
read -r phex pdid <<<"$(tool key gen p256 | tr "\n" " ")"
expect_rc "repo build with a P-256 key" 0 tool repo build --key "$phex" --type p256 --did $repo_did "$W/records.jsonl" -o "$W/p256.car"
expect_rc "car verify of a P-256 repo" 0 tool car verify "$W/p256.car" --key "$pdid"
expect_rc "car verify of a P-256 repo with the K-256 key" 1 tool car verify "$W/p256.car" --key "$kdid"

# without --key, the DID is resolved: an unreachable PLC is an I/O failure (2), not "invalid"
port=$(free_port)
expect_rc "car verify with an unreachable PLC" 2 tool car verify "$W/repo.car" --plc "http://127.0.0.1:$port" --timeout-ms 2000
expect_contains "unreachable PLC is explained" "$ERR" "signing key"

# ---------------------------------------------------------------- resolve (offline failures)
expect_rc "resolve of something that is neither handle nor DID" 1 tool resolve 'not a handle!'
expect_rc "resolve with an unreachable PLC" 2 tool resolve did:plc:ewvi7nxzyoun6zhxrhs64oiz --plc "http://127.0.0.1:$port" --timeout-ms 2000
run tool resolve alice.test --handle-override 'bad-override' --no-dns
[ "$RC" = 2 ] || fail "resolve rejects a malformed --handle-override (exit $RC)"
pass "resolve rejects a malformed --handle-override"

# ---------------------------------------------------------------- usage
run "$BIN" tool
[ "$RC" != 0 ] || fail "atcr tool without a subcommand must fail"
pass "atcr tool without a subcommand fails"
run "$BIN" tool frobnicate
[ "$RC" != 0 ] || fail "an unknown tool subcommand must fail"
pass "an unknown tool subcommand fails"
run "$BIN" tool car verify
[ "$RC" != 0 ] || fail "car verify without a file must fail"
pass "car verify without a file fails"
