#!/usr/bin/env node
// Verifies an atproto inter-service JWT (ES256K / ES256) with the reference @atproto/crypto.
//
// usage: jwt-verify.mjs TOKEN|- (--did-key did:key:z... | --plc URL) [--aud AUD] [--lxm NSID]
//                       [--iss DID] [--allow-expired] [--allow-malleable] [--json] [--quiet]
//   TOKEN "-" reads it from stdin. --plc looks up the iss DID's atproto key at URL/<iss>/data.
// Checks: three base64url parts; header alg ES256K|ES256 matching the key's curve and typ not
// at+jwt/refresh+jwt/dpop+jwt; signature = crypto.verifySignature(didKey, utf8("hdr.payload"),
// sig) (64-byte compact, low-S unless --allow-malleable, as the reference service-auth verifier
// allows); exp > now (unless --allow-expired); optional aud / lxm / iss equality.
// exit: 0 valid, 1 invalid, 2 usage or I/O error. Prints the decoded header+payload as JSON
// with --json, else one line "OK ..." / "INVALID: reason".
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(
  path.join(process.env.PEERS_NODE_MODULES ? path.resolve(process.env.PEERS_NODE_MODULES, '..') : here, 'noop.js'),
)
const crypto = requireFrom('@atproto/crypto')

function usage(msg) {
  console.error(`jwt-verify: ${msg}\nusage: jwt-verify.mjs TOKEN|- (--did-key K | --plc URL) [--aud A] [--lxm N] [--iss DID] [--allow-expired] [--allow-malleable] [--json] [--quiet]`)
  process.exit(2)
}

const o = { token: null, didKey: null, plc: null, aud: null, lxm: null, iss: null, allowExpired: false, malleable: false, json: false, quiet: false }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`))
  switch (a) {
    case '--did-key': o.didKey = val(); break
    case '--plc': o.plc = val(); break
    case '--aud': o.aud = val(); break
    case '--lxm': o.lxm = val(); break
    case '--iss': o.iss = val(); break
    case '--allow-expired': o.allowExpired = true; break
    case '--allow-malleable': o.malleable = true; break
    case '--json': o.json = true; break
    case '--quiet': case '-q': o.quiet = true; break
    default:
      if (a.startsWith('--')) usage(`unknown option ${a}`)
      if (o.token !== null) usage('only one token')
      o.token = a
  }
}
if (o.token === null) usage('no token given')
if (!o.didKey === !o.plc) usage('give exactly one of --did-key, --plc')
if (o.token === '-') o.token = readFileSync(0, 'utf8')
o.token = o.token.trim()

const b64urlDecode = (s) => {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('not base64url')
  return Buffer.from(s, 'base64url')
}

let header = null
let payload = null
function result(ok, reason) {
  if (o.json) {
    if (!o.quiet) console.log(JSON.stringify({ valid: ok, reason: reason ?? null, header, payload }))
  } else if (!o.quiet) {
    console.log(ok ? `OK alg=${header.alg} iss=${payload.iss} aud=${payload.aud} lxm=${payload.lxm ?? '-'} exp=${payload.exp}` : `INVALID: ${reason}`)
  } else if (!ok) console.error(`jwt-verify: INVALID: ${reason}`)
  process.exit(ok ? 0 : 1)
}

async function main() {
  const parts = o.token.split('.')
  if (parts.length !== 3) return result(false, `expected 3 parts, got ${parts.length}`)
  let sig
  try {
    header = JSON.parse(b64urlDecode(parts[0]).toString('utf8'))
    payload = JSON.parse(b64urlDecode(parts[1]).toString('utf8'))
    sig = new Uint8Array(b64urlDecode(parts[2]))
    // Buffer's decoder ignores stray low bits in the last char; insist on the canonical form.
    for (const [i, raw] of [[0, parts[0]], [1, parts[1]], [2, parts[2]]]) {
      if (b64urlDecode(raw).toString('base64url') !== raw) throw new Error(`part ${i + 1} is not canonical unpadded base64url`)
    }
  } catch (e) {
    return result(false, `malformed token: ${e.message}`)
  }
  if (typeof header !== 'object' || header === null || typeof payload !== 'object' || payload === null) {
    return result(false, 'header and payload must be JSON objects')
  }
  if (['at+jwt', 'refresh+jwt', 'dpop+jwt'].includes(header.typ)) return result(false, `typ ${header.typ} is not a service token`)
  if (header.alg !== 'ES256K' && header.alg !== 'ES256') return result(false, `alg ${header.alg} is not ES256K/ES256`)

  let didKey = o.didKey
  if (o.plc) {
    if (typeof payload.iss !== 'string') return result(false, 'no iss to resolve')
    const did = payload.iss.split('#')[0]
    const url = `${o.plc.replace(/\/+$/, '')}/${encodeURIComponent(did)}/data`
    try {
      const res = await fetch(url)
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      didKey = (await res.json())?.verificationMethods?.atproto
      if (typeof didKey !== 'string') throw new Error('no atproto key')
    } catch (e) {
      console.error(`jwt-verify: cannot get key of ${did} from ${url}: ${e.message}`)
      process.exit(2)
    }
  }
  let keyAlg
  try {
    keyAlg = crypto.parseDidKey(didKey).jwtAlg
  } catch (e) {
    usage(`bad did:key ${didKey}: ${e.message}`)
  }
  if (keyAlg !== header.alg) return result(false, `alg ${header.alg} does not match the ${keyAlg} key`)

  const signed = Buffer.from(`${parts[0]}.${parts[1]}`, 'utf8')
  let ok = false
  try {
    ok = await crypto.verifySignature(didKey, new Uint8Array(signed), sig, { jwtAlg: header.alg, allowMalleableSig: o.malleable })
  } catch (e) {
    return result(false, `signature check failed: ${e.message}`)
  }
  if (!ok) return result(false, `bad signature for ${didKey}`)

  const now = Math.floor(Date.now() / 1000)
  if (typeof payload.exp !== 'number') return result(false, 'no numeric exp')
  if (!o.allowExpired && payload.exp <= now) return result(false, `expired at ${payload.exp} (now ${now})`)
  if (o.aud !== null && payload.aud !== o.aud) return result(false, `aud ${payload.aud} != ${o.aud}`)
  if (o.lxm !== null && payload.lxm !== o.lxm) return result(false, `lxm ${payload.lxm} != ${o.lxm}`)
  if (o.iss !== null && payload.iss !== o.iss) return result(false, `iss ${payload.iss} != ${o.iss}`)
  return result(true)
}

main().catch((e) => {
  console.error(`jwt-verify: internal error: ${e.stack || e}`)
  process.exit(2)
})
