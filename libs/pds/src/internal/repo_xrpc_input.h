// Typed reading of XRPC inputs (JSON bodies and query parameters) for the repo and sync
// routes, with the reference's lexicon-validation messages:
//   Missing required key "collection" at $
//   Expected string value type (got 1) at $.repo
//   Invalid NSID (got "notnsid") at $.collection
//   integer too big (maximum 100, got 101) at $.limit
// Every error is kInvalidArgument (400 InvalidRequest). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "atcr/base/result.h"
#include "atcr/net/http.h"

namespace atcr::pds::internal {

enum class StringFormat { kNone, kAtIdentifier, kDid, kNsid, kRecordKey, kCid, kTid };

// How the reference prints a value inside a message: strings JSON-quoted (cut to 48
// characters), objects as {"key": ..., ...}, arrays as [...].
std::string DescribeJson(const boost::json::value& v);
std::string DescribeString(std::string_view s);

class JsonFields {
 public:
  JsonFields(const boost::json::object& obj, std::string path) : obj_(obj), path_(std::move(path)) {}

  bool Has(std::string_view key) const { return obj_.contains(key); }
  bool IsNull(std::string_view key) const;
  Result<std::string> String(std::string_view key, StringFormat f = StringFormat::kNone) const;
  Result<std::optional<std::string>> OptString(std::string_view key,
                                               StringFormat f = StringFormat::kNone) const;
  Result<std::optional<bool>> OptBool(std::string_view key) const;
  Result<const boost::json::object*> Object(std::string_view key) const;
  Result<const boost::json::array*> Array(std::string_view key) const;
  std::string PathOf(std::string_view key) const { return path_ + "." + std::string(key); }

 private:
  const boost::json::object& obj_;
  std::string path_;
};

// A query parameter. Required ones: `Missing required key "k" at $`.
Result<std::string> QueryString(const net::Request& req, std::string_view key,
                                StringFormat f = StringFormat::kNone);
Result<std::optional<std::string>> QueryOptString(const net::Request& req, std::string_view key,
                                                  StringFormat f = StringFormat::kNone);
Result<std::optional<int64_t>> QueryOptInt(const net::Request& req, std::string_view key,
                                           int64_t min, int64_t max);
Result<std::optional<bool>> QueryOptBool(const net::Request& req, std::string_view key);

// The format check alone: `Invalid NSID (got "x") at <path>`.
Status CheckFormat(std::string_view value, StringFormat f, const std::string& path);

}  // namespace atcr::pds::internal
