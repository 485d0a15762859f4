#!/usr/bin/env bash
# Docker Engine 20.10 and containerd against a running registry: usage: docker_test.sh ATCR_BINARY
#
# Starts a private containerd + dockerd (vfs, no iptables, no bridge) once for every check:
# - classic `docker build` of a FROM-scratch busybox image with a RUN step, push (Docker schema 2
#   manifest), remove locally, pull back by tag and by digest, `docker run` prints the RUN output;
# - a push of the same image to a second repository uses a cross-repository blob mount;
# - `docker pull` of an OCI image pushed by skopeo;
# - containerd `ctr` pulls and runs the docker-pushed image, and pushes it to a third repository;
# - against a second registry started with --htpasswd (bcrypt entry from `htpasswd -B`): /v2/ asks
#   for Basic auth, push without login fails, login with a wrong password fails, login with the
#   right one succeeds and push/pull work.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
e2e_init docker
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker} # the Debian CLI that matches dockerd 20.10
need containerd ctr dockerd runc "$DOCKER_CLI" skopeo htpasswd curl python3 busybox
W=$E2E_WORK

# --- registries: one open, one with htpasswd ---------------------------------------------------
start_registry "$BIN"
OPEN_REG=$REG OPEN_URL=$REG_URL OPEN_PID=$REG_PID
htpasswd -B -b -c "$W/htpasswd" tester 's3cret-pass' 2>/dev/null || fail "htpasswd -B failed"
grep -q '^tester:\$2y\$' "$W/htpasswd" || fail "htpasswd did not write a bcrypt entry: $(cat "$W/htpasswd")"
start_registry "$BIN" --htpasswd "$W/htpasswd"
AUTH_REG=$REG AUTH_URL=$REG_URL AUTH_PID=$REG_PID

# --- containerd + dockerd with private state (lib/common.sh) -------------------------------------
start_docker_daemons

ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

# push_digest OUTPUT: the digest from docker push's last line "TAG: digest: sha256:... size: N"
push_digest() { sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\) size.*/\1/p' <<<"$1" | tail -n 1; }

# --- build, push, remove, pull, run ------------------------------------------------------------
B=$W/build
mkdir -p "$B"
cp "$(command -v busybox)" "$B/busybox"
cat >"$B/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /etc && echo built-by-RUN > /etc/stamp"]
CMD ["/bin/busybox", "cat", "/etc/stamp"]
EOF
IMG=$OPEN_REG/test/bb:v1
expect_ok "docker build (classic builder, RUN step)" "${DK[@]}" build --network=none -t "$IMG" "$B"

out=$("${DK[@]}" push "$IMG" 2>&1) || fail "docker push $IMG: $out"
pass "docker push"
digest=$(push_digest "$out")
[ -n "$digest" ] || fail "no digest in docker push output: $out"
manifest_file=$W/bb-manifest.json
ctype=$(curl -s -o "$manifest_file" -w '%{content_type}' -H "Accept: $ACCEPT" "$OPEN_URL/v2/test/bb/manifests/v1")
expect_eq "pushed manifest media type (docker rewrites to schema 2)" \
  application/vnd.docker.distribution.manifest.v2+json "$ctype"
expect_eq "pushed manifest bytes hash to the pushed digest" "$digest" "sha256:$(sha256sum <"$manifest_file" | cut -d' ' -f1)"
expect_eq "manifest layer count" 2 "$(json_query 'len(d["layers"])' <"$manifest_file")"

expect_ok "docker rmi" "${DK[@]}" rmi "$IMG"
expect_fail "image gone locally" "${DK[@]}" image inspect "$IMG"
out=$("${DK[@]}" pull "$IMG" 2>&1) || fail "docker pull $IMG: $out"
expect_contains "docker pull by tag reports the pushed digest" "$out" "Digest: $digest"
run_out=$("${DK[@]}" run --rm --network=none "$IMG" 2>&1) || fail "docker run: $run_out"
expect_eq "docker run output of the pulled image" built-by-RUN "$run_out"

expect_ok "docker rmi before pull by digest" "${DK[@]}" rmi "$IMG"
expect_ok "docker pull by digest" "${DK[@]}" pull "$OPEN_REG/test/bb@$digest"
run_out=$("${DK[@]}" run --rm --network=none "$OPEN_REG/test/bb@$digest" 2>&1) || fail "docker run by digest: $run_out"
expect_eq "docker run output of the image pulled by digest" built-by-RUN "$run_out"

# Same layers, another repository in the same registry: docker mounts the blobs across repos.
expect_ok "docker tag into a second repository" "${DK[@]}" tag "$OPEN_REG/test/bb@$digest" "$OPEN_REG/test/bb-copy:v1"
out=$("${DK[@]}" push "$OPEN_REG/test/bb-copy:v1" 2>&1) || fail "docker push bb-copy: $out"
expect_contains "second push mounts layers from test/bb" "$out" "Mounted from test/bb"
expect_eq "second push has the same digest" "$digest" "$(push_digest "$out")"

# An OCI image pushed by skopeo, pulled by docker.
python3 "$E2E_OCIGEN" "$W/oci" --tag v1 --name docker-oci --layers 2 >/dev/null
expect_ok "skopeo push of an OCI image" skopeo --insecure-policy copy --dest-tls-verify=false \
  "oci:$W/oci:v1" "docker://$OPEN_REG/test/oci:v1"
oci_digest=$(python3 "$E2E_LAYOUT" digest "$W/oci" v1)
out=$("${DK[@]}" pull "$OPEN_REG/test/oci:v1" 2>&1) || fail "docker pull of OCI image: $out"
expect_contains "docker pull of an OCI manifest keeps its digest" "$out" "Digest: $oci_digest"

# --- containerd: pull the docker-pushed image, run it, push it elsewhere ------------------------
expect_ok "ctr pull" "${CTR[@]}" images pull --plain-http "$IMG"
run_out=$("${CTR[@]}" run --rm --snapshotter native "$IMG" e2e-ctr 2>&1) || fail "ctr run: $run_out"
expect_eq "ctr run output" built-by-RUN "$(tr -d '\r' <<<"$run_out")"
expect_ok "ctr tag" "${CTR[@]}" images tag "$IMG" "$OPEN_REG/test/ctr-push:v1"
expect_ok "ctr push" "${CTR[@]}" images push --plain-http "$OPEN_REG/test/ctr-push:v1"
got=sha256:$(curl -s -H "Accept: $ACCEPT" "$OPEN_URL/v2/test/ctr-push/manifests/v1" | sha256sum | cut -d' ' -f1)
expect_eq "ctr-pushed manifest digest" "$digest" "$got"

# --- htpasswd registry: login required for push -------------------------------------------------
hdr=$(curl -s -o /dev/null -D - "$AUTH_URL/v2/" | tr -d '\r')
expect_contains "/v2/ without credentials is 401" "$hdr" " 401"
expect_contains "/v2/ challenges for Basic auth" "${hdr,,}" "www-authenticate: basic"
code=$(curl -s -o /dev/null -w '%{http_code}' -u tester:s3cret-pass "$AUTH_URL/v2/")
expect_eq "/v2/ with the right credentials" 200 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -u tester:wrong "$AUTH_URL/v2/")
expect_eq "/v2/ with a wrong password" 401 "$code"

AIMG=$AUTH_REG/test/private:v1
expect_ok "docker tag for the auth registry" "${DK[@]}" tag "$OPEN_REG/test/bb@$digest" "$AIMG"
expect_fail "docker push without login fails" "${DK[@]}" push "$AIMG"
expect_contains "push without login is refused for lack of credentials" "${LAST_OUT,,}" "auth"
expect_fail "docker login with a wrong password fails" \
  "${DK[@]}" login -u tester -p wrong-pass "$AUTH_REG"
out=$(echo 's3cret-pass' | "${DK[@]}" login -u tester --password-stdin "$AUTH_REG" 2>&1) || fail "docker login: $out"
expect_contains "docker login" "$out" "Login Succeeded"
out=$("${DK[@]}" push "$AIMG" 2>&1) || fail "docker push after login: $out"
expect_eq "push after login" "$digest" "$(push_digest "$out")"
expect_ok "docker rmi private image" "${DK[@]}" rmi "$AIMG"
expect_ok "docker pull after login" "${DK[@]}" pull "$AIMG"
expect_ok "docker logout" "${DK[@]}" logout "$AUTH_REG"
expect_fail "docker push after logout fails" "${DK[@]}" push "$AIMG"

# --- shut down: daemons first, then the registries, which must stop cleanly --------------------
stop_pid "$DOCKERD_PID" 20 || true
stop_pid "$CTRD_PID" 15 || true
stop_registry_cleanly "$BIN" "$OPEN_PID"
stop_registry_cleanly "$BIN" "$AUTH_PID"
