#include "atcr/storage/blob_store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace atcr::storage {

Result<BlobInfo> BlobStore::Put(ByteSpan data) {
  ATCR_ASSIGN_OR_RETURN(std::unique_ptr<UploadWriter> w, CreateUpload());
  Status appended = w->Append(data);
  if (!appended.ok()) {
    (void)AbortUpload(w->id());
    return std::move(appended).error();
  }
  auto info = w->Commit(oci::Digest::Sha256Of(data));
  if (!info.ok()) (void)AbortUpload(w->id());
  return info;
}

namespace {

Error NotSupported(std::string_view what) {
  return Error(ErrorCode::kUnimplemented, std::string(what) + " is not supported by this store");
}

}  // namespace

Result<PresignedRequest> BlobStore::PresignGet(const oci::Digest&, int64_t) {
  return NotSupported("presigned GET");
}
Result<PresignedRequest> BlobStore::PresignPut(const oci::Digest&, int64_t) {
  return NotSupported("presigned PUT");
}
Result<std::string> BlobStore::CreatePartUpload() { return NotSupported("part upload"); }
Result<PresignedRequest> BlobStore::PresignUploadPart(const std::string&, int32_t, int64_t) {
  return NotSupported("presigned part upload");
}
Result<std::string> BlobStore::UploadPart(const std::string&, int32_t, ByteSpan) {
  return NotSupported("part upload");
}
Result<BlobInfo> BlobStore::CompletePartUpload(const std::string&, const oci::Digest&,
                                               std::vector<UploadPartInfo>) {
  return NotSupported("part upload");
}

Result<Bytes> BlobStore::ReadRange(const oci::Digest& digest, uint64_t offset, uint64_t length) {
  ATCR_ASSIGN_OR_RETURN(BlobRead r, Open(digest));
  if (r.fd < 0) {
    return Error(ErrorCode::kUnimplemented,
                 "blob " + digest.str() + " is only available through a redirect URL");
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{r.fd};
  if (offset > r.size) {
    return Error(ErrorCode::kOutOfRange, "offset " + std::to_string(offset) +
                                             " is past the end of blob " + digest.str() + " (" +
                                             std::to_string(r.size) + " bytes)");
  }
  const uint64_t n = std::min(length, r.size - offset);
  Bytes out(n);
  uint64_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(r.fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read blob " + digest.str(), errno);
    }
    if (got == 0) {
      return Error(ErrorCode::kDataLoss, "blob " + digest.str() + " is shorter than its size");
    }
    done += static_cast<uint64_t>(got);
  }
  return out;
}

Result<Bytes> BlobStore::ReadAll(const oci::Digest& digest, uint64_t max_bytes) {
  ATCR_ASSIGN_OR_RETURN(BlobRead r, Open(digest));
  if (r.fd < 0) {
    if (r.size > max_bytes) {
      return ResourceExhausted("blob " + digest.str() + " is " + std::to_string(r.size) +
                               " bytes, limit is " + std::to_string(max_bytes));
    }
    if (r.size == 0) return Bytes();
    ATCR_ASSIGN_OR_RETURN(Bytes data, ReadRange(digest, 0, r.size));
    if (data.size() != r.size) {
      return Error(ErrorCode::kDataLoss, "blob " + digest.str() + " changed size while read");
    }
    return data;
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{r.fd};
  if (r.size > max_bytes) {
    return ResourceExhausted("blob " + digest.str() + " is " + std::to_string(r.size) +
                             " bytes, limit is " + std::to_string(max_bytes));
  }
  Bytes out(r.size);
  uint64_t off = 0;
  while (off < r.size) {
    ssize_t n = ::pread(r.fd, out.data() + off, r.size - off, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read blob " + digest.str(), errno);
    }
    if (n == 0) {
      return Error(ErrorCode::kDataLoss, "blob " + digest.str() + " is shorter than its size");
    }
    off += static_cast<uint64_t>(n);
  }
  return out;
}

}  // namespace atcr::storage
