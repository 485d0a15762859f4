#!/usr/bin/env node
// Exercises the reference client library (@atproto/api, AtpAgent) against a PDS: login,
// putRecord/getRecord/listRecords in a custom collection, getServiceAuth. A second client
// implementation next to pds-client.mjs (which speaks raw HTTP), to tell client from server bugs.
//
// usage: api-smoke.mjs --pds URL --handle H --password P [--collection io.atcr.manifest]
// Prints a JSON summary; exit 0 on success, 1 on failure.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(
  path.join(process.env.PEERS_NODE_MODULES ? path.resolve(process.env.PEERS_NODE_MODULES, '..') : here, 'noop.js'),
)
const { AtpAgent } = requireFrom('@atproto/api')

const opt = {}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
    console.error('usage: api-smoke.mjs --pds URL --handle H --password P [--collection NSID]')
    process.exit(2)
  }
  opt[argv[i].slice(2)] = argv[i + 1]
}
const pds = opt.pds || process.env.PDS_URL
if (!pds || !opt.handle || !opt.password) {
  console.error('usage: api-smoke.mjs --pds URL --handle H --password P [--collection NSID]')
  process.exit(2)
}
const collection = opt.collection || 'io.atcr.manifest'

try {
  const agent = new AtpAgent({ service: pds })
  await agent.login({ identifier: opt.handle, password: opt.password })
  const did = agent.session.did
  const rkey = `api-smoke-${Date.now()}`
  const record = { $type: collection, repository: 'api-smoke', createdAt: new Date().toISOString() }
  const put = await agent.com.atproto.repo.putRecord({ repo: did, collection, rkey, record })
  const got = await agent.com.atproto.repo.getRecord({ repo: did, collection, rkey })
  if (got.data.cid !== put.data.cid) throw new Error(`getRecord cid ${got.data.cid} != putRecord cid ${put.data.cid}`)
  const list = await agent.com.atproto.repo.listRecords({ repo: did, collection, limit: 100 })
  if (!list.data.records.some((r) => r.uri === put.data.uri)) throw new Error('listRecords does not show the new record')
  const sa = await agent.com.atproto.server.getServiceAuth({ aud: 'did:web:localhost%3A9000', lxm: 'io.atcr.registry.push' })
  console.log(JSON.stringify({ ok: true, did, uri: put.data.uri, cid: put.data.cid, listed: list.data.records.length, serviceTokenLength: sa.data.token.length }))
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: e.error ?? null, message: e.message }))
  process.exit(1)
}
