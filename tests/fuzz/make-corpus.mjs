#!/usr/bin/env node
// Regenerates the committed seed corpus under tests/fuzz/corpus/ from valid inputs, so every
// seed is reproducible (fixed key, fixed TIDs, deterministic RFC 6979 signatures):
//   cbor_decode_fuzz/  the DAG-CBOR blocks of testdata/atproto-interop/data-model fixtures, plus
//                      a record, an MST node and a signed commit from the repo below
//   car_read_fuzz/     a small signed repo CAR (two MST layers) and a one-record commit slice,
//                      both built with the reference @atproto/repo
//   manifest_fuzz/     OCI / Docker manifests and indexes, each prefixed with the byte the
//                      harness uses to pick the Content-Type (index into its kTypes table)
// usage: node tests/fuzz/make-corpus.mjs   (needs tests/peers/bootstrap-npm once)
import { createRequire } from 'node:module'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const requireFrom = createRequire(path.join(root, 'tests/peers/noop.js'))
const repoLib = requireFrom('@atproto/repo')
const crypto = requireFrom('@atproto/crypto')
const cbor = requireFrom('@atproto/lex-cbor')
const lexData = requireFrom('@atproto/lex-data')

const out = path.join(here, 'corpus')
function dir(name) {
  const d = path.join(out, name)
  rmSync(d, { recursive: true, force: true })
  mkdirSync(d, { recursive: true })
  return d
}

// ---- DAG-CBOR blocks of the interop data-model fixtures ----
const cborDir = dir('cbor_decode_fuzz')
const fixtures = JSON.parse(readFileSync(path.join(root, 'testdata/atproto-interop/data-model/data-model-fixtures.json'), 'utf8'))
fixtures.forEach((f, i) => {
  writeFileSync(path.join(cborDir, `data-model-${i}.cbor`), Buffer.from(f.cbor_base64, 'base64'))
})

// ---- a small repo built with the reference library ----
const DID = 'did:plc:fuzzseedaaaaaaaaaaaaaaaa'
const keypair = await crypto.Secp256k1Keypair.import('9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c')
const D = (n) => 'sha256:' + n.toString(16).padStart(2, '0').repeat(32)
const blobRef = (n, size, mimeType) => ({
  $type: 'blob',
  ref: lexData.parseCid('bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity'),
  mimeType,
  size,
})
const records = []
for (let i = 0; i < 12; i++) {
  const rkey = `3l${'abcdefghijk'[i % 11]}${String(i).padStart(2, '2')}aaaaaaaa`.slice(0, 13)
  if (i % 3 === 0) {
    records.push({ key: `io.atcr.tag/app${i}_latest`, value: {
      $type: 'io.atcr.tag', repository: `app${i}`, tag: 'latest',
      manifest: `at://${DID}/io.atcr.manifest/${rkey}`, createdAt: '2025-01-02T03:04:05.000Z' } })
  } else {
    records.push({ key: `io.atcr.manifest/${rkey}`, value: {
      $type: 'io.atcr.manifest', repository: `app${i}`, digest: D(i), schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 1469, digest: D(i + 100) },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 3623807 + i, digest: D(i + 200) }],
      holdDid: 'did:web:hold01.atcr.io', manifestBlob: blobRef(i, 527, 'application/vnd.oci.image.manifest.v1+json'),
      annotations: { 'org.opencontainers.image.source': 'https://example.com/app' },
      createdAt: '2025-01-02T03:04:05.000Z' } })
  }
}
const blocks = new repoLib.BlockMap()
let mst = await repoLib.MST.create(new repoLib.MemoryBlockstore(), [])
const leafBlocks = []
for (const r of records) {
  const bytes = cbor.encode(r.value)
  const cid = await lexData.cidForCbor(bytes)
  blocks.set(cid, bytes)
  leafBlocks.push({ cid, bytes })
  mst = await mst.add(r.key, cid)
}
const { root: dataCid, blocks: mstBlocks } = await mst.getUnstoredBlocks()
blocks.addMap(mstBlocks)
const commit = await repoLib.signCommit({ did: DID, version: 3, data: dataCid, rev: '3lbcdefghij22', prev: null }, keypair)
const commitBytes = cbor.encode(commit)
const commitCid = await lexData.cidForCbor(commitBytes)
blocks.set(commitCid, commitBytes)

const carDir = dir('car_read_fuzz')
writeFileSync(path.join(carDir, 'repo.car'), await repoLib.blocksToCarFile(commitCid, blocks))
// A commit slice as a firehose #commit carries it: commit, the root node, one record.
const slice = new repoLib.BlockMap()
slice.set(commitCid, commitBytes)
slice.set(dataCid, mstBlocks.get(dataCid))
slice.set(leafBlocks[1].cid, leafBlocks[1].bytes)
writeFileSync(path.join(carDir, 'commit-slice.car'), await repoLib.blocksToCarFile(commitCid, slice))

writeFileSync(path.join(cborDir, 'commit.cbor'), commitBytes)
writeFileSync(path.join(cborDir, 'mst-root.cbor'), mstBlocks.get(dataCid))
writeFileSync(path.join(cborDir, 'record-manifest.cbor'), leafBlocks[1].bytes)
writeFileSync(path.join(cborDir, 'record-tag.cbor'), leafBlocks[0].bytes)

// ---- manifests (first byte picks the Content-Type in manifest_fuzz.cpp) ----
const CT = { none: 0, json: 1, ociManifest: 2, ociIndex: 3, dockerManifest: 4, dockerList: 5 }
const manDir = dir('manifest_fuzz')
const manifests = {
  'oci-manifest': [CT.ociManifest, {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D(1), size: 7023 },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D(2), size: 32654 },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: D(3), size: 16724,
        annotations: { 'org.opencontainers.image.title': 'layer.tar.zst' } },
    ],
    annotations: { 'org.opencontainers.image.created': '2025-01-02T03:04:05Z' } }],
  'oci-index': [CT.ociIndex, {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(4), size: 7143,
        platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(5), size: 7682,
        platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ] }],
  'docker-manifest': [CT.dockerManifest, {
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1469, digest: D(6) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 3623807, digest: D(7) }] }],
  'docker-list': [CT.dockerList, {
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: [{ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: 528, digest: D(8),
      platform: { architecture: 'arm', os: 'linux', variant: 'v7' } }] }],
  'artifact-no-content-type': [CT.none, {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.example.sbom.v1',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2, data: 'e30=' },
    layers: [{ mediaType: 'application/spdx+json', digest: D(9), size: 1234 }],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(1), size: 7023 } }],
  'oci-index-as-json': [CT.json, {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(10), size: 400 }] }],
}
for (const [name, [ct, body]] of Object.entries(manifests)) {
  writeFileSync(path.join(manDir, `${name}.json`), Buffer.concat([Buffer.from([ct]), Buffer.from(JSON.stringify(body, null, 2))]))
}
console.log(`seed corpus written to ${out}`)
