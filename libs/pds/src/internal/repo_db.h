// SQLite plumbing of RepoStore: the schema, a pool of read connections (WAL readers that never
// wait for the writer), and a BlockStore over one repo's blocks so the MST code can read nodes
// straight from the database. Internal to the pds module.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "atcr/atproto/block_store.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"
#include "atcr/db/database.h"

namespace atcr::pds::internal {

// Migrations of DATA/repo.sqlite.
std::span<const db::Migration> RepoMigrations();

class ReadPool {
 public:
  ReadPool(std::string path, size_t keep_idle, bool durable)
      : path_(std::move(path)), keep_idle_(keep_idle), durable_(durable) {}

  // A connection owned by the caller until the lease ends.
  class Lease {
   public:
    Lease(ReadPool* pool, std::unique_ptr<db::Database> db) : pool_(pool), db_(std::move(db)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = default;
    ~Lease();
    db::Database& operator*() { return *db_; }
    db::Database* operator->() { return db_.get(); }
    db::Database* get() { return db_.get(); }

   private:
    ReadPool* pool_;
    std::unique_ptr<db::Database> db_;
  };

  Result<Lease> Acquire();

 private:
  void Release(std::unique_ptr<db::Database> db);

  std::string path_;
  size_t keep_idle_;
  bool durable_;
  std::mutex mu_;
  std::vector<std::unique_ptr<db::Database>> idle_;
};

// MST node cache of one repo, used only under the repo's write lock.
class NodeCache {
 public:
  static constexpr size_t kMaxNodes = 4096;
  const Bytes* Find(const cbor::Cid& cid) const {
    auto it = nodes_.find(cid);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  void Put(const cbor::Cid& cid, const Bytes& bytes) {
    if (nodes_.size() >= kMaxNodes) nodes_.clear();
    nodes_.emplace(cid, bytes);
  }
  void Erase(const cbor::Cid& cid) { nodes_.erase(cid); }
  void Clear() { nodes_.clear(); }

 private:
  std::unordered_map<cbor::Cid, Bytes> nodes_;
};

// The blocks of one repo in `db` (which the caller holds), optionally through a node cache.
class RepoBlockReader : public atproto::BlockStore {
 public:
  RepoBlockReader(db::Database& db, std::string did, NodeCache* cache)
      : db_(db), did_(std::move(did)), cache_(cache) {}
  Result<Bytes> Get(const cbor::Cid& cid) const override;
  bool Has(const cbor::Cid& cid) const override { return Get(cid).ok(); }

 private:
  db::Database& db_;
  std::string did_;
  NodeCache* cache_;
};

}  // namespace atcr::pds::internal
