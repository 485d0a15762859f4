#!/usr/bin/env python3
"""Black-box OCI Distribution conformance checks of a running registry, in raw HTTP (stdlib only).

Covers what real clients rarely exercise: chunked uploads with Content-Range, out-of-order chunks
(416 + Range), upload status and cancel, cross-repository mount with and without the blob, the
referrers API with artifactType filtering, OCI-Subject, tag and catalog pagination with Link,
manifest size limit, malformed and mismatched digests, schema 1 rejection, MANIFEST_BLOB_UNKNOWN,
deletes. Assertions follow the spec digest in /work/shared/reference/oci.md (OCI distribution-spec
v1.1.1), not any one implementation's quirks.

    conformance.py --atcr build/bin/atcr          start `atcr registry serve --delete-enabled`
    conformance.py --atcr docker-registry         same checks against Debian's docker-registry 2.8
    conformance.py --url http://127.0.0.1:5000 [--delete-enabled] [--atcr-extras]
    conformance.py ... -k referrers               only checks whose name contains "referrers"

Exit status 0 only if every selected check passed.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ocigen  # noqa: E402
from regtest import Client, RegistryProcess, is_distribution, parse_link, sha256, with_query  # noqa: E402

MT_MANIFEST = ocigen.MT_MANIFEST
MT_INDEX = ocigen.MT_INDEX
MT_DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MT_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MT_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
ACCEPT = ", ".join([MT_MANIFEST, MT_INDEX, MT_DOCKER_V2,
                    "application/vnd.docker.distribution.manifest.list.v2+json"])
MANIFEST_LIMIT = 4 * 1024 * 1024


class CheckFailed(AssertionError):
    pass


def expect(cond, message, resp=None):
    if not cond:
        raise CheckFailed(message + (f"\n      response: {resp!r}" if resp is not None else ""))


def expect_status(resp, *statuses, what="request"):
    expect(resp.status in statuses, f"{what}: want status {'/'.join(map(str, statuses))}, "
           f"got {resp.status}", resp)


def expect_error(resp, statuses, codes, what="request"):
    """A 4xx with an OCI error body {"errors":[{"code":...}]} containing one of `codes`."""
    statuses = statuses if isinstance(statuses, tuple) else (statuses,)
    codes = codes if isinstance(codes, tuple) else (codes,)
    expect_status(resp, *statuses, what=what)
    got = resp.error_codes()
    expect(got, f"{what}: want an OCI error body with {'/'.join(codes)}, got none", resp)
    expect(any(c in codes for c in got), f"{what}: want error code {'/'.join(codes)}, got {got}", resp)


def expect_header(resp, name, want=None, what="response"):
    value = resp.header(name)
    expect(value is not None, f"{what}: missing header {name}", resp)
    if want is not None:
        expect(value == want, f"{what}: header {name}: want {want!r}, got {value!r}", resp)
    return value


CHECKS = []


def check(name, needs=()):
    def register(fn):
        CHECKS.append((name, fn, set(needs)))
        return fn
    return register


class Ctx:
    def __init__(self, client, features):
        self.c = client
        self.features = features

    # A small image in `repo` tagged `tag`; returns (manifest bytes, digest). `name` varies content.
    def push_image(self, repo, tag, name="img", media_type=True, **kw):
        blobs = ocigen.Blobs()
        desc = ocigen.image(blobs, name=name, layers=kw.pop("layers", 1), media_type=media_type, **kw)
        manifest = blobs.by_digest.pop(desc["digest"])
        for digest, data in blobs.by_digest.items():
            self.c.push_blob(repo, data, digest)
        r = self.c.put_manifest(repo, tag, manifest, MT_MANIFEST)
        expect_status(r, 201, what=f"PUT manifest {repo}:{tag}")
        return manifest, desc["digest"]

    def start_upload(self, repo):
        r = self.c.request("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
        expect_status(r, 202, what="POST upload")
        return expect_header(r, "Location", what="POST upload")


def blob_bytes(n, seed):
    out, block = bytearray(), hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


# --- base --------------------------------------------------------------------------------------

@check("base: GET /v2/ is 200")
def _(x):
    r = x.c.request("GET", "/v2/")
    expect_status(r, 200, what="GET /v2/")


@check("atcr: /healthz 200 and /metrics in Prometheus text", needs=("atcr",))
def _(x):
    expect_status(x.c.request("GET", "/healthz"), 200, what="GET /healthz")
    r = x.c.request("GET", "/metrics")
    expect_status(r, 200, what="GET /metrics")
    text = r.body.decode(errors="replace")
    expect("# TYPE " in text, "GET /metrics: no '# TYPE' line in the body", r)
    expect((r.header("Content-Type") or "").startswith("text/plain"),
           "GET /metrics: Content-Type should be text/plain", r)


@check("base: keep-alive connection serves several requests")
def _(x):
    import http.client
    conn = http.client.HTTPConnection(x.c.host, x.c.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/v2/")
            r = conn.getresponse()
            r.read()
            expect(r.status == 200, f"GET /v2/ on a reused connection: {r.status}")
    finally:
        conn.close()


# --- blob uploads ------------------------------------------------------------------------------

@check("blob: monolithic POST + PUT, then GET and HEAD")
def _(x):
    data = blob_bytes(100_000, "mono")
    digest = sha256(data)
    loc = x.start_upload("conf/blob")
    r = x.c.request("PUT", with_query(loc, digest=digest), body=data,
                    headers={"Content-Type": "application/octet-stream"})
    expect_status(r, 201, what="PUT ?digest=")
    expect_header(r, "Location", what="PUT ?digest=")
    expect_header(r, "Docker-Content-Digest", digest, what="PUT ?digest=")
    r = x.c.request("GET", f"/v2/conf/blob/blobs/{digest}")
    expect_status(r, 200, what="GET blob")
    expect(r.body == data, "GET blob: body differs from the uploaded bytes")
    expect_header(r, "Content-Length", str(len(data)), what="GET blob")
    if r.header("Docker-Content-Digest") is not None:
        expect_header(r, "Docker-Content-Digest", digest, what="GET blob")
    r = x.c.request("HEAD", f"/v2/conf/blob/blobs/{digest}")
    expect_status(r, 200, what="HEAD blob")
    expect_header(r, "Content-Length", str(len(data)), what="HEAD blob")
    expect(r.body == b"", "HEAD blob: has a body", r)


@check("blob: single POST ?digest= with the body (201, or 202 then PUT)")
def _(x):
    data = blob_bytes(5000, "single-post")
    digest = sha256(data)
    r = x.c.request("POST", f"/v2/conf/single/blobs/uploads/?digest={digest}", body=data,
                    headers={"Content-Type": "application/octet-stream"})
    expect_status(r, 201, 202, what="POST ?digest=")
    loc = expect_header(r, "Location", what="POST ?digest=")
    if r.status == 202:
        r = x.c.request("PUT", with_query(loc, digest=digest), body=data,
                        headers={"Content-Type": "application/octet-stream"})
        expect_status(r, 201, what="PUT after a 202 single POST")
    r = x.c.request("GET", f"/v2/conf/single/blobs/{digest}")
    expect(r.status == 200 and r.body == data, "GET blob after single POST", r)


def patch_chunk(x, url, data, start, end):
    return x.c.request("PATCH", url, body=data[start:end + 1], headers={
        "Content-Type": "application/octet-stream",
        "Content-Range": f"{start}-{end}",
        "Content-Length": str(end - start + 1)})


@check("blob: chunked PATCHes with Content-Range, status GET 204, closing PUT with the last chunk")
def _(x):
    data = blob_bytes(300_000, "chunked")
    digest = sha256(data)
    a, b = 100_000, 200_000
    loc = x.start_upload("conf/chunked")
    r = patch_chunk(x, loc, data, 0, a - 1)
    expect_status(r, 202, what="PATCH chunk 1")
    expect_header(r, "Range", f"0-{a - 1}", what="PATCH chunk 1")
    loc = expect_header(r, "Location", what="PATCH chunk 1")

    r = x.c.request("GET", loc)
    expect_status(r, 204, what="upload status GET")
    expect_header(r, "Range", f"0-{a - 1}", what="upload status GET")
    expect_header(r, "Location", what="upload status GET")

    r = patch_chunk(x, loc, data, a, b - 1)
    expect_status(r, 202, what="PATCH chunk 2")
    expect_header(r, "Range", f"0-{b - 1}", what="PATCH chunk 2")
    loc = expect_header(r, "Location", what="PATCH chunk 2")

    r = x.c.request("PUT", with_query(loc, digest=digest), body=data[b:], headers={
        "Content-Type": "application/octet-stream",
        "Content-Range": f"{b}-{len(data) - 1}",
        "Content-Length": str(len(data) - b)})
    expect_status(r, 201, what="closing PUT with the last chunk")
    expect_header(r, "Docker-Content-Digest", digest, what="closing PUT")
    r = x.c.request("GET", f"/v2/conf/chunked/blobs/{digest}")
    expect(r.status == 200 and r.body == data, "GET of the chunked blob: bytes differ", r)


@check("blob: out-of-order chunk is 416 with Range; the upload then continues in order")
def _(x):
    data = blob_bytes(200_000, "out-of-order")
    digest = sha256(data)
    a = 100_000
    loc = x.start_upload("conf/out-of-order")
    r = patch_chunk(x, loc, data, 0, a - 1)
    expect_status(r, 202, what="PATCH chunk 1")
    loc = expect_header(r, "Location", what="PATCH chunk 1")
    r = patch_chunk(x, loc, data, a + 10, len(data) - 1)
    expect_status(r, 416, what="PATCH starting past the received bytes")
    expect_header(r, "Range", f"0-{a - 1}", what="416 response")
    r = patch_chunk(x, loc, data, 0, a - 1)
    expect_status(r, 416, what="PATCH repeating the first chunk")
    r = x.c.request("GET", loc)
    expect_status(r, 204, what="upload status GET after a 416")
    expect_header(r, "Range", f"0-{a - 1}", what="upload status GET after a 416")
    r = patch_chunk(x, loc, data, a, len(data) - 1)
    expect_status(r, 202, what="PATCH chunk 2 after the 416s")
    loc = expect_header(r, "Location", what="PATCH chunk 2")
    r = x.c.request("PUT", with_query(loc, digest=digest), headers={"Content-Length": "0"})
    expect_status(r, 201, what="closing PUT")
    r = x.c.request("GET", f"/v2/conf/out-of-order/blobs/{digest}")
    expect(r.status == 200 and r.body == data, "GET after an upload with rejected chunks", r)


@check("blob: streamed PATCH without Content-Range (chunked transfer-encoding), empty PUT")
def _(x):
    data = blob_bytes(200_000, "stream")
    digest = sha256(data)
    loc = x.start_upload("conf/stream")
    pieces = [data[i:i + 30_000] for i in range(0, len(data), 30_000)]
    r = x.c.request("PATCH", loc, body=iter(pieces), chunked=True,
                    headers={"Content-Type": "application/octet-stream"})
    expect_status(r, 202, what="streamed PATCH")
    expect_header(r, "Range", f"0-{len(data) - 1}", what="streamed PATCH")
    loc = expect_header(r, "Location", what="streamed PATCH")
    r = x.c.request("PUT", with_query(loc, digest=digest), headers={"Content-Length": "0"})
    expect_status(r, 201, what="closing PUT without body")
    r = x.c.request("GET", f"/v2/conf/stream/blobs/{digest}")
    expect(r.status == 200 and r.body == data, "GET of the streamed blob: bytes differ", r)


@check("blob: cancel an upload with DELETE (204), then it is unknown (404 BLOB_UPLOAD_UNKNOWN)")
def _(x):
    loc = x.start_upload("conf/cancel")
    r = x.c.request("PATCH", loc, body=b"some bytes", headers={
        "Content-Type": "application/octet-stream", "Content-Range": "0-9"})
    expect_status(r, 202, what="PATCH before cancel")
    loc = r.header("Location") or loc
    r = x.c.request("DELETE", loc)
    expect_status(r, 204, what="DELETE upload")
    r = x.c.request("GET", loc)
    expect_error(r, 404, "BLOB_UPLOAD_UNKNOWN", what="status GET of a cancelled upload")
    r = x.c.request("PATCH", loc, body=b"more", headers={
        "Content-Type": "application/octet-stream", "Content-Range": "10-13"})
    expect_error(r, 404, "BLOB_UPLOAD_UNKNOWN", what="PATCH to a cancelled upload")


@check("blob: PUT with a mismatched digest is 400 DIGEST_INVALID and stores nothing")
def _(x):
    data = blob_bytes(1000, "mismatch")
    wrong = sha256(b"something else")
    loc = x.start_upload("conf/digests")
    r = x.c.request("PUT", with_query(loc, digest=wrong), body=data,
                    headers={"Content-Type": "application/octet-stream"})
    expect_error(r, 400, "DIGEST_INVALID", what="PUT with mismatched digest")
    for d in (wrong, sha256(data)):
        r = x.c.request("HEAD", f"/v2/conf/digests/blobs/{d}")
        expect_status(r, 404, what=f"HEAD {d} after a rejected upload")


@check("blob: malformed digests are 400 DIGEST_INVALID")
def _(x):
    data = b"malformed digest test"
    for bad in ("sha256:xyz", "sha256:" + "A" * 64, "sha256:" + "a" * 63, "nodigest"):
        loc = x.start_upload("conf/malformed")
        r = x.c.request("PUT", with_query(loc, digest=bad), body=data,
                        headers={"Content-Type": "application/octet-stream"})
        expect_error(r, 400, "DIGEST_INVALID", what=f"PUT ?digest={bad}")
    r = x.c.request("GET", "/v2/conf/malformed/blobs/sha256:xyz")
    expect_error(r, 400, "DIGEST_INVALID", what="GET blob sha256:xyz")


@check("blob: PUT without ?digest= is refused with 400")
def _(x):
    loc = x.start_upload("conf/nodigest")
    r = x.c.request("PUT", loc, body=b"abc", headers={"Content-Type": "application/octet-stream"})
    expect_status(r, 400, what="closing PUT without digest")
    expect(r.error_codes(), "closing PUT without digest: no OCI error body", r)


@check("blob: unknown blob is 404 BLOB_UNKNOWN (GET) and 404 without body (HEAD)")
def _(x):
    d = sha256(b"never uploaded")
    r = x.c.request("GET", f"/v2/conf/blob/blobs/{d}")
    expect_error(r, 404, "BLOB_UNKNOWN", what="GET unknown blob")
    r = x.c.request("HEAD", f"/v2/conf/blob/blobs/{d}")
    expect_status(r, 404, what="HEAD unknown blob")
    expect(r.body == b"", "HEAD unknown blob: has a body", r)


@check("blob: blobs are scoped to their repository (404 from another repository)")
def _(x):
    data = blob_bytes(2000, "scoped")
    digest = x.c.push_blob("conf/scope-a", data)
    r = x.c.request("GET", f"/v2/conf/scope-b/blobs/{digest}")
    expect_error(r, 404, ("BLOB_UNKNOWN", "NAME_UNKNOWN"), what="GET blob from another repository")


@check("blob: Range GET gives 206 with Content-Range and the bytes")
def _(x):
    data = blob_bytes(10_000, "range")
    digest = x.c.push_blob("conf/range", data)
    r = x.c.request("GET", f"/v2/conf/range/blobs/{digest}", headers={"Range": "bytes=100-199"})
    expect_status(r, 206, what="Range GET")
    expect_header(r, "Content-Range", f"bytes 100-199/{len(data)}", what="Range GET")
    expect(r.body == data[100:200], "Range GET: body is not bytes 100-199", r)


@check("blob: unsatisfiable Range GET is 416")
def _(x):
    data = blob_bytes(1000, "range-416")
    digest = x.c.push_blob("conf/range", data)
    r = x.c.request("GET", f"/v2/conf/range/blobs/{digest}",
                    headers={"Range": f"bytes={len(data) + 10}-"})
    expect_status(r, 416, what="unsatisfiable Range GET")


@check("mount: existing blob from another repository is 201 with Location and digest")
def _(x):
    data = blob_bytes(50_000, "mount")
    digest = x.c.push_blob("conf/mount-src", data)
    r = x.c.request("POST", f"/v2/conf/mount-dst/blobs/uploads/?mount={digest}&from=conf/mount-src",
                    headers={"Content-Length": "0"})
    expect_status(r, 201, what="mount of an existing blob")
    expect_header(r, "Location", what="mount")
    expect_header(r, "Docker-Content-Digest", digest, what="mount")
    r = x.c.request("GET", f"/v2/conf/mount-dst/blobs/{digest}")
    expect(r.status == 200 and r.body == data, "GET of the mounted blob in the target repository", r)


@check("mount: missing blob falls back to a new upload (202 + Location)")
def _(x):
    x.c.push_blob("conf/mount-src2", b"present")
    missing = sha256(b"not in the registry")
    r = x.c.request("POST", f"/v2/conf/mount-dst2/blobs/uploads/?mount={missing}&from=conf/mount-src2",
                    headers={"Content-Length": "0"})
    expect_status(r, 202, what="mount of a missing blob")
    loc = expect_header(r, "Location", what="mount of a missing blob")
    data = b"uploaded after a failed mount"
    r = x.c.request("PUT", with_query(loc, digest=sha256(data)), body=data,
                    headers={"Content-Type": "application/octet-stream"})
    expect_status(r, 201, what="PUT to the upload started by a failed mount")


# --- manifests ---------------------------------------------------------------------------------

@check("manifest: PUT by tag, GET/HEAD by tag and digest return the exact bytes and headers")
def _(x):
    manifest, digest = x.push_image("conf/manifest", "v1", name="manifest")
    for ref in ("v1", digest):
        r = x.c.request("GET", f"/v2/conf/manifest/manifests/{ref}", headers={"Accept": ACCEPT})
        expect_status(r, 200, what=f"GET manifest {ref}")
        expect(r.body == manifest, f"GET manifest {ref}: bytes differ from what was pushed", r)
        expect_header(r, "Content-Type", MT_MANIFEST, what=f"GET manifest {ref}")
        expect_header(r, "Docker-Content-Digest", digest, what=f"GET manifest {ref}")
        r = x.c.request("HEAD", f"/v2/conf/manifest/manifests/{ref}", headers={"Accept": ACCEPT})
        expect_status(r, 200, what=f"HEAD manifest {ref}")
        expect_header(r, "Content-Length", str(len(manifest)), what=f"HEAD manifest {ref}")
        expect_header(r, "Docker-Content-Digest", digest, what=f"HEAD manifest {ref}")
        expect_header(r, "Content-Type", MT_MANIFEST, what=f"HEAD manifest {ref}")
        expect(r.body == b"", f"HEAD manifest {ref}: has a body", r)


@check("manifest: PUT response has Location and Docker-Content-Digest; PUT by digest works")
def _(x):
    blobs = ocigen.Blobs()
    desc = ocigen.image(blobs, name="put-headers", layers=1)
    manifest = blobs.by_digest.pop(desc["digest"])
    for d, data in blobs.by_digest.items():
        x.c.push_blob("conf/put", data, d)
    r = x.c.put_manifest("conf/put", desc["digest"], manifest, MT_MANIFEST)
    expect_status(r, 201, what="PUT manifest by digest")
    expect_header(r, "Location", what="PUT manifest by digest")
    expect_header(r, "Docker-Content-Digest", desc["digest"], what="PUT manifest by digest")
    r = x.c.request("GET", f"/v2/conf/put/manifests/{desc['digest']}", headers={"Accept": ACCEPT})
    expect(r.status == 200 and r.body == manifest, "GET of a manifest pushed by digest", r)


@check("manifest: PUT by a digest that does not match the body is 400 DIGEST_INVALID")
def _(x):
    manifest, digest = x.push_image("conf/put-wrong", "base", name="put-wrong")
    wrong = sha256(manifest + b" ")
    r = x.c.put_manifest("conf/put-wrong", wrong, manifest, MT_MANIFEST)
    expect_error(r, 400, "DIGEST_INVALID", what="PUT manifest by mismatched digest")


@check("manifest: manifest without mediaType is served with the Content-Type it was pushed with")
def _(x):
    manifest, digest = x.push_image("conf/no-mt", "v1", name="no-media-type", media_type=False)
    expect(b"mediaType\": \"application/vnd.oci.image.manifest" not in manifest, "test bug")
    r = x.c.request("GET", "/v2/conf/no-mt/manifests/v1", headers={"Accept": ACCEPT})
    expect_status(r, 200, what="GET manifest without mediaType")
    expect_header(r, "Content-Type", MT_MANIFEST, what="GET manifest without mediaType")
    expect(r.body == manifest and sha256(r.body) == digest, "bytes differ", r)


@check("manifest: unknown tag and digest are 404 MANIFEST_UNKNOWN")
def _(x):
    x.push_image("conf/unknown", "v1", name="unknown")
    for ref in ("nope", sha256(b"no such manifest")):
        r = x.c.request("GET", f"/v2/conf/unknown/manifests/{ref}", headers={"Accept": ACCEPT})
        expect_error(r, 404, "MANIFEST_UNKNOWN", what=f"GET manifest {ref}")
        r = x.c.request("HEAD", f"/v2/conf/unknown/manifests/{ref}", headers={"Accept": ACCEPT})
        expect_status(r, 404, what=f"HEAD manifest {ref}")


@check("manifest: a layer missing from the repository is 400 MANIFEST_BLOB_UNKNOWN")
def _(x):
    blobs = ocigen.Blobs()
    desc = ocigen.image(blobs, name="missing-layer", layers=2)
    manifest_bytes = blobs.by_digest.pop(desc["digest"])
    manifest = json.loads(manifest_bytes)
    missing = manifest["layers"][1]["digest"]
    for d, data in blobs.by_digest.items():
        if d != missing:
            x.c.push_blob("conf/mbu", data, d)
    r = x.c.put_manifest("conf/mbu", "v1", manifest_bytes, MT_MANIFEST)
    expect_error(r, 400, "MANIFEST_BLOB_UNKNOWN", what="PUT manifest with a missing layer")
    r = x.c.request("GET", "/v2/conf/mbu/manifests/v1", headers={"Accept": ACCEPT})
    expect_status(r, 404, what="GET of the rejected manifest")


@check("manifest: index with a missing child is accepted or 400 MANIFEST_BLOB_UNKNOWN")
def _(x):
    body = json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [{
        "mediaType": MT_MANIFEST, "digest": sha256(b"absent child"), "size": 12,
        "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    r = x.c.put_manifest("conf/index-missing", "v1", body, MT_INDEX)
    if r.status != 201:
        expect_error(r, 400, "MANIFEST_BLOB_UNKNOWN", what="PUT index with a missing child")


@check("manifest: invalid JSON and mediaType/Content-Type mismatch are 400 MANIFEST_INVALID")
def _(x):
    r = x.c.put_manifest("conf/invalid", "v1", b"{not json", MT_MANIFEST)
    expect_error(r, 400, "MANIFEST_INVALID", what="PUT of a non-JSON manifest")
    manifest, _ = x.push_image("conf/invalid", "ok", name="invalid")
    r = x.c.put_manifest("conf/invalid", "v2", manifest, MT_INDEX)
    expect_error(r, 400, "MANIFEST_INVALID", what="PUT manifest whose mediaType contradicts Content-Type")


@check("manifest: Docker schema 1 is rejected")
def _(x):
    body = json.dumps({
        "schemaVersion": 1, "name": "conf/schema1", "tag": "v1", "architecture": "amd64",
        "fsLayers": [{"blobSum": EMPTY_DIGEST}],
        "history": [{"v1Compatibility": "{\"id\":\"0\"}"}],
        "signatures": [{"header": {"alg": "ES256"}, "signature": "AAAA", "protected": "e30"}],
    }).encode()
    for media_type in (MT_SCHEMA1_SIGNED, "application/vnd.docker.distribution.manifest.v1+json"):
        r = x.c.put_manifest("conf/schema1", "v1", body, media_type)
        expect_error(r, (400, 415), ("MANIFEST_INVALID", "UNSUPPORTED", "MANIFEST_UNVERIFIED"),
                     what=f"PUT schema 1 manifest as {media_type}")
    r = x.c.request("GET", "/v2/conf/schema1/manifests/v1", headers={"Accept": ACCEPT})
    expect_status(r, 404, what="GET of the rejected schema 1 manifest")


@check("manifest: a manifest over 4 MiB is refused with 413 or 400 and an OCI error body")
def _(x):
    blobs = ocigen.Blobs()
    desc = ocigen.image(blobs, name="huge", layers=1)
    manifest = json.loads(blobs.by_digest.pop(desc["digest"]))
    for d, data in blobs.by_digest.items():
        x.c.push_blob("conf/huge", data, d)
    manifest["annotations"] = {"org.example.padding": "x" * (MANIFEST_LIMIT + 1024)}
    body = json.dumps(manifest).encode()
    r = x.c.request_streamed("PUT", "/v2/conf/huge/manifests/v1", body,
                             headers={"Content-Type": MT_MANIFEST})
    expect_status(r, 413, 400, what=f"PUT of a {len(body)}-byte manifest")
    expect(r.error_codes(), "PUT of a too-large manifest: no OCI error body", r)
    r = x.c.request("GET", "/v2/conf/huge/manifests/v1", headers={"Accept": ACCEPT})
    expect_status(r, 404, what="GET of the refused manifest")


@check("manifest: a manifest just under 4 MiB is accepted")
def _(x):
    blobs = ocigen.Blobs()
    desc = ocigen.image(blobs, name="big-ok", layers=1)
    manifest = json.loads(blobs.by_digest.pop(desc["digest"]))
    for d, data in blobs.by_digest.items():
        x.c.push_blob("conf/big", data, d)
    manifest["annotations"] = {"org.example.padding": ""}
    overhead = len(json.dumps(manifest).encode())
    manifest["annotations"]["org.example.padding"] = "y" * (MANIFEST_LIMIT - overhead - 16)
    body = json.dumps(manifest).encode()
    r = x.c.request_streamed("PUT", "/v2/conf/big/manifests/v1", body,
                             headers={"Content-Type": MT_MANIFEST})
    expect_status(r, 201, what=f"PUT of a {len(body)}-byte manifest")
    r = x.c.request("GET", "/v2/conf/big/manifests/v1", headers={"Accept": ACCEPT})
    expect(r.status == 200 and r.body == body, "GET of the large manifest: bytes differ", r)


# --- tags and catalog --------------------------------------------------------------------------

def follow_pages(x, first_url, key, n):
    """Follows Link rel=next from first_url; returns the list of pages (lists)."""
    pages, url, seen = [], first_url, set()
    while url:
        expect(url not in seen and len(pages) < 50, f"pagination loops at {url}")
        seen.add(url)
        r = x.c.request("GET", url)
        expect_status(r, 200, what=f"GET {url}")
        items = r.json().get(key) or []
        expect(len(items) <= n, f"GET {url}: {len(items)} entries, more than n={n}", r)
        pages.append(items)
        url = parse_link(r.header("Link"))
        if url is None:
            expect(r.header("Link") is None, "Link header without rel=next", r)
        elif len(items) < n:
            raise CheckFailed(f"GET {url}: fewer than n entries but a next Link")
    return pages


TAGS = ["a-first", "b", "m10", "m9", "z-last"]  # lexical: "m10" < "m9"


def push_tags(x, repo):
    manifest, _ = x.push_image(repo, TAGS[-1], name=repo)
    for t in reversed(TAGS[:-1]):
        expect_status(x.c.put_manifest(repo, t, manifest, MT_MANIFEST), 201, what=f"PUT tag {t}")


@check("tags: the list is in lexical order")
def _(x):
    push_tags(x, "conf/tags")
    r = x.c.request("GET", "/v2/conf/tags/tags/list")
    expect_status(r, 200, what="GET tags/list")
    expect(r.json() == {"name": "conf/tags", "tags": TAGS}, f"tags/list: want {TAGS}", r)


@check("tags: n and last paginate, with Link rel=next while more remain")
def _(x):
    push_tags(x, "conf/tags-pages")
    base = "/v2/conf/tags-pages/tags/list"
    r = x.c.request("GET", f"{base}?n=2")
    expect_status(r, 200, what="GET tags/list?n=2")
    expect(r.json()["tags"] == TAGS[:2], f"tags/list?n=2: want {TAGS[:2]}", r)
    expect(parse_link(r.header("Link")), "tags/list?n=2: no Link rel=next header", r)
    pages = follow_pages(x, f"{base}?n=2", "tags", 2)
    expect([t for p in pages for t in p] == TAGS, f"tags followed through Link: {pages}")
    r = x.c.request("GET", f"{base}?last=m10")
    expect(r.status == 200 and r.json()["tags"] == TAGS[3:], f"tags/list?last=m10: want {TAGS[3:]}", r)
    r = x.c.request("GET", f"{base}?n=2&last=a-first")
    expect(r.status == 200 and r.json()["tags"] == TAGS[1:3], f"tags/list?n=2&last=a-first: want {TAGS[1:3]}", r)
    r = x.c.request("GET", f"{base}?n=10")
    expect(r.status == 200 and r.json()["tags"] == TAGS, "tags/list?n=10", r)
    expect(r.header("Link") is None, "tags/list?n=10 returned everything but still sent Link", r)


@check("tags: n=0 is an empty list without Link")
def _(x):
    push_tags(x, "conf/tags-zero")
    r = x.c.request("GET", "/v2/conf/tags-zero/tags/list?n=0")
    expect_status(r, 200, what="tags/list?n=0")
    expect(not r.json().get("tags"), "tags/list?n=0 should be empty", r)
    expect(r.header("Link") is None, "tags/list?n=0 should have no Link", r)


@check("tags: unknown repository is 404 NAME_UNKNOWN")
def _(x):
    r = x.c.request("GET", "/v2/conf/never-pushed/tags/list")
    expect_error(r, 404, "NAME_UNKNOWN", what="tags/list of an unknown repository")


@check("catalog: lists repositories sorted, paginates with n and Link")
def _(x):
    for name in ("conf/cat-a", "conf/cat-b", "conf/cat-c"):
        x.push_image(name, "v1", name=name)
    r = x.c.request("GET", "/v2/_catalog")
    expect_status(r, 200, what="GET /v2/_catalog")
    repos = r.json()["repositories"]
    expect(repos == sorted(repos), f"catalog not sorted: {repos}")
    for name in ("conf/cat-a", "conf/cat-b", "conf/cat-c"):
        expect(name in repos, f"catalog misses {name}: {repos}")
    pages = follow_pages(x, "/v2/_catalog?n=2", "repositories", 2)
    expect([p for page in pages for p in page] == repos, f"catalog through Link: {pages} vs {repos}")


# --- referrers ---------------------------------------------------------------------------------

def artifact(subject_desc, artifact_type=None, config_type=MT_EMPTY, annotations=None):
    m = {"schemaVersion": 2, "mediaType": MT_MANIFEST}
    if artifact_type:
        m["artifactType"] = artifact_type
    m["config"] = {"mediaType": config_type, "digest": EMPTY_DIGEST, "size": 2}
    m["layers"] = [{"mediaType": MT_EMPTY, "digest": EMPTY_DIGEST, "size": 2}]
    m["subject"] = subject_desc
    if annotations:
        m["annotations"] = annotations
    return json.dumps(m).encode()


@check("referrers: OCI-Subject on PUT, listing, artifactType filter with OCI-Filters-Applied")
def _(x):
    repo = "conf/referrers"
    manifest, subject = x.push_image(repo, "v1", name="subject")
    x.c.push_blob(repo, b"{}", EMPTY_DIGEST)
    subject_desc = {"mediaType": MT_MANIFEST, "digest": subject, "size": len(manifest)}
    arts = {
        "sbom": artifact(subject_desc, "application/vnd.example.sbom",
                         annotations={"org.example.kind": "sbom"}),
        "sig": artifact(subject_desc, "application/vnd.example.sig",
                        annotations={"org.example.kind": "sig"}),
        # no artifactType: the entry takes config.mediaType
        "cfg": artifact(subject_desc, None, config_type="application/vnd.example.config+json"),
    }
    want = {}
    for name, body in arts.items():
        d = sha256(body)
        r = x.c.put_manifest(repo, d, body, MT_MANIFEST)
        expect_status(r, 201, what=f"PUT referrer {name}")
        expect_header(r, "OCI-Subject", subject, what=f"PUT referrer {name}")
        want[d] = (name, body)

    r = x.c.request("GET", f"/v2/{repo}/referrers/{subject}")
    expect_status(r, 200, what="GET referrers")
    expect((r.header("Content-Type") or "").split(";")[0] == MT_INDEX,
           "referrers: Content-Type is not the OCI index type", r)
    doc = r.json()
    expect(doc.get("schemaVersion") == 2 and doc.get("mediaType") == MT_INDEX,
           f"referrers: not an OCI image index: {doc}", r)
    got = {m["digest"]: m for m in doc["manifests"]}
    expect(set(got) == set(want), f"referrers: want {sorted(want)}, got {sorted(got)}", r)
    for d, (name, body) in want.items():
        m, src = got[d], json.loads(body)
        expect(m.get("mediaType") == MT_MANIFEST, f"referrer {name}: mediaType {m.get('mediaType')}")
        expect(m.get("size") == len(body), f"referrer {name}: size {m.get('size')} != {len(body)}")
        want_type = src.get("artifactType") or src["config"]["mediaType"]
        expect(m.get("artifactType") == want_type,
               f"referrer {name}: artifactType {m.get('artifactType')!r}, want {want_type!r}")
        expect((m.get("annotations") or {}) == src.get("annotations", {}),
               f"referrer {name}: annotations {m.get('annotations')} not copied from the manifest")

    r = x.c.request("GET", f"/v2/{repo}/referrers/{subject}?artifactType=application/vnd.example.sbom")
    expect_status(r, 200, what="GET referrers?artifactType=")
    expect_header(r, "OCI-Filters-Applied", "artifactType", what="GET referrers?artifactType=")
    entries = r.json()["manifests"]
    expect([m["artifactType"] for m in entries] == ["application/vnd.example.sbom"],
           f"referrers filtered by artifactType: {entries}", r)


@check("referrers: no referrers is 200 with an empty index; malformed digest is 400")
def _(x):
    x.push_image("conf/referrers-empty", "v1", name="no-referrers")
    r = x.c.request("GET", f"/v2/conf/referrers-empty/referrers/{sha256(b'nothing refers')}")
    expect_status(r, 200, what="GET referrers of a digest without referrers")
    expect(r.json().get("manifests") == [], "referrers: want an empty manifests list", r)
    r = x.c.request("GET", "/v2/conf/referrers-empty/referrers/sha256:nothex")
    expect_status(r, 400, what="GET referrers with a malformed digest")


@check("referrers: a manifest whose subject does not exist yet is accepted and listed")
def _(x):
    repo = "conf/referrers-later"
    x.c.push_blob(repo, b"{}", EMPTY_DIGEST)
    absent = sha256(b"subject pushed later")
    body = artifact({"mediaType": MT_MANIFEST, "digest": absent, "size": 100},
                    "application/vnd.example.early")
    r = x.c.put_manifest(repo, sha256(body), body, MT_MANIFEST)
    expect_status(r, 201, what="PUT referrer before its subject")
    expect_header(r, "OCI-Subject", absent, what="PUT referrer before its subject")
    r = x.c.request("GET", f"/v2/{repo}/referrers/{absent}")
    expect_status(r, 200, what="GET referrers of an absent subject")
    expect([m["digest"] for m in r.json()["manifests"]] == [sha256(body)],
           "referrers of an absent subject", r)


# --- deletes -----------------------------------------------------------------------------------

@check("delete: manifest by digest (202) removes it and its tags; blob delete (202)", needs=("delete",))
def _(x):
    repo = "conf/delete"
    manifest, digest = x.push_image(repo, "v1", name="delete")
    expect_status(x.c.put_manifest(repo, "v2", manifest, MT_MANIFEST), 201, what="PUT second tag")
    r = x.c.request("DELETE", f"/v2/{repo}/manifests/{digest}")
    expect_status(r, 202, what="DELETE manifest by digest")
    for ref in (digest, "v1", "v2"):
        r = x.c.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
        expect_error(r, 404, "MANIFEST_UNKNOWN", what=f"GET {ref} after delete")
    r = x.c.request("DELETE", f"/v2/{repo}/manifests/{digest}")
    expect_error(r, 404, "MANIFEST_UNKNOWN", what="second DELETE of the manifest")
    layer = json.loads(manifest)["layers"][0]["digest"]
    r = x.c.request("DELETE", f"/v2/{repo}/blobs/{layer}")
    expect_status(r, 202, what="DELETE blob")
    r = x.c.request("GET", f"/v2/{repo}/blobs/{layer}")
    expect_error(r, 404, "BLOB_UNKNOWN", what="GET blob after delete")


@check("delete: manifest by tag removes the tag only", needs=("delete",))
def _(x):
    repo = "conf/delete-tag"
    manifest, digest = x.push_image(repo, "v1", name="delete-tag")
    expect_status(x.c.put_manifest(repo, "keep", manifest, MT_MANIFEST), 201, what="PUT second tag")
    r = x.c.request("DELETE", f"/v2/{repo}/manifests/v1")
    if r.status in (400, 405):  # spec: a registry MAY allow deletion by digest only
        expect(r.error_codes(), "DELETE by tag refused without an OCI error body", r)
        return
    expect_status(r, 202, what="DELETE manifest by tag")
    r = x.c.request("GET", f"/v2/{repo}/manifests/v1", headers={"Accept": ACCEPT})
    expect_status(r, 404, what="GET deleted tag")
    r = x.c.request("GET", f"/v2/{repo}/manifests/keep", headers={"Accept": ACCEPT})
    expect(r.status == 200 and r.body == manifest, "the other tag survives a tag delete", r)


@check("delete: refused with 400/405 UNSUPPORTED when deletes are disabled", needs=("no-delete",))
def _(x):
    repo = "conf/delete-disabled"
    _, digest = x.push_image(repo, "v1", name="delete-disabled")
    r = x.c.request("DELETE", f"/v2/{repo}/manifests/{digest}")
    expect_error(r, (400, 405), "UNSUPPORTED", what="DELETE manifest with deletes disabled")


# --- driver ------------------------------------------------------------------------------------

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="an already running registry")
    target.add_argument("--atcr", metavar="BINARY", help="start BINARY registry serve (or docker-registry)")
    p.add_argument("--delete-enabled", action="store_true",
                   help="with --url: the registry has deletes enabled (--atcr always enables them)")
    p.add_argument("--atcr-extras", action="store_true",
                   help="with --url: also check atcr's /healthz and /metrics")
    p.add_argument("-k", dest="pattern", default="", help="only checks whose name contains this")
    args = p.parse_args()

    reg = None
    if args.atcr:
        try:
            reg = RegistryProcess(args.atcr, delete_enabled=True)
        except RuntimeError as e:
            print(f"FAIL: registry did not start: {e}", file=sys.stderr)
            return 1
        url = reg.url
        features = {"delete"} | (set() if is_distribution(args.atcr) else {"atcr"})
    else:
        url = args.url
        features = {"delete"} if args.delete_enabled else {"no-delete"}
        if args.atcr_extras:
            features.add("atcr")
    if "delete" not in features:
        features.add("no-delete")

    ctx = Ctx(Client(url), features)
    failed, ran = [], 0
    started = time.monotonic()
    try:
        for name, fn, needs in CHECKS:
            if args.pattern and args.pattern not in name:
                continue
            if not needs <= features:
                continue
            ran += 1
            t0 = time.monotonic()
            try:
                fn(ctx)
                print(f"ok    {name} ({time.monotonic() - t0:.2f}s)", flush=True)
            except AssertionError as e:
                failed.append(name)
                print(f"FAIL  {name}\n      {e}", flush=True)
            except Exception as e:  # a crash of the check (connection reset, bad JSON) is a failure
                failed.append(name)
                print(f"FAIL  {name}\n      {type(e).__name__}: {e}", flush=True)
                traceback.print_exc(limit=3)
    finally:
        if reg and not is_distribution(args.atcr) and not args.pattern:
            # A second process on the same data directory must refuse to start.
            ran += 1
            try:
                second = subprocess.run(
                    [reg.binary, "registry", "serve", "--addr", "127.0.0.1:0",
                     "--data", os.path.join(reg.dir, "data")],
                    capture_output=True, text=True, timeout=20)
            except subprocess.TimeoutExpired:  # it started and kept serving: the lock failed
                second = subprocess.CompletedProcess([], 0, "", "still running after 20 s")
            if second.returncode != 0 and "in use" in second.stderr:
                print("ok    atcr: a second process on the same data directory is refused")
            else:
                failed.append("atcr: second process on the same data directory")
                print(f"FAIL  atcr: second process on the same data directory: exit "
                      f"{second.returncode}, stderr {second.stderr.strip()[-200:]!r}")
        if reg:
            status = reg.stop()
            if not is_distribution(args.atcr):
                ran += 1
                if status == 0:
                    print("ok    atcr: stops cleanly on SIGTERM (exit 0)")
                else:
                    failed.append("atcr: stops cleanly on SIGTERM")
                    print(f"FAIL  atcr: stops cleanly on SIGTERM: exit status {status}")
            if failed:
                print("----- last lines of the registry log -----\n" + reg.log_tail(40))
            reg.cleanup()
    print(f"\n{ran - len(failed)}/{ran} checks passed in {time.monotonic() - started:.1f}s against {url}")
    if ran == 0:
        print("FAIL: no check selected")
        return 1
    for name in failed:
        print(f"  failed: {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
