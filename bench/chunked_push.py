#!/usr/bin/env python3
"""Chunked blob push for bench/run: POST, PATCHes of CHUNK bytes with Content-Range (each to the
previous Location), closing PUT ?digest=. One keep-alive connection, chunk bytes sent with
sendfile(2), so the figure is the registry's and not a shell loop's (spawning curl and awk per
chunk costs more than a 16 MiB PATCH on a busy 2-core machine).

    chunked_push.py BASE_URL REPO FILE DIGEST CHUNK_BYTES   -> prints elapsed seconds
"""

import http.client
import os
import sys
import time
import urllib.parse


def main() -> int:
    base, repo, path, digest, chunk = sys.argv[1:6]
    chunk = int(chunk)
    size = os.path.getsize(path)
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)

    def target(location: str) -> str:
        t = urllib.parse.urlsplit(urllib.parse.urljoin(base + "/", location))
        return t.path + ("?" + t.query if t.query else "")

    def fail(what, resp):
        print(f"chunked_push: {what}: {resp.status} {resp.read()[:300]!r}", file=sys.stderr)
        return 1

    start = time.monotonic()
    conn.request("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 202:
        return fail("POST", resp)
    loc = target(resp.getheader("Location"))
    with open(path, "rb") as f:
        for off in range(0, size, chunk):
            n = min(chunk, size - off)
            conn.putrequest("PATCH", loc, skip_accept_encoding=True)
            conn.putheader("Content-Type", "application/octet-stream")
            conn.putheader("Content-Range", f"{off}-{off + n - 1}")
            conn.putheader("Content-Length", str(n))
            conn.endheaders()
            sent = conn.sock.sendfile(f, off, n)
            if sent != n:
                print(f"chunked_push: sent {sent} of {n} bytes at {off}", file=sys.stderr)
                return 1
            resp = conn.getresponse()
            resp.read()
            if resp.status != 202:
                return fail(f"PATCH {off}-{off + n - 1}", resp)
            loc = target(resp.getheader("Location"))
    sep = "&" if "?" in loc else "?"
    conn.request("PUT", f"{loc}{sep}digest={urllib.parse.quote(digest)}",
                 headers={"Content-Length": "0"})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 201:
        return fail("closing PUT", resp)
    print(f"{time.monotonic() - start:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
