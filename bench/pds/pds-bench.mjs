#!/usr/bin/env node
// PDS throughput driver, run unchanged against atcr's PDS and the reference PDS (bench/pds/run.sh).
// Creates a fresh account, then measures, one client, requests back to back:
//   putRecord   N sequential putRecord calls (new rkeys: every call is a commit)
//   getRecord   N sequential getRecord calls over those records
//   applyWrites N/10 sequential applyWrites calls of 10 creates each (reported as writes/s)
//   fanout      C firehose consumers connected live, W putRecord calls; every consumer must
//               receive every commit (events/s delivered in total, and drops)
// Keep-alive HTTP (undici fetch). Prints one JSON object.
//
// usage: pds-bench.mjs --pds URL [--n 500] [--consumers 50] [--fanout-writes 200]
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(path.join(here, '..', '..', 'tests', 'peers', 'noop.js'))
const WebSocket = requireFrom('ws')
const cbor = requireFrom('@atproto/lex-cbor')

const opt = { n: 500, consumers: 50, 'fanout-writes': 200 }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i += 2) opt[argv[i].replace(/^--/, '')] = argv[i + 1]
if (!opt.pds) {
  console.error('usage: pds-bench.mjs --pds URL [--n 500] [--consumers 50] [--fanout-writes 200]')
  process.exit(2)
}
const PDS = opt.pds.replace(/\/+$/, '')
const N = Number(opt.n)
const CONSUMERS = Number(opt.consumers)
const FANOUT_WRITES = Number(opt['fanout-writes'])

async function xrpc(method, nsid, { params, body, token } = {}) {
  const url = new URL(`${PDS}/xrpc/${nsid}`)
  for (const [k, v] of Object.entries(params || {})) url.searchParams.set(k, String(v))
  const headers = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(url, { method, headers, body: body !== undefined ? JSON.stringify(body) : undefined })
  const text = await res.text()
  if (!res.ok) throw new Error(`${nsid}: HTTP ${res.status} ${text}`)
  return text ? JSON.parse(text) : {}
}

const collection = 'io.atcr.tag'
const record = (i) => ({ $type: collection, repository: 'bench', tag: `t${i}`, manifestDigest: `sha256:${'a'.repeat(64)}`, createdAt: new Date().toISOString() })

async function timed(count, fn) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < count; i++) await fn(i)
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  return { ops: count, seconds: +s.toFixed(3), perSecond: +(count / s).toFixed(1) }
}

const handle = `bench${Date.now().toString(36)}.test`
const acct = await xrpc('POST', 'com.atproto.server.createAccount', { body: { handle, password: 'bench-password-1', email: `${handle}@example.com` } })
const token = acct.accessJwt
const did = acct.did
const out = { pds: PDS, did, n: N }

out.putRecord = await timed(N, (i) => xrpc('POST', 'com.atproto.repo.putRecord', { token, body: { repo: did, collection, rkey: `p${i}`, record: record(i) } }))
out.getRecord = await timed(N, (i) => xrpc('GET', 'com.atproto.repo.getRecord', { params: { repo: did, collection, rkey: `p${i % N}` } }))
const batches = Math.max(1, Math.floor(N / 10))
const ap = await timed(batches, (b) => xrpc('POST', 'com.atproto.repo.applyWrites', {
  token,
  body: { repo: did, writes: Array.from({ length: 10 }, (_, j) => ({ $type: 'com.atproto.repo.applyWrites#create', collection, rkey: `a${b}x${j}`, value: record(j) })) },
}))
out.applyWrites = { batches, writes: batches * 10, seconds: ap.seconds, batchesPerSecond: ap.perSecond, writesPerSecond: +(batches * 10 / ap.seconds).toFixed(1) }

// Fan-out: consumers connect live (no cursor), then the writer commits FANOUT_WRITES records.
const head = await xrpc('GET', 'com.atproto.sync.getLatestCommit', { params: { did } })
const wsUrl = new URL(`${PDS}/xrpc/com.atproto.sync.subscribeRepos`)
wsUrl.protocol = 'ws:'
const consumers = []
await Promise.all(Array.from({ length: CONSUMERS }, () => new Promise((resolve, reject) => {
  const c = { commits: 0, lastRev: head.rev, errors: 0, closed: false }
  const ws = new WebSocket(wsUrl)
  c.ws = ws
  ws.on('open', () => resolve())
  ws.on('error', reject)
  ws.on('close', () => { c.closed = true })
  ws.on('message', (data) => {
    const [header, body] = [...cbor.decodeAll(new Uint8Array(data))]
    if (header.op === -1) { c.errors++; return }
    if (header.t === '#commit' && body.repo === did && body.rev > head.rev) c.commits++
  })
  consumers.push(c)
})))
await new Promise((r) => setTimeout(r, 300)) // let every subscription reach the live tail
const tw0 = process.hrtime.bigint()
for (let i = 0; i < FANOUT_WRITES; i++) {
  await xrpc('POST', 'com.atproto.repo.putRecord', { token, body: { repo: did, collection, rkey: `f${i}`, record: record(i) } })
}
const writeSeconds = Number(process.hrtime.bigint() - tw0) / 1e9
const deadline = Date.now() + 30000
while (Date.now() < deadline && consumers.some((c) => c.commits < FANOUT_WRITES && !c.closed)) await new Promise((r) => setTimeout(r, 20))
const allSeconds = Number(process.hrtime.bigint() - tw0) / 1e9
const delivered = consumers.reduce((a, c) => a + c.commits, 0)
for (const c of consumers) c.ws.terminate()
out.fanout = {
  consumers: CONSUMERS,
  writes: FANOUT_WRITES,
  writesPerSecond: +(FANOUT_WRITES / writeSeconds).toFixed(1),
  delivered,
  expected: CONSUMERS * FANOUT_WRITES,
  dropped: CONSUMERS * FANOUT_WRITES - delivered,
  eventsPerSecond: +(delivered / allSeconds).toFixed(1),
  consumersClosed: consumers.filter((c) => c.closed).length,
}
console.log(JSON.stringify(out))
