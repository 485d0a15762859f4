#!/usr/bin/env node
// Drives a PLC directory with the reference client library (@did-plc/lib's Client and op
// builders, @atproto/crypto keys) and checks every answer with the reference validator.
// Used by tests/integration/plc_interop.sh against `atcr plc serve`.
//
// usage: plc-lib-interop.mjs --plc URL
//   Creates a DID (rotation keys [P-256 strong, K-256 weak]), updates handle, PDS and signing
//   key, checks the document, /data, /log (validated by validateOperationLog), /log/audit (CIDs
//   recomputed), refused ops (stranger key, wrong DID, wrong prev) with HTTP 400 and a message,
//   a recovery fork by the strong key that nullifies an op of the weak key, then a tombstone
//   (document 410). Prints {"did": ..., "checks": N} on success; exit 1 with the failed check.
import { createRequire } from 'node:module'
import assert from 'node:assert/strict'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(
  path.join(process.env.PEERS_NODE_MODULES ? path.resolve(process.env.PEERS_NODE_MODULES, '..') : here, 'noop.js'),
)
const plc = requireFrom('@did-plc/lib')
const crypto = requireFrom('@atproto/crypto')
const cborCodec = requireFrom('@ipld/dag-cbor')
const { CID } = requireFrom('multiformats/cid')
const { sha256 } = requireFrom('multiformats/hashes/sha2')

const argv = process.argv.slice(2)
const i = argv.indexOf('--plc')
if (i < 0 || !argv[i + 1]) {
  console.error('usage: plc-lib-interop.mjs --plc URL')
  process.exit(2)
}
const url = argv[i + 1].replace(/\/+$/, '')
const client = new plc.Client(url)

let checks = 0
function check(what, fn) {
  try {
    fn()
  } catch (err) {
    throw new Error(`${what}: ${err.message}`)
  }
  checks++
}
async function refused(what, promise, want = 400) {
  try {
    await promise
  } catch (err) {
    const status = err.status ?? err.response?.status
    check(`${what} is refused with ${want}`, () => {
      assert.equal(status, want, `status ${status}, data ${JSON.stringify(err.data)}`)
      if (want === 400) assert.equal(typeof err.data?.message, 'string', 'no {"message"} in the 400 body')
    })
    return err
  }
  throw new Error(`${what}: unexpectedly accepted`)
}
async function cidOf(op) {
  return CID.createV1(0x71, await sha256.digest(cborCodec.encode(op))).toString()
}

async function main() {
  const strong = await crypto.P256Keypair.create()
  const weak = await crypto.Secp256k1Keypair.create()
  const signing = await crypto.Secp256k1Keypair.create()
  const signing2 = await crypto.Secp256k1Keypair.create()
  const stranger = await crypto.Secp256k1Keypair.create()

  const health = await client.health()
  check('GET /_health has a version', () => assert.equal(typeof health.version, 'string'))

  const did = await client.createDid({
    signingKey: signing.did(),
    handle: 'alice.test',
    pds: 'http://localhost:2583',
    rotationKeys: [strong.did(), weak.did()],
    signer: weak,
  })
  check('the DID has the did:plc form', () => assert.match(did, /^did:plc:[a-z2-7]{24}$/))

  const doc = await client.getDocument(did)
  check('GET /{did} is the modern DID document', () => {
    assert.equal(doc.id, did)
    assert.deepEqual(doc.alsoKnownAs, ['at://alice.test'])
    assert.deepEqual(doc['@context'].slice(0, 2), [
      'https://www.w3.org/ns/did/v1',
      'https://w3id.org/security/multikey/v1',
    ])
    assert.deepEqual(doc.verificationMethod, [
      {
        id: `${did}#atproto`,
        type: 'Multikey',
        controller: did,
        publicKeyMultibase: signing.did().slice('did:key:'.length),
      },
    ])
    assert.deepEqual(doc.service, [
      { id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'http://localhost:2583' },
    ])
  })

  await client.updateHandle(did, weak, 'alice2.test')
  await client.updatePds(did, strong, 'https://pds2.test')
  await client.updateAtprotoKey(did, weak, signing2.did())
  const data = await client.getDocumentData(did)
  check('GET /{did}/data reflects the updates', () => {
    assert.deepEqual(data, {
      did,
      verificationMethods: { atproto: signing2.did() },
      rotationKeys: [strong.did(), weak.did()],
      alsoKnownAs: ['at://alice2.test'],
      services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: 'https://pds2.test' } },
    })
  })

  const log = await client.getOperationLog(did)
  check('GET /{did}/log has 4 ops', () => assert.equal(log.length, 4))
  const validated = await plc.validateOperationLog(did, log)
  check('the reference validator accepts the log and agrees on the state', () =>
    assert.deepEqual(validated, data),
  )
  const last = await client.getLastOp(did)
  check('GET /{did}/log/last is the last op of the log', () => assert.deepEqual(last, log[3]))

  const audit = await client.getAuditableLog(did)
  check('GET /{did}/log/audit lists every op with its CID', () => assert.equal(audit.length, 4))
  for (let k = 0; k < audit.length; k++) {
    const want = await cidOf(log[k])
    check(`audit entry ${k}`, () => {
      assert.equal(audit[k].did, did)
      assert.equal(audit[k].cid, want)
      assert.equal(audit[k].nullified, false)
      assert.deepEqual(audit[k].operation, log[k])
      assert.ok(!Number.isNaN(Date.parse(audit[k].createdAt)), `createdAt ${audit[k].createdAt}`)
    })
  }

  // Refusals.
  await refused('an update signed by a key that is not a rotation key',
    client.updateHandle(did, stranger, 'mallory.test'))
  await refused('an update signed by the #atproto signing key',
    client.updateHandle(did, signing2, 'mallory.test'))
  const { op: genesis2 } = await plc.createOp({
    signingKey: signing.did(), handle: 'bob.test', pds: 'https://pds.test',
    rotationKeys: [weak.did()], signer: weak,
  })
  await refused('a genesis op posted under a DID it does not hash to',
    client.sendOperation('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', genesis2))
  const wrongPrev = await plc.createUpdateOp(genesis2, weak, (n) => ({ ...n, alsoKnownAs: ['at://x.test'] }))
  await refused('an op whose prev is not in the log', client.sendOperation(did, wrongPrev))
  const tooMany = []
  for (let k = 0; k < 6; k++) tooMany.push((await crypto.Secp256k1Keypair.create()).did())
  await refused('a rotation key list of 6', client.updateRotationKeys(did, weak, tooMany))
  await refused('an unknown DID', client.getDocument('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'), 404)

  // Recovery: the weak key makes an op, the strong key forks it away from the op before.
  const beforeHijack = await client.getLastOp(did)
  await client.updateHandle(did, weak, 'mallory.test')
  const recovery = await plc.updateHandleOp(beforeHijack, strong, 'alice3.test')
  await client.sendOperation(did, recovery)
  const audit2 = await client.getAuditableLog(did)
  check('the fork nullified the weak key\'s op and kept it in the audit log', () => {
    assert.equal(audit2.length, 6)
    assert.deepEqual(audit2.map((e) => e.nullified), [false, false, false, false, true, false])
  })
  const log2 = await client.getOperationLog(did)
  check('the canonical log skips the nullified op', () => assert.equal(log2.length, 5))
  const validated2 = await plc.validateOperationLog(did, log2)
  check('the reference validator accepts the forked log', () =>
    assert.deepEqual(validated2.alsoKnownAs, ['at://alice3.test']),
  )
  const weakFork = await plc.updateHandleOp(beforeHijack, weak, 'mallory2.test')
  await refused('a fork by a key of lower priority', client.sendOperation(did, weakFork))

  // Tombstone.
  await client.tombstone(did, strong)
  await refused('the document of a tombstoned DID', client.getDocument(did), 410)
  const lastOp = await client.getLastOp(did)
  check('the last op is the tombstone', () => assert.equal(lastOp.type, 'plc_tombstone'))
  const { sig: _sig, ...recovered } = log2[4]
  const afterTomb = await plc.addSignature(
    { ...recovered, alsoKnownAs: ['at://zombie.test'], prev: await cidOf(lastOp) }, strong)
  await refused('an op after the tombstone', client.sendOperation(did, afterTomb))
  await refused('a fork undoing the tombstone with a key of the same priority',
    client.sendOperation(did, await plc.updateHandleOp(log2[4], strong, 'zombie.test')))

  console.log(JSON.stringify({ did, checks }))
}

main().catch((err) => {
  console.error('plc-lib-interop: FAIL:', err && err.stack ? err.stack : err)
  process.exit(1)
})
