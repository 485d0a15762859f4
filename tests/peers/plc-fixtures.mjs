#!/usr/bin/env node
// Writes did:plc test vectors made by the reference library (@did-plc/lib with
// @atproto/crypto keypairs) for atcr's unit tests (libs/identity/tests/plc_operation_test.cpp,
// libs/pds/tests/plc_directory_test.cpp). Run once; the output is committed:
//
//   node tests/peers/plc-fixtures.mjs > testdata/plc/vectors.json
//
// Fixed private keys, so the ops are deterministic up to ECDSA nonces (RFC 6979 in both
// libraries: the output is reproducible).
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(
  path.join(process.env.PEERS_NODE_MODULES ? path.resolve(process.env.PEERS_NODE_MODULES, '..') : here, 'noop.js'),
)
const plc = requireFrom('@did-plc/lib')
const crypto = requireFrom('@atproto/crypto')
const { CID } = requireFrom('multiformats/cid')
const cborCodec = requireFrom('@ipld/dag-cbor')
const { sha256 } = requireFrom('multiformats/hashes/sha2')

const K256_HEX = '9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c'
const P256_HEX = 'b45a1cf3a4ec5b1e21dd2b39bd6d0e4f3e6a43a2bb5b1fa8c1b4c32a5d4f1e07'
const SIGNING_HEX = '2d3c1b0a99887766554433221100ffeeddccbbaa99887766554433221100ff11'

async function cidOf(op) {
  const bytes = cborCodec.encode(op)
  const hash = await sha256.digest(bytes)
  return CID.createV1(0x71, hash).toString()
}

async function main() {
  const k256 = await crypto.Secp256k1Keypair.import(K256_HEX)
  const p256 = await crypto.P256Keypair.import(P256_HEX)
  const signing = await crypto.Secp256k1Keypair.import(SIGNING_HEX)

  // Genesis: rotation keys [p256 (higher priority), k256], signed by k256.
  const { op: genesis, did } = await plc.createOp({
    signingKey: signing.did(),
    handle: 'alice.test',
    pds: 'http://localhost:2583',
    rotationKeys: [p256.did(), k256.did()],
    signer: k256,
  })
  const handleOp = await plc.updateHandleOp(genesis, k256, 'alice2.test')
  const pdsOp = await plc.updatePdsOp(handleOp, p256, 'https://pds.example.com')
  const rotOp = await plc.updateRotationKeysOp(pdsOp, p256, [k256.did()])
  const tomb = await plc.tombstoneOp(CID.parse(await cidOf(rotOp)), k256)
  const log = [genesis, handleOp, pdsOp, rotOp, tomb]
  const entries = []
  for (let i = 0; i < log.length; i++) {
    const data = await plc.validateOperationLog(did, log.slice(0, i + 1))
    entries.push({
      op: log[i],
      cid: await cidOf(log[i]),
      signer: i === 2 || i === 3 ? 'p256' : 'k256',
      data,
    })
  }

  const legacyUnsigned = {
    type: 'create',
    signingKey: signing.did(),
    recoveryKey: k256.did(),
    handle: 'legacy.test',
    service: 'https://pds.example.com',
    prev: null,
  }
  const legacy = await plc.deprecatedSignCreate(legacyUnsigned, signing)
  const legacyDid = await plc.didForCreateOp(legacy)
  const legacyNext = await plc.updateHandleOp(legacy, k256, 'legacy2.test')
  const legacyData = await plc.validateOperationLog(legacyDid, [legacy, legacyNext])

  const out = {
    comment: 'Made by tests/peers/plc-fixtures.mjs with @did-plc/lib 0.0.4 and @atproto/crypto 0.4.5',
    keys: {
      k256: { privateKeyHex: K256_HEX, didKey: k256.did() },
      p256: { privateKeyHex: P256_HEX, didKey: p256.did() },
      signing: { privateKeyHex: SIGNING_HEX, didKey: signing.did() },
    },
    did,
    log: entries,
    legacy: {
      did: legacyDid,
      op: legacy,
      cid: await cidOf(legacy),
      next: legacyNext,
      nextCid: await cidOf(legacyNext),
      data: legacyData,
    },
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}

main().catch((err) => {
  console.error('plc-fixtures:', err && err.stack ? err.stack : err)
  process.exit(1)
})
