#include "internal/repo_xrpc_input.h"

#include <charconv>

#include "atcr/atproto/syntax.h"
#include "atcr/cbor/cid.h"

namespace atcr::pds::internal {

namespace json = boost::json;

namespace {

const char* FormatName(StringFormat f) {
  switch (f) {
    case StringFormat::kAtIdentifier:
      return "AT identifier";
    case StringFormat::kDid:
      return "DID";
    case StringFormat::kNsid:
      return "NSID";
    case StringFormat::kRecordKey:
      return "record key";
    case StringFormat::kCid:
      return "CID string";
    case StringFormat::kTid:
      return "TID string";
    case StringFormat::kNone:
      break;
  }
  return "string";
}

bool FormatOk(std::string_view v, StringFormat f) {
  switch (f) {
    case StringFormat::kNone:
      return true;
    case StringFormat::kAtIdentifier:
      return atproto::ValidateAtIdentifier(v).ok();
    case StringFormat::kDid:
      return atproto::ValidateDid(v).ok();
    case StringFormat::kNsid:
      return atproto::ValidateNsid(v).ok();
    case StringFormat::kRecordKey:
      return atproto::ValidateRecordKey(v).ok();
    case StringFormat::kCid:
      return cbor::Cid::Parse(v).ok();
    case StringFormat::kTid:
      return atproto::ValidateTid(v).ok();
  }
  return false;
}

Error TypeError(const char* expected, const json::value& got, const std::string& path) {
  return InvalidArgument(std::string("Expected ") + expected + " value type (got " +
                         DescribeJson(got) + ") at " + path);
}

Error Missing(std::string_view key, const std::string& parent) {
  return InvalidArgument("Missing required key \"" + std::string(key) + "\" at " + parent);
}

}  // namespace

std::string DescribeString(std::string_view s) {
  constexpr size_t kMax = 48;
  std::string shown(s.substr(0, kMax));
  std::string out = json::serialize(json::value(json::string_view(shown)));
  if (s.size() > kMax) out.insert(out.size() - 1, "\xe2\x80\xa6");  // …
  return out;
}

std::string DescribeJson(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return DescribeString(v.get_string());
    case json::kind::object: {
      const json::object& o = v.get_object();
      std::string out = "{";
      size_t n = 0;
      for (const auto& kv : o) {
        if (n++ > 0) out += ", ";
        if (n > 3) {
          out += "...";
          break;
        }
        out += DescribeString(kv.key()) + ": ...";
      }
      return out + "}";
    }
    case json::kind::array:
      return v.get_array().empty() ? "[]" : "[...]";
    default:
      return json::serialize(v);
  }
}

Status CheckFormat(std::string_view value, StringFormat f, const std::string& path) {
  if (FormatOk(value, f)) return Ok();
  return InvalidArgument(std::string("Invalid ") + FormatName(f) + " (got " +
                         DescribeString(value) + ") at " + path);
}

bool JsonFields::IsNull(std::string_view key) const {
  auto it = obj_.find(key);
  return it != obj_.end() && it->value().is_null();
}

Result<std::string> JsonFields::String(std::string_view key, StringFormat f) const {
  auto it = obj_.find(key);
  if (it == obj_.end()) return Missing(key, path_);
  if (!it->value().is_string()) return TypeError("string", it->value(), PathOf(key));
  std::string s(it->value().get_string());
  ATCR_TRY(CheckFormat(s, f, PathOf(key)));
  return s;
}

Result<std::optional<std::string>> JsonFields::OptString(std::string_view key,
                                                         StringFormat f) const {
  if (!Has(key)) return std::optional<std::string>();
  ATCR_ASSIGN_OR_RETURN(std::string s, String(key, f));
  return std::optional<std::string>(std::move(s));
}

Result<std::optional<bool>> JsonFields::OptBool(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end()) return std::optional<bool>();
  if (!it->value().is_bool()) return TypeError("boolean", it->value(), PathOf(key));
  return std::optional<bool>(it->value().get_bool());
}

Result<const json::object*> JsonFields::Object(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end()) return Missing(key, path_);
  if (!it->value().is_object()) return TypeError("object", it->value(), PathOf(key));
  return &it->value().get_object();
}

Result<const json::array*> JsonFields::Array(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end()) return Missing(key, path_);
  if (!it->value().is_array()) return TypeError("array", it->value(), PathOf(key));
  return &it->value().get_array();
}

Result<std::optional<std::string>> QueryOptString(const net::Request& req, std::string_view key,
                                                  StringFormat f) {
  std::optional<std::string> v = req.Query(key);
  if (!v) return v;
  ATCR_TRY(CheckFormat(*v, f, "$." + std::string(key)));
  return v;
}

Result<std::string> QueryString(const net::Request& req, std::string_view key, StringFormat f) {
  ATCR_ASSIGN_OR_RETURN(std::optional<std::string> v, QueryOptString(req, key, f));
  if (!v) return Missing(key, "$");
  return std::move(*v);
}

Result<std::optional<int64_t>> QueryOptInt(const net::Request& req, std::string_view key,
                                           int64_t min, int64_t max) {
  std::optional<std::string> v = req.Query(key);
  if (!v) return std::optional<int64_t>();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  std::string path = "$." + std::string(key);
  if (ec != std::errc() || end != v->data() + v->size() || v->empty()) {
    return InvalidArgument("Expected integer value type (got " + DescribeString(*v) + ") at " +
                           path);
  }
  if (n > max) {
    return InvalidArgument("integer too big (maximum " + std::to_string(max) + ", got " +
                           std::to_string(n) + ") at " + path);
  }
  if (n < min) {
    return InvalidArgument("integer too small (minimum " + std::to_string(min) + ", got " +
                           std::to_string(n) + ") at " + path);
  }
  return std::optional<int64_t>(n);
}

Result<std::optional<bool>> QueryOptBool(const net::Request& req, std::string_view key) {
  std::optional<std::string> v = req.Query(key);
  if (!v) return std::optional<bool>();
  if (*v == "true") return std::optional<bool>(true);
  if (*v == "false") return std::optional<bool>(false);
  return InvalidArgument("Expected boolean value type (got " + DescribeString(*v) + ") at $." +
                         std::string(key));
}

}  // namespace atcr::pds::internal
