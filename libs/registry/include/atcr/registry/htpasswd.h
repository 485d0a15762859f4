// htpasswd Basic authentication for the standalone registry. The file holds `user:hash`
// lines as written by `htpasswd -B` (bcrypt, $2y$/$2a$/$2b$, checked with libcrypt's crypt_r)
// or `htpasswd -s` ({SHA}, base64 SHA-1; weak, accepted for compatibility). Blank lines and
// lines starting with '#' are ignored; any other format is rejected when the file is loaded.
// Successful checks are cached for a short time keyed by a SHA-256 of the credentials, because
// bcrypt costs tens of milliseconds by design. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "atcr/base/result.h"
#include "atcr/registry/authenticator.h"

namespace atcr::registry {

class HtpasswdAuthenticator : public Authenticator {
 public:
  struct Options {
    std::string realm = "atcr";
    std::chrono::seconds cache_ttl{60};
    size_t cache_max_entries = 4096;
  };

  // Parses htpasswd text; errors name the offending line (never its hash).
  static Result<std::unique_ptr<HtpasswdAuthenticator>> Parse(std::string_view text,
                                                              Options options);
  static Result<std::unique_ptr<HtpasswdAuthenticator>> Load(const std::string& path,
                                                             Options options);

  // Any valid user may do anything: `access` is not consulted.
  net::Task<Status> Authenticate(const net::Request& request,
                                 std::span<const Access> access) override;
  std::string Challenge(std::span<const Access> access, const Error& why) const override;

  // Blocking password check against the stored hash (no cache). For tests and Authenticate.
  bool Verify(std::string_view user, std::string_view password) const;
  size_t user_count() const { return users_.size(); }

 private:
  explicit HtpasswdAuthenticator(Options options) : options_(std::move(options)) {}
  bool CachedOk(const std::string& key);
  void Remember(const std::string& key);

  Options options_;
  std::map<std::string, std::string, std::less<>> users_;  // user -> hash
  std::mutex mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> cache_;  // -> expiry
};

}  // namespace atcr::registry
