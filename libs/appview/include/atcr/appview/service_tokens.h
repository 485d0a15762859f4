// ServiceTokenCache: service-auth JWTs that prove a user to a hold, minted by the user's own
// PDS (com.atproto.server.getServiceAuth, aud = the hold's DID, lxm = the hold method) and
// cached per (did, aud, lxm) until shortly before they expire, as ATCR does. A hold that
// refuses a reused token (atcr's hold keeps a jti replay cache) is remembered by its DID:
// callers report it with TokenRefused() and from then on get a fresh token per call for that
// audience. Concurrent requests for the same key share one PDS call. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "atcr/appview/session_manager.h"

namespace atcr::appview {

struct ServiceTokenOptions {
  int64_t lifetime_seconds = 60;  // exp asked of the PDS
  int64_t margin_seconds = 10;    // a cached token is not handed out closer to its exp
};

class ServiceTokenCache {
 public:
  ServiceTokenCache(std::shared_ptr<SessionManager> sessions, std::shared_ptr<PdsClient> pds,
                    ServiceTokenOptions options = {});
  ~ServiceTokenCache();

  Task<Result<std::string>> Get(std::string did, std::string aud, std::string lxm);
  // The hold refused `token` (401): drop it, and when `replayed` stop reusing tokens for aud.
  void TokenRefused(const std::string& did, const std::string& aud, const std::string& lxm,
                    bool replayed);
  bool single_use(const std::string& aud) const;
  size_t cached() const;

 private:
  struct Entry {
    std::string token;
    int64_t exp = 0;
  };
  std::shared_ptr<SessionManager> sessions_;
  std::shared_ptr<PdsClient> pds_;
  ServiceTokenOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> cache_;
  std::set<std::string> single_use_;
  struct Flights;
  std::unique_ptr<Flights> flights_;
};

}  // namespace atcr::appview
