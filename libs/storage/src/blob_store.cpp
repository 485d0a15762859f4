#include "atcr/storage/blob_store.h"

#include <unistd.h>

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

Result<Bytes> BlobStore::ReadAll(const oci::Digest& digest, uint64_t max_bytes) {
  ATCR_ASSIGN_OR_RETURN(BlobRead r, Open(digest));
  if (r.fd < 0) {
    return Error(ErrorCode::kUnimplemented,
                 "blob " + digest.str() + " is only available through a redirect URL");
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
