#!/usr/bin/env node
// Self-test of car-verify.mjs: builds good and deliberately broken repo CARs with the reference
// @atproto/repo library and checks the verifier's verdict (exit code) for each.
//
// usage: car-verify-selftest.mjs [--keep DIR] [--verbose]
//   --keep DIR  write the CARs (and DID docs) to DIR and keep them (default: a temp dir, removed)
// Prints one "ok"/"FAIL" line per case and a closing "N passed, M failed" line; exit 0 iff all pass.
import { createRequire } from 'node:module'
import { execFile } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(
  path.join(process.env.PEERS_NODE_MODULES ? path.resolve(process.env.PEERS_NODE_MODULES, '..') : here, 'noop.js'),
)
const repoLib = requireFrom('@atproto/repo')
const crypto = requireFrom('@atproto/crypto')
const cbor = requireFrom('@atproto/lex-cbor')
const lexData = requireFrom('@atproto/lex-data')

const args = process.argv.slice(2)
const keepIdx = args.indexOf('--keep')
const verbose = args.includes('--verbose')
const dir = keepIdx >= 0 ? path.resolve(args[keepIdx + 1]) : mkdtempSync(path.join(os.tmpdir(), 'car-selftest-'))
mkdirSync(dir, { recursive: true })
const verifier = path.join(here, 'car-verify.mjs')

// ---------- building blocks ----------
const B32 = '234567abcdefghijklmnopqrstuvwxyz'
function tid(us) {
  // 53-bit microsecond timestamp << 10 | 10-bit clock id, base32-sortable, 13 chars
  let v = (BigInt(us) << 10n) | 7n
  let s = ''
  for (let i = 0; i < 13; i++) {
    s = B32[Number(v & 31n)] + s
    v >>= 5n
  }
  return s
}
const DID = 'did:plc:atcrselftestaaaaaaaaaaaa'.slice(0, 32) // did:plc: + 24 chars
const records = []
for (let i = 0; i < 40; i++) {
  const coll = i % 3 === 0 ? 'io.atcr.tag' : 'io.atcr.manifest'
  records.push({ collection: coll, rkey: `r${String(i).padStart(4, '0')}`, record: { $type: coll, repository: `app${i % 5}`, n: i } })
}

async function encodeBlock(value) {
  const bytes = cbor.encode(value)
  return { cid: await lexData.cidForCbor(bytes), bytes }
}

// commit over an MST root with the given leaves; returns { root, blocks }
async function buildRepo({ keypair, leaves, extraBlocks = [], mstOverride = null }) {
  const blocks = new repoLib.BlockMap()
  for (const l of leaves) blocks.set(l.cid, l.bytes)
  let dataCid
  if (mstOverride) {
    dataCid = mstOverride.cid
    blocks.set(mstOverride.cid, mstOverride.bytes)
  } else {
    let mst = await repoLib.MST.create(new repoLib.MemoryBlockstore(), [])
    for (const l of leaves) mst = await mst.add(l.key, l.cid)
    const { root, blocks: mstBlocks } = await mst.getUnstoredBlocks()
    blocks.addMap(mstBlocks)
    dataCid = root
  }
  const commit = await repoLib.signCommit(
    { did: DID, version: 3, data: dataCid, rev: tid(Date.now() * 1000), prev: null },
    keypair,
  )
  const c = await encodeBlock(commit)
  blocks.set(c.cid, c.bytes)
  for (const b of extraBlocks) blocks.set(b.cid, b.bytes)
  return { root: c.cid, blocks }
}

async function leavesFor(recs) {
  const out = []
  for (const r of recs) {
    const b = await encodeBlock(r.record)
    out.push({ key: `${r.collection}/${r.rkey}`, ...b })
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1))
}

const writeCar = async (name, root, blocks) => {
  const file = path.join(dir, name)
  writeFileSync(file, await repoLib.blocksToCarFile(root, blocks))
  return file
}

function runVerifier(argv) {
  return new Promise((resolve) => {
    execFile(process.execPath, [verifier, ...argv], { timeout: 60000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

// ---------- cases ----------
async function main() {
  const keypair = await crypto.Secp256k1Keypair.create({ exportable: true })
  const otherKey = await crypto.Secp256k1Keypair.create()
  const didKey = keypair.did()

  // good: the reference Repo class writes the repo, getFullRepo exports it
  const storage = new repoLib.MemoryBlockstore()
  const repo = await repoLib.Repo.create(
    storage,
    DID,
    keypair,
    records.map((r) => ({ action: repoLib.WriteOpAction.Create, ...r })),
  )
  const goodBytes = await repoLib.concatBytesAsync(repoLib.getFullRepo(storage, repo.cid))
  const good = path.join(dir, 'good.car')
  writeFileSync(good, goodBytes)
  const goodCar = await repoLib.readCarWithRoot(goodBytes)

  // DID documents, modern and legacy shape
  const modernDoc = {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: DID,
    alsoKnownAs: ['at://selftest.test'],
    verificationMethod: [{ id: `${DID}#atproto`, type: 'Multikey', controller: DID, publicKeyMultibase: didKey.slice('did:key:'.length) }],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'http://localhost:2583' }],
  }
  const legacyDoc = {
    ...modernDoc,
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/suites/secp256k1-2019/v1'],
    verificationMethod: [{ id: '#atproto', type: 'EcdsaSecp256k1VerificationKey2019', controller: DID, publicKeyMultibase: `z${keypair.publicKeyStr('base58btc')}` }],
  }
  // the stock @did-plc/server legacy document carries the 65-byte uncompressed key
  const uncompressed = crypto.secp256k1Plugin.decompressPubkey(keypair.publicKeyBytes())
  const legacy65Doc = {
    ...legacyDoc,
    verificationMethod: [{ ...legacyDoc.verificationMethod[0], publicKeyMultibase: crypto.bytesToMultibase(uncompressed, 'base58btc') }],
  }
  const legacy65File = path.join(dir, 'did-legacy-uncompressed.json')
  writeFileSync(legacy65File, JSON.stringify(legacy65Doc))
  const modernFile = path.join(dir, 'did-modern.json')
  const legacyFile = path.join(dir, 'did-legacy.json')
  writeFileSync(modernFile, JSON.stringify(modernDoc))
  writeFileSync(legacyFile, JSON.stringify(legacyDoc))

  // missing record block: drop one leaf block from the good CAR
  const leafCid = await repo.data.get('io.atcr.manifest/r0010')
  if (!leafCid) throw new Error('fixture record io.atcr.manifest/r0010 not found')
  const missing = new repoLib.BlockMap()
  missing.addMap(goodCar.blocks)
  missing.delete(leafCid)
  const missingFile = await writeCar('missing-record.car', goodCar.root, missing)

  // flipped byte: last byte of the file lies inside the last block's data
  const flipped = Buffer.from(goodBytes)
  flipped[flipped.length - 1] ^= 0x01
  const flippedFile = path.join(dir, 'flipped-byte.car')
  writeFileSync(flippedFile, flipped)

  // flat MST: one node with every key, p=0 everywhere, layers ignored; correctly signed commit
  const leaves = await leavesFor(records)
  const layers = await Promise.all(leaves.map((l) => repoLib.mstUtil.leadingZerosOnHash(l.key)))
  if (!layers.some((x) => x > 0)) throw new Error('selftest data has no key above layer 0; flat-MST case would be meaningless')
  const flatNode = await encodeBlock({
    e: leaves.map((l) => ({ k: new TextEncoder().encode(l.key), p: 0, t: null, v: l.cid })),
    l: null,
  })
  const flat = await buildRepo({ keypair, leaves, mstOverride: flatNode })
  const flatFile = await writeCar('flat-mst.car', flat.root, flat.blocks)

  // non-canonical record: {$type, a} written with "$type" first (DAG-CBOR sorts "a" first)
  const part = (obj) => cbor.encode(obj).subarray(1) // drop the 1-entry map header 0xa1
  const nonCanonBytes = new Uint8Array([0xa2, ...part({ $type: 'io.atcr.manifest' }), ...part({ a: 1 })])
  const canonical = cbor.encode(cbor.decode(nonCanonBytes))
  if (Buffer.compare(Buffer.from(canonical), Buffer.from(nonCanonBytes)) === 0) throw new Error('non-canonical fixture came out canonical')
  const ncLeaf = { key: 'io.atcr.manifest/noncanonical', bytes: nonCanonBytes, cid: await lexData.cidForCbor(nonCanonBytes) }
  const nc = await buildRepo({ keypair, leaves: [...leaves, ncLeaf].sort((a, b) => (a.key < b.key ? -1 : 1)) })
  const ncFile = await writeCar('noncanonical-record.car', nc.root, nc.blocks)

  // extra (unreferenced) block
  const extra = new repoLib.BlockMap()
  extra.addMap(goodCar.blocks)
  const stray = await encodeBlock({ hello: 'world' })
  extra.set(stray.cid, stray.bytes)
  const extraFile = await writeCar('extra-block.car', goodCar.root, extra)

  // high-S signature: same commit, s replaced by n - s (must be rejected: low-S is mandatory)
  const commitBlock = cbor.decode(goodCar.blocks.get(goodCar.root))
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
  const s = BigInt('0x' + Buffer.from(commitBlock.sig.subarray(32)).toString('hex'))
  const highS = Buffer.concat([Buffer.from(commitBlock.sig.subarray(0, 32)), Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex')])
  const hsCommit = await encodeBlock({ ...commitBlock, sig: new Uint8Array(highS) })
  const hs = new repoLib.BlockMap()
  hs.addMap(goodCar.blocks)
  hs.delete(goodCar.root)
  hs.set(hsCommit.cid, hsCommit.bytes)
  const hsFile = await writeCar('high-s.car', hsCommit.cid, hs)

  const cases = [
    { name: 'good CAR (reference Repo + getFullRepo), --did-key', argv: [good, '--did-key', didKey], expect: 0 },
    { name: 'good CAR, --did-doc (Multikey document)', argv: [good, '--did-doc', modernFile], expect: 0 },
    { name: 'good CAR, --did-doc (legacy EcdsaSecp256k1VerificationKey2019 document)', argv: [good, '--did-doc', legacyFile], expect: 0 },
    { name: 'good CAR, --did-doc (legacy document, 65-byte uncompressed key)', argv: [good, '--did-doc', legacy65File], expect: 0 },
    { name: 'good CAR, --json --strict', argv: [good, '--did-key', didKey, '--json', '--strict'], expect: 0, json: (j) => j.valid && j.records === records.length },
    { name: 'wrong signing key', argv: [good, '--did-key', otherKey.did()], expect: 1, match: /signature/ },
    { name: 'missing record block', argv: [missingFile, '--did-key', didKey], expect: 1, match: /missing/ },
    { name: 'flipped byte (CID mismatch)', argv: [flippedFile, '--did-key', didKey], expect: 1, match: /does not match sha-256/ },
    { name: 'flat MST (layers and prefix compression ignored)', argv: [flatFile, '--did-key', didKey], expect: 1, match: /layer|prefix/ },
    { name: 'record with non-canonical CBOR key order', argv: [ncFile, '--did-key', didKey], expect: 1, match: /not canonical/ },
    { name: 'high-S commit signature', argv: [hsFile, '--did-key', didKey], expect: 1, match: /signature/ },
    { name: 'extra unreferenced block: warning only', argv: [extraFile, '--did-key', didKey], expect: 0, match: /warning: 1 unreferenced/ },
    { name: 'extra unreferenced block with --strict', argv: [extraFile, '--did-key', didKey, '--strict'], expect: 1, match: /unreferenced/ },
    { name: 'usage error: no key option', argv: [good], expect: 2 },
    { name: 'I/O error: missing file', argv: [path.join(dir, 'nope.car'), '--no-sig'], expect: 2 },
  ]

  let passed = 0
  let failed = 0
  for (const c of cases) {
    const r = await runVerifier(c.argv)
    const out = r.stdout + r.stderr
    let ok = r.code === c.expect
    let why = ok ? '' : `exit ${r.code}, expected ${c.expect}`
    if (ok && c.match && !c.match.test(out)) { ok = false; why = `output does not match ${c.match}` }
    if (ok && c.json) {
      try { ok = c.json(JSON.parse(r.stdout)) } catch { ok = false }
      if (!ok) why = 'JSON summary check failed'
    }
    if (ok) passed++
    else failed++
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${c.name}${ok ? '' : ` (${why})`}`)
    if (!ok || verbose) process.stdout.write(out.replace(/^/gm, '      '))
  }
  if (keepIdx < 0) rmSync(dir, { recursive: true, force: true })
  else console.log(`CARs kept in ${dir}`)
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}

main().catch((e) => {
  console.error(`car-verify-selftest: ${e.stack || e}`)
  if (keepIdx < 0) rmSync(dir, { recursive: true, force: true })
  process.exit(2)
})
