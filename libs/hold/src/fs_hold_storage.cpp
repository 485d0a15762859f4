// Filesystem HoldStorage. Layout under root:
//   blobs/<alg>/<xx>/<encoded>           committed blobs (storage::FsBlobStore's layout)
//   multipart/<id>/meta                  "<digest>\n<started unix>\n"; mtime = last part write
//   multipart/<id>/p<00001>-<etag>       one file per part version that won
// A part streams into p<n>-<etag>.tmp and is renamed into place when complete, so a broken
// part never replaces a good one. Parts that arrive in order are also fed to a running
// SHA-256 ("the chain", kept in memory with one state per part so a re-sent part rolls it
// back); when the completed part list is exactly the chain, the digest is known without
// reading the data again, and a one-part blob is renamed into blobs/ without a copy.
// A part is received, hashed and written as a pipeline (StreamPart), with writeback started
// as it goes, so completeUpload's fsync finds little left to write.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <unordered_map>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/hold/hold_storage.h"
#include "atcr/storage/fs_blob_store.h"
#include "internal/files.h"
#include "internal/util.h"

namespace atcr::hold {
namespace {

namespace fs = std::filesystem;
constexpr size_t kCopyBuffer = 256 * 1024;
// Receive, hash and write overlap in steps of this size (two buffers per part in flight).
constexpr size_t kPipeChunk = 1024 * 1024;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

Status WriteAll(int fd, ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write part", errno);
    }
    done += static_cast<size_t>(n);
  }
  return Ok();
}

// Reads the body into `buf` until it is full or the body ends; returns the bytes read.
net::Task<Result<size_t>> Fill(net::BodyReader& body, std::span<uint8_t> buf) {
  size_t got = 0;
  while (got < buf.size()) {
    auto n = co_await body.Read(buf.subspan(got));
    if (!n.ok()) co_return std::move(n).error();
    if (*n == 0) break;
    got += *n;
  }
  co_return got;
}

// One step of StreamPart's pipeline, as void coroutines so they can run side by side.
net::Task<void> FillInto(net::BodyReader& body, std::span<uint8_t> buf, Result<size_t>& out) {
  out = co_await Fill(body, buf);
}

net::Task<void> WriteOut(int fd, ByteSpan chunk, uint64_t offset, bool writeback, Status& out) {
  out = co_await internal::Blocking([&]() -> Status {
    ATCR_TRY(WriteAll(fd, chunk));
    // Start writeback of what was just written (without waiting for it), so the fsync at
    // completion finds the part already on its way to disk instead of all of it dirty.
    if (writeback) {
      ::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(chunk.size()),
                        SYNC_FILE_RANGE_WRITE);
    }
    return Ok();
  });
}

net::Task<void> HashOn(Hasher& hasher, ByteSpan chunk) {
  co_await internal::Blocking([&] {
    hasher.Update(chunk);
    return true;
  });
}

Error UploadNotFound(const std::string& id) {
  return NotFound("no upload " + id + " on this hold", "UploadNotFound");
}

bool IsUploadId(std::string_view id) { return id.size() == 32 && IsLowerHex(id); }

std::string PartPrefix(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "p%05d-", n);
  return buf;
}

// In-memory state of one upload: the ordered-hash chain and the current etag per part.
struct UploadState {
  std::mutex mu;
  std::vector<Hasher> chain = std::vector<Hasher>(1);  // chain[k]: SHA-256 after parts 1..k
  std::vector<std::string> chain_etags;
  bool chain_busy = false;
  bool completing = false;
  std::map<int, std::string> etags;  // part -> current etag, as far as this process knows
};

class FsHoldStorage final : public HoldStorage {
 public:
  FsHoldStorage(FsHoldStorageOptions options, std::unique_ptr<storage::BlobStore> blobs)
      : options_(std::move(options)),
        blobs_(std::move(blobs)),
        multipart_dir_(options_.root + "/multipart"),
        blobs_dir_(options_.root + "/blobs") {}

  std::string_view driver() const override { return "filesystem"; }
  bool can_presign() const override { return false; }

  net::Task<Result<StoredBlob>> Stat(oci::Digest digest) override {
    co_return co_await internal::Blocking([&] { return blobs_->Stat(digest); });
  }

  net::Task<Result<storage::BlobRead>> Open(oci::Digest digest) override {
    co_return co_await internal::Blocking([&] { return blobs_->Open(digest); });
  }

  Result<PresignedRequest> PresignGet(const oci::Digest&, int64_t) override {
    return Error(ErrorCode::kUnimplemented, "the filesystem driver cannot presign");
  }

  net::Task<Status> Delete(oci::Digest digest) override {
    co_return co_await internal::Blocking([&] { return blobs_->Delete(digest); });
  }

  net::Task<Result<std::vector<StoredBlob>>> List() override {
    co_return co_await internal::Blocking([&] { return blobs_->List(); });
  }

  net::Task<Result<std::string>> StartUpload(oci::Digest digest) override {
    if (!digest.supported()) {
      co_return InvalidArgument("unsupported digest " + digest.str(), "InvalidDigest");
    }
    std::string id = RandomId();
    co_return co_await internal::Blocking([&]() -> Result<std::string> {
      std::string dir = UploadDir(id);
      if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("mkdir " + dir, errno);
      std::string meta = digest.str() + "\n" + std::to_string(UnixSeconds()) + "\n";
      Status st = internal::WriteFileAtomic(dir + "/meta", meta, 0600);
      if (!st.ok()) {
        std::error_code ec;
        fs::remove_all(dir, ec);
        return std::move(st).error();
      }
      return id;
    });
  }

  Result<PresignedRequest> PresignPart(const std::string&, int, int64_t) override {
    return Error(ErrorCode::kUnimplemented, "the filesystem driver cannot presign");
  }

  net::Task<Result<std::string>> WritePart(std::string upload_id, int part,
                                           net::BodyReader& body) override {
    if (!IsUploadId(upload_id)) co_return UploadNotFound(upload_id);
    if (part < 1 || part > kMaxPartNumber) {
      co_return InvalidArgument("part number must be 1.." + std::to_string(kMaxPartNumber),
                                "InvalidPartNumber");
    }
    const std::string dir = UploadDir(upload_id);
    struct stat st {};
    if (::stat((dir + "/meta").c_str(), &st) != 0) co_return UploadNotFound(upload_id);
    ::utimensat(AT_FDCWD, (dir + "/meta").c_str(), nullptr, 0);  // active: not stale
    std::shared_ptr<UploadState> state = StateOf(upload_id);

    // Join the chain when this part is the next one in order (or re-sends a chained part).
    std::optional<Hasher> chain_hasher;
    {
      std::lock_guard lock(state->mu);
      if (state->completing) {
        co_return Error(ErrorCode::kFailedPrecondition,
                        "upload " + upload_id + " is being completed", "InvalidRequest");
      }
      const size_t chained = state->chain.size() - 1;
      if (!state->chain_busy && static_cast<size_t>(part) <= chained + 1) {
        state->chain.resize(static_cast<size_t>(part));
        state->chain_etags.resize(static_cast<size_t>(part) - 1);
        chain_hasher = state->chain.back();
        state->chain_busy = true;
      }
    }
    struct ChainRelease {
      std::shared_ptr<UploadState> s;
      bool active;
      ~ChainRelease() {
        if (!active) return;
        std::lock_guard lock(s->mu);
        s->chain_busy = false;
      }
    } release{state, chain_hasher.has_value()};

    const std::string etag = RandomId().substr(0, 20);
    const std::string final_path = dir + "/" + PartPrefix(part) + etag;
    const std::string tmp_path = final_path + ".tmp";
    Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) co_return ErrnoError("create " + tmp_path, errno);

    Hasher* hasher = chain_hasher ? &*chain_hasher : nullptr;
    Status failure = co_await StreamPart(body, fd.get(), hasher);
    fd.reset();
    if (!failure.ok()) {
      ::unlink(tmp_path.c_str());
      co_return std::move(failure).error();
    }

    std::string replaced;
    {
      std::lock_guard lock(state->mu);
      if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp_path.c_str());
        if (err == ENOENT) co_return UploadNotFound(upload_id);  // aborted meanwhile
        co_return ErrnoError("rename part", err);
      }
      auto it = state->etags.find(part);
      if (it != state->etags.end()) replaced = it->second;
      state->etags[part] = etag;
      if (chain_hasher && state->chain.size() == static_cast<size_t>(part)) {
        state->chain.push_back(std::move(*chain_hasher));
        state->chain_etags.push_back(etag);
      }
      if (!replaced.empty()) {
        ::unlink((dir + "/" + PartPrefix(part) + replaced).c_str());
      } else {
        RemoveOtherVersions(dir, part, etag);
      }
    }
    ::utimensat(AT_FDCWD, (dir + "/meta").c_str(), nullptr, 0);
    co_return etag;
  }

  // Streams the body into fd as a pipeline of kPipeChunk buffers: while chunk k is written
  // (and hashed, when `hasher`) on the blocking pool, chunk k+1 is received on the connection,
  // so receiving, hashing and writing overlap instead of adding up on one thread.
  net::Task<Status> StreamPart(net::BodyReader& body, int fd, Hasher* hasher) {
    using namespace boost::asio::experimental::awaitable_operators;
    std::array<std::vector<uint8_t>, 2> bufs{std::vector<uint8_t>(kPipeChunk),
                                             std::vector<uint8_t>(kPipeChunk)};
    auto first = co_await Fill(body, std::span<uint8_t>(bufs[0]));
    if (!first.ok()) co_return std::move(first).error();
    size_t len = *first;
    if (len < kPipeChunk) {
      // The whole part fit in one buffer: nothing to overlap, one trip to the pool.
      ByteSpan chunk(bufs[0].data(), len);
      co_return co_await internal::Blocking([&]() -> Status {
        if (hasher != nullptr) hasher->Update(chunk);
        return WriteAll(fd, chunk);
      });
    }
    uint64_t offset = 0;
    for (size_t cur = 0; len > 0; cur ^= 1) {
      ByteSpan chunk(bufs[cur].data(), len);
      Result<size_t> next = size_t{0};
      Status wrote;
      auto fill = FillInto(body, std::span<uint8_t>(bufs[cur ^ 1]), next);
      auto write = WriteOut(fd, chunk, offset, options_.fsync, wrote);
      if (hasher != nullptr) {
        auto hash = HashOn(*hasher, chunk);
        auto all = std::move(fill) && std::move(write) && std::move(hash);
        co_await std::move(all);
      } else {
        auto both = std::move(fill) && std::move(write);
        co_await std::move(both);
      }
      if (!wrote.ok()) co_return wrote;
      if (!next.ok()) co_return std::move(next).error();
      offset += len;
      len = *next;
    }
    co_return Ok();
  }

  net::Task<Result<StoredBlob>> CompleteUpload(std::string upload_id, oci::Digest digest,
                                               std::vector<PartRef> parts) override {
    if (!IsUploadId(upload_id)) co_return UploadNotFound(upload_id);
    if (!digest.supported()) {
      co_return InvalidArgument("unsupported digest " + digest.str(), "InvalidDigest");
    }
    if (parts.empty()) co_return InvalidArgument("parts must not be empty");
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].part_number < 1 || parts[i].part_number > kMaxPartNumber) {
        co_return InvalidArgument("part number out of range", "InvalidPartNumber");
      }
      if (i > 0 && parts[i].part_number <= parts[i - 1].part_number) {
        co_return InvalidArgument("parts must be listed in ascending order of partNumber",
                                  "InvalidPartNumber");
      }
      if (parts[i].etag.empty() || parts[i].etag.size() > 64 ||
          !IsLowerHex(parts[i].etag)) {
        co_return InvalidArgument("part " + std::to_string(parts[i].part_number) +
                                  " has a malformed etag", "InvalidPart");
      }
    }
    std::shared_ptr<UploadState> state = StateOf(upload_id);
    std::optional<Hasher> known;
    {
      std::lock_guard lock(state->mu);
      if (state->completing || state->chain_busy) {
        co_return Error(ErrorCode::kFailedPrecondition,
                        "upload " + upload_id + " has a part or completion in progress",
                        "InvalidRequest");
      }
      state->completing = true;
      bool exact = parts.size() == state->chain_etags.size();
      for (size_t i = 0; exact && i < parts.size(); ++i) {
        exact = parts[i].part_number == static_cast<int>(i + 1) &&
                parts[i].etag == state->chain_etags[i];
      }
      if (exact && digest.hash_algorithm() == HashAlgorithm::kSha256) {
        known = state->chain[parts.size()];
      }
    }
    auto result = co_await internal::Blocking(
        [&]() { return CompleteBlocking(upload_id, digest, parts, std::move(known)); });
    {
      std::lock_guard lock(state->mu);
      state->completing = false;
    }
    if (result.ok() || result.error().wire == "DigestMismatch") ForgetState(upload_id);
    co_return result;
  }

  net::Task<Status> AbortUpload(std::string upload_id) override {
    if (!IsUploadId(upload_id)) co_return UploadNotFound(upload_id);
    co_return co_await internal::Blocking([&]() -> Status {
      std::string dir = UploadDir(upload_id);
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0) return UploadNotFound(upload_id);
      std::error_code ec;
      fs::remove_all(dir, ec);
      ForgetState(upload_id);
      if (ec) return Internal("remove upload " + upload_id + ": " + ec.message());
      return Ok();
    });
  }

  net::Task<Result<size_t>> CleanupUploads(int64_t max_age_seconds) override {
    co_return co_await internal::Blocking([&]() -> Result<size_t> {
      const int64_t now = UnixSeconds();
      size_t removed = 0;
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(multipart_dir_, ec)) {
        std::string id = entry.path().filename().string();
        if (!IsUploadId(id)) continue;
        struct stat st {};
        // meta's mtime is the last part write; a directory without meta (crash during
        // StartUpload) is as old as the directory.
        if (::stat((entry.path().string() + "/meta").c_str(), &st) != 0 &&
            ::stat(entry.path().c_str(), &st) != 0) {
          continue;
        }
        if (now - st.st_mtime <= max_age_seconds) continue;
        {
          std::shared_ptr<UploadState> state = StateOf(id);
          std::lock_guard lock(state->mu);
          if (state->chain_busy || state->completing) continue;
        }
        std::error_code rm;
        fs::remove_all(entry.path(), rm);
        ForgetState(id);
        if (!rm) ++removed;
      }
      if (ec) return Internal("list " + multipart_dir_ + ": " + ec.message());
      return removed;
    });
  }

 private:
  std::string UploadDir(const std::string& id) const { return multipart_dir_ + "/" + id; }

  std::shared_ptr<UploadState> StateOf(const std::string& id) {
    std::lock_guard lock(mu_);
    auto& s = states_[id];
    if (!s) s = std::make_shared<UploadState>();
    return s;
  }
  void ForgetState(const std::string& id) {
    std::lock_guard lock(mu_);
    states_.erase(id);
  }

  // After a restart the in-memory etag of a part is unknown: scan for older versions.
  static void RemoveOtherVersions(const std::string& dir, int part, const std::string& keep) {
    const std::string prefix = PartPrefix(part);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name.starts_with(prefix) && name != prefix + keep && !name.ends_with(".tmp")) {
        ::unlink(entry.path().c_str());
      }
    }
  }

  Status EnsureBlobDir(const oci::Digest& d) {
    std::string alg_dir = blobs_dir_ + "/" + std::string(d.algorithm());
    std::string sub = alg_dir + "/" + std::string(d.encoded().substr(0, 2));
    struct stat st {};
    if (::stat(sub.c_str(), &st) == 0) return Ok();
    ATCR_TRY(internal::EnsureDir(sub, 0755));
    if (options_.fsync) {
      ATCR_TRY(internal::FsyncDir(alg_dir));
      ATCR_TRY(internal::FsyncDir(blobs_dir_));
    }
    return Ok();
  }

  Result<StoredBlob> CompleteBlocking(const std::string& id, const oci::Digest& digest,
                                      const std::vector<PartRef>& parts,
                                      std::optional<Hasher> known) {
    const std::string dir = UploadDir(id);
    auto meta = internal::ReadSmallFile(dir + "/meta", 1024);
    if (!meta.ok()) return UploadNotFound(id);
    const std::string started_for = meta->substr(0, meta->find('\n'));

    std::vector<std::string> paths;
    uint64_t total = 0;
    for (const PartRef& p : parts) {
      std::string path = dir + "/" + PartPrefix(p.part_number) + p.etag;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        return InvalidArgument("part " + std::to_string(p.part_number) + " with etag " + p.etag +
                                   " was not uploaded (or was replaced)",
                               "InvalidPart");
      }
      total += static_cast<uint64_t>(st.st_size);
      paths.push_back(std::move(path));
    }

    auto discard = [&](const std::string& why) -> Error {
      std::error_code ec;
      fs::remove_all(dir, ec);
      return InvalidArgument(why, "DigestMismatch");
    };
    if (started_for != digest.str()) {
      return discard("upload " + id + " was started for " + started_for + ", not " +
                     digest.str() + "; the upload was discarded");
    }

    oci::Digest actual;
    if (known) {
      actual = oci::Digest::FromHash(HashAlgorithm::kSha256, known->Finish());
    } else {
      Hasher h(digest.hash_algorithm());
      std::vector<uint8_t> buf(kCopyBuffer);
      for (const std::string& path : paths) {
        Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0) return ErrnoError("open " + path, errno);
        for (;;) {
          ssize_t n = ::read(fd.get(), buf.data(), buf.size());
          if (n < 0) {
            if (errno == EINTR) continue;
            return ErrnoError("read " + path, errno);
          }
          if (n == 0) break;
          h.Update(ByteSpan(buf.data(), static_cast<size_t>(n)));
        }
      }
      actual = oci::Digest::FromHash(digest.hash_algorithm(), h.Finish());
    }
    if (actual != digest) {
      return discard("the uploaded bytes hash to " + actual.str() + ", not " + digest.str() +
                     "; the upload was discarded");
    }

    const std::string target = blobs_dir_ + "/" + std::string(digest.algorithm()) + "/" +
                               std::string(digest.encoded().substr(0, 2)) + "/" +
                               std::string(digest.encoded());
    struct stat existing {};
    if (::stat(target.c_str(), &existing) == 0 && static_cast<uint64_t>(existing.st_size) == total) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      return StoredBlob{digest, total, existing.st_mtime};
    }

    std::string source = paths.front();
    if (paths.size() > 1) {
      source = dir + "/assembled";
      Fd out(::open(source.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (out.get() < 0) return ErrnoError("create " + source, errno);
      for (const std::string& path : paths) ATCR_TRY(AppendFile(out.get(), path));
    }
    Fd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoError("open " + source, errno);
    if (options_.fsync && ::fsync(fd.get()) != 0) return ErrnoError("fsync " + source, errno);
    if (::fchmod(fd.get(), 0444) != 0) return ErrnoError("chmod " + source, errno);
    ATCR_TRY(EnsureBlobDir(digest));
    if (::rename(source.c_str(), target.c_str()) != 0) {
      return ErrnoError("move " + source + " to " + target, errno);
    }
    if (options_.fsync) {
      ATCR_TRY(internal::FsyncDir(target.substr(0, target.rfind('/'))));
    }
    struct stat st {};
    int64_t mtime = ::fstat(fd.get(), &st) == 0 ? st.st_mtime : UnixSeconds();
    std::error_code ec;
    fs::remove_all(dir, ec);
    return StoredBlob{digest, total, mtime};
  }

  // Appends a whole file to `out`, in the kernel when it can (copy_file_range).
  static Status AppendFile(int out, const std::string& path) {
    Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) return ErrnoError("open " + path, errno);
    for (;;) {
      ssize_t n = ::copy_file_range(in.get(), nullptr, out, nullptr, 1 << 30, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) break;
        return ErrnoError("copy " + path, errno);
      }
      if (n == 0) return Ok();
    }
    std::vector<uint8_t> buf(kCopyBuffer);
    for (;;) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("read " + path, errno);
      }
      if (n == 0) return Ok();
      ATCR_TRY(WriteAll(out, ByteSpan(buf.data(), static_cast<size_t>(n))));
    }
  }

  FsHoldStorageOptions options_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::string multipart_dir_;
  std::string blobs_dir_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<UploadState>> states_;
};

}  // namespace

Result<std::shared_ptr<HoldStorage>> CreateFsHoldStorage(const FsHoldStorageOptions& options) {
  if (options.root.empty()) return InvalidArgument("filesystem storage needs a root directory");
  ATCR_TRY(internal::EnsureDir(options.root + "/multipart", 0700));
  storage::FsBlobStoreOptions blob_options;
  blob_options.root = options.root;
  blob_options.stale_upload_seconds = -1;  // the hold does not use storage's upload area
  blob_options.fsync = options.fsync;
  ATCR_ASSIGN_OR_RETURN(auto blobs, storage::CreateFsBlobStore(blob_options));
  return std::shared_ptr<HoldStorage>(std::make_shared<FsHoldStorage>(options, std::move(blobs)));
}

}  // namespace atcr::hold
