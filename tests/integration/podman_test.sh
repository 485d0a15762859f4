#!/usr/bin/env bash
# podman and buildah against a running registry: usage: podman_test.sh ATCR_BINARY
#
# Private vfs storage, chroot isolation (podman cannot run containers on this machine, see
# reference/clients.md, so the RUN output is checked inside the pulled layers instead):
# - podman build with a RUN step, push (OCI manifest), the registry's bytes hash to the pushed
#   digest, the RUN output is in the pushed layers, rmi + pull back gives the same digest;
# - buildah from scratch, commit, push as Docker schema 2, rmi + pull back;
# - a 2-platform manifest list made by `podman manifest`, pushed with --all as an OCI index.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
e2e_init podman
need podman buildah skopeo busybox curl python3
W=$E2E_WORK

start_registry "$BIN"
STORE=(--root "$W/storage" --runroot "$W/run" --storage-driver vfs)
PM=(podman "${STORE[@]}" --cgroup-manager cgroupfs --events-backend file --tmpdir "$W/tmp")
BA=(buildah "${STORE[@]}")
mkdir -p "$W/tmp"
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

# manifest_check WHAT REPO REF WANT_TYPE WANT_DIGEST: registry serves REF with that type and digest.
manifest_check() {
  local body=$W/manifest.out ctype
  ctype=$(curl -s -o "$body" -w '%{content_type}' -H "Accept: $ACCEPT" "$REG_URL/v2/$2/manifests/$3")
  expect_eq "$1: Content-Type" "$4" "$ctype"
  expect_eq "$1: served bytes hash to the pushed digest" "$5" "sha256:$(sha256sum <"$body" | cut -d' ' -f1)"
}

# --- podman build with RUN, push, pull -----------------------------------------------------------
B=$W/build
mkdir -p "$B"
cp "$(command -v busybox)" "$B/busybox"
cat >"$B/Containerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /etc && echo built-by-RUN > /etc/stamp"]
CMD ["/bin/busybox", "cat", "/etc/stamp"]
EOF
expect_ok "podman build (vfs, chroot isolation, RUN step)" \
  "${PM[@]}" build --isolation chroot -t localhost/test/bb:v1 "$B"
expect_ok "podman push" "${PM[@]}" push --tls-verify=false --digestfile "$W/podman.digest" \
  localhost/test/bb:v1 "docker://$REG/test/podman:v1"
digest=$(cat "$W/podman.digest")
manifest_check "podman image" test/podman v1 application/vnd.oci.image.manifest.v1+json "$digest"

expect_ok "skopeo copy of the podman image to a layout" skopeo --insecure-policy copy \
  --src-tls-verify=false "docker://$REG/test/podman:v1" "oci:$W/podman-layout:v1"
stamp=$(python3 "$E2E_LAYOUT" cat "$W/podman-layout" v1 etc/stamp) || fail "etc/stamp not in the pushed layers"
expect_eq "RUN output inside the pushed layers" built-by-RUN "$stamp"

expect_ok "podman rmi" "${PM[@]}" rmi localhost/test/bb:v1
expect_ok "podman pull" "${PM[@]}" pull --tls-verify=false "$REG/test/podman:v1"
expect_eq "digest of the pulled image" "$digest" \
  "$("${PM[@]}" image inspect --format '{{.Digest}}' "$REG/test/podman:v1")"
expect_ok "podman pull by digest" "${PM[@]}" pull --tls-verify=false "$REG/test/podman@$digest"

# --- buildah from scratch, Docker schema 2 -------------------------------------------------------
echo hello-from-buildah >"$W/hello.txt"
ctr=$("${BA[@]}" from scratch) || fail "buildah from scratch"
expect_ok "buildah copy" "${BA[@]}" copy "$ctr" "$W/hello.txt" /hello.txt
expect_ok "buildah config" "${BA[@]}" config --cmd '["/hello"]' "$ctr"
expect_ok "buildah commit" "${BA[@]}" commit "$ctr" localhost/test/buildah:v1
expect_ok "buildah rm" "${BA[@]}" rm "$ctr"
expect_ok "buildah push (Docker schema 2)" "${BA[@]}" push --tls-verify=false --format v2s2 \
  --digestfile "$W/buildah.digest" localhost/test/buildah:v1 "docker://$REG/test/buildah:v1"
bdigest=$(cat "$W/buildah.digest")
manifest_check "buildah image" test/buildah v1 application/vnd.docker.distribution.manifest.v2+json "$bdigest"
expect_ok "buildah rmi" "${BA[@]}" rmi localhost/test/buildah:v1
expect_ok "buildah pull" "${BA[@]}" pull --tls-verify=false "$REG/test/buildah:v1"
expect_eq "digest of the image pulled by buildah" "$bdigest" \
  "$("${BA[@]}" inspect --type image --format '{{.FromImageDigest}}' "$REG/test/buildah:v1")"

# --- a 2-platform list made by podman, pushed as an OCI index ------------------------------------
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "true"]\n' >"$B/Containerfile.arm64"
expect_ok "podman build for linux/arm64/v8 (no RUN)" "${PM[@]}" build --isolation chroot \
  --platform linux/arm64/v8 -f "$B/Containerfile.arm64" -t localhost/test/bb-arm64:v1 "$B"
expect_ok "podman manifest create" "${PM[@]}" manifest create localhost/test/list
expect_ok "podman manifest add amd64" "${PM[@]}" manifest add --tls-verify=false localhost/test/list "docker://$REG/test/podman:v1"
expect_ok "podman manifest add arm64" "${PM[@]}" manifest add localhost/test/list containers-storage:localhost/test/bb-arm64:v1
expect_ok "podman manifest push --all" "${PM[@]}" manifest push --all --tls-verify=false --format oci \
  --digestfile "$W/list.digest" localhost/test/list "docker://$REG/test/list:v1"
ldigest=$(cat "$W/list.digest")
manifest_check "podman list" test/list v1 application/vnd.oci.image.index.v1+json "$ldigest"
platforms=$(curl -s -H "Accept: $ACCEPT" "$REG_URL/v2/test/list/manifests/v1" |
  json_query '" ".join(m["platform"]["os"] + "/" + m["platform"]["architecture"] for m in d["manifests"])')
expect_eq "platforms in the pushed index" "linux/amd64 linux/arm64" "$platforms"
for child in $(curl -s -H "Accept: $ACCEPT" "$REG_URL/v2/test/list/manifests/v1" | json_query '" ".join(m["digest"] for m in d["manifests"])'); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -I -H "Accept: $ACCEPT" "$REG_URL/v2/test/list/manifests/$child")
  expect_eq "index child $child present in test/list" 200 "$code"
done
arch=$(skopeo inspect --tls-verify=false --override-arch arm64 --override-variant v8 "docker://$REG/test/list:v1" | json_query 'd["Architecture"]')
expect_eq "platform selection from the podman-made index" arm64 "$arch"

stop_registry_cleanly "$BIN" "$REG_PID"
