#!/usr/bin/env node
// Validates records against lexicon JSON files with the reference validator, @atproto/lexicon
// (installed with @atproto/pds by bootstrap-npm).
//
// Usage: lexicon-validate.mjs LEXICON_DIR < RECORDS
//   LEXICON_DIR  directory searched recursively for *.json lexicon documents (e.g. lexicons/)
//   RECORDS      JSON array of {"uri": AT-URI, "value": record} (what listRecords/getRecord give);
//                the collection is taken from the record's $type (else from the URI).
// Prints one line per record ("ok <uri>" / "invalid <uri>: <reason>"); exit 0 only when every
// record is valid and there was at least one, 1 otherwise, 2 on usage errors.
import { createRequire } from 'node:module'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, 'noop.js'))
const { Lexicons, jsonToLex } = require('@atproto/lexicon')

const dir = process.argv[2]
if (!dir) {
  console.error('usage: lexicon-validate.mjs LEXICON_DIR < RECORDS_JSON')
  process.exit(2)
}

function* walk(d) {
  for (const name of readdirSync(d)) {
    const p = path.join(d, name)
    if (statSync(p).isDirectory()) yield* walk(p)
    else if (name.endsWith('.json')) yield p
  }
}

const lex = new Lexicons()
let docs = 0
for (const file of walk(dir)) {
  lex.add(JSON.parse(readFileSync(file, 'utf8')))
  docs++
}
if (docs === 0) {
  console.error(`no lexicon documents under ${dir}`)
  process.exit(2)
}

const records = JSON.parse(readFileSync(0, 'utf8'))
if (!Array.isArray(records) || records.length === 0) {
  console.error('expected a non-empty JSON array of {uri, value}')
  process.exit(1)
}
let bad = 0
for (const { uri, value } of records) {
  const nsid = value?.$type ?? String(uri).split('/')[3]
  try {
    // jsonToLex turns {"$link"} into CIDs and blob JSON into BlobRefs, as the PDS does.
    lex.assertValidRecord(nsid, jsonToLex(value))
    console.log(`ok ${uri}`)
  } catch (e) {
    bad++
    console.log(`invalid ${uri}: ${e.message}`)
  }
}
process.exit(bad ? 1 : 0)
