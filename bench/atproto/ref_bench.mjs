#!/usr/bin/env node
// The reference side of the ATProto core benchmarks: the same operations as
// bench/atproto/atproto_bench.cpp, on the inputs it wrote with --write-inputs, using the
// reference TypeScript libraries (@atproto/lex-cbor, @atproto/repo, @atproto/crypto).
//
// usage: ref_bench.mjs INPUT_DIR [--min-ms N] [--reps N] [--only NAME,...]
// Prints one JSON object: {"library": {...versions},
//                          "results": {NAME: {ns_per_op, cpu_ns_per_op, bytes_per_op?}}}.
// Before timing anything it checks that the reference agrees with atcr on the inputs: every
// block re-encodes to the same bytes, the MST root of the 100k keys is the same, the repo CAR
// verifies with all its records, and the RFC 6979 signature is byte-identical.
// Packages come from tests/peers/node_modules, or from the directory named by $PEERS_NODE_MODULES.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const modules = process.env.PEERS_NODE_MODULES
  ? path.resolve(process.env.PEERS_NODE_MODULES)
  : path.resolve(here, '../../tests/peers/node_modules')
const requireFrom = createRequire(path.join(modules, '..', 'noop.js'))
const repoLib = requireFrom('@atproto/repo')
const crypto = requireFrom('@atproto/crypto')
const cbor = requireFrom('@atproto/lex-cbor')
const lexData = requireFrom('@atproto/lex-data')
const version = (name) => JSON.parse(readFileSync(path.join(modules, name, 'package.json'), 'utf8')).version

const args = process.argv.slice(2)
if (args.length < 1 || args[0].startsWith('--')) {
  console.error('usage: ref_bench.mjs INPUT_DIR [--min-ms N] [--reps N] [--only NAME,...]')
  process.exit(2)
}
const dir = path.resolve(args[0])
const opt = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : dflt
}
const MIN_MS = Number(opt('--min-ms', 2000))
const REPS = Number(opt('--reps', 3))
const only = opt('--only', null)?.split(',')
const log = (s) => process.stderr.write(`[ref_bench] ${s}\n`)
const die = (s) => {
  log(`FAIL: ${s}`)
  process.exit(1)
}

const inputs = JSON.parse(readFileSync(path.join(dir, 'inputs.json'), 'utf8'))
const hexToBytes = (h) => new Uint8Array(Buffer.from(h, 'hex'))
const bytesEqual = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0

function readBlocks(file) {
  const buf = new Uint8Array(readFileSync(path.join(dir, file)))
  const out = []
  for (let p = 0; p < buf.length; ) {
    const n = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0
    out.push(buf.subarray(p + 4, p + 4 + n))
    p += 4 + n
  }
  return out
}

// Runs `fn` (one call = `opsPerCall` operations) for at least MIN_MS per repetition after a
// warm-up of the same length (JIT), REPS times. Returns the medians of wall-clock and of
// process CPU time (user + system, all threads: garbage collection included) per operation.
async function measure(name, fn, { opsPerCall = 1, minCalls = 1, warmup = true } = {}) {
  const once = async () => {
    const t0 = process.hrtime.bigint()
    const c0 = process.cpuUsage()
    let calls = 0
    let elapsed = 0n
    while (calls < minCalls || elapsed < BigInt(MIN_MS) * 1_000_000n) {
      await fn()
      calls++
      elapsed = process.hrtime.bigint() - t0
    }
    const c = process.cpuUsage(c0)
    return { wall: Number(elapsed) / (calls * opsPerCall), cpu: ((c.user + c.system) * 1e3) / (calls * opsPerCall) }
  }
  if (warmup) await once()
  const samples = []
  for (let i = 0; i < REPS; i++) samples.push(await once())
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const wall = median(samples.map((s) => s.wall))
  const cpu = median(samples.map((s) => s.cpu))
  const ms = (x) => (x / 1e6).toFixed(3)
  log(`${name}: ${ms(wall)} ms/op wall, ${ms(cpu)} ms/op CPU (wall reps: ${samples.map((s) => ms(s.wall)).join(', ')})`)
  return { ns_per_op: wall, cpu_ns_per_op: cpu }
}

const results = {}
const want = (name) => !only || only.includes(name)

// ---- DAG-CBOR ----
for (const [set, file, expectBytes] of [['records', 'records.bin', inputs.recordBytes], ['blobs', 'blobs.bin', inputs.blobBytes]]) {
  const blocks = readBlocks(file)
  const values = blocks.map((b) => cbor.decode(b))
  let total = 0
  for (let i = 0; i < blocks.length; i++) {
    if (!bytesEqual(cbor.encode(values[i]), blocks[i])) die(`${file} block ${i}: reference re-encoding differs from atcr's bytes`)
    total += blocks[i].length
  }
  if (total !== expectBytes) die(`${file}: ${total} bytes, inputs.json says ${expectBytes}`)
  if (want(`cbor_encode_${set}`)) {
    const t = await measure(`cbor_encode_${set}`, () => {
      for (const v of values) cbor.encode(v)
    })
    results[`cbor_encode_${set}`] = { ...t, bytes_per_op: total }
  }
  if (want(`cbor_decode_${set}`)) {
    const t = await measure(`cbor_decode_${set}`, () => {
      for (const b of blocks) cbor.decode(b)
    })
    results[`cbor_decode_${set}`] = { ...t, bytes_per_op: total }
  }
}

// ---- MST build ----
if (want('mst_build_100k')) {
  const leaves = readFileSync(path.join(dir, 'mst-keys.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [key, cid] = l.split(' ')
      return { key, cid: lexData.parseCid(cid) }
    })
  if (leaves.length !== inputs.mstKeys) die(`mst-keys.txt has ${leaves.length} keys, expected ${inputs.mstKeys}`)
  // The reference has no bulk loader: a tree is built by adding keys one at a time.
  const build = async () => {
    let mst = await repoLib.MST.create(new repoLib.MemoryBlockstore(), [])
    for (const { key, cid } of leaves) mst = await mst.add(key, cid)
    return (await mst.getPointer()).toString()
  }
  const root = await build()
  if (root !== inputs.mstRoot) die(`MST root ${root}, atcr computed ${inputs.mstRoot}`)
  results.mst_build_100k = await measure('mst_build_100k', build, { warmup: false })
}

// ---- repo CAR verification ----
if (want('car_verify_10k')) {
  const car = new Uint8Array(readFileSync(path.join(dir, 'repo.car')))
  const verify = async () => {
    const res = await repoLib.verifyRepoCar(car, inputs.did, inputs.didKey)
    if (res.creates.length !== inputs.repoRecords) die(`verifyRepoCar found ${res.creates.length} records, expected ${inputs.repoRecords}`)
  }
  await verify() // also the JIT warm-up
  results.car_verify_10k = { ...(await measure('car_verify_10k', verify, { warmup: false })), bytes_per_op: car.length }
}

// ---- K-256 ----
if (want('k256_sign') || want('k256_verify')) {
  const keypair = await crypto.Secp256k1Keypair.import(inputs.privateKeyHex)
  if (keypair.did() !== inputs.didKey) die(`key mismatch: ${keypair.did()} vs ${inputs.didKey}`)
  const msg = hexToBytes(inputs.signMessageHex)
  const sig = await keypair.sign(msg)
  if (!bytesEqual(sig, hexToBytes(inputs.signatureHex))) die('RFC 6979 signature differs from atcr\'s')
  if (!(await crypto.verifySignature(inputs.didKey, msg, hexToBytes(inputs.signatureHex)))) die('atcr\'s signature does not verify')
  const BATCH = 20
  if (want('k256_sign')) {
    results.k256_sign = await measure('k256_sign', async () => {
      for (let i = 0; i < BATCH; i++) await keypair.sign(msg)
    }, { opsPerCall: BATCH })
  }
  if (want('k256_verify')) {
    results.k256_verify = await measure('k256_verify', async () => {
      for (let i = 0; i < BATCH; i++) {
        if (!(await crypto.verifySignature(inputs.didKey, msg, sig))) die('verify failed')
      }
    }, { opsPerCall: BATCH })
  }
}

console.log(JSON.stringify({
  library: {
    node: process.version,
    '@atproto/repo': version('@atproto/repo'),
    '@atproto/crypto': version('@atproto/crypto'),
    '@atproto/lex-cbor': version('@atproto/lex-cbor'),
  },
  results,
}, null, 2))
