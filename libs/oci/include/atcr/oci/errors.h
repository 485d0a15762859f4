// OCI Distribution error codes, their HTTP statuses, and the JSON error body
// {"errors":[{"code","message","detail"}]}. atcr::Error values are mapped here exactly once.
#pragma once

#include <string>
#include <string_view>

#include "atcr/base/result.h"

namespace atcr::oci {

enum class ErrorCodeOci {
  kBlobUnknown,
  kBlobUploadInvalid,
  kBlobUploadUnknown,
  kDigestInvalid,
  kManifestBlobUnknown,
  kManifestInvalid,
  kManifestUnknown,
  kNameInvalid,
  kNameUnknown,
  kSizeInvalid,
  kUnauthorized,
  kDenied,
  kUnsupported,
  kTooManyRequests,
  kRangeInvalid,
  kPaginationNumberInvalid,
  kUnavailable,
  kUnknown,
};

std::string_view CodeName(ErrorCodeOci code);   // "BLOB_UNKNOWN"
int HttpStatus(ErrorCodeOci code);              // the status the spec gives
// The OCI code for an atcr::Error: its wire name when that is an OCI code; otherwise
// kUnauthenticated -> UNAUTHORIZED, kPermissionDenied -> DENIED, kUnimplemented -> UNSUPPORTED,
// kUnavailable -> UNAVAILABLE, anything else -> UNKNOWN (500). Code that rejects input must
// set the wire name, so bad input never becomes a 500.
ErrorCodeOci CodeFor(const Error& error);
// JSON body; detail_json must be valid JSON or empty (omitted).
std::string ErrorBody(ErrorCodeOci code, std::string_view message,
                      std::string_view detail_json = {});

}  // namespace atcr::oci
