#include "atcr/storage/fs_blob_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "atcr/base/hash.h"
#include "atcr/base/time.h"

namespace atcr::storage {
namespace {

namespace fs = std::filesystem;

constexpr size_t kUploadIdLength = 32;  // RandomId(): 128 bits as lowercase hex
// In-memory hash checkpoints kept for uploads between requests; beyond this a resumed upload
// re-hashes its data from disk instead (correct, just slower).
constexpr size_t kMaxCheckpoints = 4096;
constexpr size_t kReadChunk = 1 << 20;

bool IsValidUploadId(std::string_view id) {
  return id.size() == kUploadIdLength && IsLowerHex(id);
}

Error UploadUnknown(std::string_view id) {
  return NotFound("blob upload " + std::string(id) + " is unknown, finished or expired",
                  "BLOB_UPLOAD_UNKNOWN");
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Status FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("open directory " + dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync directory " + dir, errno);
  return Ok();
}

// mkdir that tolerates an existing directory; `created` says whether this call made it.
Status MakeDir(const std::string& path, bool* created = nullptr) {
  if (created) *created = false;
  if (::mkdir(path.c_str(), 0755) == 0) {
    if (created) *created = true;
    return Ok();
  }
  if (errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Ok();
    return Internal(path + " exists and is not a directory");
  }
  return ErrnoError("mkdir " + path, errno);
}

Status PwriteAll(int fd, ByteSpan data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write upload data", errno);
    }
    done += static_cast<size_t>(n);
  }
  return Ok();
}

// Feeds bytes [0, size) of fd to `hasher`.
Status HashFile(int fd, uint64_t size, Hasher& hasher) {
  Bytes buf(static_cast<size_t>(std::min<uint64_t>(size, kReadChunk)));
  uint64_t off = 0;
  while (off < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(size - off, buf.size()));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read upload data", errno);
    }
    if (n == 0) return Error(ErrorCode::kDataLoss, "upload data shrank while hashing");
    hasher.Update(ByteSpan(buf.data(), static_cast<size_t>(n)));
    off += static_cast<uint64_t>(n);
  }
  return Ok();
}

struct HashCheckpoint {
  uint64_t size = 0;
  Hasher hasher;
};

// State shared by the store and its writers, so a writer may outlive the store object.
struct StoreState {
  std::string root;
  std::string blobs_dir;
  std::string uploads_dir;
  bool fsync = true;

  std::mutex mu;
  std::unordered_map<std::string, HashCheckpoint> checkpoints;  // guarded by mu

  std::string UploadDir(std::string_view id) const { return uploads_dir + "/" + std::string(id); }
  std::string UploadData(std::string_view id) const { return UploadDir(id) + "/data"; }
  std::string BlobDir(const oci::Digest& d) const {
    return blobs_dir + "/" + std::string(d.algorithm()) + "/" + std::string(d.encoded().substr(0, 2));
  }
  std::string BlobPath(const oci::Digest& d) const {
    return BlobDir(d) + "/" + std::string(d.encoded());
  }

  void SaveCheckpoint(const std::string& id, uint64_t size, Hasher&& hasher) {
    std::lock_guard lock(mu);
    if (checkpoints.size() >= kMaxCheckpoints && !checkpoints.contains(id)) return;
    checkpoints.insert_or_assign(id, HashCheckpoint{size, std::move(hasher)});
  }
  std::optional<HashCheckpoint> TakeCheckpoint(const std::string& id) {
    std::lock_guard lock(mu);
    auto it = checkpoints.find(id);
    if (it == checkpoints.end()) return std::nullopt;
    HashCheckpoint cp = std::move(it->second);
    checkpoints.erase(it);
    return cp;
  }
  void DropCheckpoint(const std::string& id) {
    std::lock_guard lock(mu);
    checkpoints.erase(id);
  }

  // Removes uploads/<id> and everything in it. ENOENT is not an error.
  Status RemoveUpload(const std::string& id) {
    DropCheckpoint(id);
    std::error_code ec;
    fs::remove_all(UploadDir(id), ec);
    if (ec) return Internal("remove upload " + id + ": " + ec.message());
    return Ok();
  }
};

// Digests the store can hold: parsed, and an algorithm it can verify (which also makes the
// path components safe: [a-z0-9] algorithm, lowercase hex encoded part).
Status CheckStorable(const oci::Digest& d) {
  if (d.empty()) return InvalidArgument("empty digest", "DIGEST_INVALID");
  if (!d.supported()) {
    return InvalidArgument("unsupported digest algorithm \"" + std::string(d.algorithm()) +
                               "\" (supported: sha256, sha512)",
                           "DIGEST_INVALID");
  }
  return Ok();
}

class FsUploadWriter final : public UploadWriter {
 public:
  FsUploadWriter(std::shared_ptr<StoreState> state, std::string id, Fd fd, uint64_t size,
                 Hasher hasher)
      : state_(std::move(state)),
        id_(std::move(id)),
        fd_(std::move(fd)),
        size_(size),
        hasher_(std::move(hasher)) {}

  ~FsUploadWriter() override {
    // Hand the running digest back so the next request on this upload need not re-read it.
    // Saved before the fd (and its lock) is released, so the next opener always sees it.
    // An upload aborted under us (no links left) is not worth remembering.
    struct stat st;
    if (!done_ && ::fstat(fd_.get(), &st) == 0 && st.st_nlink > 0) {
      state_->SaveCheckpoint(id_, size_, std::move(hasher_));
    }
  }

  const std::string& id() const override { return id_; }
  uint64_t size() const override { return size_; }

  Status Append(ByteSpan data) override {
    if (done_) return UploadUnknown(id_);
    if (data.empty()) return Ok();
    Status st = PwriteAll(fd_.get(), data, size_);
    if (!st.ok()) {
      // Keep file and digest in step: drop whatever part of the chunk made it to disk.
      (void)::ftruncate(fd_.get(), static_cast<off_t>(size_));
      return st;
    }
    hasher_.Update(data);
    size_ += data.size();
    return Ok();
  }

  Result<BlobInfo> Commit(const oci::Digest& expected) override {
    if (done_) return UploadUnknown(id_);
    ATCR_TRY(CheckStorable(expected));

    oci::Digest actual;
    if (expected.hash_algorithm() == HashAlgorithm::kSha256) {
      Hasher copy = hasher_;  // the upload stays usable if the digest does not match
      actual = oci::Digest::FromHash(HashAlgorithm::kSha256, copy.Finish());
    } else {
      Hasher h(expected.hash_algorithm());
      ATCR_TRY(HashFile(fd_.get(), size_, h));
      actual = oci::Digest::FromHash(expected.hash_algorithm(), h.Finish());
    }
    if (actual != expected) {
      return InvalidArgument("upload " + id_ + " has digest " + actual.str() + ", not " +
                                 expected.str(),
                             "DIGEST_INVALID");
    }

    const std::string target = state_->BlobPath(expected);
    struct stat st;
    if (::stat(target.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<uint64_t>(st.st_size) == size_) {
      // Already stored (content-addressed, so identical): nothing to move.
      return Finish(expected, st.st_mtime);
    }

    ATCR_TRY(EnsureBlobDir(expected));
    if (state_->fsync && ::fsync(fd_.get()) != 0) {
      return ErrnoError("fsync upload " + id_, errno);
    }
    if (::fchmod(fd_.get(), 0444) != 0) return ErrnoError("chmod upload " + id_, errno);
    // rename() replaces atomically, so concurrent commits of the same digest each install a
    // complete, identical file and readers never see a partial one.
    if (::rename(state_->UploadData(id_).c_str(), target.c_str()) != 0) {
      if (errno == ENOENT) {
        done_ = true;
        return UploadUnknown(id_);  // aborted or expired under us
      }
      return ErrnoError("move upload " + id_ + " to " + target, errno);
    }
    if (state_->fsync) ATCR_TRY(FsyncDir(state_->BlobDir(expected)));
    if (::fstat(fd_.get(), &st) != 0) return ErrnoError("stat committed blob", errno);
    return Finish(expected, st.st_mtime);
  }

 private:
  // Creates blobs/<alg>/<xx>; a directory made here is fsynced into its parent so the blob's
  // path survives a crash once the rename is acknowledged.
  Status EnsureBlobDir(const oci::Digest& d) {
    const std::string alg_dir = state_->blobs_dir + "/" + std::string(d.algorithm());
    bool created = false;
    ATCR_TRY(MakeDir(alg_dir, &created));
    if (created && state_->fsync) ATCR_TRY(FsyncDir(state_->blobs_dir));
    ATCR_TRY(MakeDir(state_->BlobDir(d), &created));
    if (created && state_->fsync) ATCR_TRY(FsyncDir(alg_dir));
    return Ok();
  }

  Result<BlobInfo> Finish(const oci::Digest& digest, int64_t mtime) {
    done_ = true;
    (void)state_->RemoveUpload(id_);  // leftovers are collected by CleanupUploads
    return BlobInfo{digest, size_, mtime};
  }

  std::shared_ptr<StoreState> state_;
  std::string id_;
  Fd fd_;
  uint64_t size_;
  Hasher hasher_;
  bool done_ = false;
};

class FsBlobStore final : public BlobStore {
 public:
  explicit FsBlobStore(std::shared_ptr<StoreState> state) : state_(std::move(state)) {}

  Result<BlobInfo> Stat(const oci::Digest& digest) override {
    ATCR_TRY(CheckStorable(digest));
    struct stat st;
    if (::stat(state_->BlobPath(digest).c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return BlobUnknown(digest);
      return ErrnoError("stat blob " + digest.str(), errno);
    }
    if (!S_ISREG(st.st_mode)) return Internal("blob " + digest.str() + " is not a regular file");
    return BlobInfo{digest, static_cast<uint64_t>(st.st_size), st.st_mtime};
  }

  Result<BlobRead> Open(const oci::Digest& digest) override {
    ATCR_TRY(CheckStorable(digest));
    Fd fd(::open(state_->BlobPath(digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return BlobUnknown(digest);
      return ErrnoError("open blob " + digest.str(), errno);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat blob " + digest.str(), errno);
    if (!S_ISREG(st.st_mode)) return Internal("blob " + digest.str() + " is not a regular file");
    BlobRead r;
    r.size = static_cast<uint64_t>(st.st_size);
    r.fd = fd.Release();
    return r;
  }

  Status Delete(const oci::Digest& digest) override {
    ATCR_TRY(CheckStorable(digest));
    if (::unlink(state_->BlobPath(digest).c_str()) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return BlobUnknown(digest);
      return ErrnoError("delete blob " + digest.str(), errno);
    }
    if (state_->fsync) ATCR_TRY(FsyncDir(state_->BlobDir(digest)));
    return Ok();
  }

  Result<std::vector<BlobInfo>> List() override {
    std::vector<BlobInfo> out;
    for (std::string_view alg : {"sha256", "sha512"}) {
      const fs::path alg_dir = fs::path(state_->blobs_dir) / alg;
      std::error_code ec;
      if (!fs::exists(alg_dir, ec)) continue;
      for (fs::directory_iterator prefix(alg_dir, ec), end; !ec && prefix != end;
           prefix.increment(ec)) {
        const std::string two = prefix->path().filename().string();
        std::error_code ec2;
        for (fs::directory_iterator f(prefix->path(), ec2); !ec2 && f != end; f.increment(ec2)) {
          const std::string name = f->path().filename().string();
          // Anything that is not a well-formed blob name in the right place is not a blob.
          auto d = oci::Digest::Parse(std::string(alg) + ":" + name);
          if (!d.ok() || name.compare(0, 2, two) != 0 || two.size() != 2) continue;
          struct stat st;
          if (::stat(f->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
          out.push_back(BlobInfo{*d, static_cast<uint64_t>(st.st_size), st.st_mtime});
        }
        if (ec2) return Internal("list " + prefix->path().string() + ": " + ec2.message());
      }
      if (ec) return Internal("list " + alg_dir.string() + ": " + ec.message());
    }
    return out;
  }

  Result<std::unique_ptr<UploadWriter>> CreateUpload() override {
    std::string id;
    for (int attempt = 0;; ++attempt) {
      id = RandomId();
      if (::mkdir(state_->UploadDir(id).c_str(), 0755) == 0) break;
      if (errno != EEXIST || attempt >= 3) return ErrnoError("create upload directory", errno);
    }
    const std::string started = NowRfc3339() + "\n";
    {
      Fd f(::open((state_->UploadDir(id) + "/startedat").c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (f.get() < 0) return ErrnoError("create upload " + id, errno);
      ATCR_TRY(PwriteAll(f.get(), AsBytes(started), 0));
    }
    Fd fd(::open(state_->UploadData(id).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) return ErrnoError("create upload " + id, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return ErrnoError("lock upload " + id, errno);
    return std::unique_ptr<UploadWriter>(
        new FsUploadWriter(state_, id, std::move(fd), 0, Hasher(HashAlgorithm::kSha256)));
  }

  Result<std::unique_ptr<UploadWriter>> OpenUpload(const std::string& id) override {
    // Ids come from clients (URLs); only our own format is ever turned into a path.
    if (!IsValidUploadId(id)) {
      return NotFound("blob upload id is not valid (want 32 lowercase hex characters)",
                      "BLOB_UPLOAD_UNKNOWN");
    }
    Fd fd(::open(state_->UploadData(id).c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ENOENT) return UploadUnknown(id);
      return ErrnoError("open upload " + id, errno);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Error(ErrorCode::kFailedPrecondition,
                     "blob upload " + id + " is in use by another request", "BLOB_UPLOAD_INVALID");
      }
      return ErrnoError("lock upload " + id, errno);
    }
    // Between our open() and the lock, another writer may have committed this very inode
    // into blobs/ (or an abort removed it). Only the lock holder renames, so once we hold it,
    // the path still naming our inode proves it is still the upload.
    struct stat st;
    struct stat path_st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat upload " + id, errno);
    if (::stat(state_->UploadData(id).c_str(), &path_st) != 0 || path_st.st_ino != st.st_ino ||
        path_st.st_dev != st.st_dev) {
      return UploadUnknown(id);
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);

    std::optional<HashCheckpoint> cp = state_->TakeCheckpoint(id);
    Hasher hasher(HashAlgorithm::kSha256);
    if (cp && cp->size == size) {
      hasher = std::move(cp->hasher);
    } else {
      // First open since a restart (or the checkpoint was evicted): hash what is there, once.
      ATCR_TRY(HashFile(fd.get(), size, hasher));
    }
    return std::unique_ptr<UploadWriter>(
        new FsUploadWriter(state_, id, std::move(fd), size, std::move(hasher)));
  }

  Status AbortUpload(const std::string& id) override {
    if (!IsValidUploadId(id)) {
      return NotFound("blob upload id is not valid (want 32 lowercase hex characters)",
                      "BLOB_UPLOAD_UNKNOWN");
    }
    struct stat st;
    if (::stat(state_->UploadDir(id).c_str(), &st) != 0) {
      if (errno == ENOENT) return UploadUnknown(id);
      return ErrnoError("stat upload " + id, errno);
    }
    return state_->RemoveUpload(id);
  }

  Result<size_t> CleanupUploads(int64_t max_age_seconds) override {
    const int64_t now = UnixSeconds();
    size_t removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(state_->uploads_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string id = it->path().filename().string();
      if (!IsValidUploadId(id)) continue;  // not ours; leave it alone
      // Last touched = the data file's mtime (every Append moves it); an upload that crashed
      // before its data file existed falls back to the directory's.
      struct stat st;
      Fd data(::open(state_->UploadData(id).c_str(), O_RDONLY | O_CLOEXEC));
      int rc = data.get() >= 0 ? ::fstat(data.get(), &st)
                               : ::stat(state_->UploadDir(id).c_str(), &st);
      if (rc != 0) continue;
      if (now - static_cast<int64_t>(st.st_mtime) <= max_age_seconds) continue;
      // An upload a writer holds open is in use, however old its last byte is.
      if (data.get() >= 0 && ::flock(data.get(), LOCK_EX | LOCK_NB) != 0) continue;
      if (state_->RemoveUpload(id).ok()) ++removed;
    }
    if (ec) return Internal("list uploads: " + ec.message());
    return removed;
  }

 private:
  static Error BlobUnknown(const oci::Digest& d) {
    return NotFound("blob " + d.str() + " is unknown", "BLOB_UNKNOWN");
  }

  std::shared_ptr<StoreState> state_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> CreateFsBlobStore(const FsBlobStoreOptions& options) {
  if (options.root.empty()) return InvalidArgument("filesystem blob store: root is empty");
  auto state = std::make_shared<StoreState>();
  state->root = options.root;
  while (state->root.size() > 1 && state->root.back() == '/') state->root.pop_back();
  state->blobs_dir = state->root + "/blobs";
  state->uploads_dir = state->root + "/uploads";
  state->fsync = options.fsync;
  std::error_code ec;
  fs::create_directories(state->root, ec);
  if (ec) return Internal("create " + state->root + ": " + ec.message());
  ATCR_TRY(MakeDir(state->blobs_dir));
  ATCR_TRY(MakeDir(state->uploads_dir));
  auto store = std::make_unique<FsBlobStore>(state);
  if (options.stale_upload_seconds >= 0) {
    ATCR_TRY(store->CleanupUploads(options.stale_upload_seconds));
  }
  return std::unique_ptr<BlobStore>(std::move(store));
}

}  // namespace atcr::storage
