#!/usr/bin/env node
// Small PDS client over plain HTTP XRPC (fetch; no atproto client library) for tests.
// Every command prints JSON on stdout (one document, or JSON lines for `subscribe`).
// On an XRPC error it prints {"status","error","message"} on stdout, a line on stderr, exit 1.
// Usage errors exit 2.
//
// Global options (before or after the command):
//   --pds URL        PDS base URL (env PDS_URL, default http://localhost:2583)
//   --plc URL        PLC base URL (env PLC_URL, default http://localhost:2582)
//   --jwt TOKEN      access token (env PDS_ACCESS_JWT)
//   --session FILE   JSON written by create-account/login (gives accessJwt and did)
// Commands:
//   create-account --handle H --password P [--email E]  -> {did,handle,accessJwt,refreshJwt,signingKey}
//   login --handle H|DID --password P                   -> same shape
//   put-record --collection C --rkey R --record JSON|@FILE [--validate true|false] [--swap-record CID] [--repo DID]
//   create-record --collection C [--rkey R] --record JSON|@FILE [--validate true|false] [--repo DID]
//   get-record [--repo DID|HANDLE] --collection C --rkey R
//   list-records [--repo DID] --collection C [--limit N] [--cursor X] [--reverse]
//   delete-record --collection C --rkey R [--swap-record CID] [--repo DID]
//   upload-blob --file F [--mime TYPE]                   -> the blob ref JSON
//   get-repo [--did DID] --out FILE [--since REV]        -> {did,file,bytes}; CAR bytes to FILE (- = stdout)
//   service-auth --aud AUD [--lxm NSID] [--exp T]        -> prints the token (not JSON);
//                T: absolute unix seconds, or +N for now+N seconds
//   subscribe [--cursor N] [--count N] [--timeout SEC] [--omit-blocks]
//                -> one JSON line per firehose frame: {"seq","t","op","body":{...}};
//                   CIDs as {"$link"}, bytes as {"$bytes"} (base64); stops after --count frames,
//                   or --timeout seconds without a frame (default 5; 0 = never)
//   xrpc GET|POST NSID [--param k=v ...] [--body JSON|@FILE] -> raw XRPC call, prints the JSON reply
//   did-data --did DID                                   -> PLC /<did>/data
import { createRequire } from 'node:module'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFrom = createRequire(
  path.join(process.env.PEERS_NODE_MODULES ? path.resolve(process.env.PEERS_NODE_MODULES, '..') : here, 'noop.js'),
)

class UsageError extends Error {}
class XrpcError extends Error {
  constructor(status, body) {
    super(`${status} ${body.error || ''} ${body.message || ''}`.trim())
    this.status = status
    this.body = body
  }
}

// ---------- arguments ----------
const BOOL_FLAGS = new Set(['reverse', 'omit-blocks'])
function parseArgs(argv) {
  const pos = []
  const opt = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a.startsWith('--')) {
      let name = a.slice(2)
      let val
      const eq = name.indexOf('=')
      if (eq >= 0) { val = name.slice(eq + 1); name = name.slice(0, eq) }
      else if (BOOL_FLAGS.has(name)) val = true
      else {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`)
        val = argv[++i]
      }
      if (name === 'param') (opt.param ??= []).push(val)
      else opt[name] = val
    } else pos.push(a)
  }
  return { pos, opt }
}
const req = (opt, name) => {
  if (opt[name] === undefined || opt[name] === true) throw new UsageError(`--${name} is required`)
  return opt[name]
}
const jsonArg = (v) => {
  try {
    return JSON.parse(v.startsWith('@') ? readFileSync(v.slice(1), 'utf8') : v)
  } catch (e) {
    throw new UsageError(`bad JSON argument: ${e.message}`)
  }
}
const boolArg = (v) => {
  if (v === undefined) return undefined
  if (v === true || v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  throw new UsageError(`expected true/false, got ${v}`)
}

// ---------- HTTP ----------
let PDS = (process.env.PDS_URL || 'http://localhost:2583').replace(/\/+$/, '')
let PLC = (process.env.PLC_URL || 'http://localhost:2582').replace(/\/+$/, '')
let JWT = process.env.PDS_ACCESS_JWT || null
let SESSION_DID = null

async function xrpc(method, nsid, { params, body, raw, contentType, auth = true } = {}) {
  const url = new URL(`${PDS}/xrpc/${nsid}`)
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null) continue
    for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(x))
  }
  const headers = {}
  if (auth && JWT) headers.authorization = `Bearer ${JWT}`
  let payload
  if (raw !== undefined) {
    payload = raw
    headers['content-type'] = contentType || 'application/octet-stream'
  } else if (body !== undefined) {
    payload = JSON.stringify(body)
    headers['content-type'] = 'application/json'
  }
  let res
  try {
    res = await fetch(url, { method, headers, body: payload })
  } catch (e) {
    throw new Error(`${method} ${url}: ${e.cause?.message || e.message}`)
  }
  const ct = res.headers.get('content-type') || ''
  if (!res.ok) {
    const text = await res.text()
    let b
    try { b = JSON.parse(text) } catch { b = { error: 'HttpError', message: text.slice(0, 500) } }
    throw new XrpcError(res.status, b)
  }
  if (ct.includes('application/json')) return res.json()
  return { bytes: new Uint8Array(await res.arrayBuffer()), contentType: ct }
}

async function plcData(did) {
  const url = `${PLC}/${encodeURIComponent(did)}/data`
  let res
  try { res = await fetch(url) } catch (e) { throw new Error(`GET ${url}: ${e.cause?.message || e.message}`) }
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`)
  return res.json()
}

const needAuth = () => {
  if (!JWT) throw new UsageError('this command needs --jwt, --session or PDS_ACCESS_JWT')
}
const repoOf = (opt) => {
  const r = opt.repo ?? opt.did ?? SESSION_DID
  if (!r) throw new UsageError('--repo (or --session) is required')
  return r
}

// ---------- data model -> JSON ----------
let lexData = null
function toJson(v) {
  if (v === null || typeof v !== 'object') return v
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64').replace(/=+$/, '') }
  if (lexData.isCid(v)) return { $link: v.toString() }
  if (Array.isArray(v)) return v.map(toJson)
  const o = {}
  for (const [k, x] of Object.entries(v)) o[k] = toJson(x)
  return o
}

// ---------- commands ----------
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n')

async function sessionOut(r) {
  let signingKey = null
  try {
    signingKey = (await plcData(r.did)).verificationMethods?.atproto ?? null
  } catch (e) {
    if (r.did.startsWith('did:plc:')) throw e
  }
  return { did: r.did, handle: r.handle, accessJwt: r.accessJwt, refreshJwt: r.refreshJwt, signingKey }
}

const commands = {
  async 'create-account'(opt) {
    const handle = req(opt, 'handle')
    const r = await xrpc('POST', 'com.atproto.server.createAccount', {
      auth: false,
      body: { handle, password: req(opt, 'password'), email: opt.email ?? `${handle.split('.')[0]}@example.com` },
    })
    out(await sessionOut(r))
  },
  async login(opt) {
    const r = await xrpc('POST', 'com.atproto.server.createSession', {
      auth: false,
      body: { identifier: opt.handle ?? req(opt, 'identifier'), password: req(opt, 'password') },
    })
    out(await sessionOut(r))
  },
  async 'put-record'(opt) {
    needAuth()
    out(await xrpc('POST', 'com.atproto.repo.putRecord', {
      body: {
        repo: repoOf(opt), collection: req(opt, 'collection'), rkey: req(opt, 'rkey'),
        record: jsonArg(req(opt, 'record')), validate: boolArg(opt.validate), swapRecord: opt['swap-record'],
      },
    }))
  },
  async 'create-record'(opt) {
    needAuth()
    out(await xrpc('POST', 'com.atproto.repo.createRecord', {
      body: {
        repo: repoOf(opt), collection: req(opt, 'collection'), rkey: opt.rkey,
        record: jsonArg(req(opt, 'record')), validate: boolArg(opt.validate),
      },
    }))
  },
  async 'get-record'(opt) {
    out(await xrpc('GET', 'com.atproto.repo.getRecord', {
      params: { repo: repoOf(opt), collection: req(opt, 'collection'), rkey: req(opt, 'rkey'), cid: opt.cid },
    }))
  },
  async 'list-records'(opt) {
    out(await xrpc('GET', 'com.atproto.repo.listRecords', {
      params: { repo: repoOf(opt), collection: req(opt, 'collection'), limit: opt.limit, cursor: opt.cursor, reverse: opt.reverse ? 'true' : undefined },
    }))
  },
  async 'delete-record'(opt) {
    needAuth()
    out(await xrpc('POST', 'com.atproto.repo.deleteRecord', {
      body: { repo: repoOf(opt), collection: req(opt, 'collection'), rkey: req(opt, 'rkey'), swapRecord: opt['swap-record'] },
    }))
  },
  async 'upload-blob'(opt) {
    needAuth()
    const r = await xrpc('POST', 'com.atproto.repo.uploadBlob', {
      raw: readFileSync(req(opt, 'file')), contentType: opt.mime || 'application/octet-stream',
    })
    out(r.blob ?? r)
  },
  async 'get-repo'(opt) {
    const did = opt.did ?? opt.repo ?? SESSION_DID
    if (!did) throw new UsageError('--did is required')
    const file = req(opt, 'out')
    const r = await xrpc('GET', 'com.atproto.sync.getRepo', { params: { did, since: opt.since }, auth: false })
    if (!r.bytes) throw new Error('getRepo did not return a CAR')
    if (file === '-') { process.stdout.write(r.bytes); return }
    writeFileSync(file, r.bytes)
    out({ did, file, bytes: r.bytes.length, contentType: r.contentType })
  },
  async 'service-auth'(opt) {
    needAuth()
    let exp = opt.exp
    if (typeof exp === 'string' && exp.startsWith('+')) exp = Math.floor(Date.now() / 1000) + Number(exp.slice(1))
    const r = await xrpc('GET', 'com.atproto.server.getServiceAuth', {
      params: { aud: req(opt, 'aud'), lxm: opt.lxm, exp },
    })
    process.stdout.write(r.token + '\n')
  },
  async 'did-data'(opt) {
    out(await plcData(opt.did ?? SESSION_DID ?? req(opt, 'did')))
  },
  async xrpc(opt, pos) {
    const [method, nsid] = pos
    if (!/^(GET|POST)$/i.test(method || '') || !nsid) throw new UsageError('usage: xrpc GET|POST NSID [--param k=v ...] [--body JSON]')
    const params = {}
    for (const p of opt.param || []) {
      const i = p.indexOf('=')
      if (i < 0) throw new UsageError(`--param ${p}: expected k=v`)
      ;(params[p.slice(0, i)] ??= []).push(p.slice(i + 1))
    }
    const r = await xrpc(method.toUpperCase(), nsid, { params, body: opt.body !== undefined ? jsonArg(opt.body) : undefined })
    if (r && r.bytes) {
      process.stdout.write(r.bytes)
    } else out(r)
  },
  async subscribe(opt) {
    const WebSocket = requireFrom('ws')
    const cbor = requireFrom('@atproto/lex-cbor')
    const count = opt.count !== undefined ? Number(opt.count) : Infinity
    const idle = opt.timeout !== undefined ? Number(opt.timeout) : 5
    const url = new URL(`${PDS}/xrpc/com.atproto.sync.subscribeRepos`)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    if (opt.cursor !== undefined) url.searchParams.set('cursor', String(opt.cursor))
    await new Promise((resolve, reject) => {
      const ws = new WebSocket(url)
      let n = 0
      let timer = null
      let failed = null
      const arm = () => {
        if (timer) clearTimeout(timer)
        if (idle > 0) timer = setTimeout(() => ws.close(1000), idle * 1000)
      }
      ws.on('open', arm)
      ws.on('message', (data, isBinary) => {
        if (n >= count || failed) return // frames already buffered after we decided to stop
        arm()
        if (!isBinary) { failed = new Error('non-binary frame'); ws.terminate(); return }
        let header, body
        try {
          const items = [...cbor.decodeAll(new Uint8Array(data))]
          if (items.length !== 2) throw new Error(`frame has ${items.length} CBOR items, expected 2`)
          ;[header, body] = items
        } catch (e) { failed = new Error(`bad frame: ${e.message}`); ws.terminate(); return }
        if (opt['omit-blocks'] && body && body.blocks instanceof Uint8Array) body = { ...body, blocks: { $bytesLength: body.blocks.length } }
        out({ seq: body?.seq ?? null, t: header?.t ?? null, op: header?.op, body: toJson(body) })
        if (header?.op === -1) failed = new XrpcError(400, { error: body?.error || 'StreamError', message: body?.message })
        if (++n >= count) {
          if (timer) clearTimeout(timer)
          ws.close(1000)
          setTimeout(() => ws.terminate(), 1000).unref()
        }
      })
      ws.on('unexpected-response', (_req, res) => {
        failed = new Error(`subscribe: HTTP ${res.statusCode}`)
        res.resume()
        ws.terminate()
      })
      ws.on('error', (e) => { failed ??= e })
      ws.on('close', () => {
        if (timer) clearTimeout(timer)
        failed ? reject(failed) : resolve()
      })
    })
  },
}

async function main() {
  let args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (e) {
    console.error(`pds-client: ${e.message}`)
    process.exit(2)
  }
  const { pos, opt } = args
  const cmd = pos.shift()
  if (!cmd || cmd === 'help' || opt.help) {
    const src = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
    console.log(src.slice(1, src.findIndex((l) => l.startsWith('import'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'))
    process.exit(cmd ? 0 : 2)
  }
  if (opt.pds) PDS = opt.pds.replace(/\/+$/, '')
  if (opt.plc) PLC = opt.plc.replace(/\/+$/, '')
  if (opt.session) {
    try {
      const s = JSON.parse(readFileSync(opt.session, 'utf8'))
      JWT = s.accessJwt
      SESSION_DID = s.did
    } catch (e) {
      console.error(`pds-client: cannot read session ${opt.session}: ${e.message}`)
      process.exit(2)
    }
  }
  if (opt.jwt) JWT = opt.jwt
  const fn = commands[cmd]
  if (!fn) {
    console.error(`pds-client: unknown command ${cmd} (try: pds-client.mjs help)`)
    process.exit(2)
  }
  lexData = requireFrom('@atproto/lex-data')
  try {
    await fn(opt, pos)
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`pds-client ${cmd}: ${e.message}`)
      process.exit(2)
    }
    if (e instanceof XrpcError) {
      out({ status: e.status, error: e.body.error ?? null, message: e.body.message ?? null })
      console.error(`pds-client ${cmd}: ${e.message}`)
      process.exit(1)
    }
    console.error(`pds-client ${cmd}: ${e.message}`)
    process.exit(1)
  }
}

main()
