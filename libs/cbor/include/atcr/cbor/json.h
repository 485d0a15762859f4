// JSON <-> data model, following the ATProto conventions: {"$link": "<cid>"} is a link,
// {"$bytes": "<base64, standard alphabet, padding optional>"} is bytes (written unpadded),
// everything else maps one to one; blob refs stay ordinary maps. JSON numbers that are
// integral (123 and 123.0) become ints; others become floats only when allowed.
// JSON is not a faithful form of every value: a data-model map whose only key is "$link" or
// "$bytes" with a string value reads back as a link or bytes, and an integral float reads back
// as an int. Only CBOR is hashed or signed.
// Includes Boost.JSON: use it where JSON is already in play. Thread-safe pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "atcr/base/result.h"
#include "atcr/cbor/value.h"

namespace atcr::cbor {

struct JsonLimits {
  size_t max_input_bytes = 16 * 1024 * 1024;
  size_t max_depth = 64;
  // ATProto records forbid floats: 123.5 is an error unless this is true.
  bool allow_floats = false;
};

// Converts parsed JSON. Rejects malformed $link/$bytes objects (extra keys, wrong types,
// bad CIDs or base64), integers outside int64, and (by default) non-integral numbers.
Result<Value> FromJson(const boost::json::value& json, const JsonLimits& limits = {});
// Parses JSON text (bounded size and depth) and converts it.
Result<Value> FromJsonText(std::string_view text, const JsonLimits& limits = {});

boost::json::value ToJson(const Value& v);
// Compact JSON text of ToJson(v).
std::string ToJsonText(const Value& v);

}  // namespace atcr::cbor
