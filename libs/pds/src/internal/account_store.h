// The account database (DATA/accounts.sqlite): accounts with their password hash and repo
// signing key, app passwords, refresh tokens, invite codes. Every call blocks (SQLite) and is
// safe from any thread (one connection, serialized by the Database lock); coroutine code
// calls it through net::RunBlocking.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/db/database.h"

namespace atcr::pds::internal {

struct AccountRow {
  std::string did;
  std::string handle;           // "" = none
  std::string email;            // lowercase; "" = none
  std::string password_scrypt;  // "" = no password (service accounts)
  std::string key_type;         // "k256" | "p256"
  Bytes signing_key;            // 32-byte scalar
  std::string status = "active";  // active | deactivated | takendown
  std::string created_at;
  std::string email_confirmed_at;  // "" = not confirmed
  bool service_account = false;
};

struct AppPasswordRow {
  std::string name;
  std::string password_scrypt;
  bool privileged = false;
  std::string created_at;
};

struct AppPasswordRef {
  std::string name;
  bool privileged = false;
};

// What a refresh-token rotation decided (see AccountStore::RotateRefreshToken).
struct RefreshRotation {
  std::string did;
  std::optional<AppPasswordRef> app_password;
  std::string next_id;
};

struct InviteUse {
  std::string code;
  std::string now;
};

class AccountStore {
 public:
  // Creates the file with mode 0600 when missing and applies the schema.
  static Result<std::unique_ptr<AccountStore>> Open(const std::string& path);

  // A trivial query, for the health endpoint.
  Status Ping();
  Result<std::vector<AccountRow>> ListAccounts();
  Result<std::optional<AccountRow>> GetByDid(std::string_view did);
  Result<std::optional<AccountRow>> GetByHandle(std::string_view handle);
  Result<std::optional<AccountRow>> GetByEmail(std::string_view email);

  // Inserts the account and, when given, records the use of an invite code (checked again
  // inside the transaction). kAlreadyExists when the DID, handle or email is taken;
  // InvalidInviteCode when the code has no uses left.
  Status InsertAccount(const AccountRow& row, const std::optional<InviteUse>& invite);
  Status DeleteAccount(std::string_view did);
  // Also revokes every refresh token of the account when the status is not active.
  Status UpdateStatus(std::string_view did, std::string_view status);
  Status UpdateHandle(std::string_view did, std::string_view handle);

  // kAlreadyExists when the account has an app password of that name.
  Status InsertAppPassword(std::string_view did, const AppPasswordRow& row);
  // Newest first.
  Result<std::vector<AppPasswordRow>> ListAppPasswords(std::string_view did);
  // Deletes the app password and every refresh token issued through it.
  Status RevokeAppPassword(std::string_view did, std::string_view name);

  Status StoreRefreshToken(std::string_view id, std::string_view did,
                           const std::optional<std::string>& app_password_name,
                           int64_t expires_at);
  // The reference's rotation, in one transaction: tidy the account's expired tokens; shorten
  // the presented token's life to min(now + grace, its expiry) (nullopt when that is already
  // past, or the token is unknown or revoked); pick its successor id (the same one on every
  // reuse within the grace period); store the successor with `next_expires_at`.
  Result<std::optional<RefreshRotation>> RotateRefreshToken(std::string_view id, int64_t now,
                                                            int64_t grace_seconds,
                                                            int64_t next_expires_at);
  Status RevokeRefreshToken(std::string_view id);
  Result<int64_t> CountRefreshTokens(std::string_view did);  // for tests and metrics

  Status InsertInviteCode(std::string_view code, int64_t uses, std::string_view for_account,
                          std::string_view created_by, std::string_view now);
  // InvalidInviteCode "Provided invite code not available" unless it exists, is enabled and
  // has uses left.
  Status CheckInviteAvailable(std::string_view code);

 private:
  explicit AccountStore(std::unique_ptr<db::Database> db) : db_(std::move(db)) {}
  Status CheckInviteLocked(std::string_view code);
  std::unique_ptr<db::Database> db_;
};

}  // namespace atcr::pds::internal
