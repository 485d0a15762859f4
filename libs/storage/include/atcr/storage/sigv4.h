// AWS Signature Version 4 (AWS4-HMAC-SHA256) for S3: header signing (Authorization,
// x-amz-date, x-amz-content-sha256) and query-string presigning (X-Amz-Expires). Used by the
// S3 blob store; pure functions of their inputs and the given time, so they are tested with
// AWS's published vectors. Thread-safe: a SigV4Signer is immutable after construction.
//
//   SigV4Signer signer({.access_key = "AK", .secret_key = "SK"}, "us-east-1");
//   SignedHeaders h = signer.Sign({.method = "GET", .canonical_uri = "/bucket/key",
//                                  .headers = {{"host", "s3.example"}}}, UnixSeconds());
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atcr/base/encoding.h"

namespace atcr::storage {

// The hash of the empty payload and the marker for a payload that is not signed (presigned
// URLs, streaming bodies over TLS).
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct AwsCredentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // STS; sent as x-amz-security-token when set
};

using ParamList = std::vector<std::pair<std::string, std::string>>;

struct SigV4Request {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // the path exactly as sent, already URI-encoded ("/b/k%24")
  ParamList query;            // decoded names and values, in any order
  ParamList headers;          // headers to sign, any case; must include "host"
  std::string payload_hash;   // lowercase hex SHA-256 of the body, or kUnsignedPayload;
                              // empty = hash of the empty body
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-content-sha256;x-amz-date"
  std::string signature;       // 64 lowercase hex
  // Header signing: the headers to add to the request (x-amz-date, x-amz-content-sha256,
  // x-amz-security-token when set, Authorization). Presigning: the full query string, every
  // parameter encoded, X-Amz-Signature last.
  ParamList add_headers;
  std::string query_string;
};

// RFC 3986 percent-encoding as SigV4 wants it: everything except A-Z a-z 0-9 - _ . ~ becomes
// %XX (uppercase hex); '/' is kept when keep_slash (S3 object keys in paths: encoded once).
std::string AwsUriEncode(std::string_view in, bool keep_slash);
// "20130524T000000Z" for a Unix time.
std::string AmzDate(int64_t unix_seconds);
// The canonical query string: names and values encoded, sorted by name then value.
std::string CanonicalQueryString(const ParamList& query);
// HMAC-SHA256("AWS4" + secret, date) -> region -> service -> "aws4_request".
Bytes SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service);
Bytes HmacSha256(ByteSpan key, std::string_view data);

class SigV4Signer {
 public:
  SigV4Signer(AwsCredentials credentials, std::string region, std::string service = "s3");

  // Signs with the Authorization header. x-amz-date, x-amz-content-sha256 (service "s3" only)
  // and x-amz-security-token are added to the signed headers and returned in add_headers.
  SigV4Signature Sign(const SigV4Request& request, int64_t now_unix) const;
  // Query-string signature valid for expires_seconds (1..604800) from now_unix. The headers
  // in `request` are signed too, so the client must send them with these exact values; the
  // payload is request.payload_hash if set, else UNSIGNED-PAYLOAD.
  SigV4Signature Presign(const SigV4Request& request, int64_t now_unix,
                         int64_t expires_seconds) const;

  const std::string& region() const { return region_; }
  const std::string& access_key() const { return credentials_.access_key; }

 private:
  SigV4Signature Finish(const SigV4Request& request, const ParamList& query,
                        const ParamList& headers, std::string_view payload_hash,
                        const std::string& amz_date) const;

  AwsCredentials credentials_;
  std::string region_;
  std::string service_;
};

}  // namespace atcr::storage
