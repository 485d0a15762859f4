// Authenticator: decides whether a Distribution API request may proceed, and what challenge
// a refused client gets. The standalone registry uses htpasswd Basic auth (htpasswd.h); the
// AppView plugs in Docker token auth. Implementations are thread-safe.
#pragma once

#include <string>

#include "atcr/base/result.h"
#include "atcr/net/http.h"

namespace atcr::registry {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Ok, or kUnauthenticated (answered 401 UNAUTHORIZED with Challenge()) / kPermissionDenied
  // (403 DENIED). May suspend (slow password hashes run on net::RunBlocking).
  virtual net::Task<Status> Authenticate(const net::Request& request) = 0;
  // The WWW-Authenticate value, e.g. `Basic realm="atcr"`.
  virtual std::string Challenge() const = 0;
};

}  // namespace atcr::registry
