// Blob reads: com.atproto.sync.getBlob (OCI digests -> redirect to a presigned or hold-signed
// URL, or proxied bytes; ATProto CIDs -> the repo's blob store) and the hold-signed download
// URL (GET /blobs/<alg>/<hex>?exp&sig) served with sendfile and single-range support.
#include <unistd.h>

#include <charconv>

#include "internal/hold_impl.h"

namespace atcr::hold {
namespace {

constexpr std::string_view kGetBlob = "com.atproto.sync.getBlob";

// "bytes=a-b", "bytes=a-", "bytes=-n" against `size`: the [first, last] range, nullopt for a
// header this server ignores (several ranges, other units), or an error for unsatisfiable.
Result<std::optional<std::pair<uint64_t, uint64_t>>> ParseRange(std::string_view h,
                                                               uint64_t size) {
  using R = std::optional<std::pair<uint64_t, uint64_t>>;
  if (!h.starts_with("bytes=") || h.find(',') != std::string_view::npos) return R();
  h.remove_prefix(6);
  size_t dash = h.find('-');
  if (dash == std::string_view::npos) return R();
  auto num = [](std::string_view t, uint64_t& out) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc() && p == t.data() + t.size() && !t.empty();
  };
  uint64_t a = 0;
  uint64_t b = 0;
  std::string_view first = h.substr(0, dash);
  std::string_view last = h.substr(dash + 1);
  if (first.empty()) {
    if (!num(last, b) || b == 0) return R();
    if (size == 0) return Error(ErrorCode::kOutOfRange, "empty blob");
    b = std::min(b, size);
    return R(std::make_pair(size - b, size - 1));
  }
  if (!num(first, a)) return R();
  if (a >= size) return Error(ErrorCode::kOutOfRange, "range starts past the end");
  if (last.empty()) return R(std::make_pair(a, size - 1));
  if (!num(last, b) || b < a) return R();
  return R(std::make_pair(a, std::min(b, size - 1)));
}

void BlobHeaders(Response& r, const std::string& digest) {
  r.headers.Set("Content-Type", "application/octet-stream");
  r.headers.Set("Docker-Content-Digest", digest);
  r.headers.Set("ETag", "\"" + digest + "\"");
  r.headers.Set("Accept-Ranges", "bytes");
}

Response ServeFile(const Request& req, int fd, uint64_t size, const std::string& digest,
                   int64_t max_age) {
  Response r = Response::Empty(200);
  BlobHeaders(r, digest);
  r.headers.Set("Cache-Control", "private, max-age=" + std::to_string(std::max<int64_t>(0, max_age)));
  uint64_t offset = 0;
  uint64_t length = size;
  if (auto range_header = req.headers.Get("Range")) {
    auto range = ParseRange(*range_header, size);
    if (!range.ok()) {
      ::close(fd);
      Response bad = Response::Empty(416);
      bad.headers.Set("Content-Range", "bytes */" + std::to_string(size));
      bad.content_length = 0;
      return bad;
    }
    if (*range) {
      offset = (*range)->first;
      length = (*range)->second - offset + 1;
      r.status = 206;
      r.headers.Set("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                         std::to_string((*range)->second) + "/" +
                                         std::to_string(size));
    }
  }
  r.body = net::FileBody{fd, offset, length};
  r.content_length = length;
  return r;
}

}  // namespace

Task<Response> Hold::Impl::GetBlob(Request& req) {
  auto did = req.Query("did");
  auto cid = req.Query("cid");
  if (!cid || cid->empty()) co_return ErrorResponse(InvalidRequest("cid is required"));
  if (did && !IsSelf(*did)) {
    co_return ErrorResponse(NotFound("Could not find repo: " + *did, "RepoNotFound"));
  }
  if (cid->find(':') == std::string::npos) {
    // An ATProto CID: a blob of the hold's own repository.
    if (atproto_blob) {
      std::string blob_cid = *cid;
      co_return co_await atproto_blob(req, std::move(blob_cid));
    }
    co_return ErrorResponse(NotFound("Blob not found", "BlobNotFound"));
  }
  auto digest = oci::Digest::ParseSupported(*cid);
  if (!digest.ok()) co_return ErrorResponse(InvalidRequest(digest.error().message, "InvalidDigest"));

  Access anonymous = AccessFor("");
  if (!anonymous.captain.is_public) {
    auto access = co_await Authenticate(req, kGetBlob);
    if (!access.ok()) co_return ErrorResponse(access.error());
    if (!access->can_read()) {
      co_return ErrorResponse(Forbidden(access->did + " may not read from this private hold"));
    }
  }
  Touch(digest->str());
  oci::Digest wanted = *digest;
  auto stat = co_await storage->Stat(std::move(wanted));
  if (!stat.ok()) {
    if (stat.error().code == ErrorCode::kNotFound) {
      co_return ErrorResponse(NotFound("blob " + digest->str() + " is not on this hold",
                                       "BlobNotFound"));
    }
    co_return ErrorResponse(stat.error());
  }
  if (req.method == net::Method::kHead) {
    Response r = Response::Empty(200);
    BlobHeaders(r, digest->str());
    r.content_length = stat->size;
    co_return r;
  }

  std::string location;
  if (config.disable_presigned_urls) {
    oci::Digest d = *digest;
    auto opened = co_await storage->Open(std::move(d));
    if (!opened.ok()) co_return ErrorResponse(opened.error());
    if (opened->fd >= 0) {
      co_return ServeFile(req, opened->fd, opened->size, digest->str(), 0);
    }
    location = opened->redirect_url;
  } else if (storage->can_presign()) {
    auto presigned = storage->PresignGet(*digest, config.url_expiry_seconds);
    if (!presigned.ok()) co_return ErrorResponse(presigned.error());
    location = presigned->url;
    if (!config.pull_zone.empty()) {
      // scheme://host of the object store -> the CDN pull zone; path and query stay.
      size_t host_start = location.find("://");
      size_t path_start =
          host_start == std::string::npos ? std::string::npos : location.find('/', host_start + 3);
      if (path_start != std::string::npos) location = config.pull_zone + location.substr(path_start);
    }
  } else {
    std::string path = "/blobs/" + std::string(digest->algorithm()) + "/" +
                       std::string(digest->encoded());
    const std::string& base = config.pull_zone.empty() ? identity.public_url : config.pull_zone;
    location = signer->SignUrl(base, "GET", path, config.url_expiry_seconds);
  }
  Response r = Response::Empty(307);
  r.headers.Set("Location", location);
  r.headers.Set("Docker-Content-Digest", digest->str());
  r.headers.Set("Cache-Control", "no-store");
  r.content_length = 0;
  co_return r;
}

Task<Response> Hold::Impl::SignedBlobGet(Request& req) {
  if (req.method != net::Method::kGet && req.method != net::Method::kHead) {
    Response r = net::XrpcErrorResponse(405, "InvalidRequest", "signed blob URLs take GET");
    r.headers.Set("Allow", "GET, HEAD");
    co_return r;
  }
  // /blobs/<alg>/<hex>
  std::string_view rest = std::string_view(req.path).substr(std::string_view("/blobs/").size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) co_return net::XrpcErrorResponse(404, "NotFound", "no such blob URL");
  auto digest = oci::Digest::ParseSupported(std::string(rest.substr(0, slash)) + ":" +
                                            std::string(rest.substr(slash + 1)));
  if (!digest.ok()) co_return net::XrpcErrorResponse(404, "NotFound", "no such blob URL");
  std::string exp = req.Query("exp").value_or("");
  Status sig = signer->Verify("GET", req.path, exp, req.Query("sig").value_or(""));
  if (!sig.ok()) co_return net::XrpcErrorResponse(403, sig.error().wire, sig.error().message);
  Touch(digest->str());
  oci::Digest d = *digest;
  auto opened = co_await storage->Open(std::move(d));
  if (!opened.ok()) {
    if (opened.error().code == ErrorCode::kNotFound) {
      co_return net::XrpcErrorResponse(404, "BlobNotFound", "blob " + digest->str() + " is gone");
    }
    co_return ErrorResponse(opened.error());
  }
  if (opened->fd < 0) {
    Response r = Response::Empty(307);
    r.headers.Set("Location", opened->redirect_url);
    r.content_length = 0;
    co_return r;
  }
  int64_t max_age = std::atoll(exp.c_str()) - Now();
  co_return ServeFile(req, opened->fd, opened->size, digest->str(), max_age);
}

}  // namespace atcr::hold
