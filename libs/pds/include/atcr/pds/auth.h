// The seam between the PDS's account side (sessions, app passwords, service accounts) and the
// repo/sync endpoints: a RequestAuthenticator turns a request's credentials into the Caller
// the repo endpoints authorize against. Implemented by the account service (account_service.h);
// tests may supply their own. Implementations are thread-safe.
#pragma once

#include <string>

#include "atcr/base/result.h"
#include "atcr/net/http.h"

namespace atcr::pds {

struct Caller {
  enum class Kind {
    kAccess,       // a full session (password login)
    kAppPassword,  // a session from an app password: may not manage app passwords or accounts
    kAdmin,        // HTTP basic admin:<password>
  };
  Kind kind = Kind::kAccess;
  std::string did;  // empty for kAdmin
};

// "access" | "app-password" | "admin", for access logs.
const char* CallerKindName(Caller::Kind kind);

class RequestAuthenticator {
 public:
  virtual ~RequestAuthenticator() = default;
  // Authorization: Bearer <access JWT> (or Basic admin credentials). Errors carry the XRPC
  // names the reference uses: AuthRequired (no/malformed credentials, kUnauthenticated),
  // InvalidToken, ExpiredToken (kUnauthenticated), AccountTakedown / AccountDeactivated.
  // Blocking-free: verifying a token is CPU only.
  virtual Result<Caller> Authenticate(const net::Request& req) const = 0;
};

}  // namespace atcr::pds
