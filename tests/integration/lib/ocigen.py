#!/usr/bin/env python3
"""Deterministic OCI image-layout generator for the end-to-end tests (python3 stdlib only).

Same arguments -> byte-identical layout: tar entries and gzip headers carry mtime 0, the config has
a fixed `created`, and "random" filler bytes come from a PRNG seeded with --seed.

    ocigen.py OUT_DIR --tag v1 --layers 3 --random-bytes 65536
    ocigen.py OUT_DIR --tag multi --platforms linux/amd64,linux/arm64/v8
    ocigen.py OUT_DIR --tag v1 --no-media-type     # manifest without mediaType (like umoci)

Prints one JSON line describing what it wrote: {"tag", "digest", "media_type", "blobs": [...]}.
Writing into an existing layout adds to it (index.json keeps the other tags).

Also importable: `image(...)` returns the blobs and manifest bytes in memory, for raw HTTP tests.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
CREATED = "2024-01-01T00:00:00Z"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def layer_tar(files: dict) -> bytes:
    """A PAX tar of {path: bytes}, every entry mode 0644, uid/gid 0, mtime 0, sorted by path."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            data = files[path]
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Blobs:
    """Content-addressed blobs collected while building: digest -> bytes."""

    def __init__(self):
        self.by_digest = {}

    def add(self, data: bytes, media_type: str, **extra) -> dict:
        digest = sha256(data)
        self.by_digest[digest] = data
        desc = {"mediaType": media_type, "digest": digest, "size": len(data)}
        desc.update(extra)
        return desc


def image(blobs: Blobs, *, name="img", layers=2, random_bytes=0, seed=0,
          arch="amd64", os_name="linux", variant=None, media_type=True) -> dict:
    """Builds one image manifest; returns its descriptor (manifest bytes are in `blobs`)."""
    rng = random.Random(f"{seed}/{name}/{os_name}/{arch}/{variant}")
    diff_ids, layer_descs = [], []
    for i in range(layers):
        files = {f"layer{i}/hello.txt": f"{name} layer {i} {os_name}/{arch}\n".encode()}
        if random_bytes and i == layers - 1:
            files[f"layer{i}/random.bin"] = rng.randbytes(random_bytes)
        tar = layer_tar(files)
        diff_ids.append(sha256(tar))
        layer_descs.append(blobs.add(gzip.compress(tar, mtime=0), MT_LAYER_GZIP))
    config = {
        "created": CREATED,
        "architecture": arch,
        "os": os_name,
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": CREATED, "created_by": f"ocigen layer {i}"} for i in range(layers)],
    }
    if variant:
        config["variant"] = variant
    manifest = {"schemaVersion": 2}
    if media_type:
        manifest["mediaType"] = MT_MANIFEST
    manifest["config"] = blobs.add(canonical_json(config), MT_CONFIG)
    manifest["layers"] = layer_descs
    platform = {"architecture": arch, "os": os_name}
    if variant:
        platform["variant"] = variant
    return blobs.add(json.dumps(manifest, indent=2).encode(), MT_MANIFEST, platform=platform)


def index(blobs: Blobs, manifests: list) -> dict:
    """An OCI image index over `manifests` (descriptors with platform); returns its descriptor."""
    body = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}
    return blobs.add(json.dumps(body, indent=2).encode(), MT_INDEX)


def parse_platform(text: str):
    parts = text.split("/")
    if len(parts) not in (2, 3):
        raise ValueError(f"platform must be os/arch[/variant], got {text!r}")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def write_layout(out_dir: str, blobs: Blobs, top: dict, tag: str) -> None:
    blob_dir = os.path.join(out_dir, "blobs", "sha256")
    os.makedirs(blob_dir, exist_ok=True)
    for digest, data in blobs.by_digest.items():
        with open(os.path.join(blob_dir, digest.split(":", 1)[1]), "wb") as f:
            f.write(data)
    with open(os.path.join(out_dir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    index_path = os.path.join(out_dir, "index.json")
    entries = []
    if os.path.exists(index_path):
        with open(index_path) as f:
            entries = [m for m in json.load(f).get("manifests", [])
                       if m.get("annotations", {}).get(REF_NAME) != tag]
    entry = {k: v for k, v in top.items() if k != "platform"}
    entry["annotations"] = {REF_NAME: tag}
    entries.append(entry)
    with open(index_path, "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}, f, indent=2)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--tag", default="v1")
    p.add_argument("--name", default="img", help="varies file contents, so images differ by name")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--random-bytes", type=int, default=0, help="seeded random bytes in the top layer")
    p.add_argument("--seed", default="0")
    p.add_argument("--platforms", default="", help="comma list os/arch[/variant]: writes an index")
    p.add_argument("--no-media-type", action="store_true", help="omit mediaType in the manifest")
    args = p.parse_args(argv)

    blobs = Blobs()
    common = dict(name=args.name, layers=args.layers, random_bytes=args.random_bytes,
                  seed=args.seed, media_type=not args.no_media_type)
    if args.platforms:
        children = []
        for text in args.platforms.split(","):
            os_name, arch, variant = parse_platform(text)
            children.append(image(blobs, os_name=os_name, arch=arch, variant=variant, **common))
        top = index(blobs, children)
    else:
        top = image(blobs, **common)
    write_layout(args.out_dir, blobs, top, args.tag)
    print(json.dumps({"tag": args.tag, "digest": top["digest"], "media_type": top["mediaType"],
                      "blobs": sorted(blobs.by_digest)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
