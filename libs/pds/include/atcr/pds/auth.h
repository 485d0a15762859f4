// The seam between the PDS's account side (sessions, app passwords, service accounts) and the
// repo/sync endpoints: a RequestAuthenticator turns a request's credentials into the Caller
// the repo endpoints authorize against. Implemented by the account service (account_service.h);
// tests may supply their own. Implementations are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "atcr/base/result.h"
#include "atcr/crypto/keys.h"
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
  // names the reference uses: AuthRequired / AuthMissing (no or malformed credentials,
  // kUnauthenticated, 401); InvalidToken and ExpiredToken are 400s as in the reference
  // (kInvalidArgument with that wire name: @atproto/api refreshes only on a 400 ExpiredToken);
  // AccountTakedown / AccountDeactivated.
  // Blocking-free: verifying a token is CPU only.
  virtual Result<Caller> Authenticate(const net::Request& req) const = 0;
};

// What the repo endpoints need to know about the accounts hosted here. Implemented by the
// account service; may block (SQLite), so coroutine code calls it through net::RunBlocking.
class AccountDirectory {
 public:
  virtual ~AccountDirectory() = default;
  // A handle or DID of an account hosted here -> its DID. NotFound with wire "RepoNotFound"
  // (message "Could not find repo: <x>") otherwise.
  virtual Result<std::string> ResolveRepo(std::string_view handle_or_did) const = 0;
  virtual std::optional<std::string> HandleOf(std::string_view did) const = 0;
  // The account's repo signing key (never leaves the process).
  virtual Result<crypto::PrivateKey> SigningKey(std::string_view did) const = 0;
  // "active" accounts may write and are served by sync; otherwise "deactivated",
  // "takendown", "deleted" (errors RepoDeactivated / RepoTakendown / RepoNotFound).
  virtual std::string AccountStatus(std::string_view did) const = 0;
};

}  // namespace atcr::pds
