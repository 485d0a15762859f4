#include "atcr/storage/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "atcr/base/check.h"
#include "atcr/base/hash.h"

namespace atcr::storage {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

// Header values are trimmed and runs of spaces collapse to one (SigV4 canonical headers).
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string Hex(const Bytes& b) { return HexEncode(b); }

}  // namespace

std::string AwsUriEncode(std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() + in.size() / 4);
  for (unsigned char c : in) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string AmzDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQueryString(const ParamList& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(AwsUriEncode(k, false), AwsUriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

Bytes HmacSha256(ByteSpan key, std::string_view data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  const unsigned char* r =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  ATCR_CHECK(r != nullptr);
  out.resize(len);
  return out;
}

Bytes SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service) {
  const std::string k0 = "AWS4" + std::string(secret);
  Bytes k = HmacSha256(AsBytes(k0), date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

SigV4Signer::SigV4Signer(AwsCredentials credentials, std::string region, std::string service)
    : credentials_(std::move(credentials)),
      region_(std::move(region)),
      service_(std::move(service)) {}

SigV4Signature SigV4Signer::Finish(const SigV4Request& request, const ParamList& query,
                                   const ParamList& headers, std::string_view payload_hash,
                                   const std::string& amz_date) const {
  // Canonical headers: lowercase names, sorted; repeated names joined by ',' in send order.
  std::map<std::string, std::string> canon;
  for (const auto& [name, value] : headers) {
    std::string& slot = canon[ToLower(name)];
    if (!slot.empty()) slot += ',';
    slot += CanonicalHeaderValue(value);
  }
  SigV4Signature out;
  std::string canonical_headers;
  for (const auto& [name, value] : canon) {
    canonical_headers += name + ":" + value + "\n";
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += name;
  }
  out.canonical_request = request.method + "\n" + request.canonical_uri + "\n" +
                          CanonicalQueryString(query) + "\n" + canonical_headers + "\n" +
                          out.signed_headers + "\n" + std::string(payload_hash);
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = date + "/" + region_ + "/" + service_ + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + scope + "\n" +
                       Sha256Hex(out.canonical_request);
  const Bytes key = SigV4SigningKey(credentials_.secret_key, date, region_, service_);
  out.signature = Hex(HmacSha256(key, out.string_to_sign));
  return out;
}

SigV4Signature SigV4Signer::Sign(const SigV4Request& request, int64_t now_unix) const {
  const std::string amz_date = AmzDate(now_unix);
  const std::string payload =
      request.payload_hash.empty() ? std::string(kEmptyPayloadSha256) : request.payload_hash;
  ParamList headers;
  for (const auto& [name, value] : request.headers) {
    const std::string lower = ToLower(name);
    // The signer owns these; a caller's stale copy would make the signature lie.
    if (lower == "x-amz-date" || lower == "x-amz-content-sha256" || lower == "authorization" ||
        lower == "x-amz-security-token") {
      continue;
    }
    headers.emplace_back(name, value);
  }
  ParamList added = {{"x-amz-date", amz_date}};
  // The payload hash header is S3's; other services sign the payload without sending it.
  if (service_ == "s3") added.emplace_back("x-amz-content-sha256", payload);
  if (!credentials_.session_token.empty()) {
    added.emplace_back("x-amz-security-token", credentials_.session_token);
  }
  headers.insert(headers.end(), added.begin(), added.end());
  SigV4Signature out = Finish(request, request.query, headers, payload, amz_date);
  const std::string scope =
      amz_date.substr(0, 8) + "/" + region_ + "/" + service_ + "/aws4_request";
  added.emplace_back("Authorization", std::string(kAlgorithm) +
                                          " Credential=" + credentials_.access_key + "/" + scope +
                                          ",SignedHeaders=" + out.signed_headers +
                                          ",Signature=" + out.signature);
  out.add_headers = std::move(added);
  return out;
}

SigV4Signature SigV4Signer::Presign(const SigV4Request& request, int64_t now_unix,
                                    int64_t expires_seconds) const {
  const std::string amz_date = AmzDate(now_unix);
  const std::string scope =
      amz_date.substr(0, 8) + "/" + region_ + "/" + service_ + "/aws4_request";
  expires_seconds = std::clamp<int64_t>(expires_seconds, 1, 604800);
  // Signed headers are named in the query, so compute them first.
  std::vector<std::string> names;
  for (const auto& [name, value] : request.headers) names.push_back(ToLower(name));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_headers;
  for (const auto& n : names) {
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += n;
  }
  ParamList query = request.query;
  query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  query.emplace_back("X-Amz-Credential", credentials_.access_key + "/" + scope);
  query.emplace_back("X-Amz-Date", amz_date);
  query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  if (!credentials_.session_token.empty()) {
    query.emplace_back("X-Amz-Security-Token", credentials_.session_token);
  }
  query.emplace_back("X-Amz-SignedHeaders", signed_headers);
  const std::string payload =
      request.payload_hash.empty() ? std::string(kUnsignedPayload) : request.payload_hash;
  SigV4Signature out = Finish(request, query, request.headers, payload, amz_date);
  out.query_string = CanonicalQueryString(query) + "&X-Amz-Signature=" + out.signature;
  return out;
}

}  // namespace atcr::storage
