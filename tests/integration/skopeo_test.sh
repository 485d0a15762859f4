#!/usr/bin/env bash
# skopeo (and umoci) against a running registry: usage: skopeo_test.sh ATCR_BINARY
#
# Copies a 3-layer image, a 2-platform index and a umoci-made image (manifest without mediaType)
# from OCI layouts into the registry and back out; checks blob sets and manifest digests are
# identical end to end, the raw manifest from the registry hashes to its digest, and tags list and
# catalog show the repositories. Ends by checking the registry stops cleanly on SIGTERM.
source "$(dirname "$0")/lib/common.sh"
BIN=${1:?usage: $0 ATCR_BINARY}
e2e_init skopeo
need skopeo umoci curl python3

start_registry "$BIN"
W=$E2E_WORK
SK=(skopeo --insecure-policy)

# roundtrip NAME SRC_LAYOUT TAG REPO: push, pull back, compare.
roundtrip() {
  local name=$1 src=$2 tag=$3 repo=$4 want_digest=$5
  local dst="$W/pulled-$name"
  expect_ok "$name: push layout to registry" \
    "${SK[@]}" copy --dest-tls-verify=false "oci:$src:$tag" "docker://$REG/$repo:$tag"
  expect_ok "$name: pull back from registry" \
    "${SK[@]}" copy --src-tls-verify=false "docker://$REG/$repo:$tag" "oci:$dst:$tag"
  expect_eq "$name: blob set after roundtrip" "$(layout_reachable "$src" "$tag")" "$(layout_blobs "$dst")"
  local f
  for f in "$dst"/blobs/sha256/*; do
    [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || fail "$name: pulled blob $f does not hash to its name"
  done
  pass "$name: every pulled blob hashes to its name"
  local raw_digest
  raw_digest=sha256:$("${SK[@]}" inspect --raw --tls-verify=false "docker://$REG/$repo:$tag" | sha256sum | cut -d' ' -f1)
  expect_eq "$name: sha256 of raw manifest from registry" "$want_digest" "$raw_digest"
  local pulled_digest
  pulled_digest=$(python3 "$E2E_LAYOUT" digest "$dst" "$tag")
  expect_eq "$name: manifest digest in pulled layout" "$want_digest" "$pulled_digest"
  local hdr
  hdr=$(curl -sI -H "Accept: $ACCEPT" "$REG_URL/v2/$repo/manifests/$tag" | tr -d '\r')
  expect_contains "$name: HEAD by tag 200" "$hdr" "HTTP/1.1 200"
  expect_contains "$name: Docker-Content-Digest on HEAD" "${hdr,,}" "docker-content-digest: $want_digest"
  local tags
  tags=$(http_get "/v2/$repo/tags/list" | json_query 'd["name"] + " " + ",".join(d["tags"])')
  expect_eq "$name: tags list" "$repo $tag" "$tags"
}

ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

# 1. multi-layer image with a 1 MiB random top layer.
gen=$(python3 "$E2E_OCIGEN" "$W/img" --tag v1 --layers 3 --random-bytes 1048576)
img_digest=$(json_query 'd["digest"]' <<<"$gen")
roundtrip image "$W/img" v1 test/img "$img_digest"

# 2. multi-arch index (linux/amd64 + linux/arm64/v8): skopeo --all copies every platform.
gen=$(python3 "$E2E_OCIGEN" "$W/multi" --tag multi --name multi --platforms linux/amd64,linux/arm64/v8)
multi_digest=$(json_query 'd["digest"]' <<<"$gen")
expect_ok "index: push all platforms" \
  "${SK[@]}" copy --all --dest-tls-verify=false "oci:$W/multi:multi" "docker://$REG/test/multi:multi"
expect_ok "index: pull all platforms back" \
  "${SK[@]}" copy --all --src-tls-verify=false "docker://$REG/test/multi:multi" "oci:$W/pulled-multi:multi"
expect_eq "index: blob set after roundtrip" "$(layout_reachable "$W/multi" multi)" "$(layout_blobs "$W/pulled-multi")"
raw=$("${SK[@]}" inspect --raw --tls-verify=false "docker://$REG/test/multi:multi")
expect_eq "index: sha256 of raw index" "$multi_digest" "sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)"
expect_eq "index: media type of raw index" "application/vnd.oci.image.index.v1+json" "$(json_query 'd["mediaType"]' <<<"$raw")"
expect_eq "index: platforms" "linux/amd64 linux/arm64" \
  "$(json_query '" ".join(m["platform"]["os"] + "/" + m["platform"]["architecture"] for m in d["manifests"])' <<<"$raw")"
arm_digest=$(json_query 'd["manifests"][1]["digest"]' <<<"$raw")
child=$("${SK[@]}" inspect --raw --tls-verify=false "docker://$REG/test/multi@$arm_digest")
expect_eq "index: child manifest by digest hashes to it" "$arm_digest" "sha256:$(printf '%s' "$child" | sha256sum | cut -d' ' -f1)"
arch=$("${SK[@]}" inspect --tls-verify=false --override-arch arm64 --override-variant v8 "docker://$REG/test/multi:multi" | json_query 'd["Architecture"]')
expect_eq "index: platform selection by skopeo" arm64 "$arch"

# 3. a umoci-made image: its manifest has no mediaType field, so the registry has to go by the
# Content-Type skopeo sends.
U=$W/umoci
expect_ok "umoci: init layout" umoci init --layout "$U"
expect_ok "umoci: new image" umoci new --image "$U:v1"
expect_ok "umoci: unpack" umoci unpack --image "$U:v1" "$W/umoci-bundle"
echo hello-from-umoci >"$W/umoci-bundle/rootfs/hello.txt"
expect_ok "umoci: repack" umoci repack --image "$U:v1" "$W/umoci-bundle"
expect_ok "umoci: config" umoci config --image "$U:v1" --config.cmd /hello
umoci_digest=$(python3 -c '
import json, sys
idx = json.load(open(sys.argv[1] + "/index.json"))
m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "v1"][0]
body = json.load(open(sys.argv[1] + "/blobs/sha256/" + m["digest"].split(":")[1]))
assert "mediaType" not in body, "umoci manifest unexpectedly has mediaType"
print(m["digest"])' "$U") || fail "umoci: layout not as expected (manifest with mediaType?)"
pass "umoci: manifest has no mediaType"
roundtrip umoci "$U" v1 test/umoci "$umoci_digest"
ctype=$(curl -s -o /dev/null -w '%{content_type}' -H "Accept: $ACCEPT" "$REG_URL/v2/test/umoci/manifests/v1")
expect_eq "umoci: Content-Type of manifest without mediaType" "application/vnd.oci.image.manifest.v1+json" "$ctype"

# 4. a second tag on the same image, by copying registry -> registry (blobs already present).
expect_ok "image: retag inside the registry" \
  "${SK[@]}" copy --src-tls-verify=false --dest-tls-verify=false "docker://$REG/test/img:v1" "docker://$REG/test/img:latest"
tags=$(http_get "/v2/test/img/tags/list" | json_query '",".join(sorted(d["tags"]))')
expect_eq "image: tags list after retag" "latest,v1" "$tags"
raw_digest=sha256:$("${SK[@]}" inspect --raw --tls-verify=false "docker://$REG/test/img:latest" | sha256sum | cut -d' ' -f1)
expect_eq "image: retagged manifest digest" "$img_digest" "$raw_digest"

catalog=$(http_get "/v2/_catalog" | json_query '",".join(d["repositories"])')
expect_eq "catalog" "test/img,test/multi,test/umoci" "$catalog"

stop_registry_cleanly "$BIN" "$REG_PID"
