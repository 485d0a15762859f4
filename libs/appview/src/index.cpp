#include "atcr/appview/index.h"

#include <algorithm>

#include "atcr/base/time.h"

namespace atcr::appview {

Status AppViewIndex::Link(const BlobLink& l, bool replace) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      replace ? "INSERT OR REPLACE INTO blob_link (did, repository, digest, size, hold_did, "
                "linked_at) VALUES (?, ?, ?, ?, ?, ?)"
              : "INSERT OR IGNORE INTO blob_link (did, repository, digest, size, hold_did, "
                "linked_at) VALUES (?, ?, ?, ?, ?, ?)");
  st.Bind(1, l.did).Bind(2, l.repository).Bind(3, l.digest);
  st.Bind(4, static_cast<int64_t>(l.size)).Bind(5, l.hold_did).Bind(6, UnixSeconds());
  return st.Run();
}

Result<std::optional<BlobLink>> AppViewIndex::GetLink(const std::string& did,
                                                      const std::string& repository,
                                                      const std::string& digest) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "SELECT size, hold_did FROM blob_link WHERE did = ? AND repository = ? AND digest = ?");
  st.Bind(1, did).Bind(2, repository).Bind(3, digest);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<BlobLink>();
  BlobLink l{did, repository, digest, static_cast<uint64_t>(st.Int(0)), st.Text(1)};
  st.Reset();
  return std::optional<BlobLink>(std::move(l));
}

Result<bool> AppViewIndex::Unlink(const std::string& did, const std::string& repository,
                                  const std::string& digest) {
  auto lock = db_->Lock();
  auto& st =
      db_->Cached("DELETE FROM blob_link WHERE did = ? AND repository = ? AND digest = ?");
  st.Bind(1, did).Bind(2, repository).Bind(3, digest);
  ATCR_TRY(st.Run());
  return db_->Changes() > 0;
}

Result<std::optional<BlobLink>> AppViewIndex::FindLinkOnHold(const std::string& digest,
                                                             const std::string& hold_did) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "SELECT did, repository, size FROM blob_link WHERE digest = ? AND hold_did = ? LIMIT 1");
  st.Bind(1, digest).Bind(2, hold_did);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<BlobLink>();
  BlobLink l{st.Text(0), st.Text(1), digest, static_cast<uint64_t>(st.Int(2)), hold_did};
  st.Reset();
  return std::optional<BlobLink>(std::move(l));
}

Status AppViewIndex::PutManifest(const IndexedManifest& m) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "INSERT INTO manifest (did, repository, digest, rkey, hold_did, media_type, seen_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (did, repository, digest) DO UPDATE SET "
      "rkey = excluded.rkey, hold_did = excluded.hold_did, media_type = excluded.media_type");
  st.Bind(1, m.did).Bind(2, m.repository).Bind(3, m.digest).Bind(4, m.rkey);
  st.Bind(5, m.hold_did).Bind(6, m.media_type).Bind(7, UnixMicros());
  return st.Run();
}

Status AppViewIndex::DeleteManifest(const std::string& did, const std::string& repository,
                                    const std::string& digest) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("DELETE FROM manifest WHERE did = ? AND repository = ? AND digest = ?");
  st.Bind(1, did).Bind(2, repository).Bind(3, digest);
  return st.Run();
}

Result<std::optional<std::string>> AppViewIndex::RepositoryHold(const std::string& did,
                                                                const std::string& repository) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "SELECT hold_did FROM manifest WHERE did = ? AND repository = ? AND hold_did != '' "
      "ORDER BY seen_at DESC LIMIT 1");
  st.Bind(1, did).Bind(2, repository);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  std::string hold = st.Text(0);
  st.Reset();
  return std::optional<std::string>(std::move(hold));
}

Result<std::vector<std::string>> AppViewIndex::Catalog(const std::string& after, size_t limit) {
  std::vector<std::string> names;
  {
    auto lock = db_->Lock();
    auto& st = db_->Cached(
        "SELECT DISTINCT m.did, m.repository, o.handle FROM manifest m "
        "LEFT JOIN owner o ON o.did = m.did");
    for (;;) {
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string handle = st.IsNull(2) ? std::string() : st.Text(2);
      std::string id = handle.empty() || handle == "handle.invalid" ? st.Text(0) : handle;
      names.push_back(id + "/" + st.Text(1));
    }
    st.Reset();
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (!after.empty() && n <= after) continue;
    if (out.size() >= limit) break;
    out.push_back(n);
  }
  return out;
}

Status AppViewIndex::PutOwner(const std::string& did, const std::string& handle) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "INSERT INTO owner (did, handle) VALUES (?, ?) ON CONFLICT (did) DO UPDATE SET "
      "handle = excluded.handle WHERE handle != excluded.handle");
  st.Bind(1, did).Bind(2, handle);
  return st.Run();
}

Status AppViewIndex::PutUpload(const UploadRow& r) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "INSERT OR REPLACE INTO upload (id, did, repository, hold_did, created_at, touched_at) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  st.Bind(1, r.id).Bind(2, r.did).Bind(3, r.repository).Bind(4, r.hold_did);
  st.Bind(5, r.created_at).Bind(6, r.touched_at);
  return st.Run();
}

Result<std::optional<UploadRow>> AppViewIndex::GetUpload(const std::string& id) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "SELECT did, repository, hold_did, created_at, touched_at FROM upload WHERE id = ?");
  st.Bind(1, id);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<UploadRow>();
  UploadRow r{id, st.Text(0), st.Text(1), st.Text(2), st.Int(3), st.Int(4)};
  st.Reset();
  return std::optional<UploadRow>(std::move(r));
}

Status AppViewIndex::TouchUpload(const std::string& id, int64_t now) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("UPDATE upload SET touched_at = ? WHERE id = ?");
  st.Bind(1, now).Bind(2, id);
  return st.Run();
}

Status AppViewIndex::DeleteUpload(const std::string& id) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("DELETE FROM upload WHERE id = ?");
  st.Bind(1, id);
  return st.Run();
}

Result<std::vector<UploadRow>> AppViewIndex::UploadsOlderThan(int64_t touched_before) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "SELECT id, did, repository, hold_did, created_at, touched_at FROM upload "
      "WHERE touched_at < ?");
  st.Bind(1, touched_before);
  std::vector<UploadRow> out;
  for (;;) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4), st.Int(5)});
  }
  st.Reset();
  return out;
}

}  // namespace atcr::appview
