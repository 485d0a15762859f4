// OCI Distribution error codes, their HTTP statuses, and the JSON error body
// {"errors":[{"code","message","detail"}]}. atcr::Error values are mapped here exactly once.
#pragma once

#include <optional>
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
// The spec's short description ("blob unknown to registry"); used when a message is empty.
std::string_view DefaultMessage(ErrorCodeOci code);
// Inverse of CodeName; nullopt for names that are not OCI codes.
std::optional<ErrorCodeOci> CodeFromName(std::string_view name);
// The OCI code for an atcr::Error: its wire name when that is an OCI code; otherwise
// kUnauthenticated -> UNAUTHORIZED, kPermissionDenied -> DENIED, kUnimplemented -> UNSUPPORTED,
// kUnavailable -> UNAVAILABLE, anything else -> UNKNOWN (500). Code that rejects input must
// set the wire name, so bad input never becomes a 500. The legacy wire "TAG_INVALID" (see
// name.h) maps to MANIFEST_INVALID.
ErrorCodeOci CodeFor(const Error& error);
// JSON body; detail_json must be valid JSON or empty (omitted). An empty message becomes
// DefaultMessage(code). Strings are escaped and invalid UTF-8 is replaced by U+FFFD.
std::string ErrorBody(ErrorCodeOci code, std::string_view message,
                      std::string_view detail_json = {});
// ErrorBody(CodeFor(error), error.message), except that an UNKNOWN (500) body carries only
// the default message: internal details (paths, errno text) belong in the log.
std::string ErrorBody(const Error& error);
// Appends `s` as a JSON string literal (quotes, escapes, invalid UTF-8 -> U+FFFD).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace atcr::oci
