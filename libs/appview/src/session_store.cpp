#include "atcr/appview/session_store.h"

#include "atcr/base/time.h"

namespace atcr::appview {

SessionStore::SessionStore(std::shared_ptr<db::Database> db, SecretBox box)
    : db_(std::move(db)), box_(box) {}

Status SessionStore::PutBlocking(const PdsSession& s) {
  std::string access = box_.Seal(s.access_jwt, s.did + "|access");
  std::string refresh = box_.Seal(s.refresh_jwt, s.did + "|refresh");
  {
    auto lock = db_->Lock();
    auto& st = db_->Cached(
        "INSERT INTO session (did, handle, pds_endpoint, access_sealed, refresh_sealed, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (did) DO UPDATE SET "
        "handle = excluded.handle, pds_endpoint = excluded.pds_endpoint, "
        "access_sealed = excluded.access_sealed, refresh_sealed = excluded.refresh_sealed, "
        "updated_at = excluded.updated_at");
    st.Bind(1, s.did).Bind(2, s.handle).Bind(3, s.pds_endpoint);
    st.BindBlob(4, std::string_view(access)).BindBlob(5, std::string_view(refresh));
    st.Bind(6, UnixSeconds());
    ATCR_TRY(st.Run());
  }
  std::lock_guard lock(mu_);
  memory_[s.did] = s;
  return Ok();
}

Result<std::optional<PdsSession>> SessionStore::GetBlocking(const std::string& did) {
  {
    std::lock_guard lock(mu_);
    auto it = memory_.find(did);
    if (it != memory_.end()) return std::optional<PdsSession>(it->second);
  }
  PdsSession s;
  std::string access;
  std::string refresh;
  {
    auto lock = db_->Lock();
    auto& st = db_->Cached(
        "SELECT handle, pds_endpoint, access_sealed, refresh_sealed FROM session WHERE did = ?");
    st.Bind(1, did);
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<PdsSession>();
    s.did = did;
    s.handle = st.Text(0);
    s.pds_endpoint = st.Text(1);
    access = std::string(st.BlobView(2));
    refresh = std::string(st.BlobView(3));
    st.Reset();
  }
  ATCR_ASSIGN_OR_RETURN(s.access_jwt, box_.Open(access, did + "|access"));
  ATCR_ASSIGN_OR_RETURN(s.refresh_jwt, box_.Open(refresh, did + "|refresh"));
  std::lock_guard lock(mu_);
  auto [it, inserted] = memory_.emplace(did, s);
  return std::optional<PdsSession>(it->second);
}

Task<Status> SessionStore::Put(PdsSession session) {
  Status out;
  co_await net::RunBlocking([&] { out = PutBlocking(session); });
  co_return out;
}

Task<Result<std::optional<PdsSession>>> SessionStore::Get(std::string did) {
  {
    std::lock_guard lock(mu_);
    auto it = memory_.find(did);
    if (it != memory_.end()) co_return std::optional<PdsSession>(it->second);
  }
  Result<std::optional<PdsSession>> out = std::optional<PdsSession>();
  co_await net::RunBlocking([&] { out = GetBlocking(did); });
  co_return out;
}

Task<Status> SessionStore::Delete(std::string did) {
  Status out;
  co_await net::RunBlocking([&] {
    auto lock = db_->Lock();
    auto& st = db_->Cached("DELETE FROM session WHERE did = ?");
    st.Bind(1, did);
    out = st.Run();
  });
  std::lock_guard lock(mu_);
  memory_.erase(did);
  co_return out;
}

}  // namespace atcr::appview
