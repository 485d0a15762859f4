// Blob reads (GET/HEAD with ranges, sendfile or redirect) and blob deletes.
#include <unistd.h>

#include "internal/api.h"

namespace atcr::registry {
using internal::ErrorResponse;
using internal::OciError;
using oci::ErrorCodeOci;

namespace {

// Closes a blob's file descriptor unless it was handed to the response.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void BlobHeaders(Response& resp, const oci::Digest& d) {
  resp.headers.Set("Docker-Content-Digest", d.str());
  resp.headers.Set("ETag", internal::ETag(d));
  resp.headers.Set("Accept-Ranges", "bytes");
  // Content-addressed: the bytes behind a digest never change.
  resp.headers.Set("Cache-Control", "max-age=31536000");
}

}  // namespace

Task<Response> DistributionApi::Impl::GetBlob(Request& req, const std::string& name,
                                              const std::string& digest_text) {
  auto digest = oci::Digest::Parse(digest_text);
  if (!digest.ok()) co_return ErrorResponse(digest.error(), req);

  if (req.method == net::Method::kHead) {
    auto info = co_await blobs->Stat(name, *digest);
    if (!info.ok()) co_return ErrorResponse(info.error(), req);
    Response resp = Response::Empty(200);
    resp.content_length = info->size;
    resp.headers.Set("Content-Type", "application/octet-stream");
    BlobHeaders(resp, *digest);
    co_return resp;
  }

  auto opened = co_await blobs->Open(name, *digest);
  if (!opened.ok()) co_return ErrorResponse(opened.error(), req);
  BlobContent& content = *opened;
  OwnedFd fd(content.fd);
  if (content.fd < 0) {
    Response resp = Response::Empty(307);
    resp.headers.Set("Location", content.redirect_url);
    resp.headers.Set("Docker-Content-Digest", digest->str());
    co_return resp;
  }
  if (internal::IfNoneMatch(req, *digest)) {
    Response resp = Response::Empty(304);
    BlobHeaders(resp, *digest);
    co_return resp;
  }

  Response resp;
  BlobHeaders(resp, *digest);
  resp.headers.Set("Content-Type", "application/octet-stream");
  internal::RangeRequest range;
  if (auto h = req.headers.Get("Range")) range = internal::EvaluateRange(*h, content.size);
  switch (range.kind) {
    case internal::RangeRequest::kUnsatisfiable: {
      Response r = OciError(ErrorCodeOci::kRangeInvalid,
                            "requested range is not satisfiable for a blob of " +
                                std::to_string(content.size) + " bytes",
                            {}, 416);
      r.headers.Set("Content-Range", "bytes */" + std::to_string(content.size));
      BlobHeaders(r, *digest);
      co_return r;
    }
    case internal::RangeRequest::kPartial:
      resp.status = 206;
      resp.headers.Set("Content-Range", "bytes " + std::to_string(range.range.first) + "-" +
                                            std::to_string(range.range.last) + "/" +
                                            std::to_string(content.size));
      resp.body = net::FileBody{fd.release(), range.range.first, range.range.length()};
      resp.content_length = range.range.length();
      break;
    case internal::RangeRequest::kFull:
      resp.status = 200;
      resp.body = net::FileBody{fd.release(), 0, content.size};
      resp.content_length = content.size;
      break;
  }
  co_return resp;
}

Task<Response> DistributionApi::Impl::DeleteBlob(Request& req, const std::string& name,
                                                 const std::string& digest_text) {
  if (!options.delete_enabled) {
    co_return OciError(ErrorCodeOci::kUnsupported, "deletes are disabled on this registry", {},
                       405);
  }
  auto digest = oci::Digest::Parse(digest_text);
  if (!digest.ok()) co_return ErrorResponse(digest.error(), req);
  Status st = co_await blobs->Unlink(name, *digest);
  if (!st.ok()) co_return ErrorResponse(st.error(), req);
  co_return Response::Empty(202);
}

}  // namespace atcr::registry
