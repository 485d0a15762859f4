#include "atcr/cbor/json.h"

namespace atcr::cbor {

Result<Value> FromJson(const boost::json::value&, const JsonLimits&) {
  return Error(ErrorCode::kUnimplemented, "FromJson: not implemented yet");
}
Result<Value> FromJsonText(std::string_view, const JsonLimits&) {
  return Error(ErrorCode::kUnimplemented, "FromJsonText: not implemented yet");
}
boost::json::value ToJson(const Value&) { return nullptr; }
std::string ToJsonText(const Value&) { return "null"; }

}  // namespace atcr::cbor
