// Hold-signed URLs: what the filesystem driver hands out where S3 would hand out presigned
// URLs, so pulls redirect (and part uploads go) to a short-lived URL the same way.
// A URL is <base><path>?exp=<unix seconds>&sig=<base64url HMAC-SHA256(key, method \n path \n exp)>;
// the key is a 32-byte secret in the hold's data directory. Verification is constant-time and
// names why a URL is refused (expired, tampered, malformed). Immutable; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"

namespace atcr::hold {

class UrlSigner {
 public:
  explicit UrlSigner(Bytes key, std::function<int64_t()> now = {});

  // The query string "exp=<expires_unix>&sig=<signature>" for (method, path).
  std::string SignQuery(std::string_view method, std::string_view path, int64_t expires_unix) const;
  // base + path + "?" + SignQuery(method, path, now + ttl_seconds).
  std::string SignUrl(std::string_view base, std::string_view method, std::string_view path,
                      int64_t ttl_seconds) const;
  // Checks exp and sig (the raw query values) for (method, path). kPermissionDenied with wire
  // "ExpiredSignature" or "InvalidSignature"; kInvalidArgument for malformed values.
  Status Verify(std::string_view method, std::string_view path, std::string_view exp,
                std::string_view sig) const;

  int64_t now() const;

 private:
  std::string Mac(std::string_view method, std::string_view path, int64_t exp) const;
  Bytes key_;
  std::function<int64_t()> now_;
};

}  // namespace atcr::hold
