// Authenticator: decides whether a Distribution API request may proceed, and what challenge
// a refused client gets. The handler tells it what the request touches, in Docker token
// scope terms, so a token authenticator can check (and challenge for) exactly that. The
// standalone registry uses htpasswd Basic auth (htpasswd.h), which grants everything to any
// valid user; the AppView plugs in Docker token auth. Implementations are thread-safe.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/net/http.h"

namespace atcr::registry {

// One resource a request touches, as a token scope: repository:<name>:pull,push or
// registry:catalog:*. GET/HEAD need pull, POST/PUT/PATCH pull+push, DELETE delete; a mount
// also needs pull on the source repository. GET /v2/ touches nothing.
struct Access {
  std::string type;  // "repository" or "registry"
  std::string name;  // repository name, or "catalog"
  std::vector<std::string> actions;

  std::string Scope() const;  // "repository:org/app:pull,push"
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Ok, or kUnauthenticated (answered 401 UNAUTHORIZED with Challenge()) / kPermissionDenied
  // (403 DENIED). May suspend (slow password hashes run on net::RunBlocking).
  virtual net::Task<Status> Authenticate(const net::Request& request,
                                         std::span<const Access> access) = 0;
  // The WWW-Authenticate value for a 401, e.g. `Basic realm="atcr"`.
  virtual std::string Challenge(std::span<const Access> access, const Error& why) const = 0;
};

}  // namespace atcr::registry
