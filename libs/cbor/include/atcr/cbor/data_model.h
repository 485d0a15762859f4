// ATProto data-model rules on top of DAG-CBOR, for record-shaped values: the top level is a
// map, no floats anywhere, `$type` (where present) is a non-empty string, and maps with
// `$type: "blob"` are well-formed blob refs. Lexicon validation is atproto's job, not this.
#pragma once

#include "atcr/base/result.h"
#include "atcr/cbor/value.h"

namespace atcr::cbor {

// Error names the offending path, e.g. "$.embed.image: blob ref without 'ref' link".
Status ValidateAtprotoData(const Value& v);

}  // namespace atcr::cbor
