#include "internal/hold_index.h"

#include <unordered_map>

namespace atcr::hold::internal {
namespace {

constexpr db::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE layers (
  rkey TEXT PRIMARY KEY,
  user_did TEXT NOT NULL,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  manifest TEXT NOT NULL,
  repository TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX layers_user_digest ON layers (user_did, digest);
CREATE INDEX layers_digest ON layers (digest);
CREATE INDEX layers_manifest ON layers (manifest, digest);
CREATE TABLE uploads (
  id TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  user_did TEXT NOT NULL,
  started INTEGER NOT NULL,
  touched INTEGER NOT NULL
);
)sql"},
};

constexpr const char* kLayerColumns =
    "rkey, user_did, digest, size, media_type, manifest, repository, created_at";

LayerRow ReadLayer(db::Statement& st) {
  LayerRow r;
  r.rkey = st.Text(0);
  r.user_did = st.Text(1);
  r.digest = st.Text(2);
  r.size = static_cast<uint64_t>(st.Int(3));
  r.media_type = st.Text(4);
  r.manifest = st.Text(5);
  r.repository = st.Text(6);
  r.created_at = st.Text(7);
  return r;
}

}  // namespace

Result<std::unique_ptr<HoldIndex>> HoldIndex::Open(const std::string& path) {
  ATCR_ASSIGN_OR_RETURN(auto db, db::Database::Open(path));
  ATCR_TRY(db->Migrate(kMigrations));
  return std::unique_ptr<HoldIndex>(new HoldIndex(std::move(db)));
}

Status HoldIndex::InsertLayerLocked(const LayerRow& row) {
  auto& st = db_->Cached(
      "INSERT OR REPLACE INTO layers (rkey, user_did, digest, size, media_type, manifest, "
      "repository, created_at) VALUES (?,?,?,?,?,?,?,?)");
  st.Bind(1, row.rkey)
      .Bind(2, row.user_did)
      .Bind(3, row.digest)
      .Bind(4, static_cast<int64_t>(row.size))
      .Bind(5, row.media_type)
      .Bind(6, row.manifest)
      .Bind(7, row.repository)
      .Bind(8, row.created_at);
  return st.Run();
}

Status HoldIndex::AddLayers(const std::vector<LayerRow>& rows) {
  return db_->Transaction([&]() -> Status {
    for (const LayerRow& r : rows) ATCR_TRY(InsertLayerLocked(r));
    return Ok();
  });
}

Status HoldIndex::RemoveLayers(const std::vector<std::string>& rkeys) {
  return db_->Transaction([&]() -> Status {
    for (const std::string& k : rkeys) {
      auto& st = db_->Cached("DELETE FROM layers WHERE rkey = ?");
      st.Bind(1, k);
      ATCR_TRY(st.Run());
    }
    return Ok();
  });
}

Status HoldIndex::ReplaceLayers(const std::vector<LayerRow>& rows) {
  return db_->Transaction([&]() -> Status {
    ATCR_TRY(db_->Exec("DELETE FROM layers"));
    for (const LayerRow& r : rows) ATCR_TRY(InsertLayerLocked(r));
    return Ok();
  });
}

Result<std::vector<std::string>> HoldIndex::LayerRkeys() {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT rkey FROM layers ORDER BY rkey");
  std::vector<std::string> out;
  for (;;) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.Text(0));
  }
  return out;
}

Result<Usage> HoldIndex::UsageOf(const std::string& user_did) {
  auto lock = db_->Lock();
  // A digest counts once per user; its size is the largest size recorded for it.
  auto& st = db_->Cached(
      "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM "
      "(SELECT MAX(size) AS size FROM layers WHERE user_did = ? GROUP BY digest)");
  st.Bind(1, user_did);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  Usage u;
  if (row) {
    u.unique_blobs = static_cast<uint64_t>(st.Int(0));
    u.total_size = static_cast<uint64_t>(st.Int(1));
  }
  st.Reset();
  return u;
}

Result<uint64_t> HoldIndex::AddedBytes(
    const std::string& user_did, const std::vector<std::pair<std::string, uint64_t>>& candidates) {
  auto lock = db_->Lock();
  std::unordered_map<std::string, uint64_t> fresh;
  for (const auto& [digest, size] : candidates) {
    auto& st = db_->Cached("SELECT 1 FROM layers WHERE user_did = ? AND digest = ? LIMIT 1");
    st.Bind(1, user_did).Bind(2, digest);
    ATCR_ASSIGN_OR_RETURN(bool held, st.Step());
    st.Reset();
    if (held) continue;
    uint64_t& s = fresh[digest];
    s = std::max(s, size);
  }
  uint64_t total = 0;
  for (const auto& [digest, size] : fresh) total += size;
  return total;
}

Result<bool> HoldIndex::HasLayer(const std::string& manifest, const std::string& digest) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT 1 FROM layers WHERE manifest = ? AND digest = ? LIMIT 1");
  st.Bind(1, manifest).Bind(2, digest);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  st.Reset();
  return row;
}

Result<std::vector<LayerRow>> HoldIndex::QueryLayers(const char* sql, const std::string& arg) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(sql);
  st.Bind(1, arg);
  std::vector<LayerRow> out;
  for (;;) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadLayer(st));
  }
  return out;
}

Result<std::vector<LayerRow>> HoldIndex::LayersOfManifest(const std::string& manifest) {
  static const std::string sql =
      std::string("SELECT ") + kLayerColumns + " FROM layers WHERE manifest = ? ORDER BY rkey";
  return QueryLayers(sql.c_str(), manifest);
}

Result<std::vector<LayerRow>> HoldIndex::LayersOfUser(const std::string& user_did) {
  static const std::string sql =
      std::string("SELECT ") + kLayerColumns + " FROM layers WHERE user_did = ? ORDER BY rkey";
  return QueryLayers(sql.c_str(), user_did);
}

Result<std::unordered_set<std::string>> HoldIndex::ReferencedDigests() {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT DISTINCT digest FROM layers");
  std::unordered_set<std::string> out;
  for (;;) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.insert(st.Text(0));
  }
  return out;
}

Result<bool> HoldIndex::IsReferenced(const std::string& digest) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT 1 FROM layers WHERE digest = ? LIMIT 1");
  st.Bind(1, digest);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  st.Reset();
  return row;
}

Result<std::vector<std::pair<std::string, Usage>>> HoldIndex::UsageByUser() {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "SELECT user_did, COUNT(*), SUM(size) FROM "
      "(SELECT user_did, MAX(size) AS size FROM layers GROUP BY user_did, digest) "
      "GROUP BY user_did ORDER BY user_did");
  std::vector<std::pair<std::string, Usage>> out;
  for (;;) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(st.Text(0), Usage{static_cast<uint64_t>(st.Int(1)),
                                       static_cast<uint64_t>(st.Int(2))});
  }
  return out;
}

Status HoldIndex::AddUpload(const UploadRow& row) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "INSERT INTO uploads (id, digest, user_did, started, touched) VALUES (?,?,?,?,?)");
  st.Bind(1, row.id)
      .Bind(2, row.digest)
      .Bind(3, row.user_did)
      .Bind(4, row.started_unix)
      .Bind(5, row.touched_unix);
  return st.Run();
}

Result<std::optional<UploadRow>> HoldIndex::GetUpload(const std::string& id) {
  auto lock = db_->Lock();
  auto& st =
      db_->Cached("SELECT id, digest, user_did, started, touched FROM uploads WHERE id = ?");
  st.Bind(1, id);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<UploadRow>();
  UploadRow r{st.Text(0), st.Text(1), st.Text(2), st.Int(3), st.Int(4)};
  st.Reset();
  return std::optional<UploadRow>(std::move(r));
}

Status HoldIndex::TouchUpload(const std::string& id, int64_t now) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("UPDATE uploads SET touched = ? WHERE id = ?");
  st.Bind(1, now).Bind(2, id);
  return st.Run();
}

Status HoldIndex::RemoveUpload(const std::string& id) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("DELETE FROM uploads WHERE id = ?");
  st.Bind(1, id);
  return st.Run();
}

Result<std::vector<UploadRow>> HoldIndex::Uploads() {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT id, digest, user_did, started, touched FROM uploads ORDER BY id");
  std::vector<UploadRow> out;
  for (;;) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(UploadRow{st.Text(0), st.Text(1), st.Text(2), st.Int(3), st.Int(4)});
  }
  return out;
}

}  // namespace atcr::hold::internal
