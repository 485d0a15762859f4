#include "atcr/hold/signed_url.h"

#include <openssl/crypto.h>

#include "atcr/base/time.h"
#include "atcr/storage/sigv4.h"

namespace atcr::hold {

UrlSigner::UrlSigner(Bytes key, std::function<int64_t()> now)
    : key_(std::move(key)), now_(std::move(now)) {}

int64_t UrlSigner::now() const { return now_ ? now_() : UnixSeconds(); }

std::string UrlSigner::Mac(std::string_view method, std::string_view path, int64_t exp) const {
  std::string msg;
  msg.reserve(method.size() + path.size() + 24);
  msg.append(method).append("\n").append(path).append("\n").append(std::to_string(exp));
  Bytes mac = storage::HmacSha256(key_, msg);
  return Base64Encode(mac, Base64Variant::kUrl, /*pad=*/false);
}

std::string UrlSigner::SignQuery(std::string_view method, std::string_view path,
                                 int64_t expires_unix) const {
  return "exp=" + std::to_string(expires_unix) + "&sig=" + Mac(method, path, expires_unix);
}

std::string UrlSigner::SignUrl(std::string_view base, std::string_view method,
                               std::string_view path, int64_t ttl_seconds) const {
  std::string url(base);
  url.append(path).append("?").append(SignQuery(method, path, now() + ttl_seconds));
  return url;
}

Status UrlSigner::Verify(std::string_view method, std::string_view path, std::string_view exp,
                         std::string_view sig) const {
  if (exp.empty() || sig.empty()) {
    return InvalidArgument("the URL is not signed (exp and sig are required)", "InvalidSignature");
  }
  if (exp.size() > 12) return InvalidArgument("malformed exp", "InvalidSignature");
  int64_t expires = 0;
  for (char c : exp) {
    if (c < '0' || c > '9') return InvalidArgument("malformed exp", "InvalidSignature");
    expires = expires * 10 + (c - '0');
  }
  std::string want = Mac(method, path, expires);
  if (sig.size() != want.size() || CRYPTO_memcmp(sig.data(), want.data(), want.size()) != 0) {
    return Error(ErrorCode::kPermissionDenied, "the URL signature does not match",
                 "InvalidSignature");
  }
  if (now() > expires) {
    return Error(ErrorCode::kPermissionDenied,
                 "the signed URL expired at " + std::to_string(expires), "ExpiredSignature");
  }
  return Ok();
}

}  // namespace atcr::hold
