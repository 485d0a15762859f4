#!/usr/bin/env python3
"""Reads an OCI image layout for the end-to-end tests (python3 stdlib only).

    oci_layout.py digest DIR TAG        digest of the manifest/index tagged TAG in index.json
    oci_layout.py blobs DIR TAG         sorted digests reachable from TAG (manifests, configs, layers)
    oci_layout.py cat DIR TAG PATH      contents of PATH in the image's flattened filesystem
                                        (single-platform images; whiteouts are not interpreted)
"""

import gzip
import io
import json
import os
import sys
import tarfile

REF_NAME = "org.opencontainers.image.ref.name"
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")


def blob(layout: str, digest: str) -> bytes:
    algo, hexpart = digest.split(":", 1)
    with open(os.path.join(layout, "blobs", algo, hexpart), "rb") as f:
        return f.read()


def tagged(layout: str, tag: str) -> dict:
    with open(os.path.join(layout, "index.json")) as f:
        entries = json.load(f)["manifests"]
    for desc in entries:
        if desc.get("annotations", {}).get(REF_NAME) == tag:
            return desc
    raise SystemExit(f"{layout}: no manifest tagged {tag!r} in index.json")


def reachable(layout: str, desc: dict, out: set) -> None:
    out.add(desc["digest"])
    body = json.loads(blob(layout, desc["digest"]))
    media_type = body.get("mediaType", desc.get("mediaType"))
    if media_type in INDEX_TYPES or "manifests" in body:
        for child in body["manifests"]:
            reachable(layout, child, out)
        return
    out.add(body["config"]["digest"])
    for layer in body.get("layers", []):
        out.add(layer["digest"])


def cat(layout: str, desc: dict, path: str) -> bytes:
    body = json.loads(blob(layout, desc["digest"]))
    found = None
    for layer in body["layers"]:
        data = blob(layout, layer["digest"])
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                if member.name.lstrip("./") == path.lstrip("/") and member.isfile():
                    found = tar.extractfile(member).read()
    if found is None:
        raise SystemExit(f"{path} not found in any layer")
    return found


def main(argv) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, layout, tag = argv[0], argv[1], argv[2]
    desc = tagged(layout, tag)
    if cmd == "digest":
        print(desc["digest"])
    elif cmd == "blobs":
        found = set()
        reachable(layout, desc, found)
        print("\n".join(sorted(found)))
    elif cmd == "cat" and len(argv) == 4:
        sys.stdout.buffer.write(cat(layout, desc, argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
