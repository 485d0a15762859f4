// RepoStore: the ATProto repositories a PDS hosts (the standalone PDS, or the one-account PDS
// embedded in every hold): blocks, records, repo roots, blob metadata and the firehose event
// sequence in one SQLite file (DATA/repo.sqlite), blob bytes in a content-addressed store
// (DATA/blobs). Every commit is ONE transaction (blocks, records, root, blob links, event);
// in-memory state changes only after COMMIT, so a crash never leaves half a commit.
// Thread-safe. Writes to one repo are serialized by a per-DID lock (the MST edit and signing
// run outside any global lock; only the short SQLite transaction is shared); reads use a pool of
// read-only connections and never wait for writers. Every method blocks (SQLite, fsync): call
// them from coroutines through net::RunBlocking.
//
//   ATCR_ASSIGN_OR_RETURN(auto store, RepoStore::Open({.data_dir = dir}));
//   ATCR_ASSIGN_OR_RETURN(CommitInfo c, store->CreateRepo(did, key));
//   RepoWrite w{.action = RepoWrite::Action::kCreate, .collection = "io.atcr.tag", .record = v};
//   ATCR_ASSIGN_OR_RETURN(WriteResult r, store->ApplyWrites(did, key, {w}, std::nullopt));
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/atproto/car.h"
#include "atcr/atproto/lexicon.h"
#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"
#include "atcr/cbor/value.h"
#include "atcr/crypto/keys.h"
#include "atcr/storage/blob_store.h"

namespace atcr::pds {

struct RepoStoreOptions {
  std::string data_dir;  // repo.sqlite and blobs/ (created if missing)
  // Blob bytes; default: a storage::FsBlobStore rooted at data_dir/blobs. A hold may pass its
  // own. Shared by every DID (content-addressed); RepoStore tracks which DIDs reference what.
  std::shared_ptr<storage::BlobStore> blob_store;
  // Lexicons records are validated against ("known" collections). Null: the io.atcr.*
  // lexicons built into atcr::atproto. Must outlive the store.
  const atproto::LexiconCatalog* lexicons = nullptr;
  uint64_t max_blob_bytes = 5 * 1024 * 1024;  // the reference's PDS_BLOB_UPLOAD_LIMIT default
  size_t max_record_bytes = 1'000'000;        // DAG-CBOR of one record (firehose limit)
  size_t max_writes = 200;                    // per commit
  size_t max_commit_bytes = 2'000'000;        // the #commit CAR slice (reference: 2 MB)
  // WAL + synchronous=FULL (a commit survives power loss). false = NORMAL (survives kill -9).
  bool durable = true;
  bool fsync_blobs = true;
  // Uploaded blobs no record references are dropped after this long (the spec asks for at
  // least an hour). Checked at most every `sweep_interval`, from StartBlobUpload; zero turns
  // the automatic sweep off (SweepTemporaryBlobs still works).
  std::chrono::seconds temp_blob_ttl{6 * 3600};
  std::chrono::seconds sweep_interval{1800};
  size_t read_connections = 4;  // kept idle in the read pool (more are opened on demand)
};

struct CommitInfo {
  cbor::Cid cid;   // the signed commit block
  std::string rev;
  cbor::Cid data;  // MST root
};

// One write of com.atproto.repo.applyWrites (and of createRecord/putRecord/deleteRecord).
struct RepoWrite {
  enum class Action {
    kCreate,  // the record must not exist (createRecord, applyWrites#create)
    kUpdate,  // the record must exist (applyWrites#update)
    kDelete,  // the record must exist unless ignore_missing (deleteRecord: a no-op then)
    kPut,     // putRecord: update if present, else create; a no-op if unchanged
  };
  // No-op writes (kPut unchanged, kDelete of a missing record with ignore_missing) are dropped
  // before swaps are checked, as the reference's putRecord/deleteRecord do.
  Action action = Action::kCreate;
  std::string collection;
  std::string rkey;  // empty on kCreate: a fresh TID
  cbor::Value record;  // kCreate/kUpdate/kPut: the record (its `$type` defaults to collection)
  // nullopt: no check. A Cid: the record must currently be at that CID. std::nullopt inside
  // (swap_record = std::optional<cbor::Cid>()): the record must not exist (putRecord's
  // "swapRecord": null). Mismatch: InvalidSwap "Record was at <cid|null>".
  std::optional<std::optional<cbor::Cid>> swap_record;
  bool ignore_missing = false;
};

struct WriteResult {
  struct Item {
    RepoWrite::Action action = RepoWrite::Action::kCreate;  // kPut resolved to create/update
    std::string uri;                                         // at://did/collection/rkey
    cbor::Cid cid;                                           // empty for deletes
    std::optional<std::string> validation_status;            // "valid" | "unknown" | none
  };
  // nullopt when nothing changed (putRecord of an identical record, deleteRecord of a missing
  // one); an empty batch still makes a commit, as the reference does.
  std::optional<CommitInfo> commit;
  std::vector<Item> results;  // one per input write, in order
};

struct StoredRecord {
  cbor::Cid cid;
  Bytes cbor;  // DAG-CBOR as stored
};

struct ListedRecord {
  std::string collection;
  std::string rkey;
  cbor::Cid cid;
  Bytes cbor;
};

struct RepoSummary {
  std::string did;
  cbor::Cid head;
  std::string rev;
  int64_t created_unix_ms = 0;
};

struct BlobRef {
  cbor::Cid cid;  // raw codec, sha2-256
  std::string mime_type;
  uint64_t size = 0;
};

// A blob as getBlob serves it: an open file descriptor (caller owns it) or a redirect.
struct BlobContent {
  BlobRef ref;
  storage::BlobRead read;
};

// One sequenced firehose event, stored as the complete binary frame (header + body).
struct SequencedEvent {
  int64_t seq = 0;
  std::string did;
  std::string type;  // "#commit" | "#sync" | "#identity" | "#account"
  int64_t time_us = 0;
  std::shared_ptr<const Bytes> frame;
};

// Receives events right after their transaction committed, in seq order, without gaps. Called
// with the store's write lock held: it must not block and must not call back into the store.
class EventListener {
 public:
  virtual ~EventListener() = default;
  virtual void OnEvent(const SequencedEvent& event) = 0;
  // DeleteRepo removed every stored event of `did`.
  virtual void OnRepoEventsDeleted(std::string_view did) = 0;
};

// An in-progress blob upload: bytes are hashed and written to a temporary file as they come.
// Abandoning it (destroying it before Finish) removes the temporary data. Used by one thread
// at a time.
class BlobUpload {
 public:
  virtual ~BlobUpload() = default;
  // kResourceExhausted ("PayloadTooLarge") past max_blob_bytes.
  virtual Status Write(ByteSpan data) = 0;
  // Makes the blob durable under its CID and records it as a temporary blob of the DID (not
  // served until a record references it). `mime_type` is what the client declared; a few
  // well-known binary formats are recognised from their first bytes and win over it.
  virtual Result<BlobRef> Finish(std::string_view mime_type) = 0;
  virtual uint64_t size() const = 0;
};

// A consistent snapshot of one repo for sync.getRepo: the commit block comes first, then every
// other block (or only those written after `since`), in batches. Holds a read transaction until
// destroyed.
class RepoExport {
 public:
  virtual ~RepoExport() = default;
  virtual const CommitInfo& root() const = 0;
  // Up to about max_bytes of blocks; empty when done.
  virtual Result<std::vector<atproto::CarBlock>> Next(size_t max_bytes) = 0;
};

class RepoStore {
 public:
  static Result<std::unique_ptr<RepoStore>> Open(RepoStoreOptions options);
  virtual ~RepoStore() = default;

  // ---- account lifecycle (called by the account service) ----

  // A new, empty repository: first commit, sequenced as #commit (no ops, since null) then
  // #sync, in one transaction. The reference emits #identity and #account before these on
  // account creation: call AppendIdentityEvent and AppendAccountEvent first. kAlreadyExists if
  // the DID has a repo.
  virtual Result<CommitInfo> CreateRepo(std::string_view did, const crypto::PrivateKey& key) = 0;
  // #identity {did, handle?} and #account {did, active, status?}.
  virtual Status AppendIdentityEvent(std::string_view did, std::optional<std::string> handle) = 0;
  virtual Status AppendAccountEvent(std::string_view did, bool active,
                                    std::optional<std::string> status) = 0;
  // #sync {did, rev, blocks: the current commit} (e.g. after a signing-key rotation). NotFound
  // without a repo.
  virtual Status AppendSyncEvent(std::string_view did) = 0;
  // Removes the repo: blocks, records, root, blob links (and blob bytes no other repo uses) and
  // every stored event of the DID, as the reference does on account deletion; then call
  // AppendAccountEvent(did, false, "deleted"). Ok if there was nothing.
  virtual Status DeleteRepo(std::string_view did) = 0;

  // ---- writes ----

  // Applies the writes as one signed commit (see RepoWrite, WriteResult). `validate`: true =
  // the collection's lexicon must be known and the record valid; false = no lexicon check;
  // unset = check known lexicons ("valid"), accept others ("unknown"). Data-model rules always
  // apply. Errors carry the reference's XRPC names: InvalidRequest (bad record, key, $type,
  // too many writes, record exists/missing), InvalidSwap ("Commit was at <cid>", "Record was at
  // <cid|null>"), BlobNotFound, InvalidMimeType, InvalidSize; RepoNotFound without a repo.
  virtual Result<WriteResult> ApplyWrites(std::string_view did, const crypto::PrivateKey& key,
                                          std::vector<RepoWrite> writes,
                                          std::optional<cbor::Cid> swap_commit,
                                          std::optional<bool> validate = std::nullopt) = 0;

  // ---- reads ----

  // NotFound (wire "RepoNotFound") without a repo.
  virtual Result<CommitInfo> GetRoot(std::string_view did) = 0;
  virtual bool HasRepo(std::string_view did) = 0;
  // The record, optionally only if it is at `cid`; NotFound (wire "RecordNotFound") otherwise.
  virtual Result<StoredRecord> GetRecord(std::string_view did, std::string_view collection,
                                         std::string_view rkey,
                                         std::optional<cbor::Cid> cid = std::nullopt) = 0;
  // Records of a collection by rkey, descending (the reference's default), or ascending with
  // reverse; strictly after `cursor` in that order. limit is clamped to 1..100.
  virtual Result<std::vector<ListedRecord>> ListRecords(std::string_view did,
                                                        std::string_view collection,
                                                        size_t limit,
                                                        std::optional<std::string> cursor,
                                                        bool reverse) = 0;
  virtual Result<std::vector<std::string>> ListCollections(std::string_view did) = 0;
  // Repos in (creation time, DID) order, strictly after the cursor pair.
  virtual Result<std::vector<RepoSummary>> ListRepos(
      size_t limit, std::optional<std::pair<int64_t, std::string>> after) = 0;
  // sync.getRecord: a CAR (root = current commit) with the commit, the MST nodes proving the
  // record's presence or absence, and the record block if present.
  virtual Result<Bytes> GetRecordProof(std::string_view did, std::string_view collection,
                                       std::string_view rkey) = 0;
  // sync.getBlocks: a CAR without roots holding the given blocks of the repo; InvalidRequest
  // "Could not find cids: <a>,<b>" when some are not in it.
  virtual Result<Bytes> GetBlocks(std::string_view did, const std::vector<cbor::Cid>& cids) = 0;
  // sync.getRepo: the whole repo, or the blocks written after revision `since`.
  virtual Result<std::unique_ptr<RepoExport>> ExportRepo(std::string_view did,
                                                         std::optional<std::string> since) = 0;

  // ---- blobs ----

  virtual Result<std::unique_ptr<BlobUpload>> StartBlobUpload(std::string_view did) = 0;
  // A blob referenced by one of the DID's records; NotFound ("Blob not found") for unknown
  // or still temporary blobs.
  virtual Result<BlobContent> OpenBlob(std::string_view did, const cbor::Cid& cid) = 0;
  // CIDs (strings, ascending) of the blobs the DID's records reference, optionally only by
  // records written after revision `since`, strictly after `cursor`.
  virtual Result<std::vector<std::string>> ListBlobs(std::string_view did,
                                                     std::optional<std::string> since,
                                                     std::optional<std::string> cursor,
                                                     size_t limit) = 0;
  // Drops temporary (never referenced) blobs older than min_age and stale upload data.
  // Returns the number of blobs removed.
  virtual Result<size_t> SweepTemporaryBlobs(std::chrono::seconds min_age) = 0;

  // ---- events ----

  // The firehose (one listener; null to remove it). Returns the last seq committed before the
  // listener was installed: it receives exactly the events after that one.
  virtual int64_t SetEventListener(EventListener* listener) = 0;
  // Highest seq ever assigned (0 when none).
  virtual int64_t LastSeq() = 0;
  // Stored events with seq > after_seq, ascending, at most limit.
  virtual Result<std::vector<SequencedEvent>> ReadEvents(int64_t after_seq, size_t limit) = 0;
  // seq of the first stored event with seq > after_seq, and its time; nullopt if none.
  virtual Result<std::optional<std::pair<int64_t, int64_t>>> NextEventAfter(int64_t after_seq) = 0;
  // seq of the first stored event at or after time_us; nullopt if none.
  virtual Result<std::optional<int64_t>> FirstEventSince(int64_t time_us) = 0;
  // Deletes events older than time_us (keeps the seq counter). Returns how many.
  virtual Result<size_t> PruneEvents(int64_t before_time_us) = 0;

  const RepoStoreOptions& options() const { return options_; }

 protected:
  explicit RepoStore(RepoStoreOptions options) : options_(std::move(options)) {}
  RepoStoreOptions options_;
};

// "at://<did>/<collection>/<rkey>".
std::string RecordUri(std::string_view did, std::string_view collection, std::string_view rkey);

}  // namespace atcr::pds
