#!/usr/bin/env bash
# `atcr dev` end to end with skopeo: usage: dev_test.sh ATCR_BINARY
#
# Starts `atcr dev --port-base N` (dev PLC, PDS, hold, AppView as child processes) in a temp
# dir, then: the dev account file exists with an app password; skopeo pushes a 3-layer image
# and a multi-arch index with the app password and pulls them back anonymously (public hold)
# with identical digests and blob sets; podman builds and pushes, buildah pulls; the manifest and tag are io.atcr.manifest /
# io.atcr.tag records in the dev account's repo on the PDS (read through its XRPC, holdDid set
# to the hold); a wrong password and a push into another namespace are refused; after a
# SIGTERM and a restart on the same data dir the account is reused and the image still pulls.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init dev
need skopeo python3 curl
W=$E2E_WORK
SK=(skopeo --insecure-policy)

BASE=$(free_port_block 4)
REG="127.0.0.1:$BASE"
PDS_URL="http://127.0.0.1:$((BASE + 1))"
HOLD_DID="did:web:127.0.0.1%3A$((BASE + 3))"

start_dev() { start_atcr_dev "$BIN" "$W/dev" "$BASE"; }
start_dev
on_exit 'stop_pid $DEV_PID 20'
pass "atcr dev is up on ports $BASE-$((BASE + 3))"

ACCT="$W/dev/dev-account.json"
[ "$(stat -c %a "$ACCT")" = 600 ] || fail "dev-account.json is not mode 0600"
DID=$(json_query 'd["did"]' <"$ACCT")
APP=$(json_query 'd["appPassword"]' <"$ACCT")
expect_eq "dev account handle" dev.test "$(json_query 'd["handle"]' <"$ACCT")"
expect_contains "login hint printed" "$(cat "$W/dev.out")" "docker login localhost:$BASE -u dev.test -p $APP"

# ---------------------------------------------------------------- push and pull
gen=$(python3 "$E2E_OCIGEN" "$W/img" --tag v1 --layers 3 --random-bytes 1048576)
img_digest=$(json_query 'd["digest"]' <<<"$gen")
expect_ok "push a 3-layer image with the app password" \
  "${SK[@]}" copy --dest-tls-verify=false --dest-creds "dev.test:$APP" "oci:$W/img:v1" "docker://$REG/dev.test/hello:v1"
raw=$("${SK[@]}" inspect --raw --tls-verify=false "docker://$REG/dev.test/hello:v1")
expect_eq "manifest digest after push" "$img_digest" "sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)"
expect_ok "anonymous pull from the public hold" \
  "${SK[@]}" copy --src-tls-verify=false "docker://$REG/dev.test/hello:v1" "oci:$W/pulled:v1"
expect_eq "blob set after roundtrip" "$(layout_reachable "$W/img" v1)" "$(layout_blobs "$W/pulled")"

gen=$(python3 "$E2E_OCIGEN" "$W/multi" --tag multi --name multi --platforms linux/amd64,linux/arm64/v8)
multi_digest=$(json_query 'd["digest"]' <<<"$gen")
expect_ok "push a multi-arch index" \
  "${SK[@]}" copy --all --dest-tls-verify=false --dest-creds "dev.test:$APP" "oci:$W/multi:multi" "docker://$REG/dev.test/tools/multi:multi"
expect_ok "pull the index back" \
  "${SK[@]}" copy --all --src-tls-verify=false "docker://$REG/dev.test/tools/multi:multi" "oci:$W/pulled-multi:multi"
expect_eq "index blob set after roundtrip" "$(layout_reachable "$W/multi" multi)" "$(layout_blobs "$W/pulled-multi")"
raw=$("${SK[@]}" inspect --raw --tls-verify=false "docker://$REG/dev.test/tools/multi:multi")
expect_eq "index digest" "$multi_digest" "sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)"

# podman builds and pushes with the app password; buildah pulls it back.
if command -v podman >/dev/null && command -v buildah >/dev/null && command -v busybox >/dev/null; then
  STORE=(--root "$W/storage" --runroot "$W/run" --storage-driver vfs)
  PM=(podman "${STORE[@]}" --cgroup-manager cgroupfs --events-backend file --tmpdir "$W/tmp")
  mkdir -p "$W/tmp" "$W/pbuild"
  cp "$(command -v busybox)" "$W/pbuild/busybox"
  printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'CMD ["/bin/busybox", "true"]' >"$W/pbuild/Containerfile"
  expect_ok "podman build" "${PM[@]}" build --isolation chroot -t localhost/bb:v1 "$W/pbuild"
  expect_ok "podman push with the app password" "${PM[@]}" push --tls-verify=false --creds "dev.test:$APP" \
    --digestfile "$W/podman.digest" localhost/bb:v1 "docker://$REG/dev.test/podman:v1"
  raw=$("${SK[@]}" inspect --raw --tls-verify=false "docker://$REG/dev.test/podman:v1")
  expect_eq "podman-pushed manifest digest" "$(cat "$W/podman.digest")" "sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)"
  expect_ok "buildah pull" buildah "${STORE[@]}" pull --tls-verify=false "docker://$REG/dev.test/podman:v1"
else
  fail "podman, buildah and busybox are needed (scripts/bootstrap installs them)"
fi

# ---------------------------------------------------------------- records on the PDS
records=$(curl -sf "$PDS_URL/xrpc/com.atproto.repo.listRecords?repo=$DID&collection=io.atcr.manifest&limit=100") \
  || fail "listRecords io.atcr.manifest"
expect_contains "io.atcr.manifest record for the image" "$records" "\"digest\":\"$img_digest\""
expect_contains "manifest record names the hold" "$records" "\"holdDid\":\"$HOLD_DID\""
tags=$(curl -sf "$PDS_URL/xrpc/com.atproto.repo.listRecords?repo=$DID&collection=io.atcr.tag&limit=100") \
  || fail "listRecords io.atcr.tag"
expect_contains "io.atcr.tag record" "$tags" "\"tag\":\"v1\""

# ---------------------------------------------------------------- refusals
expect_fail "wrong password is refused" \
  "${SK[@]}" copy --dest-tls-verify=false --dest-creds "dev.test:wrong-wrong-wrong" "oci:$W/img:v1" "docker://$REG/dev.test/hello:bad"
expect_fail "push into another namespace is refused" \
  "${SK[@]}" copy --dest-tls-verify=false --dest-creds "dev.test:$APP" "oci:$W/img:v1" "docker://$REG/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/hello:v1"

# ---------------------------------------------------------------- restart
stop_pid "$DEV_PID" 20 || fail "atcr dev did not exit cleanly on SIGTERM"
for p in 0 1 2 3; do
  # SO_REUSEADDR as servers set it: connections in TIME_WAIT do not count, a listener does.
  python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()' $((BASE + p)) \
    || fail "port $((BASE + p)) still bound after atcr dev stopped"
done
start_dev
expect_eq "account reused after restart" "$DID" "$(json_query 'd["did"]' <"$ACCT")"
expect_contains "restart says reused" "$(cat "$W/dev.out")" "reused"
rm -rf "$W/pulled"
expect_ok "image pulls after restart" \
  "${SK[@]}" copy --src-tls-verify=false "docker://$REG/dev.test/hello:v1" "oci:$W/pulled:v1"
expect_eq "blob set after restart" "$(layout_reachable "$W/img" v1)" "$(layout_blobs "$W/pulled")"
