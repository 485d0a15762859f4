#include "atcr/cbor/data_model.h"

namespace atcr::cbor {

Status ValidateAtprotoData(const Value&) {
  return Error(ErrorCode::kUnimplemented, "ValidateAtprotoData: not implemented yet");
}

}  // namespace atcr::cbor
