#!/usr/bin/env node
// Signs a message with the reference @atproto/crypto keypairs, for cross-checks with atcr's
// C++ crypto: sha-256 of the message, ECDSA, 64-byte compact r||s, low-S.
//
// usage: sign.mjs --key PRIVHEX [--curve k256|p256] [--message STR | --message-hex HEX |
//                 --message-file F | (stdin)] [--b64url] [--json]
//   prints the signature in standard base64 (no padding, like the atproto interop fixtures),
//   or base64url with --b64url; --json prints {didKey, alg, signatureBase64, signatureHex}.
//   --did-key-only prints just the did:key of the private key.
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
  console.error(`sign: ${msg}\nusage: sign.mjs --key PRIVHEX [--curve k256|p256] [--message S | --message-hex H | --message-file F] [--b64url] [--json] [--did-key-only]`)
  process.exit(2)
}

const o = { key: null, curve: 'k256', message: null, b64url: false, json: false, didKeyOnly: false }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`))
  switch (a) {
    case '--key': o.key = val(); break
    case '--curve': o.curve = val(); break
    case '--message': o.message = Buffer.from(val(), 'utf8'); break
    case '--message-hex': {
      const h = val()
      if (!/^([0-9a-fA-F]{2})*$/.test(h)) usage('--message-hex is not hex')
      o.message = Buffer.from(h, 'hex')
      break
    }
    case '--message-file': o.message = readFileSync(val()); break
    case '--b64url': o.b64url = true; break
    case '--json': o.json = true; break
    case '--did-key-only': o.didKeyOnly = true; break
    default: usage(`unknown argument ${a}`)
  }
}
if (!o.key || !/^[0-9a-fA-F]{64}$/.test(o.key)) usage('--key must be 64 hex chars')
const Keypair = { k256: crypto.Secp256k1Keypair, secp256k1: crypto.Secp256k1Keypair, p256: crypto.P256Keypair }[o.curve]
if (!Keypair) usage(`unknown curve ${o.curve}`)

const kp = await Keypair.import(o.key.toLowerCase(), { exportable: false })
if (o.didKeyOnly) {
  console.log(kp.did())
  process.exit(0)
}
if (o.message === null) o.message = readFileSync(0)
const sig = Buffer.from(await kp.sign(new Uint8Array(o.message)))
const b64 = o.b64url ? sig.toString('base64url') : sig.toString('base64').replace(/=+$/, '')
if (o.json) {
  console.log(JSON.stringify({ didKey: kp.did(), alg: kp.jwtAlg, signatureBase64: sig.toString('base64').replace(/=+$/, ''), signatureB64url: sig.toString('base64url'), signatureHex: sig.toString('hex') }))
} else {
  console.log(b64)
}
