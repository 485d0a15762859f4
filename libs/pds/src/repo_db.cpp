#include "internal/repo_db.h"

#include <sqlite3.h>

namespace atcr::pds::internal {

namespace {

// CIDs of blocks and records are stored binary; blob CIDs as strings, because listBlobs pages
// by the CID string order (as the reference does). Indexes are only those the write path or a
// frequent read needs: every index costs pages written per commit. seq_counter holds the
// highest seq ever handed out only when events with it were deleted (DeleteRepo, pruning);
// otherwise MAX(repo_seq.seq) is it.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE repo_root (
  did TEXT PRIMARY KEY,
  commit_cid BLOB NOT NULL,
  rev TEXT NOT NULL,
  data_cid BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  indexed_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX repo_root_created ON repo_root (created_at, did);

CREATE TABLE repo_block (
  did TEXT NOT NULL,
  cid BLOB NOT NULL,
  rev TEXT NOT NULL,
  content BLOB NOT NULL,
  PRIMARY KEY (did, cid)
) WITHOUT ROWID;

CREATE TABLE record (
  did TEXT NOT NULL,
  collection TEXT NOT NULL,
  rkey TEXT NOT NULL,
  cid BLOB NOT NULL,
  rev TEXT NOT NULL,
  indexed_at TEXT NOT NULL,
  PRIMARY KEY (did, collection, rkey)
) WITHOUT ROWID;
CREATE INDEX record_cid ON record (did, cid);

CREATE TABLE blob (
  did TEXT NOT NULL,
  cid TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  temp INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (did, cid)
) WITHOUT ROWID;
CREATE INDEX blob_cid ON blob (cid);
CREATE INDEX blob_temp ON blob (temp, created_at);

CREATE TABLE record_blob (
  did TEXT NOT NULL,
  blob_cid TEXT NOT NULL,
  collection TEXT NOT NULL,
  rkey TEXT NOT NULL,
  PRIMARY KEY (did, blob_cid, collection, rkey)
) WITHOUT ROWID;
CREATE INDEX record_blob_record ON record_blob (did, collection, rkey);

CREATE TABLE repo_seq (
  seq INTEGER PRIMARY KEY,
  did TEXT NOT NULL,
  type TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  frame BLOB NOT NULL
);
CREATE INDEX repo_seq_did ON repo_seq (did);
CREATE INDEX repo_seq_time ON repo_seq (time_us);

CREATE TABLE seq_counter (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq INTEGER NOT NULL
);
INSERT INTO seq_counter (id, last_seq) VALUES (1, 0);
)sql";

const db::Migration kMigrations[] = {{1, kSchemaV1}};

}  // namespace

std::span<const db::Migration> RepoMigrations() { return kMigrations; }

ReadPool::Lease::~Lease() {
  if (pool_ != nullptr && db_) pool_->Release(std::move(db_));
}

Result<ReadPool::Lease> ReadPool::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(db));
    }
  }
  db::OpenOptions opts;
  opts.create = false;
  opts.synchronous_full = durable_;
  ATCR_ASSIGN_OR_RETURN(auto db, db::Database::Open(path_, opts));
  ATCR_TRY(db->Exec("PRAGMA query_only=1"));
  return Lease(this, std::move(db));
}

void ReadPool::Release(std::unique_ptr<db::Database> db) {
  {
    // A statement left mid-step (an error path) or an open transaction would pin an old
    // snapshot for the next user of this connection: end them before it goes back.
    auto conn = db->Lock();
    sqlite3* h = db->handle();
    for (sqlite3_stmt* st = sqlite3_next_stmt(h, nullptr); st != nullptr;
         st = sqlite3_next_stmt(h, st)) {
      if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
    }
    if (sqlite3_get_autocommit(h) == 0) (void)db->Exec("ROLLBACK");
  }
  std::lock_guard lock(mu_);
  if (idle_.size() < keep_idle_) idle_.push_back(std::move(db));
}

Result<Bytes> RepoBlockReader::Get(const cbor::Cid& cid) const {
  if (cache_ != nullptr) {
    if (const Bytes* b = cache_->Find(cid)) return *b;
  }
  auto lock = db_.Lock();
  auto& st = db_.Cached("SELECT content FROM repo_block WHERE did = ? AND cid = ?");
  st.Bind(1, did_).BindBlob(2, cid.bytes());
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    st.Reset();
    return NotFound("block " + cid.ToString() + " not found", "BlockNotFound");
  }
  std::string_view v = st.BlobView(0);
  Bytes out(v.begin(), v.end());
  st.Reset();
  if (cache_ != nullptr) cache_->Put(cid, out);
  return out;
}

}  // namespace atcr::pds::internal
