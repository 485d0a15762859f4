#include "atcr/registry/htpasswd.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "atcr/base/encoding.h"
#include "atcr/base/hash.h"
#include "internal/blocking.h"

namespace atcr::registry {
namespace {

bool IsBcrypt(std::string_view h) {
  return h.size() == 60 && (h.starts_with("$2y$") || h.starts_with("$2a$") || h.starts_with("$2b$"));
}

bool CheckBcrypt(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos) return false;
  auto data = std::make_unique<crypt_data>();  // 32 KiB: not on the stack
  std::string pw(password);
  const char* out = crypt_r(pw.c_str(), hash.c_str(), data.get());
  // Failures return NULL or a string starting with '*', never a match.
  if (out == nullptr || out[0] == '*') return false;
  std::string_view got(out);
  return got.size() == hash.size() && CRYPTO_memcmp(got.data(), hash.data(), hash.size()) == 0;
}

bool CheckSha1(std::string_view password, std::string_view hash) {
  auto expected = Base64Decode(hash.substr(5));
  if (!expected.ok() || expected->size() != 20) return false;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(password.data(), password.size(), md, &len, EVP_sha1(), nullptr) != 1 ||
      len != 20) {
    return false;
  }
  return CRYPTO_memcmp(md, expected->data(), 20) == 0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

Error Unauthenticated(std::string msg) {
  return Error(ErrorCode::kUnauthenticated, std::move(msg), "UNAUTHORIZED");
}

}  // namespace

Result<std::unique_ptr<HtpasswdAuthenticator>> HtpasswdAuthenticator::Parse(std::string_view text,
                                                                            Options options) {
  std::unique_ptr<HtpasswdAuthenticator> auth(new HtpasswdAuthenticator(std::move(options)));
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        Trim(text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    std::string where = "htpasswd line " + std::to_string(line_no);
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgument(where + ": expected user:hash");
    }
    std::string_view user = line.substr(0, colon);
    std::string_view hash = line.substr(colon + 1);
    if (!IsBcrypt(hash) && !hash.starts_with("{SHA}")) {
      return InvalidArgument(where + " (user " + std::string(user) +
                             "): unsupported hash; use bcrypt (htpasswd -B) or {SHA}");
    }
    if (!auth->users_.emplace(std::string(user), std::string(hash)).second) {
      return InvalidArgument(where + ": user " + std::string(user) + " is listed twice");
    }
  }
  return auth;
}

Result<std::unique_ptr<HtpasswdAuthenticator>> HtpasswdAuthenticator::Load(const std::string& path,
                                                                           Options options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read htpasswd file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto parsed = Parse(ss.str(), std::move(options));
  if (!parsed.ok()) return InvalidArgument(path + ": " + parsed.error().message);
  return parsed;
}

bool HtpasswdAuthenticator::Verify(std::string_view user, std::string_view password) const {
  auto it = users_.find(user);
  if (it == users_.end()) {
    // Same cost as a known user, so response times do not tell which users exist.
    static const std::string kDummy =
        "$2y$10$OvkWNPuOl1rfBrV3EwIBCuTG4D8rDebNDDoXEyjwUzgZMOoY7OSEW";
    (void)CheckBcrypt(password, kDummy);
    return false;
  }
  const std::string& hash = it->second;
  if (hash.starts_with("{SHA}")) return CheckSha1(password, hash);
  return CheckBcrypt(password, hash);
}

std::string HtpasswdAuthenticator::Challenge(std::span<const Access>, const Error&) const {
  return "Basic realm=\"" + options_.realm + "\"";
}

bool HtpasswdAuthenticator::CachedOk(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return false;
  if (it->second < std::chrono::steady_clock::now()) {
    cache_.erase(it);
    return false;
  }
  return true;
}

void HtpasswdAuthenticator::Remember(const std::string& key) {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (cache_.size() >= options_.cache_max_entries) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = it->second < now ? cache_.erase(it) : std::next(it);
    }
    if (cache_.size() >= options_.cache_max_entries) cache_.clear();
  }
  cache_[key] = now + options_.cache_ttl;
}

net::Task<Status> HtpasswdAuthenticator::Authenticate(const net::Request& request,
                                                      std::span<const Access>) {
  auto header = request.headers.Get("Authorization");
  if (!header) co_return Unauthenticated("authentication required");
  std::string_view value = Trim(*header);
  size_t space = value.find(' ');
  if (space == std::string_view::npos || !EqualsIgnoreCase(value.substr(0, space), "basic")) {
    co_return Unauthenticated("Basic authentication required");
  }
  std::string_view encoded = Trim(value.substr(space + 1));
  auto decoded = Base64Decode(encoded);
  if (!decoded.ok()) co_return Unauthenticated("malformed Basic credentials");
  std::string creds(AsString(*decoded));
  size_t colon = creds.find(':');
  if (colon == std::string::npos) co_return Unauthenticated("malformed Basic credentials");

  // Keyed by a hash so the cache never holds a password.
  std::string key = Sha256Hex(creds);
  if (CachedOk(key)) co_return Ok();
  std::string user = creds.substr(0, colon);
  std::string password = creds.substr(colon + 1);
  bool ok = co_await internal::Blocking([&] { return Verify(user, password); });
  if (!ok) co_return Unauthenticated("invalid username or password");
  Remember(key);
  co_return Ok();
}

}  // namespace atcr::registry
