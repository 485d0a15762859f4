#include "atcr/appview/hold_upload_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "atcr/base/time.h"
#include "atcr/oci/name.h"
#include "internal/file_range_request.h"

namespace atcr::appview {

namespace {

Error UploadUnknown(std::string_view id) {
  return NotFound("no upload session " + std::string(id), "BLOB_UPLOAD_UNKNOWN");
}

// initiateUpload with the user's service token, joining the hold's crew first when the hold
// asks for it (WithHoldTokenJoiningCrew). Refusals (not crew and cannot join, over quota) are
// DENIED, which clients do not retry; the quota one says so.
Task<Result<std::string>> InitiateJoiningCrew(AppViewServices& s, std::string did, HoldInfo hold,
                                              oci::Digest digest) {
  std::function<Task<Result<std::string>>(std::string)> initiate =
      [&s, hold, digest](std::string token) -> Task<Result<std::string>> {
    HoldInfo h = hold;
    oci::Digest d = digest;
    co_return co_await s.holds->InitiateUpload(std::move(h), std::move(token), std::move(d));
  };
  std::string lxm_initiate = "io.atcr.hold.initiateUpload";
  auto upload_id = co_await WithHoldTokenJoiningCrew<std::string>(s, did, hold, lxm_initiate,
                                                                  std::move(initiate));
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

Task<Result<PartUrl>> HoldUploadStore::PartUploadUrl(std::string did, HoldInfo hold,
                                                     std::string upload_id, int number) {
  std::function<Task<Result<PartUrl>>(std::string)> get_url =
      [this, hold, upload_id, number](std::string token) -> Task<Result<PartUrl>> {
    HoldInfo h = hold;
    std::string u = upload_id;
    co_return co_await s_->holds->GetPartUploadUrl(std::move(h), std::move(token), std::move(u),
                                                   number);
  };
  std::string lxm = "io.atcr.hold.getPartUploadUrl";
  co_return co_await WithHoldToken<PartUrl>(*s_, did, hold, lxm, std::move(get_url));
}

Task<Result<std::string>> HoldUploadStore::SendPart(std::string did, HoldInfo hold,
                                                   std::string upload_id, int number,
                                                   PartBody body, bool* presign,
                                                   std::optional<PartUrl> url) {
  if (*presign) {
    Result<PartUrl> u = Error(ErrorCode::kInternal, "unset");
    if (url) {
      u = std::move(*url);
    } else {
      u = co_await PartUploadUrl(did, hold, upload_id, number);
    }
    if (u.ok()) {
      PartUrl part_url = std::move(*u);
      co_return co_await s_->holds->PutPresignedPart(std::move(part_url), body);
    }
    NoPresign(hold.did, u.error());
    *presign = false;
  }
  std::function<Task<Result<std::string>>(std::string)> put_part =
      [this, hold, upload_id, number, body](std::string token) -> Task<Result<std::string>> {
    HoldInfo h = hold;
    std::string u = upload_id;
    co_return co_await s_->holds->UploadPart(std::move(h), std::move(token), std::move(u), number,
                                             body);
  };
  std::string lxm = "io.atcr.hold.uploadPart";
  co_return co_await WithHoldToken<std::string>(*s_, did, hold, lxm, std::move(put_part));
}

void HoldUploadStore::NoPresign(const std::string& hold_did, const Error& why) {
  spdlog::debug("appview: hold {} offers no part URLs ({}); using uploadPart", hold_did,
                why.message);
  std::lock_guard lock(mu_);
  no_presign_until_[hold_did] = UnixSeconds() + 600;
}

namespace {

// "scheme://host:port" of a URL, lower-cased scheme and host; empty when there is none.
std::string Origin(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  size_t end = url.find_first_of("/?#", scheme_end + 3);
  std::string out(url.substr(0, end));
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (out.starts_with("http://") && out.ends_with(":80")) out.resize(out.size() - 3);
  if (out.starts_with("https://") && out.ends_with(":443")) out.resize(out.size() - 4);
  return out;
}

}  // namespace

Task<Status> HoldUploadStore::SendToHold(std::string did, std::string hold_did,
                                         std::string spool_path, oci::Digest digest,
                                         uint64_t size) {
  const auto t0 = std::chrono::steady_clock::now();
  auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
        .count();
  };
  auto hold_r = co_await s_->holds->Info(hold_did);
  if (!hold_r.ok()) co_return hold_r.error();
  const HoldInfo hold = *hold_r;

  auto upload_id = co_await InitiateJoiningCrew(*s_, did, hold, digest);
  if (!upload_id.ok()) co_return upload_id.error();
  const int64_t initiate_ms = ms_since(t0);

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
  // Where do the bytes go? Part 1's URL tells: to object storage (another origin), or to the
  // hold itself (uploadPart, or a URL the hold signed for its own origin, as atcr's
  // filesystem hold does).
  std::optional<PartUrl> first_url;
  if (presign) {
    auto u = co_await PartUploadUrl(did, hold, *upload_id, 1);
    if (u.ok()) {
      first_url = std::move(*u);
    } else {
      NoPresign(hold_did, u.error());
      presign = false;
    }
  }
  const bool to_hold = !first_url || Origin(first_url->url) == Origin(hold.endpoint);
  // To the hold: large parts (one part up to hold_part_bytes, streamed from the spool), sent
  // one after the other in order. A hold that hashes parts as they arrive in order (atcr's
  // does) then knows the digest at completeUpload without reading the blob again, and moves a
  // one-part blob into place without copying it. https bodies are read into memory, so they
  // stay at part_size. To object storage: parts of part_size, three in flight.
  uint64_t part_size = s_->upload_part_bytes;
  if (to_hold && internal::IsPlainHttp(first_url ? first_url->url : hold.endpoint)) {
    part_size = std::max(part_size, s_->hold_part_bytes);
  }
  const int in_flight = to_hold ? 1 : 3;

  std::vector<UploadedPart> parts;
  Status failed;
  for (int attempt = 0;; ++attempt) {
    const uint64_t part_count = size == 0 ? 1 : (size + part_size - 1) / part_size;
    if (part_count > 10000) {
      failed = InvalidArgument("a blob of " + std::to_string(size) + " bytes needs more than "
                               "10000 parts of " + std::to_string(part_size) + " bytes",
                               "SIZE_INVALID");
      break;
    }
    parts.clear();
    failed = Ok();
    uint64_t next_part = 0;  // 0-based; the strand serializes the workers between co_awaits
    auto worker = [&]() -> Task<void> {
      for (;;) {
        if (!failed.ok() || next_part >= part_count) co_return;
        const uint64_t index = next_part++;
        PartBody body;
        body.fd = fd;
        body.offset = index * part_size;
        body.length = std::min<uint64_t>(size - body.offset, part_size);
        std::optional<PartUrl> url;
        if (index == 0 && first_url) url = first_url;
        std::string d = did;
        std::string id = *upload_id;
        auto etag = co_await SendPart(std::move(d), hold, std::move(id),
                                      static_cast<int>(index + 1), body, &presign, std::move(url));
        if (!etag.ok()) {
          if (failed.ok()) failed = etag.error();
          co_return;
        }
        parts.push_back({static_cast<int>(index + 1), std::move(*etag)});
      }
    };
    if (in_flight == 1) {
      co_await worker();
    } else {
      using namespace boost::asio::experimental::awaitable_operators;
      auto all = worker() && worker() && worker();
      co_await std::move(all);
    }
    // A hold that takes smaller parts only (413) gets part_size parts, from part 1 again.
    if (!failed.ok() && failed.error().code == ErrorCode::kResourceExhausted && attempt == 0 &&
        part_size > s_->upload_part_bytes) {
      spdlog::info("appview: hold {} refused a part of {} bytes ({}); sending parts of {} bytes",
                   hold_did, part_size, failed.error().message, s_->upload_part_bytes);
      part_size = s_->upload_part_bytes;
      first_url.reset();
      continue;
    }
    break;
  }
  const int64_t parts_ms = ms_since(t0) - initiate_ms;
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
    if (done.ok()) {
      spdlog::debug("appview: {} ({} bytes) to hold {} in {} part(s) of up to {} bytes: "
                    "initiate {} ms, parts {} ms, complete {} ms",
                    digest.str(), size, hold_did, parts.size(), part_size, initiate_ms, parts_ms,
                    ms_since(t0) - initiate_ms - parts_ms);
      co_return Ok();
    }
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
