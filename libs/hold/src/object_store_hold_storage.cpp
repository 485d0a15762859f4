// HoldStorage over a storage::BlobStore with the object-store extensions (S3): presigned GET
// and part URLs, part uploads proxied through the hold when presigning is off, completion
// verified by the store (DIGEST_INVALID -> DigestMismatch, upload discarded).
#include <algorithm>

#include "atcr/hold/hold_storage.h"
#include "internal/util.h"

namespace atcr::hold {
namespace {

PresignedRequest Convert(const storage::PresignedRequest& p) {
  PresignedRequest out;
  out.url = p.url;
  out.method = p.method;
  out.headers = p.headers;
  out.expires_unix = p.expires_unix;
  return out;
}

// The store's OCI-flavoured names -> the hold's XRPC names.
Error Translate(Error e) {
  if (e.wire == "DIGEST_INVALID") {
    e.wire = "DigestMismatch";
    e.code = ErrorCode::kInvalidArgument;
  } else if (e.wire == "BLOB_UPLOAD_UNKNOWN") {
    e.wire = "UploadNotFound";
    e.code = ErrorCode::kNotFound;
  } else if (e.wire == "BLOB_UNKNOWN") {
    e.wire = "BlobNotFound";
  } else if (e.wire == "BLOB_UPLOAD_INVALID") {
    e.wire = "InvalidPart";
  }
  return e;
}

template <typename T>
Result<T> Translated(Result<T> r) {
  if (r.ok()) return r;
  return Translate(std::move(r).error());
}

class ObjectStoreHoldStorage final : public HoldStorage {
 public:
  ObjectStoreHoldStorage(std::shared_ptr<storage::BlobStore> store, ObjectStoreHoldOptions options)
      : store_(std::move(store)), options_(std::move(options)) {}

  std::string_view driver() const override { return options_.driver; }
  bool can_presign() const override { return true; }

  net::Task<Result<StoredBlob>> Stat(oci::Digest digest) override {
    co_return co_await internal::Blocking([&]() -> Result<StoredBlob> {
      auto info = store_->Stat(digest);
      if (!info.ok()) return Translate(std::move(info).error());
      return std::move(info).value();
    });
  }

  net::Task<Result<storage::BlobRead>> Open(oci::Digest digest) override {
    co_return co_await internal::Blocking([&] { return Translated(store_->Open(digest)); });
  }

  Result<PresignedRequest> PresignGet(const oci::Digest& digest, int64_t expires) override {
    ATCR_ASSIGN_OR_RETURN(auto p, store_->PresignGet(digest, expires));
    return Convert(p);
  }

  net::Task<Status> Delete(oci::Digest digest) override {
    co_return co_await internal::Blocking([&]() -> Status {
      Status st = store_->Delete(digest);
      if (!st.ok()) return Translate(std::move(st).error());
      return Ok();
    });
  }

  net::Task<Result<std::vector<StoredBlob>>> List() override {
    co_return co_await internal::Blocking([&] { return store_->List(); });
  }

  net::Task<Result<std::string>> StartUpload(oci::Digest digest) override {
    if (!digest.supported()) {
      co_return InvalidArgument("unsupported digest " + digest.str(), "InvalidDigest");
    }
    co_return co_await internal::Blocking([&] { return Translated(store_->CreatePartUpload()); });
  }

  Result<PresignedRequest> PresignPart(const std::string& upload_id, int part,
                                       int64_t expires) override {
    auto p = store_->PresignUploadPart(upload_id, part, expires);
    if (!p.ok()) return Translate(std::move(p).error());
    return Convert(*p);
  }

  net::Task<Result<std::string>> WritePart(std::string upload_id, int part,
                                           net::BodyReader& body) override {
    if (part < 1 || part > kMaxPartNumber) {
      co_return InvalidArgument("part number must be 1.." + std::to_string(kMaxPartNumber),
                                "InvalidPartNumber");
    }
    // The store takes a part in one piece: buffer it, within a bound.
    const uint64_t limit = std::min<uint64_t>(body.limit(), options_.max_proxied_part_bytes);
    auto data = co_await body.ReadAll(limit);
    if (!data.ok()) co_return std::move(data).error();
    co_return co_await internal::Blocking(
        [&] { return Translated(store_->UploadPart(upload_id, part, AsBytes(*data))); });
  }

  net::Task<Result<StoredBlob>> CompleteUpload(std::string upload_id, oci::Digest digest,
                                               std::vector<PartRef> parts) override {
    std::vector<storage::UploadPartInfo> infos;
    infos.reserve(parts.size());
    for (const PartRef& p : parts) infos.push_back({p.part_number, p.etag});
    co_return co_await internal::Blocking([&]() -> Result<StoredBlob> {
      auto info = store_->CompletePartUpload(upload_id, digest, std::move(infos));
      if (!info.ok()) return Translate(std::move(info).error());
      return std::move(info).value();
    });
  }

  net::Task<Status> AbortUpload(std::string upload_id) override {
    co_return co_await internal::Blocking([&]() -> Status {
      Status st = store_->AbortUpload(upload_id);
      if (!st.ok()) return Translate(std::move(st).error());
      return Ok();
    });
  }

  net::Task<Result<size_t>> CleanupUploads(int64_t max_age_seconds) override {
    co_return co_await internal::Blocking(
        [&] { return Translated(store_->CleanupUploads(max_age_seconds)); });
  }

 private:
  std::shared_ptr<storage::BlobStore> store_;
  ObjectStoreHoldOptions options_;
};

}  // namespace

std::shared_ptr<HoldStorage> CreateObjectStoreHoldStorage(std::shared_ptr<storage::BlobStore> store,
                                                          ObjectStoreHoldOptions options) {
  return std::make_shared<ObjectStoreHoldStorage>(std::move(store), std::move(options));
}

}  // namespace atcr::hold
