#!/usr/bin/env node
// In-memory did:plc directory for tests (the reference @did-plc/server with its mock DB).
//
// Differences from the stock server:
//   - binds 127.0.0.1 only (PlcServer.start() would bind every interface);
//   - GET /<did> serves the modern DID document shape (Multikey, id "<did>#atproto",
//     publicKeyMultibase = did:key body), as plc.directory does today.
//     PLC_LEGACY_DIDDOC=1 serves the stock legacy shape instead.
// Everything else (/_health, /export, /<did>/data, /<did>/log, /<did>/log/audit,
// /<did>/log/last, POST /<did>) is the stock router.
//
// env: PLC_PORT (default 2582), PLC_HOST (default 127.0.0.1), PLC_LEGACY_DIDDOC=1,
//      LOG_ENABLED=true for pino request logs on stdout.
'use strict'

const path = require('node:path')
const http = require('node:http')

// Resolve packages from the node_modules beside this script (or PEERS_NODE_MODULES).
const base = process.env.PEERS_NODE_MODULES || path.join(__dirname, 'node_modules')
const load = (name) => require(require.resolve(name, { paths: [base, __dirname] }))

const express = load('express')
const plcLib = load('@did-plc/lib')
const { PlcServer, Database } = load('@did-plc/server')

const port = Number(process.env.PLC_PORT || 2582)
const host = process.env.PLC_HOST || '127.0.0.1'
const legacy = ['1', 'true'].includes(String(process.env.PLC_LEGACY_DIDDOC || ''))

if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`plc: bad PLC_PORT ${process.env.PLC_PORT}`)
  process.exit(2)
}

const DID_KEY_PREFIX = 'did:key:'

// Build a DID document the way plc.directory does now (Multikey verification methods).
function modernDidDoc(data) {
  const context = [
    'https://www.w3.org/ns/did/v1',
    'https://w3id.org/security/multikey/v1',
  ]
  const verificationMethod = []
  for (const [id, key] of Object.entries(data.verificationMethods || {})) {
    if (typeof key !== 'string' || !key.startsWith(DID_KEY_PREFIX)) continue
    verificationMethod.push({
      id: `${data.did}#${id}`,
      type: 'Multikey',
      controller: data.did,
      publicKeyMultibase: key.slice(DID_KEY_PREFIX.length),
    })
  }
  // plc.directory also lists the suite context of the key type.
  for (const vm of verificationMethod) {
    if (vm.publicKeyMultibase.startsWith('zQ3s')) {
      const c = 'https://w3id.org/security/suites/secp256k1-2019/v1'
      if (!context.includes(c)) context.push(c)
    }
  }
  const service = []
  for (const [id, svc] of Object.entries(data.services || {})) {
    service.push({ id: `#${id}`, type: svc.type, serviceEndpoint: svc.endpoint })
  }
  return {
    '@context': context,
    id: data.did,
    alsoKnownAs: data.alsoKnownAs || [],
    verificationMethod,
    service,
  }
}

async function main() {
  const db = Database.mock()
  const plc = PlcServer.create({ db, port, version: '0.0.1-atcr-test' })

  const app = express()
  if (!legacy) {
    app.get('/:did', async (req, res, next) => {
      const did = req.params.did
      if (!did.startsWith('did:plc:')) return next()
      try {
        const ops = await db.opsForDid(did)
        if (ops.length === 0) {
          return res.status(404).json({ message: `DID not registered: ${did}` })
        }
        const data = await plcLib.validateOperationLog(did, ops)
        if (data === null) {
          return res.status(404).json({ message: `DID not available: ${did}` })
        }
        res.type('application/did+ld+json')
        res.send(JSON.stringify(modernDidDoc(data)))
      } catch (err) {
        next(err)
      }
    })
  }
  app.use(plc.app)

  const server = http.createServer(app)
  server.keepAliveTimeout = 60000
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  console.log(
    `plc: listening on http://${host}:${port} (${legacy ? 'legacy' : 'modern'} DID documents)`,
  )

  const stop = (sig) => {
    console.log(`plc: ${sig}, stopping`)
    server.close(() => process.exit(0))
    server.closeAllConnections?.()
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err) => {
  console.error('plc: failed to start:', err && err.stack ? err.stack : err)
  process.exit(1)
})
