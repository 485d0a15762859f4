#!/usr/bin/env bash
# Docker Engine through `atcr dev` (issue 6): usage: dev_docker_test.sh ATCR_BINARY
#
# Starts `atcr dev` and a private containerd + dockerd, then: `docker login localhost:PORT -u
# dev.test -p <app password>` (Docker token auth against the AppView), `docker build` of a
# busybox image, `docker push localhost:PORT/dev.test/hello:latest` (manifest to the dev
# account's PDS, layers to the hold), `docker rmi`, `docker pull` by tag with the pushed digest,
# `docker run` of the pulled image; a wrong password fails to log in.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
BIN=$(realpath "$BIN")
e2e_init dev_docker
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}
need containerd ctr dockerd runc "$DOCKER_CLI" python3 curl busybox
W=$E2E_WORK

BASE=$(free_port_block 4)
start_atcr_dev "$BIN" "$W/dev" "$BASE"
on_exit 'stop_pid $DEV_PID 20'
APP=$(json_query 'd["appPassword"]' <"$W/dev/dev-account.json")
REG=localhost:$BASE
start_docker_daemons

push_digest() { sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\) size.*/\1/p' <<<"$1" | tail -n 1; }

expect_fail "docker login with a wrong password fails" "${DK[@]}" login -u dev.test -p wrong-wrong-wrong "$REG"
out=$(printf '%s' "$APP" | "${DK[@]}" login -u dev.test --password-stdin "$REG" 2>&1) || fail "docker login: $out"
expect_contains "docker login with the app password" "$out" "Login Succeeded"

B=$W/build
mkdir -p "$B"
cp "$(command -v busybox)" "$B/busybox"
cat >"$B/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /etc && echo hello-from-atcr-dev > /etc/stamp"]
CMD ["/bin/busybox", "cat", "/etc/stamp"]
DOCKERFILE
IMG=$REG/dev.test/hello:latest
expect_ok "docker build" "${DK[@]}" build --network=none -t "$IMG" "$B"
out=$("${DK[@]}" push "$IMG" 2>&1) || fail "docker push $IMG: $out"
digest=$(push_digest "$out")
[ -n "$digest" ] || fail "no digest in docker push output: $out"
pass "docker push through the AppView ($digest)"
expect_ok "docker rmi" "${DK[@]}" rmi "$IMG"
out=$("${DK[@]}" pull "$IMG" 2>&1) || fail "docker pull $IMG: $out"
expect_contains "docker pull reports the pushed digest" "$out" "Digest: $digest"
run_out=$("${DK[@]}" run --rm --network=none "$IMG" 2>&1) || fail "docker run: $run_out"
expect_eq "docker run of the pulled image" hello-from-atcr-dev "$run_out"
stop_pid "$DOCKERD_PID" 20 || true
stop_pid "$CTRD_PID" 15 || true
