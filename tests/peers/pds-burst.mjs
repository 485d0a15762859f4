#!/usr/bin/env node
// Crash-test writer: creates records back to back (putRecord with fresh rkeys, and every
// fifth call an applyWrites of 5 creates) and appends "rkey cid" to ACKS for each write the
// PDS acknowledged (HTTP 200), so a test can kill -9 the PDS mid-burst and then check that
// every acknowledged record survived. Stops at --count writes or at the first failure (the
// PDS went away); exit 0 in both cases, 2 on usage errors.
//
// usage: pds-burst.mjs --pds URL --session FILE --acks FILE [--count N] [--prefix P]
//        pds-burst.mjs --check --pds URL --session FILE --acks FILE
//   --check: lists the collection and verifies every acknowledged rkey is there with the
//   acknowledged CID; prints {checked, missing, listed}; exit 1 if any is missing or differs.
import { appendFileSync, readFileSync } from 'node:fs'

const opt = { count: 100000, prefix: 'burst' }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--check') { opt.check = true; continue }
  opt[argv[i].replace(/^--/, '')] = argv[++i]
}
if (!opt.pds || !opt.session || !opt.acks) {
  console.error('usage: pds-burst.mjs --pds URL --session FILE --acks FILE [--count N] [--prefix P]')
  process.exit(2)
}
const session = JSON.parse(readFileSync(opt.session, 'utf8'))
const PDS = opt.pds.replace(/\/+$/, '')
const collection = 'io.atcr.tag'
const record = (i) => ({ $type: collection, repository: 'burst', tag: `t${i}`, manifestDigest: `sha256:${'e'.repeat(64)}`, createdAt: new Date().toISOString() })

async function call(nsid, body) {
  const res = await fetch(`${PDS}/xrpc/${nsid}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.accessJwt}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (res.status !== 200) throw new Error(`${nsid}: HTTP ${res.status}`)
  return res.json()
}

if (opt.check) {
  const want = new Map(readFileSync(opt.acks, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')))
  const have = new Map()
  let cursor
  for (;;) {
    const url = new URL(`${PDS}/xrpc/com.atproto.repo.listRecords`)
    url.searchParams.set('repo', session.did)
    url.searchParams.set('collection', collection)
    url.searchParams.set('limit', '100')
    if (cursor) url.searchParams.set('cursor', cursor)
    const res = await fetch(url)
    if (res.status !== 200) throw new Error(`listRecords: HTTP ${res.status}`)
    const page = await res.json()
    for (const r of page.records) have.set(r.uri.split('/').pop(), r.cid)
    cursor = page.cursor
    if (!cursor || page.records.length === 0) break
  }
  const missing = []
  for (const [rkey, cid] of want) {
    if (!have.has(rkey) || (cid !== '-' && have.get(rkey) !== cid)) missing.push(rkey)
  }
  console.log(JSON.stringify({ checked: want.size, missing: missing.length, firstMissing: missing.slice(0, 5), listed: have.size }))
  process.exit(missing.length ? 1 : 0)
}

let acked = 0
let commits = 0
try {
  for (let i = 0; acked < Number(opt.count); i++) {
    if (i % 5 === 4) {
      const rkeys = Array.from({ length: 5 }, (_, j) => `${opt.prefix}${i}b${j}`)
      const r = await call('com.atproto.repo.applyWrites', {
        repo: session.did,
        writes: rkeys.map((rkey, j) => ({ $type: 'com.atproto.repo.applyWrites#create', collection, rkey, value: record(j) })),
      })
      // applyWrites results carry the CIDs in order (older PDS versions return none).
      appendFileSync(opt.acks, rkeys.map((k, j) => `${k} ${r.results?.[j]?.cid ?? '-'}\n`).join(''))
      acked += 5
      commits++
    } else {
      const rkey = `${opt.prefix}${i}`
      const r = await call('com.atproto.repo.putRecord', { repo: session.did, collection, rkey, record: record(i) })
      appendFileSync(opt.acks, `${rkey} ${r.cid}\n`)
      acked++
      commits++
    }
  }
} catch (e) {
  console.error(`pds-burst: stopped after ${acked} acknowledged writes: ${e.message}`)
}
console.log(JSON.stringify({ acked, commits }))
