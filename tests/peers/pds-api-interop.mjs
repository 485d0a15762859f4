#!/usr/bin/env node
// The reference client library (@atproto/api, AtpAgent) driving a PDS through the account and
// repo flows atcr relies on: createAccount, password login, createAppPassword, login with the
// app password, createRecord / putRecord (swapRecord) / applyWrites / getRecord / listRecords
// (cursor, reverse) / deleteRecord / describeRepo / uploadBlob, refreshSession, getServiceAuth
// (verified with @atproto/crypto against the key in the PLC directory), deleteSession, and the
// error names of a few bad requests. Runs unchanged against the reference PDS and atcr's.
//
// usage: pds-api-interop.mjs --pds URL --plc URL [--handle H] [--password P]
// Prints a JSON summary; exit 0 when every check passed, 1 otherwise (the failing check named).
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(
  path.join(process.env.PEERS_NODE_MODULES ? path.resolve(process.env.PEERS_NODE_MODULES, '..') : here, 'noop.js'),
)
const { AtpAgent } = requireFrom('@atproto/api')
const crypto = requireFrom('@atproto/crypto')

const opt = {}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
    console.error('usage: pds-api-interop.mjs --pds URL --plc URL [--handle H] [--password P]')
    process.exit(2)
  }
  opt[argv[i].slice(2)] = argv[i + 1]
}
if (!opt.pds || !opt.plc) {
  console.error('usage: pds-api-interop.mjs --pds URL --plc URL [--handle H] [--password P]')
  process.exit(2)
}
const handle = opt.handle || `api${Date.now().toString(36)}.test`
const password = opt.password || 'correct-horse-battery'
const collection = 'io.atcr.tag'
const checks = []
let current = ''

function check(cond, what) {
  if (!cond) throw new Error(what)
}
async function step(name, fn) {
  current = name
  await fn()
  checks.push(name)
}
async function expectXrpcError(name, fn, errorName) {
  await step(name, async () => {
    try {
      await fn()
    } catch (e) {
      check(e.error === errorName, `expected error ${errorName}, got ${e.error} (${e.message})`)
      return
    }
    throw new Error(`expected error ${errorName}, the call succeeded`)
  })
}
const b64urlDecode = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'))

try {
  const agent = new AtpAgent({ service: opt.pds })
  let did
  await step('createAccount', async () => {
    const r = await agent.createAccount({ handle, password, email: `${handle}@example.com` })
    did = r.data.did
    check(did.startsWith('did:plc:'), `did ${did}`)
    check(r.data.handle === handle, `handle ${r.data.handle}`)
    check(typeof r.data.accessJwt === 'string' && typeof r.data.refreshJwt === 'string', 'tokens')
  })
  await step('describeServer', async () => {
    const r = await agent.com.atproto.server.describeServer()
    check(Array.isArray(r.data.availableUserDomains) && r.data.availableUserDomains.length > 0, 'availableUserDomains')
    check(typeof r.data.did === 'string', 'did')
  })
  await step('login', async () => {
    const a = new AtpAgent({ service: opt.pds })
    await a.login({ identifier: handle, password })
    check(a.session.did === did, 'session did')
  })
  await expectXrpcError('wrongPassword', () => new AtpAgent({ service: opt.pds }).login({ identifier: handle, password: 'nope-nope-nope' }), 'AuthenticationRequired')
  await expectXrpcError('handleTaken', () => new AtpAgent({ service: opt.pds }).createAccount({ handle, password, email: `x${handle}@example.com` }), 'InvalidRequest')

  let appPassword
  await step('createAppPassword', async () => {
    const r = await agent.com.atproto.server.createAppPassword({ name: 'docker' })
    appPassword = r.data.password
    check(/^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/.test(appPassword), `app password format ${appPassword}`)
    const list = await agent.com.atproto.server.listAppPasswords()
    check(list.data.passwords.some((p) => p.name === 'docker'), 'listed')
  })
  const app = new AtpAgent({ service: opt.pds })
  await step('loginWithAppPassword', async () => {
    await app.login({ identifier: handle, password: appPassword })
    check(app.session.did === did, 'app session did')
    const scope = b64urlDecode(app.session.accessJwt.split('.')[1]).scope
    check(scope === 'com.atproto.appPass', `app password access scope ${scope}`)
  })
  await expectXrpcError('appPasswordCannotCreateAppPassword', () => app.com.atproto.server.createAppPassword({ name: 'x' }), 'InvalidToken')

  const uris = []
  await step('createRecord', async () => {
    for (let i = 0; i < 5; i++) {
      const record = { $type: collection, repository: 'hello', tag: `v${i}`, manifestDigest: `sha256:${'a'.repeat(64)}`, createdAt: new Date().toISOString() }
      const r = await app.com.atproto.repo.createRecord({ repo: did, collection, record })
      check(r.data.uri.startsWith(`at://${did}/${collection}/`), `uri ${r.data.uri}`)
      uris.push(r.data.uri)
    }
  })
  let putCid
  await step('putRecordAndSwap', async () => {
    const record = { $type: collection, repository: 'hello', tag: 'latest', manifestDigest: `sha256:${'b'.repeat(64)}`, createdAt: new Date().toISOString() }
    const r1 = await app.com.atproto.repo.putRecord({ repo: did, collection, rkey: 'hello_latest', record })
    putCid = r1.data.cid
    const r2 = await app.com.atproto.repo.putRecord({ repo: did, collection, rkey: 'hello_latest', record: { ...record, tag: 'latest' , createdAt: new Date(Date.now() + 1000).toISOString() }, swapRecord: putCid })
    check(r2.data.cid !== putCid, 'updated cid differs')
    putCid = r2.data.cid
  })
  await expectXrpcError('staleSwapRecord', () => app.com.atproto.repo.putRecord({ repo: did, collection, rkey: 'hello_latest', record: { $type: collection, repository: 'hello', tag: 'latest', manifestDigest: `sha256:${'c'.repeat(64)}`, createdAt: new Date().toISOString() }, swapRecord: uris.length ? 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' : '' }), 'InvalidSwap')
  await step('applyWrites', async () => {
    const writes = []
    for (let i = 0; i < 10; i++) {
      writes.push({ $type: 'com.atproto.repo.applyWrites#create', collection, rkey: `batch${i}`, value: { $type: collection, repository: 'batch', tag: `b${i}`, manifestDigest: `sha256:${'d'.repeat(64)}`, createdAt: new Date().toISOString() } })
    }
    writes.push({ $type: 'com.atproto.repo.applyWrites#delete', collection, rkey: uris[0].split('/').pop() })
    await app.com.atproto.repo.applyWrites({ repo: did, writes })
  })
  await step('getRecord', async () => {
    const r = await app.com.atproto.repo.getRecord({ repo: handle, collection, rkey: 'hello_latest' })
    check(r.data.cid === putCid, `cid ${r.data.cid} != ${putCid}`)
    check(r.data.value.tag === 'latest', 'value')
  })
  await expectXrpcError('getDeletedRecord', () => app.com.atproto.repo.getRecord({ repo: did, collection, rkey: uris[0].split('/').pop() }), 'RecordNotFound')
  await step('listRecordsPaged', async () => {
    const seen = []
    let cursor
    for (let page = 0; page < 10; page++) {
      const r = await app.com.atproto.repo.listRecords({ repo: did, collection, limit: 4, cursor })
      seen.push(...r.data.records.map((x) => x.uri))
      cursor = r.data.cursor
      if (!cursor || r.data.records.length === 0) break
    }
    const unique = new Set(seen)
    check(unique.size === 15 && seen.length === 15, `listed ${seen.length} (${unique.size} unique), expected 15`)
    const rev = await app.com.atproto.repo.listRecords({ repo: did, collection, limit: 100, reverse: true })
    const fwd = await app.com.atproto.repo.listRecords({ repo: did, collection, limit: 100 })
    check(rev.data.records.map((x) => x.uri).join() === fwd.data.records.map((x) => x.uri).reverse().join(), 'reverse is the forward order reversed')
  })
  await step('deleteRecord', async () => {
    await app.com.atproto.repo.deleteRecord({ repo: did, collection, rkey: 'batch3' })
    const r = await app.com.atproto.repo.listRecords({ repo: did, collection, limit: 100 })
    check(r.data.records.length === 14, `after delete ${r.data.records.length}`)
  })
  await step('describeRepo', async () => {
    const r = await app.com.atproto.repo.describeRepo({ repo: did })
    check(r.data.did === did && r.data.handle === handle, 'did/handle')
    check(r.data.collections.includes(collection), 'collections')
    check(r.data.didDoc?.id === did, `didDoc.id ${r.data.didDoc?.id}`)
    check(r.data.handleIsCorrect === true, 'handleIsCorrect')
  })
  await step('uploadBlob', async () => {
    const bytes = new TextEncoder().encode('{"schemaVersion":2}')
    const r = await app.com.atproto.repo.uploadBlob(bytes, { encoding: 'application/vnd.oci.image.manifest.v1+json' })
    check(r.data.blob.size === bytes.length, `blob size ${r.data.blob.size}`)
    check(r.data.blob.mimeType === 'application/vnd.oci.image.manifest.v1+json', `mime ${r.data.blob.mimeType}`)
  })
  let latestRefresh
  await step('refreshSession', async () => {
    const before = app.session.refreshJwt
    const r = await app.com.atproto.server.refreshSession(undefined, { headers: { authorization: `Bearer ${before}` } })
    check(r.data.did === did && r.data.refreshJwt !== before, 'rotated refresh token')
    latestRefresh = r.data.refreshJwt
    const s = await app.com.atproto.server.getSession(undefined, { headers: { authorization: `Bearer ${r.data.accessJwt}` } })
    check(s.data.did === did && s.data.handle === handle, 'getSession after refresh')
  })
  await step('getServiceAuth', async () => {
    const aud = 'did:web:localhost%3A8080'
    const r = await agent.com.atproto.server.getServiceAuth({ aud, lxm: 'io.atcr.hold.initiateUpload' })
    const [h, p, s] = r.data.token.split('.')
    const header = b64urlDecode(h)
    const payload = b64urlDecode(p)
    check(header.alg === 'ES256K', `alg ${header.alg}`)
    check(payload.iss === did && payload.aud === aud && payload.lxm === 'io.atcr.hold.initiateUpload', `claims ${JSON.stringify(payload)}`)
    check(typeof payload.jti === 'string' && payload.jti.length >= 16, 'jti')
    check(payload.exp > Date.now() / 1000 && payload.exp <= Date.now() / 1000 + 3600, `exp ${payload.exp}`)
    const data = await (await fetch(`${opt.plc.replace(/\/+$/, '')}/${did}/data`)).json()
    const ok = await crypto.verifySignature(data.verificationMethods.atproto, new TextEncoder().encode(`${h}.${p}`), Buffer.from(s, 'base64url'))
    check(ok, 'service token signature verifies with the DID key from the PLC directory')
  })
  await step('deleteSession', async () => {
    const refresh = latestRefresh
    await app.com.atproto.server.deleteSession(undefined, { headers: { authorization: `Bearer ${refresh}` } })
    let failed = false
    try {
      await app.com.atproto.server.refreshSession(undefined, { headers: { authorization: `Bearer ${refresh}` } })
    } catch (e) {
      failed = e.error === 'ExpiredToken' || e.error === 'InvalidToken'
    }
    check(failed, 'a deleted session cannot be refreshed')
  })
  await step('revokeAppPassword', async () => {
    await agent.com.atproto.server.revokeAppPassword({ name: 'docker' })
    let failed = false
    try {
      await new AtpAgent({ service: opt.pds }).login({ identifier: handle, password: appPassword })
    } catch (e) {
      failed = e.error === 'AuthenticationRequired'
    }
    check(failed, 'a revoked app password no longer logs in')
  })
  console.log(JSON.stringify({ ok: true, did, handle, checks }))
} catch (e) {
  console.log(JSON.stringify({ ok: false, check: current, error: e.error ?? null, message: e.message, passed: checks }))
  process.exit(1)
}
