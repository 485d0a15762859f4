#!/usr/bin/env node
// Reference PDS (@atproto/pds) launcher for tests, bound to 127.0.0.1.
//
// Does what the official service entry does: readEnv() -> envToCfg() -> envToSecrets()
// -> PDS.create() -> start(). Before start() it wraps pds.app.listen so the host is passed
// (the xrpc server has already wrapped app.listen to attach the WebSocket upgrade handler
// for subscribeRepos, so listen must still go through that wrapper).
//
// @atproto/pds is resolved from PDS_DIR (default: the directory of this script), so the same
// launcher runs 0.4.x (CommonJS, Node 20) and 0.5.x (ESM, Node 22) installs.
//
// Configuration is the PDS's own environment (PDS_*). Defaults filled in here when unset:
//   PDS_HOSTNAME=localhost  PDS_PORT=2583  PDS_DEV_MODE=true  PDS_INVITE_REQUIRED=false
//   PDS_DATA_DIRECTORY=./pds-state  PDS_BLOBSTORE_DISK_LOCATION=$PDS_DATA_DIRECTORY/blobs
//   PDS_DID_PLC_URL=http://localhost:${PLC_PORT:-2582}  PDS_SERVICE_HANDLE_DOMAINS=.test
//   PDS_JWT_SECRET=<random>  PDS_ADMIN_PASSWORD=admin-pass
//   PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=<random>  PDS_CRAWLERS=  PDS_RATE_LIMITS_ENABLED=false
//   PDS_BLOB_UPLOAD_LIMIT=104857600  LOG_ENABLED=false
// Extra: PDS_BIND_HOST (default 127.0.0.1).
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const pdsDir = path.resolve(process.env.PDS_DIR || here)
const bindHost = process.env.PDS_BIND_HOST || '127.0.0.1'

const defaults = {
  PDS_HOSTNAME: 'localhost',
  PDS_PORT: '2583',
  PDS_DEV_MODE: 'true',
  PDS_INVITE_REQUIRED: 'false',
  PDS_DATA_DIRECTORY: path.resolve('pds-state'),
  PDS_DID_PLC_URL: `http://localhost:${process.env.PLC_PORT || 2582}`,
  PDS_SERVICE_HANDLE_DOMAINS: '.test',
  PDS_JWT_SECRET: randomBytes(16).toString('hex'),
  PDS_ADMIN_PASSWORD: 'admin-pass',
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: randomBytes(32).toString('hex'),
  PDS_CRAWLERS: '',
  PDS_RATE_LIMITS_ENABLED: 'false',
  PDS_BLOB_UPLOAD_LIMIT: '104857600',
  LOG_ENABLED: 'false',
}
for (const [k, v] of Object.entries(defaults)) {
  if (process.env[k] === undefined) process.env[k] = v
}
if (process.env.PDS_BLOBSTORE_DISK_LOCATION === undefined && !process.env.PDS_BLOBSTORE_S3_BUCKET) {
  process.env.PDS_BLOBSTORE_DISK_LOCATION = path.join(process.env.PDS_DATA_DIRECTORY, 'blobs')
}
mkdirSync(process.env.PDS_DATA_DIRECTORY, { recursive: true })
if (process.env.PDS_BLOBSTORE_DISK_LOCATION) {
  mkdirSync(process.env.PDS_BLOBSTORE_DISK_LOCATION, { recursive: true })
}

// Import after the env is final: the PDS's loggers read LOG_* at module load.
function pdsPackageDir() {
  for (let dir = pdsDir; ; dir = path.dirname(dir)) {
    const cand = path.join(dir, 'node_modules', '@atproto', 'pds')
    if (existsSync(path.join(cand, 'package.json'))) return cand
    if (path.dirname(dir) === dir) break
  }
  throw new Error(`@atproto/pds not found in node_modules at or above ${pdsDir} (run bootstrap-npm)`)
}

function entryOf(pkgDir, pkg) {
  // "exports" may be a string or a conditions object; prefer import, then require/default.
  let e = pkg.exports
  if (e && typeof e === 'object' && '.' in e) e = e['.']
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    e = e.import ?? e.node ?? e.require ?? e.default
  }
  return path.join(pkgDir, typeof e === 'string' ? e : pkg.main || 'index.js')
}

async function loadPds() {
  const pkgDir = pdsPackageDir()
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
  const mod = await import(pathToFileURL(entryOf(pkgDir, pkg)).href)
  return { mod, version: pkg.version }
}

async function main() {
  const { mod, version } = await loadPds()
  const api = mod.default && mod.default.PDS ? mod.default : mod
  const { PDS, readEnv, envToCfg, envToSecrets } = api
  if (!PDS || !readEnv || !envToCfg || !envToSecrets) {
    throw new Error(`@atproto/pds in ${pdsDir} lacks PDS/readEnv/envToCfg/envToSecrets exports`)
  }
  const env = readEnv()
  const cfg = envToCfg(env)
  const secrets = envToSecrets(env)
  const pds = await PDS.create(cfg, secrets)

  // Bind to bindHost through the (already wrapped) app.listen.
  const listen = pds.app.listen
  pds.app.listen = function (port, ...rest) {
    if (typeof rest[0] === 'string') return listen.call(this, port, ...rest)
    return listen.call(this, port, bindHost, ...rest)
  }

  await pds.start()
  console.log(
    `pds: @atproto/pds ${version} on node ${process.version} listening on http://${bindHost}:${cfg.service.port}` +
      ` (publicUrl ${cfg.service.publicUrl}, did ${cfg.service.did}, plc ${process.env.PDS_DID_PLC_URL})`,
  )

  let stopping = false
  const stop = async (sig) => {
    if (stopping) return
    stopping = true
    console.log(`pds: ${sig}, stopping`)
    setTimeout(() => process.exit(0), 3000).unref()
    try {
      await pds.destroy()
    } catch (err) {
      console.error('pds: destroy failed:', err)
    }
    process.exit(0)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err) => {
  console.error('pds: failed to start:', err && err.stack ? err.stack : err)
  process.exit(1)
})
