// Strict DAG-CBOR (DRISL) encoder and decoder for the data model in value.h.
// Encode produces the one canonical encoding: shortest integer and length forms, definite
// lengths, map keys length-first then bytewise, floats as float64, links as tag 42 over
// 0x00 + binary CID. Decode accepts only that canonical form and rejects everything else
// with an error naming the problem and its byte offset; it never allocates beyond what
// DecodeLimits allows. Pure functions; thread-safe.
//
//   Bytes b = cbor::Encode(value);
//   ATCR_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(b));
#pragma once

#include <cstddef>
#include <cstdint>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/cbor/value.h"

namespace atcr::cbor {

struct DecodeLimits {
  // Input larger than this is rejected before parsing.
  size_t max_input_bytes = 16 * 1024 * 1024;
  // Maximum nesting of lists and maps (the top-level value is depth 1 if it is a container).
  size_t max_depth = 64;
  // Maximum number of data items (every value, map keys excluded) in the whole input. Bounds
  // the in-memory size (~100 bytes per item) independently of the input size.
  size_t max_items = 200'000;
  // ATProto records forbid floats; set false to reject them while decoding.
  bool allow_floats = true;
};

// Canonical DAG-CBOR bytes of `v`.
Bytes Encode(const Value& v);
// Appends the encoding of `v` to `out`.
void EncodeTo(const Value& v, Bytes& out);

// Decodes exactly one data item spanning all of `data` (trailing bytes are an error).
Result<Value> Decode(ByteSpan data, const DecodeLimits& limits = {});
// Decodes one data item from the start of `data`; *consumed = its length. For streams of
// concatenated items (firehose frames: header then body).
Result<Value> DecodeFirst(ByteSpan data, size_t* consumed, const DecodeLimits& limits = {});

}  // namespace atcr::cbor
