// The hold's SQLite index in its data directory (hold.sqlite): one row per io.atcr.hold.layer
// record (quota usage, GC marks, getLayersForManifest) and one per upload in flight (owner,
// digest, activity for GC). The layer rows are derived data: Rebuild() recreates them from
// the layer records. Blocking; thread-safe (one connection, locked per call).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/db/database.h"

namespace atcr::hold::internal {

struct LayerRow {
  std::string rkey;
  std::string user_did;
  std::string digest;
  uint64_t size = 0;
  std::string media_type;
  std::string manifest;  // at-uri of the manifest record
  std::string repository;
  std::string created_at;
};

struct Usage {
  uint64_t unique_blobs = 0;
  uint64_t total_size = 0;
};

struct UploadRow {
  std::string id;
  std::string digest;
  std::string user_did;
  int64_t started_unix = 0;
  int64_t touched_unix = 0;
};

class HoldIndex {
 public:
  static Result<std::unique_ptr<HoldIndex>> Open(const std::string& path);

  // Layers.
  Status AddLayers(const std::vector<LayerRow>& rows);
  Status RemoveLayers(const std::vector<std::string>& rkeys);
  // Replaces every layer row (rebuild from the records).
  Status ReplaceLayers(const std::vector<LayerRow>& rows);
  Result<std::vector<std::string>> LayerRkeys();
  Result<Usage> UsageOf(const std::string& user_did);
  // Bytes that `candidates` (digest, size) would add to the user's usage: each digest the
  // user does not hold yet, counted once.
  Result<uint64_t> AddedBytes(const std::string& user_did,
                              const std::vector<std::pair<std::string, uint64_t>>& candidates);
  Result<bool> HasLayer(const std::string& manifest, const std::string& digest);
  Result<std::vector<LayerRow>> LayersOfManifest(const std::string& manifest);
  Result<std::vector<LayerRow>> LayersOfUser(const std::string& user_did);
  Result<std::unordered_set<std::string>> ReferencedDigests();
  Result<bool> IsReferenced(const std::string& digest);
  Result<std::vector<std::pair<std::string, Usage>>> UsageByUser();

  // Uploads in flight.
  Status AddUpload(const UploadRow& row);
  Result<std::optional<UploadRow>> GetUpload(const std::string& id);
  Status TouchUpload(const std::string& id, int64_t now);
  Status RemoveUpload(const std::string& id);
  Result<std::vector<UploadRow>> Uploads();

 private:
  explicit HoldIndex(std::unique_ptr<db::Database> db) : db_(std::move(db)) {}
  Status InsertLayerLocked(const LayerRow& row);
  Result<std::vector<LayerRow>> QueryLayers(const char* sql, const std::string& arg);
  std::unique_ptr<db::Database> db_;
};

}  // namespace atcr::hold::internal
