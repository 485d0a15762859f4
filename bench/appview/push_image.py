#!/usr/bin/env python3
"""Image push client for bench/appview/run.sh: the same client against the AppView (token auth)
and against the standalone registry (no auth), so the two figures differ only in the server.

    push_image.py layout DIR LAYER_FILE           -> OCI layout (one layer, config, manifest,
                                                     tag "v1"; the layer is hard-linked), prints
                                                     the manifest digest
    push_image.py push BASE REPO TAG DIR [USER:PASSWORD] [CHUNK_BYTES]
                                                  -> prints elapsed seconds

A push is what bench/chunked_push.py does for one blob, for the whole image: the layer as POST,
PATCHes of CHUNK_BYTES (default 16 MiB) with Content-Range, each to the previous Location, sent
with sendfile(2), and the closing PUT ?digest=; then the config (POST + PUT ?digest= with the
bytes) and the manifest PUT by tag. One keep-alive connection. With USER:PASSWORD, the Docker
token flow runs first (GET /v2/ -> 401 Bearer challenge -> realm with Basic credentials and
scope repository:REPO:pull,push) and is inside the timed span, as it is for a real client.
"""

import base64
import hashlib
import http.client
import json
import os
import sys
import time
import urllib.parse

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return "sha256:" + h.hexdigest()


def write_blob(layout: str, data: bytes) -> str:
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def make_layout(layout: str, layer: str) -> int:
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    ld = file_digest(layer)
    lsize = os.path.getsize(layer)
    dst = os.path.join(layout, "blobs", "sha256", ld[7:])
    if not os.path.exists(dst):
        os.link(layer, dst)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {}, "rootfs": {"type": "layers", "diff_ids": [ld]},
    }, sort_keys=True, separators=(",", ":")).encode()
    cd = write_blob(layout, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": cd, "size": len(config)},
        "layers": [{"mediaType": MT_LAYER, "digest": ld, "size": lsize}],
    }, sort_keys=True, separators=(",", ":")).encode()
    md = write_blob(layout, manifest)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": MT_MANIFEST, "digest": md, "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, f)
    print(md)
    return 0


class Client:
    def __init__(self, base: str):
        self.base = base
        u = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=300)
        self.auth = {}

    def target(self, location: str) -> str:
        t = urllib.parse.urlsplit(urllib.parse.urljoin(self.base + "/", location))
        return t.path + ("?" + t.query if t.query else "")

    def request(self, method, path, body=b"", headers=None, want=(200,)):
        h = {"Content-Length": str(len(body))}
        h.update(self.auth)
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status not in want:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return resp, data

    def login(self, repo: str, creds: str):
        resp, _ = self.request("GET", "/v2/", want=(200, 401))
        if resp.status == 200:
            return
        challenge = resp.getheader("WWW-Authenticate") or ""
        if not challenge.startswith("Bearer "):
            raise RuntimeError(f"unexpected challenge {challenge!r}")
        params = {}
        for part in challenge[len("Bearer "):].split(","):
            k, _, v = part.strip().partition("=")
            params[k] = v.strip('"')
        q = urllib.parse.urlencode({"service": params.get("service", ""),
                                    "scope": f"repository:{repo}:pull,push"})
        realm = urllib.parse.urlsplit(params["realm"])
        conn = http.client.HTTPConnection(realm.hostname, realm.port or 80, timeout=60)
        basic = base64.b64encode(creds.encode()).decode()
        conn.request("GET", f"{realm.path}?{q}", headers={"Authorization": f"Basic {basic}"})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"token: {r.status} {body[:300]!r}")
        tok = json.loads(body)
        self.auth = {"Authorization": "Bearer " + (tok.get("token") or tok["access_token"])}
        conn.close()

    def start(self, repo: str) -> str:
        resp, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/", want=(202,))
        return self.target(resp.getheader("Location"))

    def close_upload(self, loc: str, digest: str, body=b""):
        sep = "&" if "?" in loc else "?"
        self.request("PUT", f"{loc}{sep}digest={urllib.parse.quote(digest)}", body=body,
                     headers={"Content-Type": "application/octet-stream"}, want=(201,))

    def push_chunked(self, repo: str, path: str, digest: str, chunk: int):
        size = os.path.getsize(path)
        loc = self.start(repo)
        with open(path, "rb") as f:
            for off in range(0, size, chunk):
                n = min(chunk, size - off)
                self.conn.putrequest("PATCH", loc, skip_accept_encoding=True)
                for k, v in self.auth.items():
                    self.conn.putheader(k, v)
                self.conn.putheader("Content-Type", "application/octet-stream")
                self.conn.putheader("Content-Range", f"{off}-{off + n - 1}")
                self.conn.putheader("Content-Length", str(n))
                self.conn.endheaders()
                sent = self.conn.sock.sendfile(f, off, n)
                if sent != n:
                    raise RuntimeError(f"sent {sent} of {n} bytes at {off}")
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.status != 202:
                    raise RuntimeError(f"PATCH {off}: {resp.status} {data[:300]!r}")
                loc = self.target(resp.getheader("Location"))
        self.close_upload(loc, digest)


def push(base, repo, tag, layout, creds=None, chunk=16 << 20) -> int:
    with open(os.path.join(layout, "index.json")) as f:
        desc = json.load(f)["manifests"][0]
    blob = lambda d: os.path.join(layout, "blobs", "sha256", d[7:])
    with open(blob(desc["digest"]), "rb") as f:
        manifest = f.read()
    m = json.loads(manifest)
    with open(blob(m["config"]["digest"]), "rb") as f:
        config = f.read()
    c = Client(base)
    start = time.monotonic()
    if creds:
        c.login(repo, creds)
    for layer in m["layers"]:
        c.push_chunked(repo, blob(layer["digest"]), layer["digest"], chunk)
    c.close_upload(c.start(repo), m["config"]["digest"], config)
    c.request("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest,
              headers={"Content-Type": desc["mediaType"]}, want=(201,))
    print(f"{time.monotonic() - start:.6f}")
    return 0


def main(argv) -> int:
    if len(argv) == 3 and argv[0] == "layout":
        return make_layout(argv[1], argv[2])
    if 5 <= len(argv) <= 7 and argv[0] == "push":
        creds = argv[5] if len(argv) > 5 and argv[5] else None
        chunk = int(argv[6]) if len(argv) > 6 else 16 << 20
        try:
            return push(argv[1], argv[2], argv[3], argv[4], creds, chunk)
        except (RuntimeError, OSError, KeyError, ValueError) as e:
            print(f"push_image: {e}", file=sys.stderr)
            return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
