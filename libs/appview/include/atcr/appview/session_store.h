// SessionStore: the PDS sessions of users who logged in through the AppView, one per DID:
// PDS endpoint, handle, access and refresh token. Tokens are sealed with SecretBox (AES-256-GCM,
// the DID as associated data) before they reach SQLite, and never logged. Reads are served
// from an in-memory copy (every write goes through this object). Blocking methods (SQLite) are
// wrapped in coroutines that run them on net::RunBlocking. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "atcr/appview/pds_client.h"
#include "atcr/appview/secret_box.h"
#include "atcr/base/result.h"
#include "atcr/db/database.h"

namespace atcr::appview {

class SessionStore {
 public:
  // `db` must carry the AppView schema (app_view.h opens it).
  SessionStore(std::shared_ptr<db::Database> db, SecretBox box);

  Task<Status> Put(PdsSession session);
  // nullopt when the DID never logged in (or logged out). kDataLoss when the stored tokens do
  // not open (e.g. DATA/secret.key was replaced): the user has to log in again.
  Task<Result<std::optional<PdsSession>>> Get(std::string did);
  Task<Status> Delete(std::string did);

  // Blocking flavours (tests, tools).
  Status PutBlocking(const PdsSession& session);
  Result<std::optional<PdsSession>> GetBlocking(const std::string& did);

 private:
  std::shared_ptr<db::Database> db_;
  SecretBox box_;
  std::mutex mu_;
  std::map<std::string, PdsSession> memory_;
};

}  // namespace atcr::appview
