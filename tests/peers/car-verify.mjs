#!/usr/bin/env node
// Reference verifier for atproto repository CAR files (full repo exports, e.g. sync.getRepo).
//
// usage: car-verify.mjs REPO.car|- (--did-key did:key:z... [--did DID] | --plc URL [--did DID]
//                                   | --did-doc doc.json | --no-sig) [--json] [--strict] [--quiet]
// exit: 0 valid, 1 invalid, 2 usage or I/O error (unreadable file, key not obtainable).
//
// Checks, in order (see README.md):
//  1 CAR framing: CARv1 header {version:1, roots:[one CID]}, every block CID = sha-256 of its bytes
//  2 every block is CIDv1 / sha2-256 / dag-cbor and canonical DAG-CBOR (decode + re-encode == bytes)
//  3 commit v3 shape {did, version:3, data, rev (TID), prev (null|CID), sig (64 bytes)}
//  4 commit signature (sha-256 of canonical CBOR of the commit without sig, low-S enforced)
//  5 MST walk from commit.data: node shape, p=0 first, maximal prefix compression, sorted valid
//    keys, each key at layer = leading zero 2-bit pairs of sha256(key), no untrimmed root
//  6 records: every leaf block present, a map with $type (warning if $type != collection)
//  7 rebuild the MST from the leaves with the reference MST class; root must equal commit.data
//  8 unreferenced blocks: warning (error with --strict)
//  9 cross-check with the library's verifyRepoCar
// Packages come from the node_modules beside this script, or from $PEERS_NODE_MODULES.
import { createRequire } from 'node:module'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
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

const USAGE = `usage: car-verify.mjs REPO.car|- [--did-key did:key:z...] [--did DID] [--plc URL]
                     [--did-doc doc.json] [--no-sig] [--json] [--strict] [--quiet]
  one of --did-key, --plc, --did-doc or --no-sig is required
  exit 0 valid, 1 invalid, 2 usage or I/O error`

class UsageError extends Error {}

function parseArgs(argv) {
  const o = { car: null, didKey: null, did: null, plc: null, didDoc: null, noSig: false, json: false, strict: false, quiet: false }
  const need = (i, name) => {
    if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`)
    return argv[i + 1]
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    switch (a) {
      case '--did-key': o.didKey = need(i, a); i++; break
      case '--did': o.did = need(i, a); i++; break
      case '--plc': o.plc = need(i, a); i++; break
      case '--did-doc': o.didDoc = need(i, a); i++; break
      case '--no-sig': o.noSig = true; break
      case '--json': o.json = true; break
      case '--strict': o.strict = true; break
      case '--quiet': case '-q': o.quiet = true; break
      case '-h': case '--help': console.log(USAGE); process.exit(0)
      default:
        if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`)
        if (o.car !== null) throw new UsageError('only one CAR file may be given')
        o.car = a
    }
  }
  if (o.car === null) throw new UsageError('no CAR file given')
  const keySources = [o.didKey, o.plc, o.didDoc].filter((x) => x !== null).length
  if (keySources > 1) throw new UsageError('give only one of --did-key, --plc, --did-doc')
  if (keySources === 0 && !o.noSig) throw new UsageError('need --did-key, --plc, --did-doc or --no-sig')
  if (o.didKey !== null && !o.didKey.startsWith('did:key:')) throw new UsageError('--did-key must be a did:key:...')
  return o
}

// ---------- small helpers ----------
const sha256 = (b) => createHash('sha256').update(b).digest()
const hex = (b) => Buffer.from(b).toString('hex')
const bytesEqual = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0

function readVarint(buf, pos) {
  let value = 0
  let shift = 0
  let i = pos
  for (;;) {
    if (i >= buf.length) return null
    const byte = buf[i++]
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) break
    shift += 7
    if (shift > 49) throw new Error(`varint at offset ${pos} too long`)
  }
  return { value, next: i, minimal: i - pos === 1 || buf[i - 1] !== 0 }
}

const isPlainMap = (v) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !lexData.isCid(v)
const isBytes = (v) => v instanceof Uint8Array
const cidStr = (c) => c.toString()

const TID_RE = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/
const DID_RE = /^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$/
const NSID_RE = /^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+\.[a-zA-Z][a-zA-Z0-9]{0,62}$/
const RKEY_RE = /^[A-Za-z0-9._:~-]{1,512}$/

function mstKeyProblem(key) {
  const parts = key.split('/')
  if (parts.length !== 2) return 'must be <collection>/<rkey>'
  const [coll, rkey] = parts
  if (coll.length > 317 || !NSID_RE.test(coll)) return `invalid collection NSID "${coll}"`
  if (!RKEY_RE.test(rkey) || rkey === '.' || rkey === '..') return `invalid record key "${rkey}"`
  if (!repoLib.mstUtil.isValidMstKey(key)) return 'rejected by the reference isValidMstKey'
  return null
}

// Leading zero 2-bit pairs of sha256(key): the MST layer of a key.
function keyLayer(keyBytes) {
  const h = sha256(keyBytes)
  let zeros = 0
  for (const byte of h) {
    if (byte === 0) { zeros += 4; continue }
    if (byte < 4) zeros += 3
    else if (byte < 16) zeros += 2
    else if (byte < 64) zeros += 1
    break
  }
  return zeros
}

// ---------- key resolution ----------
function didKeyFromDoc(doc, expectDid) {
  if (!isPlainMap(doc) || typeof doc.id !== 'string') throw new Error('DID document has no "id"')
  if (expectDid && doc.id !== expectDid) throw new Error(`DID document is for ${doc.id}, expected ${expectDid}`)
  const vms = Array.isArray(doc.verificationMethod) ? doc.verificationMethod : []
  const vm = vms.find((m) => m && (m.id === '#atproto' || m.id === `${doc.id}#atproto`))
  if (!vm) throw new Error('DID document has no #atproto verification method')
  const mb = vm.publicKeyMultibase
  if (typeof mb !== 'string' || !mb.startsWith('z')) throw new Error('#atproto key has no base58btc publicKeyMultibase')
  if (vm.type === 'Multikey') {
    crypto.parseDidKey(`did:key:${mb}`) // throws on unknown codec
    return `did:key:${mb}`
  }
  const legacy = {
    EcdsaSecp256k1VerificationKey2019: crypto.SECP256K1_JWT_ALG,
    EcdsaSecp256r1VerificationKey2019: crypto.P256_JWT_ALG,
  }[vm.type]
  if (!legacy) throw new Error(`unsupported verification method type ${vm.type}`)
  return crypto.formatDidKey(legacy, crypto.multibaseToBytes(mb))
}

async function didKeyFromPlc(plcUrl, did) {
  const url = `${plcUrl.replace(/\/+$/, '')}/${encodeURIComponent(did)}/data`
  let res
  try {
    res = await fetch(url)
  } catch (err) {
    throw new Error(`PLC request ${url} failed: ${err.cause?.message || err.message}`)
  }
  if (!res.ok) throw new Error(`PLC ${url}: HTTP ${res.status} ${await res.text().catch(() => '')}`.trim())
  const data = await res.json()
  const key = data?.verificationMethods?.atproto
  if (typeof key !== 'string' || !key.startsWith('did:key:')) throw new Error(`PLC data for ${did} has no atproto key`)
  return key
}

// ---------- the verifier ----------
async function verify(carBytes, opts) {
  const errors = []
  const warnings = []
  const info = {}
  const err = (m) => errors.push(m)
  const warn = (m) => (opts.strict ? errors : warnings).push(opts.strict ? `${m} (--strict)` : m)
  const t0 = performance.now()
  const done = () => ({ valid: errors.length === 0, errors, warnings, ...info, ms: Math.round(performance.now() - t0) })

  // 1. framing
  const h = readVarint(carBytes, 0)
  if (!h) { err('CAR: empty or truncated header length'); return done() }
  if (h.next + h.value > carBytes.length) { err('CAR: truncated header'); return done() }
  let header
  try {
    header = cbor.decode(carBytes.subarray(h.next, h.next + h.value))
  } catch (e) { err(`CAR: header is not DAG-CBOR: ${e.message}`); return done() }
  if (!isPlainMap(header) || header.version !== 1) { err(`CAR: header version must be 1 (got ${JSON.stringify(header?.version)})`); return done() }
  if (!Array.isArray(header.roots) || header.roots.length !== 1 || !lexData.isCid(header.roots[0])) {
    err(`CAR: header must have exactly one root CID (got ${Array.isArray(header.roots) ? header.roots.length : 'none'})`)
    return done()
  }
  for (const k of Object.keys(header)) if (k !== 'roots' && k !== 'version') warn(`CAR: extra header field "${k}"`)
  const root = header.roots[0]
  info.commitCid = cidStr(root)

  const blocks = new Map() // cid string -> { cid, bytes, value }
  let pos = h.next + h.value
  let index = 0
  while (pos < carBytes.length) {
    const at = pos
    let lenv
    try { lenv = readVarint(carBytes, pos) } catch (e) { err(`CAR: block ${index} at ${at}: ${e.message}`); return done() }
    if (!lenv) { err(`CAR: truncated block length at offset ${at}`); return done() }
    if (lenv.value === 0) { err(`CAR: zero-length block at offset ${at}`); return done() }
    const end = lenv.next + lenv.value
    if (end > carBytes.length) { err(`CAR: block ${index} at offset ${at} runs past end of file (${lenv.value} bytes declared)`); return done() }
    const section = carBytes.subarray(lenv.next, end)
    // CID prefix: must be CIDv1, dag-cbor (0x71), sha2-256 (0x12), 32-byte digest = 36 bytes
    if (section[0] === 0x12 && section[1] === 0x20) { err(`block ${index} at offset ${at}: CIDv0 is not allowed`); return done() }
    let p = 0
    const fields = []
    for (let f = 0; f < 4; f++) {
      const v = readVarint(section, p)
      if (!v) { err(`block ${index} at offset ${at}: truncated CID`); return done() }
      fields.push(v.value)
      p = v.next
    }
    const [ver, codec, mhCode, mhLen] = fields
    if (ver !== 1) { err(`block ${index} at offset ${at}: CID version ${ver}, expected 1`); return done() }
    if (mhCode !== 0x12 || mhLen !== 32) {
      err(`block ${index} at offset ${at}: CID multihash 0x${mhCode.toString(16)}/${mhLen} bytes, expected sha2-256/32`)
      return done()
    }
    if (p + 32 > section.length) { err(`block ${index} at offset ${at}: truncated CID digest`); return done() }
    const digest = section.subarray(p, p + 32)
    const data = section.subarray(p + 32)
    const cid = lexData.createCid(codec, 0x12, digest)
    const key = cidStr(cid)
    if (!bytesEqual(sha256(data), digest)) err(`block ${key}: CID does not match sha-256 of its ${data.length} bytes`)
    if (codec !== 0x71) err(`block ${key}: codec 0x${codec.toString(16)}, expected dag-cbor (0x71)`)
    if (blocks.has(key)) warn(`block ${key} appears more than once`)
    else blocks.set(key, { cid, bytes: data, value: undefined, ok: false })
    pos = end
    index++
  }
  info.blocks = index
  info.carBytes = carBytes.length

  // 2. canonical DAG-CBOR
  for (const [key, b] of blocks) {
    let value
    try { value = cbor.decode(b.bytes) } catch (e) { err(`block ${key}: invalid DAG-CBOR: ${e.message}`); continue }
    let again
    try { again = cbor.encode(value) } catch (e) { err(`block ${key}: not representable in the atproto data model: ${e.message}`); continue }
    if (!bytesEqual(again, b.bytes)) { err(`block ${key}: not canonical DAG-CBOR (re-encoding gives different bytes)`); continue }
    b.value = value
    b.ok = true
  }

  // 3. commit
  const referenced = new Set()
  const commitBlock = blocks.get(info.commitCid)
  if (!commitBlock) { err(`commit block ${info.commitCid} (the CAR root) is missing`); return done() }
  referenced.add(info.commitCid)
  if (!commitBlock.ok) { err('commit block is not valid DAG-CBOR; cannot continue'); return done() }
  const commit = commitBlock.value
  if (!isPlainMap(commit)) { err('commit is not a map'); return done() }
  const required = ['did', 'version', 'data', 'rev', 'prev', 'sig']
  for (const k of required) if (!(k in commit)) err(`commit: missing field "${k}"`)
  for (const k of Object.keys(commit)) if (!required.includes(k)) warn(`commit: extra field "${k}"`)
  if ('did' in commit && (typeof commit.did !== 'string' || !DID_RE.test(commit.did))) err(`commit: did ${JSON.stringify(commit.did)} is not a DID`)
  if ('version' in commit && commit.version !== 3) err(`commit: version ${JSON.stringify(commit.version)}, expected 3`)
  if ('data' in commit && !lexData.isCid(commit.data)) err('commit: data is not a CID link')
  if ('rev' in commit && (typeof commit.rev !== 'string' || !TID_RE.test(commit.rev))) err(`commit: rev ${JSON.stringify(commit.rev)} is not a TID`)
  if ('prev' in commit && commit.prev !== null && !lexData.isCid(commit.prev)) err('commit: prev is neither null nor a CID')
  if ('sig' in commit && !(isBytes(commit.sig) && commit.sig.length === 64)) err(`commit: sig must be 64 bytes (got ${isBytes(commit.sig) ? commit.sig.length + ' bytes' : typeof commit.sig})`)
  info.did = typeof commit.did === 'string' ? commit.did : null
  info.rev = typeof commit.rev === 'string' ? commit.rev : null
  info.data = lexData.isCid(commit.data) ? cidStr(commit.data) : null
  if (opts.did && info.did !== opts.did) err(`commit: did ${info.did} differs from expected ${opts.did}`)

  // 4. signature
  let didKey = null
  if (!opts.noSig) {
    try {
      didKey = await opts.getKey(info.did)
    } catch (e) {
      const ioe = new Error(`cannot obtain signing key: ${e.message}`)
      ioe.io = true
      throw ioe
    }
    info.didKey = didKey
    if (isBytes(commit.sig) && commit.sig.length === 64) {
      let ok = false
      try { ok = await repoLib.verifyCommitSig(commit, didKey) } catch (e) { err(`signature: verification threw: ${e.message}`) }
      info.signature = ok ? 'valid' : 'invalid'
      if (!ok) err(`signature: commit signature does not verify against ${didKey}`)
    }
  } else {
    info.signature = 'skipped'
  }

  // 5. MST walk
  const leaves = [] // { key, cid }
  const visited = new Set()
  let nodes = 0
  let rootLayer = null
  const fetchNode = (cid, what) => {
    const key = cidStr(cid)
    if (cid.code !== 0x71) { err(`MST: ${what} ${key} is not a dag-cbor link`); return null }
    if (visited.has(key)) { err(`MST: node ${key} reached twice (cycle or shared subtree)`); return null }
    visited.add(key)
    referenced.add(key)
    const b = blocks.get(key)
    if (!b) { err(`MST: ${what} ${key} is missing from the CAR`); return null }
    if (!b.ok) return null // already reported
    return b.value
  }
  const walk = (cid, expectedLayer, isRoot) => {
    const node = fetchNode(cid, isRoot ? 'root node' : 'node')
    if (node === null) return
    nodes++
    const where = `MST node ${cidStr(cid)}`
    if (!isPlainMap(node)) { err(`${where}: not a map`); return }
    const nk = Object.keys(node).sort().join(',')
    if (nk !== 'e,l') { err(`${where}: keys {${nk}}, expected exactly {e,l}`); return }
    if (node.l !== null && !lexData.isCid(node.l)) { err(`${where}: l is neither null nor a link`); return }
    if (!Array.isArray(node.e)) { err(`${where}: e is not an array`); return }
    const entries = []
    let prev = Buffer.alloc(0)
    for (let i = 0; i < node.e.length; i++) {
      const e = node.e[i]
      if (!isPlainMap(e)) { err(`${where}: entry ${i} is not a map`); return }
      const ek = Object.keys(e).sort().join(',')
      if (ek !== 'k,p,t,v') { err(`${where}: entry ${i} keys {${ek}}, expected exactly {k,p,t,v}`); return }
      if (!Number.isInteger(e.p) || e.p < 0) { err(`${where}: entry ${i}: p is not a non-negative integer`); return }
      if (!isBytes(e.k)) { err(`${where}: entry ${i}: k is not bytes`); return }
      if (!lexData.isCid(e.v)) { err(`${where}: entry ${i}: v is not a link`); return }
      if (e.t !== null && !lexData.isCid(e.t)) { err(`${where}: entry ${i}: t is neither null nor a link`); return }
      if (i === 0 && e.p !== 0) err(`${where}: first entry has p=${e.p}, must be 0`)
      if (e.p > prev.length) { err(`${where}: entry ${i}: p=${e.p} longer than the previous key`); return }
      const keyBytes = Buffer.concat([prev.subarray(0, e.p), Buffer.from(e.k)])
      if (i > 0) {
        let common = 0
        while (common < prev.length && common < keyBytes.length && prev[common] === keyBytes[common]) common++
        if (common !== e.p) err(`${where}: entry ${i}: prefix length ${e.p} is not maximal (${common} shared bytes)`)
      }
      let keyStr = null
      if (keyBytes.some((x) => x >= 0x80)) err(`${where}: entry ${i}: key is not ASCII`)
      else {
        keyStr = keyBytes.toString('latin1')
        const problem = mstKeyProblem(keyStr)
        if (problem) err(`${where}: key "${keyStr}": ${problem}`)
      }
      entries.push({ keyBytes, keyStr: keyStr ?? keyBytes.toString('hex'), v: e.v, t: e.t })
      prev = keyBytes
    }
    let layer = expectedLayer
    if (entries.length === 0) {
      if (node.l === null) {
        if (!isRoot) err(`${where}: empty node used as a subtree`)
        else rootLayer = 0
        return
      }
      if (isRoot) { err(`${where}: untrimmed root (no entries, only a left subtree)`); return }
    } else {
      const l0 = keyLayer(entries[0].keyBytes)
      if (layer === null) layer = l0
      for (const en of entries) {
        const kl = keyLayer(en.keyBytes)
        if (kl !== layer) err(`${where}: key "${en.keyStr}" belongs at layer ${kl}, found in a layer-${layer} node`)
      }
    }
    if (isRoot) rootLayer = layer
    const sub = (c) => {
      if (layer === 0) { err(`${where}: layer-0 node has a subtree pointer`); return }
      walk(c, layer - 1, false)
    }
    if (node.l !== null) sub(node.l)
    for (const en of entries) {
      leaves.push({ key: en.keyStr, cid: en.v })
      if (en.t !== null) sub(en.t)
    }
  }
  if (lexData.isCid(commit.data)) {
    walk(commit.data, null, true)
    for (let i = 1; i < leaves.length; i++) {
      if (!(leaves[i - 1].key < leaves[i].key)) {
        err(`MST: keys out of order: "${leaves[i - 1].key}" then "${leaves[i].key}"`)
        break
      }
    }
  }
  info.mstNodes = nodes
  info.rootLayer = rootLayer
  info.records = leaves.length

  // 6. records
  const collections = {}
  for (const { key, cid } of leaves) {
    const ks = cidStr(cid)
    referenced.add(ks)
    const coll = key.split('/')[0]
    collections[coll] = (collections[coll] || 0) + 1
    if (cid.code !== 0x71) { err(`record ${key}: CID ${ks} is not dag-cbor`); continue }
    const b = blocks.get(ks)
    if (!b) { err(`record ${key}: block ${ks} is missing`); continue }
    if (!b.ok) { err(`record ${key}: block ${ks} is invalid (see above)`); continue }
    if (!isPlainMap(b.value)) { err(`record ${key}: not a map`); continue }
    if (typeof b.value.$type !== 'string' || b.value.$type.length === 0) { err(`record ${key}: no $type`); continue }
    if (b.value.$type !== coll) warn(`record ${key}: $type ${b.value.$type} differs from collection ${coll}`)
  }
  info.collections = collections

  // 7. rebuild
  if (info.data && errors.length === 0) {
    const t = performance.now()
    try {
      let mst = await repoLib.MST.create(new repoLib.MemoryBlockstore(), [])
      for (const { key, cid } of leaves) mst = await mst.add(key, cid)
      const rebuilt = cidStr(await mst.getPointer())
      info.rebuiltData = rebuilt
      if (rebuilt !== info.data) err(`MST: rebuilding from the ${leaves.length} leaves gives root ${rebuilt}, commit.data is ${info.data} (tree is not canonical)`)
    } catch (e) {
      err(`MST: reference rebuild failed: ${e.message}`)
    }
    info.rebuildMs = Math.round(performance.now() - t)
  }

  // 8. unreferenced blocks
  const unref = [...blocks.keys()].filter((k) => !referenced.has(k))
  info.unreferencedBlocks = unref.length
  if (unref.length) warn(`${unref.length} unreferenced block(s): ${unref.slice(0, 5).join(', ')}${unref.length > 5 ? ', ...' : ''}`)

  // 9. library cross-check
  try {
    const res = await repoLib.verifyRepoCar(carBytes, opts.did ?? info.did ?? undefined, opts.noSig ? undefined : didKey)
    info.library = 'accepted'
    if (res.creates.length !== leaves.length && errors.length === 0) err(`library found ${res.creates.length} records, walk found ${leaves.length}`)
  } catch (e) {
    info.library = `rejected: ${e.message}`
    if (errors.length === 0) err(`reference verifyRepoCar rejected the CAR: ${e.message}`)
  }

  return done()
}

async function main() {
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`car-verify: ${e.message}\n${USAGE}`)
      process.exit(2)
    }
    throw e
  }
  let carBytes
  try {
    carBytes = new Uint8Array(opts.car === '-' ? readFileSync(0) : readFileSync(opts.car))
  } catch (e) {
    console.error(`car-verify: cannot read ${opts.car}: ${e.message}`)
    process.exit(2)
  }
  let doc = null
  if (opts.didDoc) {
    try {
      doc = JSON.parse(readFileSync(opts.didDoc, 'utf8'))
    } catch (e) {
      console.error(`car-verify: cannot read DID document ${opts.didDoc}: ${e.message}`)
      process.exit(2)
    }
  }
  opts.getKey = async (commitDid) => {
    if (opts.didKey) { crypto.parseDidKey(opts.didKey); return opts.didKey }
    if (doc) return didKeyFromDoc(doc, opts.did ?? commitDid)
    const did = opts.did ?? commitDid
    if (!did) throw new Error('no DID to look up (commit has none; give --did)')
    return didKeyFromPlc(opts.plc, did)
  }

  let res
  try {
    res = await verify(carBytes, opts)
  } catch (e) {
    console.error(`car-verify: ${e.message}`)
    process.exit(e.io ? 2 : 1)
  }
  if (opts.json) {
    if (!opts.quiet) console.log(JSON.stringify(res, null, 2))
  } else if (!opts.quiet) {
    for (const w of res.warnings) console.log(`warning: ${w}`)
    const MAX = 25
    for (const e of res.errors.slice(0, MAX)) console.log(`error: ${e}`)
    if (res.errors.length > MAX) console.log(`error: ... and ${res.errors.length - MAX} more (--json lists all)`)
    const what = `${res.did ?? '?'} rev ${res.rev ?? '?'}: ${res.records ?? 0} records, ${res.mstNodes ?? 0} MST nodes (root layer ${res.rootLayer ?? '?'}), ${res.blocks ?? 0} blocks, signature ${res.signature ?? 'unchecked'}, ${res.ms} ms`
    console.log(res.valid ? `OK ${what}` : `INVALID (${res.errors.length} error${res.errors.length === 1 ? '' : 's'}) ${what}`)
  } else if (!res.valid) {
    console.error(`car-verify: INVALID: ${res.errors[0]}`)
  }
  process.exit(res.valid ? 0 : 1)
}

main().catch((e) => {
  console.error(`car-verify: internal error: ${e.stack || e}`)
  process.exit(2)
})
