#include "atcr/storage/s3_blob_store.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <unordered_map>

#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "s3_client.h"

namespace atcr::storage {
namespace {

constexpr uint64_t kMinPartSize = 5 * 1024 * 1024;  // S3's floor for every part but the last
constexpr int32_t kMaxParts = 10000;
constexpr uint64_t kMaxCopyPart = 5ull * 1024 * 1024 * 1024;
constexpr size_t kUploadIdLength = 32;  // RandomId()

bool IsValidUploadId(std::string_view id) { return id.size() == kUploadIdLength && IsLowerHex(id); }

Error UploadUnknown(std::string_view id) {
  return NotFound("blob upload " + std::string(id) + " is unknown, finished or expired",
                  "BLOB_UPLOAD_UNKNOWN");
}
Error BadUploadId() {
  return NotFound("blob upload id is not valid (want 32 lowercase hex characters)",
                  "BLOB_UPLOAD_UNKNOWN");
}
Error BlobUnknown(const oci::Digest& d) {
  return NotFound("blob " + d.str() + " is unknown", "BLOB_UNKNOWN");
}
Error DigestMismatch(std::string_view id, const oci::Digest& actual, const oci::Digest& expected,
                     bool discarded) {
  return InvalidArgument("upload " + std::string(id) + " has digest " + actual.str() + ", not " +
                             expected.str() + (discarded ? " (upload discarded)" : ""),
                         "DIGEST_INVALID");
}

Status CheckStorable(const oci::Digest& d) {
  if (d.empty()) return InvalidArgument("empty digest", "DIGEST_INVALID");
  if (!d.supported()) {
    return InvalidArgument("unsupported digest algorithm \"" + std::string(d.algorithm()) +
                               "\" (supported: sha256, sha512)",
                           "DIGEST_INVALID");
  }
  return Ok();
}

// Per-upload state, kept by the store between requests. The first group is read by other
// requests (part uploads, abort, cleanup) and is written only under the store's lock; the rest
// belongs to whoever set in_use (a writer, or CompletePartUpload).
struct UploadState {
  std::string id;
  std::string s3_upload_id;  // empty: still small enough for one PUT, nothing in S3 yet
  bool assembled = false;    // the multipart upload was completed into uploads/<id>
  int64_t last_activity = 0;
  bool in_use = false;

  std::vector<s3::CompletedPart> parts;
  int32_t next_part = 1;
  std::string tail;  // appended bytes not yet sent as a part
  Hasher hasher{HashAlgorithm::kSha256};
  bool hash_valid = true;  // false when bytes exist that this process did not hash
  uint64_t size = 0;
  std::optional<Error> failed;  // a part upload failed for good; the upload is unusable
};

class S3BlobStore;

class S3UploadWriter final : public UploadWriter {
 public:
  S3UploadWriter(S3BlobStore* store, std::shared_ptr<UploadState> state)
      : store_(store), state_(std::move(state)) {}
  ~S3UploadWriter() override;

  const std::string& id() const override { return state_->id; }
  uint64_t size() const override { return state_->size; }
  Status Append(ByteSpan data) override;
  Result<BlobInfo> Commit(const oci::Digest& expected) override;

 private:
  struct InFlight {
    int32_t part_number;
    std::future<Result<std::string>> etag;
  };
  Status Launch(std::string body);
  Status WaitOldest();
  Status WaitAll();
  Status Fail(Error e) {
    state_->failed = e;
    return e;
  }

  S3BlobStore* store_;
  std::shared_ptr<UploadState> state_;
  std::deque<InFlight> in_flight_;
  bool done_ = false;
};

class S3BlobStore final : public BlobStore {
 public:
  S3BlobStore(S3BlobStoreOptions options, std::unique_ptr<s3::Client> client)
      : options_(std::move(options)), client_(std::move(client)) {}

  const S3BlobStoreOptions& options() const { return options_; }
  const s3::Client& client() const { return *client_; }

  std::string BlobKey(const oci::Digest& d) const {
    const std::string_view hex = d.encoded();
    return options_.prefix + "blobs/" + std::string(d.algorithm()) + "/" +
           std::string(hex.substr(0, 2)) + "/" + std::string(hex) + "/data";
  }
  std::string UploadsPrefix() const { return options_.prefix + "uploads/"; }
  std::string UploadKey(std::string_view id) const { return UploadsPrefix() + std::string(id); }

  Result<BlobInfo> Stat(const oci::Digest& digest) override {
    ATCR_TRY(CheckStorable(digest));
    ATCR_ASSIGN_OR_RETURN(std::optional<s3::ObjectHead> head, client_->Head(BlobKey(digest)));
    if (!head) return BlobUnknown(digest);
    return BlobInfo{digest, head->size, head->modified_unix};
  }

  Result<BlobRead> Open(const oci::Digest& digest) override {
    ATCR_ASSIGN_OR_RETURN(BlobInfo info, Stat(digest));
    ATCR_ASSIGN_OR_RETURN(PresignedRequest url,
                          PresignGet(digest, options_.presign_expiry_seconds));
    BlobRead r;
    r.size = info.size;
    r.redirect_url = std::move(url.url);
    r.redirect_expires_unix = url.expires_unix;
    return r;
  }

  Status Delete(const oci::Digest& digest) override {
    ATCR_TRY(Stat(digest));
    return client_->Delete(BlobKey(digest));
  }

  Result<std::vector<BlobInfo>> List() override {
    std::vector<BlobInfo> out;
    const std::string prefix = options_.prefix + "blobs/";
    ATCR_TRY(client_->ListObjects(prefix, [&](const s3::ListedObject& o) -> Status {
      // <alg>/<xx>/<hex>/data; anything else under blobs/ is not ours and is skipped.
      std::string_view rest = std::string_view(o.key).substr(prefix.size());
      const size_t a = rest.find('/');
      if (a == std::string_view::npos) return Ok();
      const size_t b = rest.find('/', a + 1);
      if (b == std::string_view::npos) return Ok();
      const size_t c = rest.find('/', b + 1);
      if (c == std::string_view::npos || rest.substr(c) != "/data") return Ok();
      std::string_view alg = rest.substr(0, a);
      std::string_view two = rest.substr(a + 1, b - a - 1);
      std::string_view hex = rest.substr(b + 1, c - b - 1);
      auto d = oci::Digest::Parse(std::string(alg) + ":" + std::string(hex));
      if (!d.ok() || !d->supported() || two.size() != 2 || hex.substr(0, 2) != two) return Ok();
      out.push_back(BlobInfo{*d, o.size, o.modified_unix});
      return Ok();
    }));
    return out;
  }

  Result<std::unique_ptr<UploadWriter>> CreateUpload() override {
    auto state = std::make_shared<UploadState>();
    state->id = RandomId();
    state->last_activity = UnixSeconds();
    state->in_use = true;
    {
      std::lock_guard lock(mu_);
      uploads_[state->id] = state;
    }
    return std::unique_ptr<UploadWriter>(new S3UploadWriter(this, std::move(state)));
  }

  Result<std::unique_ptr<UploadWriter>> OpenUpload(const std::string& id) override {
    if (!IsValidUploadId(id)) return BadUploadId();
    ATCR_ASSIGN_OR_RETURN(std::shared_ptr<UploadState> state, Acquire(id));
    return std::unique_ptr<UploadWriter>(new S3UploadWriter(this, std::move(state)));
  }

  Status AbortUpload(const std::string& id) override {
    if (!IsValidUploadId(id)) return BadUploadId();
    bool known = false;
    bool assembled = false;
    {
      std::lock_guard lock(mu_);
      auto it = uploads_.find(id);
      if (it != uploads_.end()) {
        known = true;
        assembled = it->second->assembled;
        uploads_.erase(it);
      }
    }
    // Every multipart upload under this id's key (normally one), also ones this process
    // does not know about (started before a restart).
    ATCR_ASSIGN_OR_RETURN(std::vector<s3::ListedUpload> listed,
                          client_->ListUploads(UploadKey(id)));
    bool found = known;
    for (const auto& u : listed) {
      if (u.key != UploadKey(id)) continue;
      found = true;
      Status st = client_->AbortMultipart(u.key, u.upload_id);
      if (!st.ok() && st.error().code != ErrorCode::kNotFound) return st;
    }
    if (assembled) ATCR_TRY(client_->Delete(UploadKey(id)));
    if (!found) return UploadUnknown(id);
    return Ok();
  }

  Result<size_t> CleanupUploads(int64_t max_age_seconds) override;

  Result<PresignedRequest> PresignGet(const oci::Digest& digest, int64_t expires_seconds) override {
    ATCR_TRY(CheckStorable(digest));
    return client_->Presign("GET", BlobKey(digest), {}, {}, "", expires_seconds);
  }

  Result<PresignedRequest> PresignPut(const oci::Digest& digest, int64_t expires_seconds) override {
    ATCR_TRY(CheckStorable(digest));
    if (digest.hash_algorithm() != HashAlgorithm::kSha256) {
      return InvalidArgument("presigned PUT needs a sha256 digest (S3 checks SHA-256 only)",
                             "DIGEST_INVALID");
    }
    const std::string hex(digest.encoded());
    ParamList headers = {{"x-amz-content-sha256", hex}};
    return client_->Presign("PUT", BlobKey(digest), {}, headers, hex, expires_seconds);
  }

  Result<Bytes> ReadRange(const oci::Digest& digest, uint64_t offset, uint64_t length) override {
    ATCR_TRY(CheckStorable(digest));
    Bytes out;
    out.reserve(static_cast<size_t>(std::min<uint64_t>(length, 64 * 1024 * 1024)));
    Status st = ReadChunks(BlobKey(digest), offset, length, [&](std::string&& chunk) -> Status {
      out.insert(out.end(), chunk.begin(), chunk.end());
      return Ok();
    });
    if (!st.ok()) {
      const ErrorCode c = st.error().code;
      if (c == ErrorCode::kNotFound) return BlobUnknown(digest);
      if (c != ErrorCode::kOutOfRange) return std::move(st).error();
      // S3 answers 416 for a range starting at the end; that one is just empty.
      ATCR_ASSIGN_OR_RETURN(BlobInfo info, Stat(digest));
      if (offset == info.size) return out;
      return Error(ErrorCode::kOutOfRange, "offset " + std::to_string(offset) +
                                               " is past the end of blob " + digest.str() + " (" +
                                               std::to_string(info.size) + " bytes)");
    }
    return out;
  }

  Result<std::string> CreatePartUpload() override {
    auto state = std::make_shared<UploadState>();
    state->id = RandomId();
    ATCR_ASSIGN_OR_RETURN(state->s3_upload_id, client_->CreateMultipart(UploadKey(state->id)));
    state->hash_valid = false;  // parts bypass us; the digest is checked by reading back
    state->last_activity = UnixSeconds();
    std::lock_guard lock(mu_);
    uploads_[state->id] = state;
    return state->id;
  }

  Result<PresignedRequest> PresignUploadPart(const std::string& upload_id, int32_t part_number,
                                             int64_t expires_seconds) override {
    if (!IsValidUploadId(upload_id)) return BadUploadId();
    ATCR_TRY(CheckPartNumber(part_number));
    ATCR_ASSIGN_OR_RETURN(std::string s3_id, FindS3Upload(upload_id));
    ParamList query = {{"partNumber", std::to_string(part_number)}, {"uploadId", s3_id}};
    return client_->Presign("PUT", UploadKey(upload_id), query, {}, "", expires_seconds);
  }

  Result<std::string> UploadPart(const std::string& upload_id, int32_t part_number,
                                 ByteSpan data) override {
    if (!IsValidUploadId(upload_id)) return BadUploadId();
    ATCR_TRY(CheckPartNumber(part_number));
    ATCR_ASSIGN_OR_RETURN(std::string s3_id, FindS3Upload(upload_id));
    auto etag =
        client_->UploadPart(UploadKey(upload_id), s3_id, part_number, std::string(AsString(data)));
    if (!etag.ok() && etag.error().code == ErrorCode::kNotFound) return UploadUnknown(upload_id);
    Touch(upload_id);
    return etag;
  }

  Result<BlobInfo> CompletePartUpload(const std::string& upload_id, const oci::Digest& expected,
                                      std::vector<UploadPartInfo> parts) override;

  // --- used by the writer ---

  // Completes (if not done yet) the multipart upload of `state` into uploads/<id>, verifies
  // the digest by reading it back when `verified` is false, then moves it to its digest key.
  // A mismatch deletes the assembled object and forgets the upload.
  Result<BlobInfo> Assemble(UploadState& state, const oci::Digest& expected, bool verified);
  template <typename F>
  void Locked(F f) {
    std::lock_guard lock(mu_);
    f();
  }
  void Release(const std::shared_ptr<UploadState>& state, bool finished) {
    std::lock_guard lock(mu_);
    state->in_use = false;
    state->last_activity = UnixSeconds();
    if (finished) uploads_.erase(state->id);
  }

 private:
  static Status CheckPartNumber(int32_t n) {
    if (n < 1 || n > kMaxParts) {
      return InvalidArgument("part number " + std::to_string(n) + " is out of range 1..10000",
                             "BLOB_UPLOAD_INVALID");
    }
    return Ok();
  }

  void Touch(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = uploads_.find(id);
    if (it != uploads_.end()) it->second->last_activity = UnixSeconds();
  }

  // The state of `id` marked in use, from memory or rebuilt from S3 (after a restart).
  Result<std::shared_ptr<UploadState>> Acquire(const std::string& id) {
    {
      std::lock_guard lock(mu_);
      auto it = uploads_.find(id);
      if (it != uploads_.end()) {
        if (it->second->in_use) {
          return Error(ErrorCode::kFailedPrecondition,
                       "blob upload " + id + " is in use by another request",
                       "BLOB_UPLOAD_INVALID");
        }
        it->second->in_use = true;
        return it->second;
      }
    }
    ATCR_ASSIGN_OR_RETURN(std::optional<std::string> s3_id, ListS3Upload(id));
    if (!s3_id) return UploadUnknown(id);
    ATCR_ASSIGN_OR_RETURN(std::vector<s3::ListedPart> listed,
                          client_->ListParts(UploadKey(id), *s3_id));
    auto state = std::make_shared<UploadState>();
    state->id = id;
    state->s3_upload_id = *s3_id;
    std::sort(listed.begin(), listed.end(),
              [](const auto& a, const auto& b) { return a.part_number < b.part_number; });
    for (const auto& p : listed) {
      state->parts.push_back({p.part_number, p.etag});
      state->size += p.size;
      state->next_part = p.part_number + 1;
    }
    state->hash_valid = state->size == 0;
    state->last_activity = UnixSeconds();
    state->in_use = true;
    std::lock_guard lock(mu_);
    auto [it, inserted] = uploads_.emplace(id, state);
    if (!inserted) {
      if (it->second->in_use) {
        return Error(ErrorCode::kFailedPrecondition,
                     "blob upload " + id + " is in use by another request", "BLOB_UPLOAD_INVALID");
      }
      it->second->in_use = true;
    }
    return it->second;
  }

  // The S3 multipart upload id of `id`, from memory or from ListMultipartUploads.
  Result<std::string> FindS3Upload(const std::string& id) {
    {
      std::lock_guard lock(mu_);
      auto it = uploads_.find(id);
      if (it != uploads_.end() && !it->second->s3_upload_id.empty()) {
        return it->second->s3_upload_id;
      }
    }
    ATCR_ASSIGN_OR_RETURN(std::optional<std::string> s3_id, ListS3Upload(id));
    if (!s3_id) return UploadUnknown(id);
    std::lock_guard lock(mu_);
    auto& slot = uploads_[id];
    if (!slot) {
      slot = std::make_shared<UploadState>();
      slot->id = id;
      slot->hash_valid = false;
      slot->last_activity = UnixSeconds();
    }
    if (slot->s3_upload_id.empty()) slot->s3_upload_id = *s3_id;
    return slot->s3_upload_id;
  }

  Result<std::optional<std::string>> ListS3Upload(const std::string& id) {
    ATCR_ASSIGN_OR_RETURN(std::vector<s3::ListedUpload> listed,
                          client_->ListUploads(UploadKey(id)));
    std::optional<std::string> newest;
    int64_t newest_time = -1;
    for (const auto& u : listed) {
      if (u.key != UploadKey(id)) continue;
      if (u.initiated_unix > newest_time) {
        newest = u.upload_id;
        newest_time = u.initiated_unix;
      }
    }
    return newest;
  }

  // Reads [offset, offset + length) of `key` as ranges of read_chunk_bytes, up to
  // max_parallel_parts of them in flight, and hands them to `visit` in order. Stops at the
  // object's end (a short range, or a 416 after the first range); a 416 on the first range is
  // kOutOfRange.
  Status ReadChunks(const std::string& key, uint64_t offset, uint64_t length,
                    const std::function<Status(std::string&&)>& visit) {
    const uint64_t chunk = options_.read_chunk_bytes;
    const uint64_t end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
    const size_t window = static_cast<size_t>(std::max(1, options_.max_parallel_parts));
    std::deque<std::pair<uint64_t, std::future<Result<std::string>>>> flying;
    uint64_t next = offset;
    auto launch = [&] {
      while (flying.size() < window && next < end) {
        const uint64_t n = std::min(chunk, end - next);
        flying.emplace_back(n, std::async(std::launch::async, [this, key, next, n] {
                              return client_->GetRange(key, next, n);
                            }));
        next += n;
      }
    };
    launch();
    bool first = true;
    while (!flying.empty()) {
      auto [want, fut] = std::move(flying.front());
      flying.pop_front();
      Result<std::string> got = fut.get();
      if (!got.ok()) {
        if (!first && got.error().code == ErrorCode::kOutOfRange) return Ok();
        return std::move(got).error();  // ranges still in flight finish as `flying` goes
      }
      first = false;
      const bool at_end = got->size() < want;
      ATCR_TRY(visit(std::move(*got)));
      if (at_end) return Ok();
      launch();
    }
    return Ok();
  }

  // Hashes the object at `key` (size bytes) with `alg`.
  Result<oci::Digest> HashObject(const std::string& key, uint64_t size, HashAlgorithm alg) {
    Hasher h(alg);
    uint64_t seen = 0;
    if (size > 0) {
      ATCR_TRY(ReadChunks(key, 0, size, [&](std::string&& chunk) -> Status {
        seen += chunk.size();
        h.Update(AsBytes(chunk));
        return Ok();
      }));
    }
    if (seen != size) {
      return Error(ErrorCode::kDataLoss, "S3 object " + key + " has " + std::to_string(seen) +
                                             " bytes, not " + std::to_string(size));
    }
    return oci::Digest::FromHash(alg, h.Finish());
  }

  // Server-side copy of `src` (size bytes) to `dst`: one CopyObject, or a multipart copy
  // above max_single_copy_bytes.
  Status CopyObject(const std::string& src, const std::string& dst, uint64_t size) {
    if (size <= options_.max_single_copy_bytes) {
      auto copied = client_->Copy(src, dst);
      if (!copied.ok()) return std::move(copied).error();
      return Ok();
    }
    uint64_t part = std::max<uint64_t>(options_.part_size, (size + 63) / 64);
    part = std::min(part, kMaxCopyPart);
    ATCR_ASSIGN_OR_RETURN(std::string s3_id, client_->CreateMultipart(dst));
    std::vector<s3::CompletedPart> parts;
    std::deque<std::pair<int32_t, std::future<Result<std::string>>>> flying;
    Status failed = Ok();
    auto wait_one = [&]() {
      auto [n, f] = std::move(flying.front());
      flying.pop_front();
      Result<std::string> etag = f.get();
      if (!etag.ok()) {
        if (failed.ok()) failed = std::move(etag).error();
      } else {
        parts.push_back({n, std::move(*etag)});
      }
    };
    int32_t n = 1;
    for (uint64_t off = 0; off < size && failed.ok(); off += part, ++n) {
      const uint64_t last = std::min(size, off + part) - 1;
      if (flying.size() >= static_cast<size_t>(std::max(1, options_.max_parallel_parts)))
        wait_one();
      flying.emplace_back(n, std::async(std::launch::async, [this, dst, s3_id, n, src, off, last] {
                            return client_->UploadPartCopy(dst, s3_id, n, src, off, last);
                          }));
    }
    while (!flying.empty()) wait_one();
    if (failed.ok()) {
      auto done = client_->CompleteMultipart(dst, s3_id, parts);
      if (done.ok()) return Ok();
      failed = std::move(done).error();
    }
    (void)client_->AbortMultipart(dst, s3_id);
    return failed;
  }
  S3BlobStoreOptions options_;
  std::unique_ptr<s3::Client> client_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<UploadState>> uploads_;  // guarded by mu_
};

S3UploadWriter::~S3UploadWriter() {
  if (done_) return;
  (void)WaitAll();  // a failure is recorded in state_->failed for the next request
  store_->Release(state_, false);
}

Status S3UploadWriter::Launch(std::string body) {
  UploadState& s = *state_;
  if (s.next_part > kMaxParts) {
    return Fail(ResourceExhausted("upload " + s.id + " needs more than 10000 parts of " +
                                  std::to_string(store_->options().part_size) + " bytes"));
  }
  if (in_flight_.size() >= static_cast<size_t>(std::max(1, store_->options().max_parallel_parts))) {
    ATCR_TRY(WaitOldest());
  }
  const int32_t n = s.next_part++;
  const s3::Client* client = &store_->client();
  std::string key = store_->UploadKey(s.id);
  in_flight_.push_back(
      {n, std::async(std::launch::async, [client, key = std::move(key), s3_id = s.s3_upload_id, n,
                                          body = std::move(body)]() mutable {
         return client->UploadPart(key, s3_id, n, std::move(body));
       })});
  return Ok();
}

Status S3UploadWriter::WaitOldest() {
  InFlight f = std::move(in_flight_.front());
  in_flight_.pop_front();
  Result<std::string> etag = f.etag.get();
  if (!etag.ok()) {
    Error e = std::move(etag).error();
    if (e.code == ErrorCode::kNotFound) e = UploadUnknown(state_->id);  // aborted under us
    e.message =
        "upload " + state_->id + " part " + std::to_string(f.part_number) + ": " + e.message;
    return Fail(std::move(e));
  }
  state_->parts.push_back({f.part_number, std::move(*etag)});
  return Ok();
}

Status S3UploadWriter::WaitAll() {
  Status first = Ok();
  while (!in_flight_.empty()) {
    Status st = WaitOldest();
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

Status S3UploadWriter::Append(ByteSpan data) {
  if (done_) return UploadUnknown(state_->id);
  UploadState& s = *state_;
  if (s.failed) return *s.failed;
  if (data.empty()) return Ok();
  const S3BlobStoreOptions& o = store_->options();
  const uint64_t buffer_cap = std::max(o.multipart_threshold, o.part_size);
  // Slices keep the buffer within its bound however large `data` is.
  while (!data.empty()) {
    const size_t room = s.tail.size() < buffer_cap ? buffer_cap - s.tail.size() : 0;
    const size_t n = std::min<size_t>(data.size(), std::max<size_t>(room, 1));
    ByteSpan slice = data.first(n);
    data = data.subspan(n);
    s.tail.append(AsString(slice));
    s.hasher.Update(slice);
    s.size += n;
    if (s.s3_upload_id.empty()) {
      if (s.tail.size() <= o.multipart_threshold) continue;
      auto s3_id = store_->client().CreateMultipart(store_->UploadKey(s.id));
      if (!s3_id.ok()) return Fail(std::move(s3_id).error());
      store_->Locked([&] { s.s3_upload_id = std::move(*s3_id); });
    }
    while (s.tail.size() >= o.part_size) {
      // Hand the first part_size bytes to a part upload; only the remainder is copied.
      std::string part = std::move(s.tail);
      s.tail.reserve(o.part_size);
      s.tail.assign(part, o.part_size, std::string::npos);
      part.resize(o.part_size);
      ATCR_TRY(Launch(std::move(part)));
    }
  }
  return Ok();
}

Result<BlobInfo> S3UploadWriter::Commit(const oci::Digest& expected) {
  if (done_) return UploadUnknown(state_->id);
  UploadState& s = *state_;
  if (s.failed) return *s.failed;
  ATCR_TRY(CheckStorable(expected));
  ATCR_TRY(WaitAll());

  // Check what we hashed before anything irreversible, so a wrong digest leaves the upload
  // as it was (the client may retry with the right one).
  bool verified = false;
  if (s.hash_valid && expected.hash_algorithm() == HashAlgorithm::kSha256) {
    Hasher copy = s.hasher;
    oci::Digest actual = oci::Digest::FromHash(HashAlgorithm::kSha256, copy.Finish());
    if (actual != expected) return DigestMismatch(s.id, actual, expected, false);
    verified = true;
  }

  if (s.s3_upload_id.empty()) {
    // Small blob: everything is in memory; one PUT straight to the digest key, with the
    // SHA-256 signed so S3 itself refuses bytes that changed on the way.
    if (!verified) {
      Hasher h(expected.hash_algorithm());
      h.Update(AsBytes(s.tail));
      oci::Digest actual = oci::Digest::FromHash(expected.hash_algorithm(), h.Finish());
      if (actual != expected) return DigestMismatch(s.id, actual, expected, false);
    }
    const std::string sha256 = expected.hash_algorithm() == HashAlgorithm::kSha256
                                   ? std::string(expected.encoded())
                                   : Sha256Hex(s.tail);
    ATCR_TRY(store_->client().Put(store_->BlobKey(expected), s.tail, sha256));
    done_ = true;
    store_->Release(state_, true);
    return BlobInfo{expected, s.size, UnixSeconds()};
  }

  if (!s.assembled && (!s.tail.empty() || s.parts.empty())) {
    std::string last = std::move(s.tail);
    s.tail.clear();
    Status st = Launch(std::move(last));
    if (st.ok()) st = WaitAll();
    if (!st.ok()) return std::move(st).error();
  }
  auto info = store_->Assemble(s, expected, verified);
  if (info.ok() || info.error().wire == "DIGEST_INVALID" ||
      info.error().wire == "BLOB_UPLOAD_UNKNOWN") {
    done_ = true;
    store_->Release(state_, true);
  }
  return info;
}

Result<BlobInfo> S3BlobStore::Assemble(UploadState& s, const oci::Digest& expected, bool verified) {
  const std::string temp = UploadKey(s.id);
  if (!s.assembled) {
    std::vector<s3::CompletedPart> parts = s.parts;
    std::sort(parts.begin(), parts.end(),
              [](const auto& a, const auto& b) { return a.part_number < b.part_number; });
    auto done = client_->CompleteMultipart(temp, s.s3_upload_id, parts);
    if (!done.ok()) {
      if (done.error().code != ErrorCode::kNotFound) return std::move(done).error();
      // NoSuchUpload: aborted under us, or a retried Complete whose first try went through.
      ATCR_ASSIGN_OR_RETURN(std::optional<s3::ObjectHead> head, client_->Head(temp));
      if (!head) return UploadUnknown(s.id);
    }
    Locked([&] { s.assembled = true; });
  }
  ATCR_ASSIGN_OR_RETURN(std::optional<s3::ObjectHead> head, client_->Head(temp));
  if (!head) return UploadUnknown(s.id);
  s.size = head->size;
  if (!verified) {
    ATCR_ASSIGN_OR_RETURN(oci::Digest actual,
                          HashObject(temp, head->size, expected.hash_algorithm()));
    if (actual != expected) {
      (void)client_->Delete(temp);
      return DigestMismatch(s.id, actual, expected, true);
    }
  }
  const std::string key = BlobKey(expected);
  ATCR_ASSIGN_OR_RETURN(std::optional<s3::ObjectHead> existing, client_->Head(key));
  if (!existing || existing->size != head->size) ATCR_TRY(CopyObject(temp, key, head->size));
  (void)client_->Delete(temp);  // a leftover is collected by CleanupUploads
  return BlobInfo{expected, head->size, UnixSeconds()};
}

Result<BlobInfo> S3BlobStore::CompletePartUpload(const std::string& upload_id,
                                                 const oci::Digest& expected,
                                                 std::vector<UploadPartInfo> parts) {
  if (!IsValidUploadId(upload_id)) return BadUploadId();
  ATCR_TRY(CheckStorable(expected));
  ATCR_TRY(FindS3Upload(upload_id));
  ATCR_ASSIGN_OR_RETURN(std::shared_ptr<UploadState> state, Acquire(upload_id));
  struct Releaser {
    S3BlobStore* store;
    std::shared_ptr<UploadState> state;
    bool finished = false;
    ~Releaser() { store->Release(state, finished); }
  } releaser{this, state};

  UploadState& s = *state;
  if (!s.assembled) {
    if (parts.empty()) {
      ATCR_ASSIGN_OR_RETURN(std::vector<s3::ListedPart> listed,
                            client_->ListParts(UploadKey(upload_id), s.s3_upload_id));
      for (const auto& p : listed) parts.push_back({p.part_number, p.etag});
    }
    if (parts.empty()) {
      return InvalidArgument("upload " + upload_id + " has no parts", "BLOB_UPLOAD_INVALID");
    }
    std::sort(parts.begin(), parts.end(),
              [](const auto& a, const auto& b) { return a.part_number < b.part_number; });
    s.parts.clear();
    for (size_t i = 0; i < parts.size(); ++i) {
      ATCR_TRY(CheckPartNumber(parts[i].part_number));
      if (i > 0 && parts[i].part_number == parts[i - 1].part_number) {
        return InvalidArgument("part " + std::to_string(parts[i].part_number) + " is listed twice",
                               "BLOB_UPLOAD_INVALID");
      }
      s.parts.push_back({parts[i].part_number, parts[i].etag});
    }
  }
  auto info = Assemble(s, expected, /*verified=*/false);
  if (info.ok() || info.error().wire == "DIGEST_INVALID" ||
      info.error().wire == "BLOB_UPLOAD_UNKNOWN") {
    releaser.finished = true;
  }
  return info;
}

Result<size_t> S3BlobStore::CleanupUploads(int64_t max_age_seconds) {
  const int64_t now = UnixSeconds();
  const int64_t cutoff = now - max_age_seconds;
  size_t removed = 0;
  std::unordered_map<std::string, bool> busy;  // ids this process used within max_age
  {
    std::lock_guard lock(mu_);
    for (auto it = uploads_.begin(); it != uploads_.end();) {
      const auto& s = *it->second;
      if (s.in_use || s.last_activity >= cutoff) {
        busy[it->first] = true;
        ++it;
        continue;
      }
      if (s.s3_upload_id.empty() && !s.assembled) ++removed;  // only ever in memory
      it = uploads_.erase(it);
    }
  }
  const std::string prefix = UploadsPrefix();
  ATCR_ASSIGN_OR_RETURN(std::vector<s3::ListedUpload> listed, client_->ListUploads(prefix));
  for (const auto& u : listed) {
    const std::string id = u.key.substr(prefix.size());
    if (!IsValidUploadId(id) || busy.contains(id) || u.initiated_unix >= cutoff) continue;
    // Initiated long ago, but maybe still receiving parts (from another process, or through
    // presigned URLs): the newest part decides.
    ATCR_ASSIGN_OR_RETURN(std::vector<s3::ListedPart> parts,
                          client_->ListParts(u.key, u.upload_id));
    int64_t newest = u.initiated_unix;
    for (const auto& p : parts) newest = std::max(newest, p.modified_unix);
    if (newest >= cutoff) continue;
    Status st = client_->AbortMultipart(u.key, u.upload_id);
    if (st.ok()) {
      ++removed;
    } else if (st.error().code != ErrorCode::kNotFound) {
      return std::move(st).error();
    }
  }
  // Objects assembled under uploads/ by a commit that did not finish (crash, failed copy).
  std::vector<std::string> stale;
  ATCR_TRY(client_->ListObjects(prefix, [&](const s3::ListedObject& o) -> Status {
    const std::string id = o.key.substr(prefix.size());
    if (IsValidUploadId(id) && !busy.contains(id) && o.modified_unix < cutoff)
      stale.push_back(o.key);
    return Ok();
  }));
  for (const auto& key : stale) {
    ATCR_TRY(client_->Delete(key));
    ++removed;
  }
  return removed;
}

}  // namespace

Result<std::unique_ptr<BlobStore>> CreateS3BlobStore(const S3BlobStoreOptions& options) {
  ATCR_ASSIGN_OR_RETURN(s3::Endpoint endpoint, s3::ParseEndpoint(options.endpoint));
  if (options.part_size < kMinPartSize) {
    return InvalidArgument("S3 part_size must be at least 5 MiB (the S3 minimum), not " +
                           std::to_string(options.part_size));
  }
  if (options.part_size > kMaxCopyPart)
    return InvalidArgument("S3 part_size must be at most 5 GiB");
  if (options.multipart_threshold > kMaxCopyPart) {
    return InvalidArgument("S3 multipart_threshold must be at most 5 GiB (the single PUT limit)");
  }
  if (options.max_parallel_parts < 1 || options.max_parallel_parts > 64) {
    return InvalidArgument("S3 max_parallel_parts must be 1..64");
  }
  if (options.read_chunk_bytes == 0 || options.read_chunk_bytes > 256 * 1024 * 1024) {
    return InvalidArgument("S3 read_chunk_bytes must be 1 byte..256 MiB");
  }
  if (options.presign_expiry_seconds < 1 || options.presign_expiry_seconds > 604800) {
    return InvalidArgument("S3 presign_expiry_seconds must be 1..604800 (7 days)");
  }
  if (!options.prefix.empty() && (options.prefix.front() == '/' || options.prefix.back() != '/')) {
    return InvalidArgument("S3 prefix must not start with '/' and must end with '/': '" +
                           options.prefix + "'");
  }
  s3::ClientConfig cfg;
  cfg.endpoint = std::move(endpoint);
  cfg.region = options.region;
  cfg.bucket = options.bucket;
  cfg.credentials = {options.access_key, options.secret_key, options.session_token};
  cfg.path_style = options.path_style;
  cfg.max_attempts = options.max_attempts;
  cfg.retry_base_delay = options.retry_base_delay;
  cfg.retry_max_delay = options.retry_max_delay;
  cfg.request_timeout = options.request_timeout;
  cfg.http.tls_ca_file = options.tls_ca_file;
  cfg.http.insecure_skip_verify = options.insecure_skip_verify;
  cfg.http.max_idle_per_host = options.max_idle_connections;
  cfg.http.max_response_bytes =
      std::max<uint64_t>(64 * 1024 * 1024, options.read_chunk_bytes + 1024 * 1024);
  ATCR_ASSIGN_OR_RETURN(std::unique_ptr<s3::Client> client, s3::Client::Create(std::move(cfg)));
  if (options.check_bucket) ATCR_TRY(client->HeadBucket());
  return std::unique_ptr<BlobStore>(new S3BlobStore(options, std::move(client)));
}

}  // namespace atcr::storage
