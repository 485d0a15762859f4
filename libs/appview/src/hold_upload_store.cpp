#include "atcr/appview/hold_upload_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "atcr/base/time.h"
#include "atcr/oci/name.h"

namespace atcr::appview {

namespace {

Error UploadUnknown(std::string_view id) {
  return NotFound("no upload session " + std::string(id), "BLOB_UPLOAD_UNKNOWN");
}

// initiateUpload with the user's service token. A hold that answers Forbidden (not crew yet) is
// sent requestCrew once — a hold whose captain allows all crew takes any user, as ATCR's AppView
// relies on — and the upload is tried again. Refusals (not crew and cannot join, over quota)
// are DENIED, which clients do not retry; the quota one says so.
Task<Result<std::string>> InitiateJoiningCrew(AppViewServices& s, std::string did, HoldInfo hold,
                                              oci::Digest digest) {
  std::function<Task<Result<std::string>>(std::string)> initiate =
      [&s, hold, digest](std::string token) -> Task<Result<std::string>> {
    HoldInfo h = hold;
    oci::Digest d = digest;
    co_return co_await s.holds->InitiateUpload(std::move(h), std::move(token), std::move(d));
  };
  std::string lxm_initiate = "io.atcr.hold.initiateUpload";
  auto upload_id = co_await WithHoldToken<std::string>(s, did, hold, lxm_initiate, initiate);
  if (!upload_id.ok() && upload_id.error().wire == "Forbidden") {
    std::function<Task<Result<boost::json::object>>(std::string)> join =
        [&s, hold](std::string token) -> Task<Result<boost::json::object>> {
      HoldInfo h = hold;
      co_return co_await s.holds->RequestCrew(std::move(h), std::move(token));
    };
    std::string lxm_join = "io.atcr.hold.requestCrew";
    auto joined =
        co_await WithHoldToken<boost::json::object>(s, did, hold, lxm_join, std::move(join));
    if (joined.ok()) {
      spdlog::info("appview: {} joined the crew of hold {}", did, hold.did);
      upload_id = co_await WithHoldToken<std::string>(s, did, hold, lxm_initiate, initiate);
    } else {
      spdlog::info("appview: {} may not write to hold {} and cannot join its crew: {}", did,
                   hold.did, joined.error().message);
    }
  }
  if (upload_id.ok()) co_return upload_id;
  const Error& e = upload_id.error();
  bool refused = e.wire == "QuotaExceeded" || e.wire == "Forbidden" ||
                 e.code == ErrorCode::kPermissionDenied;
  std::string what = e.wire == "QuotaExceeded" ? "storage quota exceeded on hold " + hold.did
                                               : "hold " + hold.did + " refused the upload";
  co_return Error(e.code, what + ": " + e.message, refused ? "DENIED" : "UNAVAILABLE");
}

bool ValidId(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status WriteAll(int fd, ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write upload spool", errno);
    done += static_cast<size_t>(n);
  }
  return Ok();
}

Result<std::string> ReadAt(int fd, uint64_t offset, size_t length) {
  std::string out(length, '\0');
  size_t got = 0;
  while (got < length) {
    ssize_t n = ::pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read upload spool", errno);
    if (n == 0) return Error(ErrorCode::kDataLoss, "upload spool shorter than expected");
    got += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace

class SpoolUpload : public registry::Upload {
 public:
  SpoolUpload(std::shared_ptr<HoldUploadStore> store, UploadRow row, int fd,
              HoldUploadStore::State state)
      : store_(std::move(store)), row_(std::move(row)), fd_(fd), state_(std::move(state)) {
    repository_name_ = row_.repository;
  }
  ~SpoolUpload() override {
    if (fd_ >= 0) ::close(fd_);
    if (!finished_) {
      store_->Release(row_.id, std::move(state_));
    } else {
      store_->Release(row_.id, std::nullopt);
    }
  }

  const std::string& id() const override { return row_.id; }
  const std::string& repository() const override { return repository_name_; }
  uint64_t size() const override { return state_.size; }

  Task<Status> Append(ByteSpan data) override {
    // Page-cache writes only, as the filesystem registry does on its io threads.
    ATCR_CO_TRY(WriteAll(fd_, data));
    state_.hasher.Update(data);
    state_.size += data.size();
    int64_t now = UnixSeconds();
    if (now - last_touch_ >= 60) {
      last_touch_ = now;
      auto index = store_->s_->index;
      std::string id = row_.id;
      co_await net::RunBlocking([&] { (void)index->TouchUpload(id, now); });
    }
    co_return Ok();
  }

  Task<Result<registry::BlobInfo>> Commit(const oci::Digest& expected) override {
    if (!expected.supported()) {
      co_return InvalidArgument("unsupported digest algorithm " + std::string(expected.algorithm()),
                                "DIGEST_INVALID");
    }
    Hasher h = state_.hasher;  // a copy: the session stays usable if the digest is wrong
    if (h.algorithm() != expected.hash_algorithm()) {
      // The running digest is SHA-256; a sha512 commit re-reads the spool.
      Hasher other(expected.hash_algorithm());
      Status st;
      int fd = fd_;
      uint64_t size = state_.size;
      co_await net::RunBlocking([&] {
        for (uint64_t off = 0; off < size;) {
          size_t n = static_cast<size_t>(std::min<uint64_t>(size - off, 1 << 20));
          auto chunk = ReadAt(fd, off, n);
          if (!chunk.ok()) {
            st = chunk.error();
            return;
          }
          other.Update(*chunk);
          off += n;
        }
      });
      if (!st.ok()) co_return st.error();
      h = std::move(other);
    }
    Bytes sum = h.Finish();
    oci::Digest actual = oci::Digest::FromHash(expected.hash_algorithm(), sum);
    if (actual != expected) {
      co_return InvalidArgument("the uploaded bytes hash to " + actual.str() + ", not " +
                                    expected.str(),
                                "DIGEST_INVALID");
    }
    std::string did = row_.did;
    std::string hold = row_.hold_did;
    std::string path = store_->SpoolPath(row_.id);
    oci::Digest d = expected;
    Status sent = co_await store_->SendToHold(did, hold, path, d, state_.size);
    if (!sent.ok()) co_return sent.error();

    auto index = store_->s_->index;
    BlobLink link{row_.did, row_.repository, expected.str(), state_.size, row_.hold_did};
    std::string id = row_.id;
    Status st;
    co_await net::RunBlocking([&] {
      st = index->Link(link, /*replace=*/true);
      if (st.ok()) st = index->DeleteUpload(id);
      ::unlink(path.c_str());
    });
    if (!st.ok()) co_return st.error();
    finished_ = true;
    co_return registry::BlobInfo{expected, state_.size};
  }

 private:
  std::shared_ptr<HoldUploadStore> store_;
  UploadRow row_;
  std::string repository_name_;
  int fd_;
  HoldUploadStore::State state_;
  int64_t last_touch_ = UnixSeconds();
  bool finished_ = false;
};

HoldUploadStore::HoldUploadStore(std::shared_ptr<AppViewServices> services)
    : s_(std::move(services)) {}

std::shared_ptr<HoldUploadStore> HoldUploadStore::Create(
    std::shared_ptr<AppViewServices> services) {
  return std::shared_ptr<HoldUploadStore>(new HoldUploadStore(std::move(services)));
}

std::string HoldUploadStore::SpoolPath(const std::string& id) const {
  return s_->uploads_dir + "/" + id;
}

void HoldUploadStore::Release(const std::string& id, std::optional<State> state) {
  std::lock_guard lock(mu_);
  held_.erase(id);
  if (state) {
    states_[id] = std::move(*state);
  } else {
    states_.erase(id);
  }
}

Task<Result<std::unique_ptr<registry::Upload>>> HoldUploadStore::Create(
    std::string_view repository) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  // Pushing needs the owner's PDS session (service tokens for the hold come from it).
  auto session = co_await s_->sessions->Current(owner->did);
  if (!session.ok()) {
    co_return Error(ErrorCode::kPermissionDenied, session.error().message, "DENIED");
  }
  std::string did = owner->did;
  std::string pds = owner->pds_endpoint;
  auto hold = co_await s_->profiles->PushHold(did, pds);
  if (!hold.ok()) co_return hold.error();

  UploadRow row;
  row.id = RandomId();
  row.did = owner->did;
  row.repository = owner->repository;
  row.hold_did = *hold;
  row.created_at = row.touched_at = UnixSeconds();
  std::string path = SpoolPath(row.id);
  int fd = -1;
  Status st;
  auto index = s_->index;
  co_await net::RunBlocking([&] {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      st = ErrnoError("create " + path, errno);
      return;
    }
    st = index->PutUpload(row);
  });
  if (!st.ok()) {
    if (fd >= 0) ::close(fd);
    co_return st.error();
  }
  {
    std::lock_guard lock(mu_);
    held_.insert(row.id);
  }
  std::unique_ptr<registry::Upload> up =
      std::make_unique<SpoolUpload>(shared_from_this(), std::move(row), fd, State{});
  co_return up;
}

Task<Result<std::unique_ptr<registry::Upload>>> HoldUploadStore::Open(std::string_view repository,
                                                                      std::string_view id_view) {
  std::string id(id_view);
  if (!ValidId(id)) co_return UploadUnknown(id);
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  Result<std::optional<UploadRow>> row = std::optional<UploadRow>();
  auto index = s_->index;
  co_await net::RunBlocking([&] { row = index->GetUpload(id); });
  if (!row.ok()) co_return row.error();
  if (!row->has_value() || (*row)->did != owner->did ||
      (*row)->repository != owner->repository) {
    co_return UploadUnknown(id);
  }
  std::optional<State> state;
  {
    std::lock_guard lock(mu_);
    if (held_.count(id) != 0) {
      co_return InvalidArgument("upload " + id + " is in use by another request",
                                "BLOB_UPLOAD_INVALID");
    }
    held_.insert(id);
    auto it = states_.find(id);
    if (it != states_.end()) {
      state = std::move(it->second);
      states_.erase(it);
    }
  }
  std::string path = SpoolPath(id);
  int fd = -1;
  Status st;
  co_await net::RunBlocking([&] {
    fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
      st = ErrnoError("open " + path, errno);
      return;
    }
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) {
      st = ErrnoError("stat " + path, errno);
      return;
    }
    uint64_t size = static_cast<uint64_t>(sb.st_size);
    if (state && state->size == size) return;
    // After a restart (or a write that failed halfway): rebuild the digest from the spool.
    State fresh;
    for (uint64_t off = 0; off < size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(size - off, 1 << 20));
      auto chunk = ReadAt(fd, off, n);
      if (!chunk.ok()) {
        st = chunk.error();
        return;
      }
      fresh.hasher.Update(*chunk);
      off += n;
    }
    fresh.size = size;
    state = std::move(fresh);
  });
  if (!st.ok()) {
    if (fd >= 0) ::close(fd);
    Release(id, std::nullopt);
    if (st.error().code == ErrorCode::kInternal) co_return UploadUnknown(id);
    co_return st.error();
  }
  std::unique_ptr<registry::Upload> up =
      std::make_unique<SpoolUpload>(shared_from_this(), std::move(**row), fd, std::move(*state));
  co_return up;
}

Task<Status> HoldUploadStore::Cancel(std::string_view repository, std::string_view id_view) {
  std::string id(id_view);
  if (!ValidId(id)) co_return UploadUnknown(id);
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  Result<std::optional<UploadRow>> row = std::optional<UploadRow>();
  auto index = s_->index;
  co_await net::RunBlocking([&] { row = index->GetUpload(id); });
  if (!row.ok()) co_return row.error();
  if (!row->has_value() || (*row)->did != owner->did ||
      (*row)->repository != owner->repository) {
    co_return UploadUnknown(id);
  }
  std::string path = SpoolPath(id);
  Status st;
  co_await net::RunBlocking([&] {
    st = index->DeleteUpload(id);
    ::unlink(path.c_str());
  });
  {
    std::lock_guard lock(mu_);
    states_.erase(id);
  }
  co_return st;
}

Task<Result<size_t>> HoldUploadStore::CleanupStale(int64_t max_age_seconds) {
  Result<std::vector<UploadRow>> rows = std::vector<UploadRow>();
  auto index = s_->index;
  int64_t cutoff = UnixSeconds() - max_age_seconds;
  co_await net::RunBlocking([&] { rows = index->UploadsOlderThan(cutoff); });
  if (!rows.ok()) co_return rows.error();
  size_t removed = 0;
  for (const UploadRow& r : *rows) {
    {
      std::lock_guard lock(mu_);
      if (held_.count(r.id) != 0) continue;
      states_.erase(r.id);
    }
    std::string path = SpoolPath(r.id);
    std::string id = r.id;
    co_await net::RunBlocking([&] {
      (void)index->DeleteUpload(id);
      ::unlink(path.c_str());
    });
    ++removed;
  }
  co_return removed;
}

Task<Result<std::string>> HoldUploadStore::SendPart(std::string did, HoldInfo hold,
                                                   std::string upload_id, int number,
                                                   std::string bytes, bool* presign) {
  if (*presign) {
    std::function<Task<Result<PartUrl>>(std::string)> get_url =
        [this, hold, upload_id, number](std::string token) -> Task<Result<PartUrl>> {
      HoldInfo h = hold;
      std::string u = upload_id;
      co_return co_await s_->holds->GetPartUploadUrl(std::move(h), std::move(token),
                                                     std::move(u), number);
    };
    std::string lxm = "io.atcr.hold.getPartUploadUrl";
    auto url = co_await WithHoldToken<PartUrl>(*s_, did, hold, lxm, std::move(get_url));
    if (url.ok()) {
      PartUrl u = std::move(*url);
      co_return co_await s_->holds->PutPresignedPart(std::move(u), std::move(bytes));
    }
    spdlog::debug("appview: hold {} offers no part URLs ({}); using uploadPart", hold.did,
                  url.error().message);
    *presign = false;
    std::lock_guard lock(mu_);
    no_presign_until_[hold.did] = UnixSeconds() + 600;
  }
  std::function<Task<Result<std::string>>(std::string)> put_part =
      [this, hold, upload_id, number, bytes](std::string token) -> Task<Result<std::string>> {
    HoldInfo h = hold;
    std::string u = upload_id;
    std::string b = bytes;
    co_return co_await s_->holds->UploadPart(std::move(h), std::move(token), std::move(u), number,
                                             std::move(b));
  };
  std::string lxm = "io.atcr.hold.uploadPart";
  co_return co_await WithHoldToken<std::string>(*s_, did, hold, lxm, std::move(put_part));
}

Task<Status> HoldUploadStore::SendToHold(std::string did, std::string hold_did,
                                         std::string spool_path, oci::Digest digest,
                                         uint64_t size) {
  auto hold_r = co_await s_->holds->Info(hold_did);
  if (!hold_r.ok()) co_return hold_r.error();
  const HoldInfo hold = *hold_r;

  auto upload_id = co_await InitiateJoiningCrew(*s_, did, hold, digest);
  if (!upload_id.ok()) co_return upload_id.error();

  int fd = -1;
  int open_errno = 0;
  co_await net::RunBlocking([&] {
    fd = ::open(spool_path.c_str(), O_RDONLY | O_CLOEXEC);
    open_errno = errno;
  });
  if (fd < 0) co_return ErrnoError("open " + spool_path, open_errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  bool presign = true;
  {
    std::lock_guard lock(mu_);
    auto it = no_presign_until_.find(hold_did);
    if (it != no_presign_until_.end() && it->second > UnixSeconds()) presign = false;
  }
  // Parts go out three at a time (their bytes are read from the spool as each is
  // sent), so the hold writes one part while the next is on the wire.
  const uint64_t part_size = s_->upload_part_bytes;
  const uint64_t part_count = size == 0 ? 1 : (size + part_size - 1) / part_size;
  if (part_count > 10000) {
    co_return InvalidArgument("a blob of " + std::to_string(size) + " bytes needs more than 10000 "
                                  "parts of " + std::to_string(part_size) + " bytes",
                              "SIZE_INVALID");
  }
  std::vector<UploadedPart> parts;
  Status failed;
  uint64_t next_part = 0;  // 0-based; the strand serializes the workers between co_awaits
  auto worker = [&]() -> Task<void> {
    for (;;) {
      if (!failed.ok() || next_part >= part_count) co_return;
      const uint64_t index = next_part++;
      const uint64_t off = index * part_size;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(size - off, part_size));
      Result<std::string> bytes = std::string();
      co_await net::RunBlocking([&] { bytes = ReadAt(fd, off, n); });
      if (!bytes.ok()) {
        if (failed.ok()) failed = bytes.error();
        co_return;
      }
      std::string d = did;
      std::string id = *upload_id;
      std::string b = std::move(*bytes);
      auto etag = co_await SendPart(std::move(d), hold, std::move(id),
                                    static_cast<int>(index + 1), std::move(b), &presign);
      if (!etag.ok()) {
        if (failed.ok()) failed = etag.error();
        co_return;
      }
      parts.push_back({static_cast<int>(index + 1), std::move(*etag)});
    }
  };
  {
    using namespace boost::asio::experimental::awaitable_operators;
    auto all = worker() && worker() && worker();
    co_await std::move(all);
  }
  std::sort(parts.begin(), parts.end(),
            [](const UploadedPart& a, const UploadedPart& b) { return a.part_number < b.part_number; });
  if (failed.ok()) {
    std::vector<UploadedPart> p = parts;
    std::function<Task<Result<bool>>(std::string)> complete =
        [this, hold, id = *upload_id, digest, p](std::string token) -> Task<Result<bool>> {
      HoldInfo h = hold;
      std::string u = id;
      oci::Digest d = digest;
      std::vector<UploadedPart> ps = p;
      Status st = co_await s_->holds->CompleteUpload(std::move(h), std::move(token), std::move(u),
                                                     std::move(d), std::move(ps));
      if (!st.ok()) co_return st.error();
      co_return true;
    };
    std::string lxm = "io.atcr.hold.completeUpload";
    auto done = co_await WithHoldToken<bool>(*s_, did, hold, lxm, std::move(complete));
    if (done.ok()) co_return Ok();
    failed = done.error();
  }
  // Best effort: free the hold's parts; the hold's own GC gets them otherwise.
  std::function<Task<Result<bool>>(std::string)> abort =
      [this, hold, id = *upload_id](std::string token) -> Task<Result<bool>> {
    HoldInfo h = hold;
    std::string u = id;
    Status st = co_await s_->holds->AbortUpload(std::move(h), std::move(token), std::move(u));
    if (!st.ok()) co_return st.error();
    co_return true;
  };
  std::string lxm = "io.atcr.hold.abortUpload";
  (void)co_await WithHoldToken<bool>(*s_, did, hold, lxm, std::move(abort));
  const Error& e = failed.error();
  co_return Error(e.code == ErrorCode::kInternal ? e.code : ErrorCode::kUnavailable,
                  "sending the blob to hold " + hold_did + " failed: " + e.message,
                  e.wire == "DigestMismatch" ? "DIGEST_INVALID" : "UNAVAILABLE");
}

}  // namespace atcr::appview
