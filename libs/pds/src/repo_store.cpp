#include "atcr/pds/repo_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "atcr/atproto/commit.h"
#include "atcr/atproto/firehose.h"
#include "atcr/atproto/mst.h"
#include "atcr/atproto/syntax.h"
#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/multicodec.h"
#include "atcr/oci/digest.h"
#include "atcr/storage/fs_blob_store.h"
#include <spdlog/spdlog.h>

#include "internal/repo_db.h"
#include "internal/repo_prepare.h"

namespace atcr::pds {

using atproto::RecordOp;
using cbor::Cid;
using cbor::Value;
using internal::PreparedWrite;

std::string RecordUri(std::string_view did, std::string_view collection, std::string_view rkey) {
  std::string uri = "at://";
  uri += did;
  uri += '/';
  uri += collection;
  uri += '/';
  uri += rkey;
  return uri;
}

namespace {

constexpr uint64_t kRawCodec = 0x55;

Error RepoNotFound(std::string_view did) {
  return NotFound("Could not find repo for DID: " + std::string(did), "RepoNotFound");
}

Error InvalidSwap(const std::string& message) {
  return Error(ErrorCode::kFailedPrecondition, message, "InvalidSwap");
}

Error RecordSwapError(const std::optional<Cid>& current) {
  return InvalidSwap("Record was at " + (current ? current->ToString() : std::string("null")));
}

oci::Digest DigestOfCid(const Cid& cid) {
  return oci::Digest::FromHash(HashAlgorithm::kSha256, cid.digest());
}

Result<Cid> CidFromColumn(std::string_view bytes) {
  return Cid::FromBytes(AsBytes(bytes));
}

Bytes CarOf(const Cid& root, const std::vector<std::pair<Cid, const Bytes*>>& blocks) {
  Bytes out;
  atproto::CarWriter w({root}, [&](ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); });
  std::set<Cid> seen;
  for (const auto& [cid, bytes] : blocks) {
    if (seen.insert(cid).second) w.Add(cid, *bytes);
  }
  return out;
}

struct RepoState {
  std::mutex mu;  // held for a whole write to this repo
  bool loaded = false;
  std::optional<CommitInfo> root;
  Bytes commit_bytes;
  internal::NodeCache nodes;
};

class RepoStoreImpl;

// Sequences events inside the writer's transaction: seq from the counter, the frame encoded
// once with seq and time, the row inserted. Published only after COMMIT.
class EventBatch {
 public:
  EventBatch(db::Database& db, int64_t last_seq) : db_(db), next_seq_(last_seq) {}

  Status Add(std::string_view did, std::string type, Value::Map body) {
    int64_t seq = ++next_seq_;
    int64_t now = UnixMicros();
    body["seq"] = seq;
    body["time"] = FormatRfc3339(now);
    atproto::Frame frame;
    frame.header.op = 1;
    frame.header.t = type;
    frame.body = Value(std::move(body));
    auto bytes = std::make_shared<const Bytes>(atproto::EncodeFrame(frame));
    auto& st = db_.Cached(
        "INSERT INTO repo_seq (seq, did, type, time_us, frame) VALUES (?, ?, ?, ?, ?)");
    st.Bind(1, seq).Bind(2, did).Bind(3, type).Bind(4, now).BindBlob(5, *bytes);
    ATCR_TRY(st.Run());
    events_.push_back(SequencedEvent{seq, std::string(did), std::move(type), now, bytes});
    return Ok();
  }

  int64_t last_seq() const { return next_seq_; }
  const std::vector<SequencedEvent>& events() const { return events_; }

 private:
  db::Database& db_;
  int64_t next_seq_;
  std::vector<SequencedEvent> events_;
};

class BlobUploadImpl;

class RepoExportImpl : public RepoExport {
 public:
  RepoExportImpl(internal::ReadPool::Lease lease, std::string did, CommitInfo root,
                 Bytes commit_bytes, std::optional<std::string> since)
      : lease_(std::move(lease)), did_(std::move(did)), root_(std::move(root)),
        commit_bytes_(std::move(commit_bytes)), since_(std::move(since)) {}
  ~RepoExportImpl() override { (void)lease_->Exec("COMMIT"); }

  const CommitInfo& root() const override { return root_; }

  Result<std::vector<atproto::CarBlock>> Next(size_t max_bytes) override {
    std::vector<atproto::CarBlock> out;
    if (done_) return out;
    size_t bytes = 0;
    if (!sent_commit_) {
      sent_commit_ = true;
      if (!since_ || root_.rev > *since_) {
        bytes += commit_bytes_.size();
        out.push_back({root_.cid, commit_bytes_});
      }
    }
    db::Database& db = *lease_;
    auto lock = db.Lock();
    while (bytes < max_bytes) {
      // Keyset pages in primary-key order (a CAR's block order carries no meaning).
      std::string sql = "SELECT cid, content FROM repo_block WHERE did = ?";
      if (cursor_) sql += " AND cid > ?";
      if (since_) sql += " AND rev > ?";
      sql += " ORDER BY cid LIMIT 256";
      auto& st = db.Cached(sql);
      int i = 1;
      st.Bind(i++, did_);
      if (cursor_) st.BindBlob(i++, cursor_->bytes());
      if (since_) st.Bind(i++, *since_);
      size_t rows = 0;
      while (true) {
        ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        ++rows;
        ATCR_ASSIGN_OR_RETURN(Cid cid, CidFromColumn(st.BlobView(0)));
        cursor_ = cid;
        if (cid == root_.cid) continue;
        std::string_view content = st.BlobView(1);
        bytes += content.size();
        out.push_back({std::move(cid), Bytes(content.begin(), content.end())});
      }
      st.Reset();
      if (rows < 256) {
        done_ = true;
        break;
      }
    }
    return out;
  }

 private:
  internal::ReadPool::Lease lease_;
  std::string did_;
  CommitInfo root_;
  Bytes commit_bytes_;
  std::optional<std::string> since_;
  bool sent_commit_ = false;
  bool done_ = false;
  std::optional<Cid> cursor_;
};

class RepoStoreImpl final : public RepoStore {
 public:
  explicit RepoStoreImpl(RepoStoreOptions options) : RepoStore(std::move(options)) {}

  Status Init() {
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) return Internal("cannot create " + options_.data_dir + ": " + ec.message());
    db_path_ = options_.data_dir + "/repo.sqlite";
    db::OpenOptions opts;
    opts.synchronous_full = options_.durable;
    ATCR_ASSIGN_OR_RETURN(wdb_, db::Database::Open(db_path_, opts));
    ATCR_TRY(wdb_->Migrate(internal::RepoMigrations()));
    {
      auto lock = wdb_->Lock();
      auto& st = wdb_->Cached(
          "SELECT MAX((SELECT last_seq FROM seq_counter WHERE id = 1), "
          "COALESCE((SELECT MAX(seq) FROM repo_seq), 0))");
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      last_seq_ = row ? st.Int(0) : 0;
      st.Reset();
    }
    reads_ = std::make_unique<internal::ReadPool>(db_path_, options_.read_connections,
                                                  options_.durable);
    if (options_.blob_store) {
      blobs_ = options_.blob_store;
    } else {
      storage::FsBlobStoreOptions fs;
      fs.root = options_.data_dir + "/blobs";
      fs.fsync = options_.fsync_blobs;
      ATCR_ASSIGN_OR_RETURN(auto b, storage::CreateFsBlobStore(fs));
      blobs_ = std::move(b);
    }
    if (options_.lexicons != nullptr) {
      lex_ = options_.lexicons;
    } else {
      ATCR_TRY(own_lexicons_.AddBuiltinAtcr());
      lex_ = &own_lexicons_;
    }
    return Ok();
  }

  // ---- lifecycle ----

  Result<CommitInfo> CreateRepo(std::string_view did, const crypto::PrivateKey& key) override {
    ATCR_TRY(atproto::ValidateDid(did));
    auto state = StateFor(did);
    std::lock_guard guard(state->mu);
    ATCR_TRY(EnsureLoaded(*state, did));
    if (state->root) {
      return Error(ErrorCode::kAlreadyExists, "Repo already exists: " + std::string(did));
    }
    atproto::Mst empty;
    Cid data = empty.RootCid();
    const Bytes& node = empty.Blocks().at(data);
    atproto::Tid rev = rev_clock_.Next();
    ATCR_ASSIGN_OR_RETURN(atproto::SignedCommit signed_commit,
                          atproto::SignCommit(did, data, rev, std::nullopt, key));
    CommitInfo info{signed_commit.cid, signed_commit.commit.rev, data};

    Value::Map commit_evt = CommitEventBody(did, signed_commit, std::nullopt, std::nullopt, {},
                                            CarOf(signed_commit.cid, {{signed_commit.cid,
                                                                       &signed_commit.bytes},
                                                                      {data, &node}}));
    Value::Map sync_evt = SyncEventBody(did, signed_commit.cid, info.rev, signed_commit.bytes);
    std::string now = NowRfc3339();
    int64_t now_ms = UnixMicros() / 1000;
    ATCR_TRY(Write([&](EventBatch& events) -> Status {
      ATCR_TRY(PutBlock(did, signed_commit.cid, info.rev, signed_commit.bytes));
      ATCR_TRY(PutBlock(did, data, info.rev, node));
      auto& st = wdb_->Cached(
          "INSERT INTO repo_root (did, commit_cid, rev, data_cid, created_at, indexed_at) "
          "VALUES (?, ?, ?, ?, ?, ?)");
      st.Bind(1, did).BindBlob(2, info.cid.bytes()).Bind(3, info.rev).BindBlob(4, data.bytes());
      st.Bind(5, now_ms).Bind(6, now);
      ATCR_TRY(st.Run());
      ATCR_TRY(events.Add(did, "#commit", std::move(commit_evt)));
      return events.Add(did, "#sync", std::move(sync_evt));
    }));
    state->root = info;
    state->commit_bytes = signed_commit.bytes;
    state->nodes.Clear();
    return info;
  }

  Status AppendIdentityEvent(std::string_view did, std::optional<std::string> handle) override {
    ATCR_TRY(atproto::ValidateDid(did));
    Value::Map body;
    body["did"] = std::string(did);
    if (handle && !handle->empty()) body["handle"] = *handle;
    return Write([&](EventBatch& events) { return events.Add(did, "#identity", std::move(body)); });
  }

  Status AppendAccountEvent(std::string_view did, bool active,
                            std::optional<std::string> status) override {
    ATCR_TRY(atproto::ValidateDid(did));
    Value::Map body;
    body["did"] = std::string(did);
    body["active"] = active;
    if (!active && status && !status->empty()) body["status"] = *status;
    return Write([&](EventBatch& events) { return events.Add(did, "#account", std::move(body)); });
  }

  Status AppendSyncEvent(std::string_view did) override {
    auto state = StateFor(did);
    std::lock_guard guard(state->mu);
    ATCR_TRY(EnsureLoaded(*state, did));
    if (!state->root) return RepoNotFound(did);
    Value::Map body = SyncEventBody(did, state->root->cid, state->root->rev, state->commit_bytes);
    return Write([&](EventBatch& events) { return events.Add(did, "#sync", std::move(body)); });
  }

  Status DeleteRepo(std::string_view did) override {
    auto state = StateFor(did);
    std::lock_guard guard(state->mu);
    std::vector<std::string> blob_cids;
    Status st = Write([&](EventBatch&) -> Status {
      auto& q = wdb_->Cached("SELECT cid FROM blob WHERE did = ?");
      q.Bind(1, did);
      while (true) {
        ATCR_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        blob_cids.push_back(q.Text(0));
      }
      q.Reset();
      ATCR_TRY(SaveSeqCounter());
      for (const char* table :
           {"repo_block", "record", "record_blob", "blob", "repo_root", "repo_seq"}) {
        auto& del = wdb_->Cached(std::string("DELETE FROM ") + table + " WHERE did = ?");
        del.Bind(1, did);
        ATCR_TRY(del.Run());
      }
      return Ok();
    }, [&] {
      if (EventListener* l = listener_.load()) l->OnRepoEventsDeleted(did);
    });
    ATCR_TRY(st);
    state->loaded = true;
    state->root.reset();
    state->commit_bytes.clear();
    state->nodes.Clear();
    for (const auto& cid : blob_cids) DeleteBlobBytesIfUnused(cid);
    return Ok();
  }

  // ---- writes ----

  Result<WriteResult> ApplyWrites(std::string_view did, const crypto::PrivateKey& key,
                                  std::vector<RepoWrite> writes, std::optional<Cid> swap_commit,
                                  std::optional<bool> validate) override {
    if (writes.size() > options_.max_writes) {
      return InvalidArgument("Too many writes. Max: " + std::to_string(options_.max_writes));
    }
    std::vector<PreparedWrite> prepared;
    prepared.reserve(writes.size());
    std::set<std::string> paths;
    for (RepoWrite& w : writes) {
      ATCR_ASSIGN_OR_RETURN(PreparedWrite p,
                            internal::PrepareWrite(did, std::move(w), validate, *lex_,
                                                   rkey_clock_, options_.max_record_bytes));
      if (!paths.insert(p.path).second) {
        return InvalidArgument("Multiple writes to the same record: " + p.uri);
      }
      prepared.push_back(std::move(p));
    }

    auto state = StateFor(did);
    std::lock_guard guard(state->mu);
    ATCR_TRY(EnsureLoaded(*state, did));
    if (!state->root) return RepoNotFound(did);
    const CommitInfo old_root = *state->root;
    if (swap_commit && *swap_commit != old_root.cid) {
      return InvalidSwap("Commit was at " + old_root.cid.ToString());
    }

    // Current record CIDs; the repo's lock makes them stable until our commit.
    std::vector<std::optional<Cid>> current(prepared.size());
    {
      ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
      auto lock = lease->Lock();
      for (size_t i = 0; i < prepared.size(); ++i) {
        ATCR_ASSIGN_OR_RETURN(current[i], CurrentRecordCid(*lease, did, prepared[i].collection,
                                                           prepared[i].rkey));
      }
    }

    WriteResult result;
    std::vector<RecordOp> ops;
    std::vector<size_t> op_writes;  // index into prepared for each op
    for (size_t i = 0; i < prepared.size(); ++i) {
      PreparedWrite& p = prepared[i];
      const std::optional<Cid>& cur = current[i];
      WriteResult::Item item;
      item.uri = p.uri;
      item.validation_status = p.validation_status;
      if (p.action == RepoWrite::Action::kPut) {
        p.action = cur ? RepoWrite::Action::kUpdate : RepoWrite::Action::kCreate;
        // The reference answers an unchanged putRecord without a commit (and without
        // checking swaps): the write is dropped.
        if (cur && *cur == p.cid) {
          item.action = p.action;
          item.cid = p.cid;
          result.results.push_back(std::move(item));
          continue;
        }
      }
      item.action = p.action;
      if (p.action == RepoWrite::Action::kDelete && !cur && p.ignore_missing) {
        result.results.push_back(std::move(item));
        continue;  // deleting a missing record is a no-op (deleteRecord)
      }
      if (p.swap_record) {
        const std::optional<Cid>& swap = *p.swap_record;
        bool bad = (p.action == RepoWrite::Action::kCreate && swap) ||
                   (p.action != RepoWrite::Action::kCreate && !swap) ||
                   ((cur || swap) && !(swap && cur && *swap == *cur));
        if (bad) return RecordSwapError(cur);
      }
      if (p.action == RepoWrite::Action::kCreate && cur) {
        return Error(ErrorCode::kAlreadyExists, "Record already exists: " + p.uri);
      }
      if (p.action != RepoWrite::Action::kCreate && !cur) {
        return InvalidArgument("Could not find record: " + p.uri);
      }
      RecordOp op;
      op.path = p.path;
      switch (p.action) {
        case RepoWrite::Action::kCreate:
          op.action = RecordOp::Action::kCreate;
          op.cid = p.cid;
          break;
        case RepoWrite::Action::kUpdate:
          op.action = RecordOp::Action::kUpdate;
          op.cid = p.cid;
          op.prev = cur;
          break;
        default:
          op.action = RecordOp::Action::kDelete;
          op.prev = cur;
          break;
      }
      if (op.action != RecordOp::Action::kDelete) item.cid = p.cid;
      result.results.push_back(std::move(item));
      ops.push_back(std::move(op));
      op_writes.push_back(i);
    }

    // Every write was a no-op: nothing to commit. (An empty batch still commits.)
    if (ops.empty() && !prepared.empty()) return result;

    // The MST edit reads only the nodes on the edited paths.
    atproto::MstEdit edit;
    {
      ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
      internal::RepoBlockReader blocks(*lease, std::string(did), &state->nodes);
      auto e = atproto::EditMst(blocks, old_root.data, ops);
      if (!e.ok()) {
        if (e.error().code == ErrorCode::kNotFound || e.error().code == ErrorCode::kDataLoss) {
          return Error(ErrorCode::kDataLoss, "repo " + std::string(did) +
                                                 " is damaged: " + e.error().message);
        }
        return std::move(e).error();
      }
      edit = std::move(e).value();
    }
    ATCR_ASSIGN_OR_RETURN(atproto::Tid old_rev, atproto::Tid::Parse(old_root.rev));
    atproto::Tid rev = rev_clock_.NextAfter(old_rev);
    ATCR_ASSIGN_OR_RETURN(atproto::SignedCommit signed_commit,
                          atproto::SignCommit(did, edit.root, rev, std::nullopt, key));
    CommitInfo info{signed_commit.cid, signed_commit.commit.rev, edit.root};

    // The #commit slice: commit, new and proof MST nodes, created/updated records.
    std::vector<std::pair<Cid, const Bytes*>> slice;
    slice.emplace_back(signed_commit.cid, &signed_commit.bytes);
    for (const auto& [cid, bytes] : edit.new_nodes) slice.emplace_back(cid, &bytes);
    for (const auto& [cid, bytes] : edit.proof_nodes) slice.emplace_back(cid, &bytes);
    for (size_t i : op_writes) {
      if (!prepared[i].cbor.empty()) slice.emplace_back(prepared[i].cid, &prepared[i].cbor);
    }
    Bytes car = CarOf(signed_commit.cid, slice);
    if (car.size() > options_.max_commit_bytes) {
      return InvalidArgument("Too many writes. Max event size: 2MB");
    }
    Value::Map commit_evt = CommitEventBody(did, signed_commit, old_root.rev, old_root.data,
                                            edit.ops, std::move(car));

    std::string now = NowRfc3339();
    std::vector<std::string> dereferenced_blobs;
    ATCR_TRY(Write([&](EventBatch& events) -> Status {
      ATCR_TRY(PutBlock(did, signed_commit.cid, info.rev, signed_commit.bytes));
      for (const auto& [cid, bytes] : edit.new_nodes) ATCR_TRY(PutBlock(did, cid, info.rev, bytes));
      std::set<Cid> new_record_cids;
      for (size_t i : op_writes) {
        const PreparedWrite& p = prepared[i];
        if (p.cbor.empty()) continue;
        new_record_cids.insert(p.cid);
        ATCR_TRY(PutBlock(did, p.cid, info.rev, p.cbor));
      }
      ATCR_TRY(DeleteBlock(did, old_root.cid));
      for (const Cid& cid : edit.removed_nodes) ATCR_TRY(DeleteBlock(did, cid));
      for (size_t k = 0; k < op_writes.size(); ++k) {
        const PreparedWrite& p = prepared[op_writes[k]];
        if (p.action == RepoWrite::Action::kDelete) {
          auto& del = wdb_->Cached(
              "DELETE FROM record WHERE did = ? AND collection = ? AND rkey = ?");
          del.Bind(1, did).Bind(2, p.collection).Bind(3, p.rkey);
          ATCR_TRY(del.Run());
        } else {
          auto& up = wdb_->Cached(
              "INSERT INTO record (did, collection, rkey, cid, rev, indexed_at) "
              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (did, collection, rkey) DO UPDATE SET "
              "cid = excluded.cid, rev = excluded.rev, indexed_at = excluded.indexed_at");
          up.Bind(1, did).Bind(2, p.collection).Bind(3, p.rkey).BindBlob(4, p.cid.bytes());
          up.Bind(5, info.rev).Bind(6, now);
          ATCR_TRY(up.Run());
        }
      }
      // Old record blocks go unless another record (or this commit) still uses them.
      for (const RecordOp& op : edit.ops) {
        if (!op.prev || new_record_cids.contains(*op.prev)) continue;
        auto& used = wdb_->Cached("SELECT 1 FROM record WHERE did = ? AND cid = ? LIMIT 1");
        used.Bind(1, did).BindBlob(2, op.prev->bytes());
        ATCR_ASSIGN_OR_RETURN(bool still, used.Step());
        used.Reset();
        if (!still) ATCR_TRY(DeleteBlock(did, *op.prev));
      }
      ATCR_TRY(ProcessBlobs(did, prepared, op_writes, &dereferenced_blobs));
      auto& root = wdb_->Cached(
          "UPDATE repo_root SET commit_cid = ?, rev = ?, data_cid = ?, indexed_at = ? "
          "WHERE did = ?");
      root.BindBlob(1, info.cid.bytes()).Bind(2, info.rev).BindBlob(3, info.data.bytes());
      root.Bind(4, now).Bind(5, did);
      ATCR_TRY(root.Run());
      return events.Add(did, "#commit", std::move(commit_evt));
    }));

    state->root = info;
    state->commit_bytes = signed_commit.bytes;
    for (const Cid& cid : edit.removed_nodes) state->nodes.Erase(cid);
    for (const auto& [cid, bytes] : edit.new_nodes) state->nodes.Put(cid, bytes);
    for (const auto& cid : dereferenced_blobs) DeleteBlobBytesIfUnused(cid);
    result.commit = info;
    return result;
  }

  // ---- reads ----

  Result<CommitInfo> GetRoot(std::string_view did) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    ATCR_ASSIGN_OR_RETURN(auto root, ReadRoot(*lease, did));
    if (!root) return RepoNotFound(did);
    return *root;
  }

  bool HasRepo(std::string_view did) override { return GetRoot(did).ok(); }

  Result<StoredRecord> GetRecord(std::string_view did, std::string_view collection,
                                 std::string_view rkey, std::optional<Cid> cid) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    auto& st = lease->Cached(
        "SELECT r.cid, b.content FROM record r JOIN repo_block b ON b.did = r.did AND "
        "b.cid = r.cid WHERE r.did = ? AND r.collection = ? AND r.rkey = ?");
    st.Bind(1, did).Bind(2, collection).Bind(3, rkey);
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      st.Reset();
      return NotFound("Could not locate record: " + RecordUri(did, collection, rkey),
                      "RecordNotFound");
    }
    StoredRecord out;
    ATCR_ASSIGN_OR_RETURN(out.cid, CidFromColumn(st.BlobView(0)));
    std::string_view content = st.BlobView(1);
    out.cbor.assign(content.begin(), content.end());
    st.Reset();
    if (cid && *cid != out.cid) {
      return NotFound("Could not locate record: " + RecordUri(did, collection, rkey),
                      "RecordNotFound");
    }
    return out;
  }

  Result<std::vector<ListedRecord>> ListRecords(std::string_view did, std::string_view collection,
                                                size_t limit, std::optional<std::string> cursor,
                                                bool reverse) override {
    limit = std::clamp<size_t>(limit, 1, 100);
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    std::string sql =
        "SELECT r.rkey, r.cid, b.content FROM record r JOIN repo_block b ON b.did = r.did AND "
        "b.cid = r.cid WHERE r.did = ? AND r.collection = ?";
    if (cursor) sql += reverse ? " AND r.rkey > ?" : " AND r.rkey < ?";
    sql += reverse ? " ORDER BY r.rkey ASC" : " ORDER BY r.rkey DESC";
    sql += " LIMIT ?";
    auto& st = lease->Cached(sql);
    int i = 1;
    st.Bind(i++, did);
    st.Bind(i++, collection);
    if (cursor) st.Bind(i++, *cursor);
    st.Bind(i++, static_cast<int64_t>(limit));
    std::vector<ListedRecord> out;
    while (true) {
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      ListedRecord r;
      r.collection = std::string(collection);
      r.rkey = st.Text(0);
      ATCR_ASSIGN_OR_RETURN(r.cid, CidFromColumn(st.BlobView(1)));
      std::string_view content = st.BlobView(2);
      r.cbor.assign(content.begin(), content.end());
      out.push_back(std::move(r));
    }
    st.Reset();
    return out;
  }

  Result<std::vector<std::string>> ListCollections(std::string_view did) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    auto& st = lease->Cached(
        "SELECT DISTINCT collection FROM record WHERE did = ? ORDER BY collection");
    st.Bind(1, did);
    std::vector<std::string> out;
    while (true) {
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(st.Text(0));
    }
    st.Reset();
    return out;
  }

  Result<std::vector<RepoSummary>> ListRepos(
      size_t limit, std::optional<std::pair<int64_t, std::string>> after) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    std::string sql = "SELECT did, commit_cid, rev, created_at FROM repo_root";
    if (after) sql += " WHERE (created_at, did) > (?, ?)";
    sql += " ORDER BY created_at, did LIMIT ?";
    auto& st = lease->Cached(sql);
    int i = 1;
    if (after) {
      st.Bind(i++, after->first);
      st.Bind(i++, after->second);
    }
    st.Bind(i++, static_cast<int64_t>(limit));
    std::vector<RepoSummary> out;
    while (true) {
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      RepoSummary s;
      s.did = st.Text(0);
      ATCR_ASSIGN_OR_RETURN(s.head, CidFromColumn(st.BlobView(1)));
      s.rev = st.Text(2);
      s.created_unix_ms = st.Int(3);
      out.push_back(std::move(s));
    }
    st.Reset();
    return out;
  }

  Result<Bytes> GetRecordProof(std::string_view did, std::string_view collection,
                               std::string_view rkey) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    ATCR_TRY(lease->Exec("BEGIN"));
    auto result = [&]() -> Result<Bytes> {
      ATCR_ASSIGN_OR_RETURN(auto root, ReadRoot(*lease, did));
      if (!root) return RepoNotFound(did);
      internal::RepoBlockReader blocks(*lease, std::string(did), nullptr);
      ATCR_ASSIGN_OR_RETURN(Bytes commit, blocks.Get(root->cid));
      std::string key = std::string(collection) + "/" + std::string(rkey);
      ATCR_ASSIGN_OR_RETURN(atproto::MstPath path, atproto::MstProofPath(blocks, root->data, key));
      std::vector<Bytes> storage;
      storage.reserve(path.nodes.size() + 1);
      std::vector<std::pair<Cid, const Bytes*>> list;
      list.emplace_back(root->cid, &commit);
      for (const Cid& c : path.nodes) {
        ATCR_ASSIGN_OR_RETURN(Bytes b, blocks.Get(c));
        storage.push_back(std::move(b));
        list.emplace_back(c, &storage.back());
      }
      if (path.value) {
        ATCR_ASSIGN_OR_RETURN(Bytes b, blocks.Get(*path.value));
        storage.push_back(std::move(b));
        list.emplace_back(*path.value, &storage.back());
      }
      return CarOf(root->cid, list);
    }();
    (void)lease->Exec("COMMIT");
    return result;
  }

  Result<Bytes> GetBlocks(std::string_view did, const std::vector<Cid>& cids) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    internal::RepoBlockReader blocks(*lease, std::string(did), nullptr);
    std::vector<Bytes> found;
    found.reserve(cids.size());
    std::vector<std::pair<Cid, const Bytes*>> list;
    std::string missing;
    for (const Cid& c : cids) {
      auto b = blocks.Get(c);
      if (!b.ok()) {
        if (b.error().code != ErrorCode::kNotFound) return std::move(b).error();
        missing += (missing.empty() ? "" : ",") + c.ToString();
        continue;
      }
      found.push_back(std::move(b).value());
    }
    if (!missing.empty()) return InvalidArgument("Could not find cids: " + missing);
    size_t k = 0;
    for (const Cid& c : cids) list.emplace_back(c, &found[k++]);
    Bytes out;
    atproto::CarWriter w({}, [&](ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); });
    std::set<Cid> seen;
    for (const auto& [cid, bytes] : list) {
      if (seen.insert(cid).second) w.Add(cid, *bytes);
    }
    return out;
  }

  Result<std::unique_ptr<RepoExport>> ExportRepo(std::string_view did,
                                                 std::optional<std::string> since) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    // The read transaction pins one snapshot for the whole stream.
    ATCR_TRY(lease->Exec("BEGIN"));
    auto root = ReadRoot(*lease, did);
    if (!root.ok() || !*root) {
      (void)lease->Exec("COMMIT");
      if (!root.ok()) return std::move(root).error();
      return RepoNotFound(did);
    }
    internal::RepoBlockReader blocks(*lease, std::string(did), nullptr);
    auto commit = blocks.Get((*root)->cid);
    if (!commit.ok()) {
      (void)lease->Exec("COMMIT");
      return Error(ErrorCode::kDataLoss, "commit block of " + std::string(did) + " is missing");
    }
    CommitInfo info = **root;
    lock.unlock();
    return std::unique_ptr<RepoExport>(new RepoExportImpl(
        std::move(lease), std::string(did), std::move(info), std::move(commit).value(),
        std::move(since)));
  }

  // ---- blobs ----

  Result<std::unique_ptr<BlobUpload>> StartBlobUpload(std::string_view did) override;

  Result<BlobContent> OpenBlob(std::string_view did, const Cid& cid) override {
    BlobContent out;
    {
      ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
      auto lock = lease->Lock();
      auto& st = lease->Cached(
          "SELECT mime_type, size, temp FROM blob WHERE did = ? AND cid = ?");
      st.Bind(1, did).Bind(2, cid.ToString());
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      bool temp = row && st.Int(2) != 0;
      if (row) {
        out.ref.mime_type = st.Text(0);
        out.ref.size = static_cast<uint64_t>(st.Int(1));
      }
      st.Reset();
      if (!row || temp) return NotFound("Blob not found", "BlobNotFound");
    }
    out.ref.cid = cid;
    if (cid.codec() != kRawCodec || cid.hash_code() != 0x12) {
      return NotFound("Blob not found", "BlobNotFound");
    }
    auto read = blobs_->Open(DigestOfCid(cid));
    if (!read.ok()) {
      if (read.error().code == ErrorCode::kNotFound) {
        return NotFound("Blob not found", "BlobNotFound");
      }
      return std::move(read).error();
    }
    out.read = std::move(read).value();
    return out;
  }

  Result<std::vector<std::string>> ListBlobs(std::string_view did,
                                             std::optional<std::string> since,
                                             std::optional<std::string> cursor,
                                             size_t limit) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    std::string sql = "SELECT DISTINCT rb.blob_cid FROM record_blob rb";
    if (since) {
      sql += " JOIN record r ON r.did = rb.did AND r.collection = rb.collection AND "
             "r.rkey = rb.rkey";
    }
    sql += " WHERE rb.did = ?";
    if (since) sql += " AND r.rev > ?";
    if (cursor) sql += " AND rb.blob_cid > ?";
    sql += " ORDER BY rb.blob_cid LIMIT ?";
    auto& st = lease->Cached(sql);
    int i = 1;
    st.Bind(i++, did);
    if (since) st.Bind(i++, *since);
    if (cursor) st.Bind(i++, *cursor);
    st.Bind(i++, static_cast<int64_t>(limit));
    std::vector<std::string> out;
    while (true) {
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(st.Text(0));
    }
    st.Reset();
    return out;
  }

  Result<size_t> SweepTemporaryBlobs(std::chrono::seconds min_age) override {
    int64_t cutoff_ms = UnixMicros() / 1000 - min_age.count() * 1000;
    std::vector<std::string> dropped;
    ATCR_TRY(Write([&](EventBatch&) -> Status {
      auto& q = wdb_->Cached(
          "SELECT did, cid FROM blob WHERE temp = 1 AND created_at < ? AND NOT EXISTS ("
          "SELECT 1 FROM record_blob rb WHERE rb.did = blob.did AND rb.blob_cid = blob.cid)");
      q.Bind(1, cutoff_ms);
      std::vector<std::pair<std::string, std::string>> rows;
      while (true) {
        ATCR_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        rows.emplace_back(q.Text(0), q.Text(1));
      }
      q.Reset();
      for (const auto& [d, c] : rows) {
        auto& del = wdb_->Cached("DELETE FROM blob WHERE did = ? AND cid = ?");
        del.Bind(1, d).Bind(2, c);
        ATCR_TRY(del.Run());
        dropped.push_back(c);
      }
      return Ok();
    }));
    for (const auto& cid : dropped) DeleteBlobBytesIfUnused(cid);
    // Bytes without any row: an upload that crashed between storing and recording.
    if (auto all = blobs_->List(); all.ok()) {
      int64_t cutoff_s = UnixSeconds() - min_age.count();
      for (const auto& info : *all) {
        if (info.modified_unix >= cutoff_s) continue;
        if (info.digest.algorithm() != "sha256") continue;
        auto digest = HexDecode(info.digest.encoded());
        if (!digest.ok() || digest->size() != 32) continue;
        DeleteBlobBytesIfUnused(Cid::FromSha256(kRawCodec, *digest).ToString());
      }
    }
    (void)blobs_->CleanupUploads(min_age.count());
    return dropped.size();
  }

  // ---- events ----

  int64_t SetEventListener(EventListener* listener) override {
    auto lock = wdb_->Lock();
    listener_.store(listener);
    return last_seq_;
  }

  int64_t LastSeq() override {
    auto lock = wdb_->Lock();
    return last_seq_;
  }

  Result<std::vector<SequencedEvent>> ReadEvents(int64_t after_seq, size_t limit) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    auto& st = lease->Cached(
        "SELECT seq, did, type, time_us, frame FROM repo_seq WHERE seq > ? ORDER BY seq "
        "LIMIT ?");
    st.Bind(1, after_seq).Bind(2, static_cast<int64_t>(limit));
    std::vector<SequencedEvent> out;
    while (true) {
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      SequencedEvent e;
      e.seq = st.Int(0);
      e.did = st.Text(1);
      e.type = st.Text(2);
      e.time_us = st.Int(3);
      std::string_view f = st.BlobView(4);
      e.frame = std::make_shared<const Bytes>(f.begin(), f.end());
      out.push_back(std::move(e));
    }
    st.Reset();
    return out;
  }

  Result<std::optional<std::pair<int64_t, int64_t>>> NextEventAfter(int64_t after_seq) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    auto& st = lease->Cached(
        "SELECT seq, time_us FROM repo_seq WHERE seq > ? ORDER BY seq LIMIT 1");
    st.Bind(1, after_seq);
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    std::optional<std::pair<int64_t, int64_t>> out;
    if (row) out = std::make_pair(st.Int(0), st.Int(1));
    st.Reset();
    return out;
  }

  Result<std::optional<int64_t>> FirstEventSince(int64_t time_us) override {
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    auto& st = lease->Cached(
        "SELECT seq FROM repo_seq WHERE time_us >= ? ORDER BY time_us, seq LIMIT 1");
    st.Bind(1, time_us);
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    std::optional<int64_t> out;
    if (row) out = st.Int(0);
    st.Reset();
    return out;
  }

  Result<size_t> PruneEvents(int64_t before_time_us) override {
    size_t n = 0;
    ATCR_TRY(Write([&](EventBatch&) -> Status {
      ATCR_TRY(SaveSeqCounter());
      auto& st = wdb_->Cached("DELETE FROM repo_seq WHERE time_us < ?");
      st.Bind(1, before_time_us);
      ATCR_TRY(st.Run());
      n = static_cast<size_t>(wdb_->Changes());
      return Ok();
    }));
    return n;
  }

  // The automatic sweep of old temporary blobs: at most one per sweep_interval, run by
  // whichever upload finds it due.
  void MaybeSweep() {
    if (options_.sweep_interval.count() <= 0 || options_.temp_blob_ttl.count() <= 0) return;
    int64_t now = UnixSeconds();
    int64_t last = last_sweep_.load();
    if (last == 0) {
      // First upload since start: schedule the first sweep one interval from now.
      last_sweep_.compare_exchange_strong(last, now);
      return;
    }
    if (now - last < options_.sweep_interval.count()) return;
    if (!last_sweep_.compare_exchange_strong(last, now)) return;
    auto swept = SweepTemporaryBlobs(options_.temp_blob_ttl);
    if (!swept.ok()) spdlog::warn("pds: blob sweep failed: {}", swept.error().ToString());
  }

  // ---- used by BlobUploadImpl ----

  storage::BlobStore& blobs() { return *blobs_; }
  std::mutex& BlobLock(const std::string& cid) {
    return blob_locks_[std::hash<std::string>()(cid) % blob_locks_.size()];
  }

  Status RecordUploadedBlob(std::string_view did, const BlobRef& ref) {
    std::string cid = ref.cid.ToString();
    int64_t now_ms = UnixMicros() / 1000;
    return Write([&](EventBatch&) -> Status {
      auto& ins = wdb_->Cached(
          "INSERT INTO blob (did, cid, mime_type, size, temp, created_at) VALUES "
          "(?, ?, ?, ?, 1, ?) ON CONFLICT (did, cid) DO UPDATE SET "
          "mime_type = excluded.mime_type, created_at = excluded.created_at WHERE temp = 1");
      ins.Bind(1, did).Bind(2, cid).Bind(3, ref.mime_type);
      ins.Bind(4, static_cast<int64_t>(ref.size)).Bind(5, now_ms);
      ATCR_TRY(ins.Run());
      // A record may already point at it (uploaded again after a sweep): make it permanent.
      auto& perm = wdb_->Cached(
          "UPDATE blob SET temp = 0 WHERE did = ? AND cid = ? AND EXISTS (SELECT 1 FROM "
          "record_blob WHERE did = ? AND blob_cid = ?)");
      perm.Bind(1, did).Bind(2, cid).Bind(3, did).Bind(4, cid);
      return perm.Run();
    });
  }

 private:
  std::shared_ptr<RepoState> StateFor(std::string_view did) {
    std::lock_guard lock(states_mu_);
    auto& s = states_[std::string(did)];
    if (!s) s = std::make_shared<RepoState>();
    return s;
  }

  // Caller holds state.mu.
  Status EnsureLoaded(RepoState& state, std::string_view did) {
    if (state.loaded) return Ok();
    ATCR_ASSIGN_OR_RETURN(auto lease, reads_->Acquire());
    auto lock = lease->Lock();
    ATCR_ASSIGN_OR_RETURN(auto root, ReadRoot(*lease, did));
    if (root) {
      internal::RepoBlockReader blocks(*lease, std::string(did), nullptr);
      auto commit = blocks.Get(root->cid);
      if (!commit.ok()) {
        return Error(ErrorCode::kDataLoss, "commit block of " + std::string(did) + " is missing");
      }
      state.commit_bytes = std::move(commit).value();
    }
    state.root = std::move(root);
    state.loaded = true;
    return Ok();
  }

  static Result<std::optional<CommitInfo>> ReadRoot(db::Database& db, std::string_view did) {
    auto& st = db.Cached("SELECT commit_cid, rev, data_cid FROM repo_root WHERE did = ?");
    st.Bind(1, did);
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      st.Reset();
      return std::optional<CommitInfo>();
    }
    CommitInfo info;
    auto cid = CidFromColumn(st.BlobView(0));
    info.rev = st.Text(1);
    auto data = CidFromColumn(st.BlobView(2));
    st.Reset();
    if (!cid.ok() || !data.ok()) {
      return Error(ErrorCode::kDataLoss, "bad repo root row for " + std::string(did));
    }
    info.cid = std::move(cid).value();
    info.data = std::move(data).value();
    return std::optional<CommitInfo>(std::move(info));
  }

  static Result<std::optional<Cid>> CurrentRecordCid(db::Database& db, std::string_view did,
                                                     std::string_view collection,
                                                     std::string_view rkey) {
    auto& st = db.Cached("SELECT cid FROM record WHERE did = ? AND collection = ? AND rkey = ?");
    st.Bind(1, did).Bind(2, collection).Bind(3, rkey);
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    std::optional<Cid> out;
    if (row) {
      auto c = CidFromColumn(st.BlobView(0));
      if (!c.ok()) {
        st.Reset();
        return Error(ErrorCode::kDataLoss, "bad record cid");
      }
      out = std::move(c).value();
    }
    st.Reset();
    return out;
  }

  // One writer transaction with event sequencing; events (and `after`) are published under the
  // writer lock right after COMMIT, so listeners see them in seq order.
  Status Write(const std::function<Status(EventBatch&)>& fn,
               const std::function<void()>& after = {}) {
    auto lock = wdb_->Lock();
    EventBatch batch(*wdb_, last_seq_);
    ATCR_TRY(wdb_->Transaction([&] { return fn(batch); }));
    last_seq_ = batch.last_seq();
    if (after) after();
    if (EventListener* l = listener_.load()) {
      for (const auto& e : batch.events()) l->OnEvent(e);
    }
    return Ok();
  }

  // Before deleting events: the highest seq must survive them (seq never goes back).
  Status SaveSeqCounter() {
    auto& st = wdb_->Cached("UPDATE seq_counter SET last_seq = ? WHERE id = 1");
    st.Bind(1, last_seq_);
    return st.Run();
  }

  Status PutBlock(std::string_view did, const Cid& cid, const std::string& rev,
                  const Bytes& bytes) {
    auto& st = wdb_->Cached(
        "INSERT OR IGNORE INTO repo_block (did, cid, rev, content) VALUES (?, ?, ?, ?)");
    st.Bind(1, did).BindBlob(2, cid.bytes()).Bind(3, rev).BindBlob(4, bytes);
    return st.Run();
  }

  Status DeleteBlock(std::string_view did, const Cid& cid) {
    auto& st = wdb_->Cached("DELETE FROM repo_block WHERE did = ? AND cid = ?");
    st.Bind(1, did).BindBlob(2, cid.bytes());
    return st.Run();
  }

  // Inside the commit transaction: blob links of the written records, as the reference's
  // processWriteBlobs (dereferenced blobs dropped, referenced ones checked and made permanent).
  Status ProcessBlobs(std::string_view did, const std::vector<PreparedWrite>& prepared,
                      const std::vector<size_t>& op_writes, std::vector<std::string>* dropped) {
    std::set<std::string> referenced_now;
    for (size_t i : op_writes) {
      for (const BlobRef& b : prepared[i].blobs) referenced_now.insert(b.cid.ToString());
    }
    std::set<std::string> unlinked;
    for (size_t i : op_writes) {
      const PreparedWrite& p = prepared[i];
      if (p.action == RepoWrite::Action::kCreate) continue;
      auto& q = wdb_->Cached(
          "SELECT blob_cid FROM record_blob WHERE did = ? AND collection = ? AND rkey = ?");
      q.Bind(1, did).Bind(2, p.collection).Bind(3, p.rkey);
      while (true) {
        ATCR_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        unlinked.insert(q.Text(0));
      }
      q.Reset();
      auto& del = wdb_->Cached(
          "DELETE FROM record_blob WHERE did = ? AND collection = ? AND rkey = ?");
      del.Bind(1, did).Bind(2, p.collection).Bind(3, p.rkey);
      ATCR_TRY(del.Run());
    }
    for (const std::string& cid : unlinked) {
      if (referenced_now.contains(cid)) continue;
      auto& used = wdb_->Cached(
          "SELECT 1 FROM record_blob WHERE did = ? AND blob_cid = ? LIMIT 1");
      used.Bind(1, did).Bind(2, cid);
      ATCR_ASSIGN_OR_RETURN(bool still, used.Step());
      used.Reset();
      if (still) continue;
      auto& del = wdb_->Cached("DELETE FROM blob WHERE did = ? AND cid = ?");
      del.Bind(1, did).Bind(2, cid);
      ATCR_TRY(del.Run());
      dropped->push_back(cid);
    }
    for (size_t i : op_writes) {
      const PreparedWrite& p = prepared[i];
      for (const BlobRef& b : p.blobs) {
        std::string cid = b.cid.ToString();
        auto& q = wdb_->Cached("SELECT mime_type, size, temp FROM blob WHERE did = ? AND cid = ?");
        q.Bind(1, did).Bind(2, cid);
        ATCR_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) {
          q.Reset();
          return Error(ErrorCode::kInvalidArgument, "Could not find blob: " + cid, "BlobNotFound");
        }
        std::string mime = q.Text(0);
        uint64_t size = static_cast<uint64_t>(q.Int(1));
        bool temp = q.Int(2) != 0;
        q.Reset();
        if (temp) {
          if (mime != b.mime_type) {
            return Error(ErrorCode::kInvalidArgument,
                         "Referenced Mimetype does not match stored blob. Expected: " + mime +
                             ", Got: " + b.mime_type,
                         "InvalidMimeType");
          }
          if (size != b.size) {
            return Error(ErrorCode::kInvalidArgument,
                         "Referenced Size does not match stored blob. Expected: " +
                             std::to_string(size) + ", Got: " + std::to_string(b.size),
                         "InvalidSize");
          }
          auto& perm = wdb_->Cached("UPDATE blob SET temp = 0 WHERE did = ? AND cid = ?");
          perm.Bind(1, did).Bind(2, cid);
          ATCR_TRY(perm.Run());
        }
        auto& link = wdb_->Cached(
            "INSERT OR IGNORE INTO record_blob (did, blob_cid, collection, rkey) VALUES "
            "(?, ?, ?, ?)");
        link.Bind(1, did).Bind(2, cid).Bind(3, p.collection).Bind(4, p.rkey);
        ATCR_TRY(link.Run());
      }
    }
    return Ok();
  }

  // Blob bytes are shared by every DID: they go when no DID has a row for them.
  void DeleteBlobBytesIfUnused(const std::string& cid_text) {
    auto cid = Cid::Parse(cid_text);
    if (!cid.ok() || cid->codec() != kRawCodec) return;
    std::lock_guard guard(BlobLock(cid_text));
    bool used = true;
    {
      auto lock = wdb_->Lock();
      auto& st = wdb_->Cached("SELECT 1 FROM blob WHERE cid = ? LIMIT 1");
      st.Bind(1, cid_text);
      auto row = st.Step();
      used = !row.ok() || *row;
      st.Reset();
    }
    if (used) return;
    auto st = blobs_->Delete(DigestOfCid(*cid));
    if (!st.ok() && st.error().code != ErrorCode::kNotFound) {
      spdlog::warn("pds: could not delete blob {}: {}", cid_text, st.error().message);
    }
  }

  static Value::Map CommitEventBody(std::string_view did, const atproto::SignedCommit& commit,
                                    std::optional<std::string> since,
                                    std::optional<Cid> prev_data,
                                    const std::vector<RecordOp>& ops, Bytes car) {
    atproto::CommitEvent evt;
    evt.repo = std::string(did);
    evt.commit = commit.cid;
    evt.rev = commit.commit.rev;
    evt.since = std::move(since);
    evt.blocks = std::move(car);
    evt.ops = ops;
    evt.prev_data = std::move(prev_data);
    Value v = evt.ToValue();
    return std::move(v.as_map());
  }

  static Value::Map SyncEventBody(std::string_view did, const Cid& commit_cid,
                                  const std::string& rev, const Bytes& commit_bytes) {
    Value::Map body;
    body["did"] = std::string(did);
    body["rev"] = rev;
    body["blocks"] = CarOf(commit_cid, {{commit_cid, &commit_bytes}});
    return body;
  }

  std::string db_path_;
  std::unique_ptr<db::Database> wdb_;
  std::unique_ptr<internal::ReadPool> reads_;
  std::shared_ptr<storage::BlobStore> blobs_;
  atproto::LexiconCatalog own_lexicons_;
  const atproto::LexiconCatalog* lex_ = nullptr;
  atproto::TidClock rev_clock_;
  atproto::TidClock rkey_clock_;
  std::mutex states_mu_;
  std::unordered_map<std::string, std::shared_ptr<RepoState>> states_;
  std::atomic<EventListener*> listener_{nullptr};
  int64_t last_seq_ = 0;  // guarded by wdb_->Lock()
  std::atomic<int64_t> last_sweep_{0};
  std::array<std::mutex, 64> blob_locks_;
};

class BlobUploadImpl : public BlobUpload {
 public:
  BlobUploadImpl(RepoStoreImpl* store, std::string did,
                 std::unique_ptr<storage::UploadWriter> writer)
      : store_(store), did_(std::move(did)), writer_(std::move(writer)) {}

  ~BlobUploadImpl() override {
    if (!finished_ && writer_) (void)store_->blobs().AbortUpload(writer_->id());
  }

  Status Write(ByteSpan data) override {
    if (finished_) return Internal("blob upload already finished");
    if (size_ + data.size() > store_->options().max_blob_bytes) {
      return ResourceExhausted("request entity too large", "PayloadTooLarge");
    }
    hasher_.Update(data);
    if (head_.size() < kHeadBytes) {
      size_t take = std::min(kHeadBytes - head_.size(), data.size());
      head_.insert(head_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    }
    size_ += data.size();
    return writer_->Append(data);
  }

  Result<BlobRef> Finish(std::string_view mime_type) override {
    if (finished_) return Internal("blob upload already finished");
    Bytes digest = hasher_.Finish();
    BlobRef ref;
    ref.cid = Cid::FromSha256(kRawCodec, digest);
    ref.size = size_;
    std::string sniffed = internal::SniffMimeType(head_);
    ref.mime_type = !sniffed.empty() ? sniffed : internal::BareMimeType(mime_type);
    if (ref.mime_type.empty()) ref.mime_type = "application/octet-stream";
    std::string cid_text = ref.cid.ToString();
    std::lock_guard guard(store_->BlobLock(cid_text));
    ATCR_ASSIGN_OR_RETURN(storage::BlobInfo info,
                          writer_->Commit(oci::Digest::FromHash(HashAlgorithm::kSha256, digest)));
    (void)info;
    finished_ = true;
    ATCR_TRY(store_->RecordUploadedBlob(did_, ref));
    return ref;
  }

  uint64_t size() const override { return size_; }

 private:
  static constexpr size_t kHeadBytes = 64;
  RepoStoreImpl* store_;
  std::string did_;
  std::unique_ptr<storage::UploadWriter> writer_;
  Hasher hasher_;
  Bytes head_;
  uint64_t size_ = 0;
  bool finished_ = false;
};

Result<std::unique_ptr<BlobUpload>> RepoStoreImpl::StartBlobUpload(std::string_view did) {
  ATCR_TRY(atproto::ValidateDid(did));
  MaybeSweep();
  ATCR_ASSIGN_OR_RETURN(auto writer, blobs_->CreateUpload());
  return std::unique_ptr<BlobUpload>(new BlobUploadImpl(this, std::string(did), std::move(writer)));
}

}  // namespace

Result<std::unique_ptr<RepoStore>> RepoStore::Open(RepoStoreOptions options) {
  if (options.data_dir.empty()) return InvalidArgument("RepoStore needs a data directory");
  auto store = std::make_unique<RepoStoreImpl>(std::move(options));
  ATCR_TRY(store->Init());
  return std::unique_ptr<RepoStore>(std::move(store));
}

}  // namespace atcr::pds
