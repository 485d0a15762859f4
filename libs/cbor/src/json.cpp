#include "atcr/cbor/json.h"

#include <cmath>
#include <string>

#include <boost/json.hpp>

#include "internal/utf8.h"

namespace atcr::cbor {
namespace {

namespace json = boost::json;

// 2^63 as a double; doubles in [-2^63, 2^63) fit in int64.
constexpr double kTwo63 = 9223372036854775808.0;

class JsonReader {
 public:
  explicit JsonReader(const JsonLimits& limits) : limits_(limits) {}

  Result<Value> Convert(const json::value& j, size_t depth) {
    switch (j.kind()) {
      case json::kind::null:
        return Value(nullptr);
      case json::kind::bool_:
        return Value(j.get_bool());
      case json::kind::int64:
        return Value(j.get_int64());
      case json::kind::uint64:
        if (j.get_uint64() > static_cast<uint64_t>(INT64_MAX)) {
          return Fail("integer " + std::to_string(j.get_uint64()) + " exceeds int64");
        }
        return Value(static_cast<int64_t>(j.get_uint64()));
      case json::kind::double_: {
        double d = j.get_double();
        if (!std::isfinite(d)) return Fail("non-finite number");
        if (std::trunc(d) == d && d >= -kTwo63 && d < kTwo63) {
          return Value(static_cast<int64_t>(d));  // 123.0 is the integer 123
        }
        if (!limits_.allow_floats) return Fail("non-integer number not allowed");
        return Value::Float(d);
      }
      case json::kind::string:
        return String(j.get_string());
      case json::kind::array: {
        if (depth >= limits_.max_depth) return Fail("nesting deeper than " + std::to_string(limits_.max_depth));
        const json::array& a = j.get_array();
        Value::List list;
        list.reserve(a.size());
        for (size_t i = 0; i < a.size(); ++i) {
          size_t mark = path_.size();
          path_ += '[';  // not "[" + to_string(i): GCC 12 -O3 -Wrestrict false positive
          path_ += std::to_string(i);
          path_ += ']';
          ATCR_ASSIGN_OR_RETURN(Value item, Convert(a[i], depth + 1));
          path_.resize(mark);
          list.push_back(std::move(item));
        }
        return Value(std::move(list));
      }
      case json::kind::object:
        if (depth >= limits_.max_depth) return Fail("nesting deeper than " + std::to_string(limits_.max_depth));
        return Object(j.get_object(), depth);
    }
    return Fail("unknown JSON kind");
  }

 private:
  Error Fail(const std::string& what) const {
    return InvalidArgument("json data model: " + (path_.empty() ? std::string("$") : "$" + path_) +
                           ": " + what);
  }

  Result<Value> String(const json::string& s) {
    std::string_view sv(s.data(), s.size());
    if (internal::FindInvalidUtf8(sv) != sv.size()) return Fail("invalid UTF-8 in string");
    return Value(std::string(sv));
  }

  Result<Value> Object(const json::object& o, size_t depth) {
    if (const json::value* link = o.if_contains("$link")) {
      if (o.size() != 1) return Fail("$link object has extra keys");
      if (!link->is_string()) return Fail("$link value is not a string");
      const json::string& s = link->get_string();
      auto cid = Cid::Parse(std::string_view(s.data(), s.size()));
      if (!cid.ok()) return Fail(cid.error().message);
      return Value(std::move(cid).value());
    }
    if (const json::value* bytes = o.if_contains("$bytes")) {
      if (o.size() != 1) return Fail("$bytes object has extra keys");
      if (!bytes->is_string()) return Fail("$bytes value is not a string");
      const json::string& s = bytes->get_string();
      auto b = Base64Decode(std::string_view(s.data(), s.size()), Base64Variant::kStandard);
      if (!b.ok()) return Fail("$bytes: " + b.error().message);
      return Value(std::move(b).value());
    }
    Value::Map map;
    for (const auto& kv : o) {
      std::string_view key(kv.key().data(), kv.key().size());
      if (internal::FindInvalidUtf8(key) != key.size()) return Fail("invalid UTF-8 in key");
      size_t mark = path_.size();
      path_ += ".";
      path_ += key;
      ATCR_ASSIGN_OR_RETURN(Value item, Convert(kv.value(), depth + 1));
      path_.resize(mark);
      if (!map.emplace(std::string(key), std::move(item)).second) {
        return Fail("duplicate key \"" + std::string(key) + "\"");
      }
    }
    return Value(std::move(map));
  }

  const JsonLimits& limits_;
  std::string path_;
};

json::value ToJsonValue(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return nullptr;
    case Value::Kind::kBool:
      return v.as_bool();
    case Value::Kind::kInt:
      return v.as_int();
    case Value::Kind::kFloat:
      return v.as_float();
    case Value::Kind::kString:
      return json::string(v.as_string());
    case Value::Kind::kBytes: {
      json::object o;
      o["$bytes"] = Base64Encode(v.as_bytes(), Base64Variant::kStandard, /*pad=*/false);
      return o;
    }
    case Value::Kind::kLink: {
      json::object o;
      o["$link"] = v.as_link().ToString();
      return o;
    }
    case Value::Kind::kList: {
      json::array a;
      a.reserve(v.as_list().size());
      for (const Value& item : v.as_list()) a.push_back(ToJsonValue(item));
      return a;
    }
    case Value::Kind::kMap: {
      json::object o;
      o.reserve(v.as_map().size());
      for (const auto& [key, item] : v.as_map()) o[key] = ToJsonValue(item);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

Result<Value> FromJson(const json::value& j, const JsonLimits& limits) {
  JsonReader reader(limits);
  return reader.Convert(j, 0);
}

Result<Value> FromJsonText(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_input_bytes) {
    return ResourceExhausted("json: input of " + std::to_string(text.size()) +
                             " bytes exceeds limit of " + std::to_string(limits.max_input_bytes));
  }
  json::parse_options opts;
  // Boost counts depth from 1 for the outermost container.
  opts.max_depth = limits.max_depth;
  boost::system::error_code ec;
  json::value j = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return InvalidArgument("json: " + ec.message());
  return FromJson(j, limits);
}

json::value ToJson(const Value& v) { return ToJsonValue(v); }

std::string ToJsonText(const Value& v) { return json::serialize(ToJsonValue(v)); }

}  // namespace atcr::cbor
