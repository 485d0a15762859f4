#!/usr/bin/env node
// Firehose consumer that verifies com.atproto.sync.subscribeRepos the way a relay does, with
// the reference libraries (@atproto/repo, @atproto/crypto, @atproto/lex-cbor, ws):
//  - every frame is two DAG-CBOR items; seq strictly increases, with no gap and no duplicate
//    (--contiguous, the default) across disconnects;
//  - #commit: the CAR slice's root is the commit; the commit is signed by the repo's current
//    key (from the PLC directory); the slice alone is enough to invert every op (create ->
//    delete, update -> restore prev, delete -> re-add prev) and the inverted tree's root is
//    the event's prevData; prevData and since equal the previous commit's data and rev for
//    that repo; record blocks of creates/updates are in the slice.
//
// usage: firehose-verify.mjs --pds URL --plc URL [--cursor N] [--count N] [--timeout SEC]
//          [--disconnect-after K] [--consumers M] [--allow-gaps]
//   --count N             stop after N #commit frames (per consumer); required. 0: read until
//                         the stream is idle for --timeout seconds, then stop successfully
//   --cursor N            start cursor (default: live only)
//   --disconnect-after K  close after K frames and reconnect with cursor = last seq seen
//   --consumers M         M consumers at once; all must see the same sequence (fan-out check)
//   --timeout SEC         fail when no frame arrives for SEC seconds (default 20)
//   --ready-file F        create F once every consumer's first connection is open
// Prints a JSON summary {ok, consumers, commits, events, firstSeq, lastSeq, reconnects, repos};
// exit 0 when everything verified, 1 on any verification failure, 2 on usage errors.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(
  path.join(process.env.PEERS_NODE_MODULES ? path.resolve(process.env.PEERS_NODE_MODULES, '..') : here, 'noop.js'),
)
const WebSocket = requireFrom('ws')
const cbor = requireFrom('@atproto/lex-cbor')
const repoLib = requireFrom('@atproto/repo')
const crypto = requireFrom('@atproto/crypto')

const opt = { timeout: 20, consumers: 1, contiguous: true }
const argv = process.argv.slice(2)
const usage = () => {
  console.error('usage: firehose-verify.mjs --pds URL --plc URL --count N [--cursor N] [--timeout SEC] [--disconnect-after K] [--consumers M] [--allow-gaps]')
  process.exit(2)
}
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--allow-gaps') { opt.contiguous = false; continue }
  if (!a.startsWith('--') || i + 1 >= argv.length) usage()
  opt[a.slice(2)] = argv[++i]
}
if (!opt.pds || !opt.plc || opt.count === undefined) usage()
const COUNT = Number(opt.count)
const TIMEOUT = Number(opt.timeout) * 1000
const DISCONNECT_AFTER = opt['disconnect-after'] !== undefined ? Number(opt['disconnect-after']) : 0

const keyCache = new Map()
async function didKey(did) {
  if (keyCache.has(did)) return keyCache.get(did)
  const res = await fetch(`${opt.plc.replace(/\/+$/, '')}/${did}/data`)
  if (!res.ok) throw new Error(`PLC ${did}/data: HTTP ${res.status}`)
  const data = await res.json()
  const key = data.verificationMethods?.atproto
  if (!key) throw new Error(`PLC ${did}: no atproto verification method`)
  keyCache.set(did, key)
  return key
}

async function verifyCommit(body, state) {
  const { root, blocks } = await repoLib.readCarWithRoot(body.blocks)
  if (!root.equals(body.commit)) throw new Error(`seq ${body.seq}: CAR root ${root} != commit ${body.commit}`)
  const commitBytes = blocks.get(root)
  if (!commitBytes) throw new Error(`seq ${body.seq}: commit block missing from the slice`)
  const commit = cbor.decode(commitBytes)
  if (commit.did !== body.repo) throw new Error(`seq ${body.seq}: commit did ${commit.did} != repo ${body.repo}`)
  if (commit.rev !== body.rev) throw new Error(`seq ${body.seq}: commit rev ${commit.rev} != event rev ${body.rev}`)
  const key = await didKey(body.repo)
  if (!(await repoLib.verifyCommitSig(commit, key))) throw new Error(`seq ${body.seq}: bad commit signature`)

  const storage = new repoLib.MemoryBlockstore()
  blocks.forEach((bytes, cid) => storage.putBlock(cid, bytes))
  let mst = repoLib.MST.load(storage, commit.data)
  for (const op of body.ops) {
    const current = await mst.get(op.path)
    if (op.action === 'create') {
      if (!current || !op.cid || !current.equals(op.cid)) throw new Error(`seq ${body.seq}: create ${op.path}: tree has ${current}, op says ${op.cid}`)
      if (!blocks.has(op.cid)) throw new Error(`seq ${body.seq}: record block ${op.cid} of ${op.path} missing`)
      mst = await mst.delete(op.path)
    } else if (op.action === 'update') {
      if (!current || !current.equals(op.cid)) throw new Error(`seq ${body.seq}: update ${op.path}: tree has ${current}, op says ${op.cid}`)
      if (!op.prev) throw new Error(`seq ${body.seq}: update ${op.path} without prev`)
      if (!blocks.has(op.cid)) throw new Error(`seq ${body.seq}: record block ${op.cid} of ${op.path} missing`)
      mst = await mst.update(op.path, op.prev)
    } else if (op.action === 'delete') {
      if (current) throw new Error(`seq ${body.seq}: delete ${op.path}: still in the tree`)
      if (!op.prev) throw new Error(`seq ${body.seq}: delete ${op.path} without prev`)
      mst = await mst.add(op.path, op.prev)
    } else {
      throw new Error(`seq ${body.seq}: unknown op action ${op.action}`)
    }
  }
  const inverted = await mst.getPointer()
  const known = state.repos.get(body.repo)
  if (body.prevData) {
    if (!inverted.equals(body.prevData)) throw new Error(`seq ${body.seq}: inverted root ${inverted} != prevData ${body.prevData}`)
    if (known && !known.data.equals(body.prevData)) throw new Error(`seq ${body.seq}: prevData ${body.prevData} != previous commit's data ${known.data}`)
  } else if (known) {
    throw new Error(`seq ${body.seq}: prevData missing on a later commit of ${body.repo}`)
  }
  if (known && body.since !== known.rev) throw new Error(`seq ${body.seq}: since ${body.since} != previous rev ${known.rev}`)
  if (known && !(body.rev > known.rev)) throw new Error(`seq ${body.seq}: rev ${body.rev} not after ${known.rev}`)
  state.repos.set(body.repo, { data: commit.data, rev: body.rev })
}

function runConsumer(index, onOpen) {
  const state = { repos: new Map(), commits: 0, events: 0, seqs: [], lastSeq: null, reconnects: 0 }
  let first = true
  state.onOpen = () => { if (first) { first = false; onOpen() } }
  let cursor = opt.cursor !== undefined ? Number(opt.cursor) : null
  return new Promise((resolve, reject) => {
    const connect = () => {
      const url = new URL(`${opt.pds.replace(/\/+$/, '')}/xrpc/com.atproto.sync.subscribeRepos`)
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
      if (cursor !== null) url.searchParams.set('cursor', String(cursor))
      const ws = new WebSocket(url)
      let framesThisConnection = 0
      let timer = null
      let done = false
      let chain = Promise.resolve()
      const fail = (e) => {
        if (done) return
        done = true
        clearTimeout(timer)
        ws.terminate()
        reject(new Error(`consumer ${index}: ${e.message}`))
      }
      const arm = () => {
        clearTimeout(timer)
        timer = setTimeout(() => {
          if (COUNT === 0 && state.commits > 0) {
            done = true
            ws.close(1000)
            resolve(state)
            return
          }
          fail(new Error(`no frame for ${TIMEOUT / 1000}s after seq ${state.lastSeq} (${state.commits}/${COUNT} commits)`))
        }, TIMEOUT)
      }
      ws.on('open', () => { arm(); state.onOpen?.() })
      ws.on('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode} on upgrade`)))
      ws.on('error', (e) => fail(e))
      ws.on('close', () => { if (!done && !ws.reconnecting) fail(new Error(`server closed the stream after seq ${state.lastSeq}`)) })
      ws.on('message', (data, isBinary) => {
        // Verification is async; keep frames strictly in order.
        chain = chain.then(async () => {
          if (done || ws.reconnecting) return
          arm()
          if (!isBinary) throw new Error('non-binary frame')
          const items = [...cbor.decodeAll(new Uint8Array(data))]
          if (items.length !== 2) throw new Error(`frame has ${items.length} CBOR items`)
          const [header, body] = items
          if (header.op === -1) throw new Error(`error frame ${body.error}: ${body.message}`)
          if (header.t === '#info') return
          const seq = body.seq
          if (typeof seq !== 'number') throw new Error(`${header.t} without seq`)
          if (state.lastSeq !== null) {
            if (seq <= state.lastSeq) throw new Error(`seq ${seq} after ${state.lastSeq}: duplicate or out of order`)
            if (opt.contiguous && seq !== state.lastSeq + 1) throw new Error(`gap: seq ${seq} after ${state.lastSeq}`)
          }
          state.lastSeq = seq
          state.seqs.push(seq)
          state.events++
          if (header.t === '#commit') {
            await verifyCommit(body, state)
            state.commits++
          }
          framesThisConnection++
          if (COUNT > 0 && state.commits >= COUNT) {
            done = true
            clearTimeout(timer)
            ws.close(1000)
            resolve(state)
            return
          }
          if (DISCONNECT_AFTER && framesThisConnection >= DISCONNECT_AFTER && state.reconnects === 0) {
            ws.reconnecting = true
            clearTimeout(timer)
            ws.terminate()
            state.reconnects++
            cursor = state.lastSeq
            setTimeout(connect, 200)
          }
        }).catch(fail)
      })
    }
    connect()
  })
}

try {
  const n = Number(opt.consumers)
  let opened = 0
  const { writeFileSync } = await import('node:fs')
  const onOpen = () => { if (++opened === n && opt['ready-file']) writeFileSync(opt['ready-file'], 'ready\n') }
  const results = await Promise.all(Array.from({ length: n }, (_, i) => runConsumer(i, onOpen)))
  const first = results[0]
  for (let i = 1; i < results.length; i++) {
    if (results[i].seqs.join(',') !== first.seqs.join(',')) throw new Error(`consumer ${i} saw a different sequence than consumer 0`)
  }
  console.log(JSON.stringify({
    ok: true, consumers: n, commits: first.commits, events: first.events,
    firstSeq: first.seqs[0] ?? null, lastSeq: first.lastSeq, reconnects: first.reconnects, repos: first.repos.size,
  }))
  process.exit(0)
} catch (e) {
  console.log(JSON.stringify({ ok: false, message: e.message }))
  process.exit(1)
}
