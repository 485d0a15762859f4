// Blob upload sessions: POST (monolithic, mount, or a new session), PATCH (chunks and stream
// mode), PUT (close, with an optional last chunk), GET (status) and DELETE (cancel).
#include <limits>
#include <vector>

#include "atcr/oci/name.h"
#include "internal/api.h"

namespace atcr::registry {
using internal::ErrorResponse;
using internal::OciError;
using oci::ErrorCodeOci;

namespace {

constexpr size_t kCopyBuffer = 256 * 1024;
// "No limit" for BodyReader::set_limit. Not UINT64_MAX: net's reader computes limit + 1
// (it asks for one byte past the limit to detect oversized bodies), which would wrap to 0.
constexpr uint64_t kUnlimitedBody = uint64_t{1} << 62;

// 202/204 session headers: where to send the next chunk and what was received so far.
Response SessionResponse(int status, const std::string& name, const Upload& up) {
  Response resp = Response::Empty(status);
  resp.headers.Set("Location", internal::UploadLocation(name, up.id()));
  resp.headers.Set("Range", internal::UploadRange(up.size()));
  resp.headers.Set("Docker-Upload-UUID", up.id());
  if (status != 204) resp.content_length = 0;
  return resp;
}

Response RangeInvalid(const std::string& name, const Upload& up, const std::string& why) {
  Response resp = OciError(ErrorCodeOci::kRangeInvalid, why, {}, 416);
  resp.headers.Set("Location", internal::UploadLocation(name, up.id()));
  resp.headers.Set("Range", internal::UploadRange(up.size()));
  resp.headers.Set("Docker-Upload-UUID", up.id());
  return resp;
}

Response Created(const std::string& name, const oci::Digest& d) {
  Response resp = Response::Empty(201);
  resp.headers.Set("Location", internal::BlobLocation(name, d));
  resp.headers.Set("Docker-Content-Digest", d.str());
  resp.content_length = 0;
  return resp;
}

bool HasBody(const Request& req) {
  auto len = req.body->content_length();
  return !len || *len > 0;
}

// The `digest` query parameter of a closing PUT or monolithic POST.
Result<oci::Digest> RequiredDigest(const Request& req) {
  auto text = req.Query("digest");
  if (!text || text->empty()) {
    return InvalidArgument("the digest query parameter is required", "DIGEST_INVALID");
  }
  return oci::Digest::ParseSupported(*text);
}

}  // namespace

std::optional<Response> DistributionApi::Impl::CheckChunk(
    const Request& req, const std::string& name, const Upload& up,
    std::optional<internal::ByteRange>& chunk) {
  auto header = req.headers.Get("Content-Range");
  if (!header) return std::nullopt;
  auto parsed = internal::ParseChunkRange(*header);
  if (!parsed.ok()) return RangeInvalid(name, up, parsed.error().message);
  if (parsed->first != up.size()) {
    return RangeInvalid(name, up,
                        "chunk starts at " + std::to_string(parsed->first) +
                            " but the upload has " + std::to_string(up.size()) +
                            " bytes; send the chunk starting there");
  }
  auto len = req.body->content_length();
  if (len && *len != parsed->length()) {
    return OciError(ErrorCodeOci::kSizeInvalid,
                    "Content-Length " + std::to_string(*len) + " does not match Content-Range " +
                        std::string(*header),
                    {}, 400);
  }
  chunk = *parsed;
  return std::nullopt;
}

Task<std::optional<Response>> DistributionApi::Impl::ReceiveBody(
    Request& req, Upload& up, std::optional<internal::ByteRange> chunk) {
  internal::InFlight in_flight(uploads_in_flight);
  uint64_t limit = kUnlimitedBody;
  if (options.max_blob_bytes > 0) {
    limit = options.max_blob_bytes > up.size() ? options.max_blob_bytes - up.size() : 0;
  }
  bool chunk_bound = chunk && chunk->length() <= limit;
  if (chunk_bound) limit = chunk->length();
  req.body->set_limit(limit);

  const uint64_t start = up.size();
  std::vector<uint8_t> buf(kCopyBuffer);
  for (;;) {
    auto n = co_await req.body->Read(std::span<uint8_t>(buf));
    if (!n.ok()) {
      if (n.error().code == ErrorCode::kResourceExhausted) {
        if (chunk_bound) {
          co_return OciError(ErrorCodeOci::kSizeInvalid,
                             "the chunk is longer than its Content-Range", {}, 400);
        }
        co_return OciError(ErrorCodeOci::kSizeInvalid,
                           "the blob is larger than this registry's limit of " +
                               std::to_string(options.max_blob_bytes) + " bytes",
                           {}, 413);
      }
      co_return internal::BodyReadError(n.error(), req, ErrorCodeOci::kBlobUploadInvalid);
    }
    if (*n == 0) break;
    Status st = co_await up.Append(ByteSpan(buf.data(), *n));
    if (!st.ok()) co_return ErrorResponse(st.error(), req);
  }
  if (chunk && up.size() - start != chunk->length()) {
    co_return OciError(ErrorCodeOci::kSizeInvalid,
                       "received " + std::to_string(up.size() - start) +
                           " bytes but Content-Range announced " +
                           std::to_string(chunk->length()),
                       {}, 400);
  }
  co_return std::nullopt;
}

Task<Response> DistributionApi::Impl::StartUpload(Request& req, const std::string& name) {
  if (auto alg = req.Query("digest-algorithm")) {
    if (*alg != "sha256" && *alg != "sha512") {
      co_return OciError(ErrorCodeOci::kDigestInvalid, "unsupported digest algorithm: " + *alg);
    }
  }

  // Cross-repository mount: 201 when the blob can be linked, else a new session (202).
  if (auto mount = req.Query("mount")) {
    auto digest = oci::Digest::ParseSupported(*mount);
    if (!digest.ok()) co_return ErrorResponse(digest.error(), req);
    std::optional<std::string> from = req.Query("from");
    if (from) {
      Status st = options.validate_name ? options.validate_name(*from)
                                        : oci::ValidateRepositoryName(*from);
      if (!st.ok()) co_return OciError(ErrorCodeOci::kNameInvalid, st.error().message);
    }
    // The authenticator has admitted the request, including reading `from` (htpasswd users
    // may read every repository; token auth checks the from-repository's pull scope).
    std::string source = from.value_or(name);
    auto info = co_await blobs->Stat(source, *digest);
    if (info.ok()) {
      Status st;
      if (source != name) st = co_await blobs->Link(name, *digest);
      if (st.ok()) co_return Created(name, *digest);
      // A store that cannot link this blob here (it lives elsewhere) makes the client upload.
      if (st.error().code != ErrorCode::kNotFound) co_return ErrorResponse(st.error(), req);
    } else if (info.error().code != ErrorCode::kNotFound) {
      co_return ErrorResponse(info.error(), req);
    }
  }

  std::optional<oci::Digest> digest;
  if (req.Query("digest")) {
    auto d = RequiredDigest(req);
    if (!d.ok()) co_return ErrorResponse(d.error(), req);
    digest = *d;
  }

  auto created = co_await uploads->Create(name);
  if (!created.ok()) co_return ErrorResponse(created.error(), req);
  std::unique_ptr<Upload> up = std::move(*created);

  if (digest) {  // monolithic: the whole blob in this request
    std::optional<Response> err = co_await ReceiveBody(req, *up, std::nullopt);
    if (!err) {
      auto info = co_await up->Commit(*digest);
      if (info.ok()) co_return Created(name, info->digest);
      err = ErrorResponse(info.error(), req);
    }
    std::string id = up->id();
    up.reset();
    (void)co_await uploads->Cancel(name, id);
    co_return std::move(*err);
  }
  if (HasBody(req)) {
    // Not asked for by the spec (POST is sent with Content-Length: 0), but harmless: the
    // bytes become the start of the blob and Range says so.
    std::optional<Response> err = co_await ReceiveBody(req, *up, std::nullopt);
    if (err) co_return std::move(*err);
  }
  co_return SessionResponse(202, name, *up);
}

Task<Response> DistributionApi::Impl::PatchUpload(Request& req, const std::string& name,
                                                  const std::string& id) {
  auto opened = co_await uploads->Open(name, id);
  if (!opened.ok()) co_return ErrorResponse(opened.error(), req);
  Upload& up = **opened;
  std::optional<internal::ByteRange> chunk;
  if (auto err = CheckChunk(req, name, up, chunk)) co_return std::move(*err);
  if (auto err = co_await ReceiveBody(req, up, chunk)) co_return std::move(*err);
  co_return SessionResponse(202, name, up);
}

Task<Response> DistributionApi::Impl::FinishUpload(Request& req, const std::string& name,
                                                   const std::string& id) {
  auto digest = RequiredDigest(req);
  if (!digest.ok()) co_return ErrorResponse(digest.error(), req);
  auto opened = co_await uploads->Open(name, id);
  if (!opened.ok()) co_return ErrorResponse(opened.error(), req);
  Upload& up = **opened;
  std::optional<internal::ByteRange> chunk;
  if (auto err = CheckChunk(req, name, up, chunk)) co_return std::move(*err);
  if (chunk || HasBody(req)) {
    if (auto err = co_await ReceiveBody(req, up, chunk)) co_return std::move(*err);
  }
  auto info = co_await up.Commit(*digest);
  if (!info.ok()) co_return ErrorResponse(info.error(), req);
  co_return Created(name, info->digest);
}

Task<Response> DistributionApi::Impl::UploadStatus(Request& req, const std::string& name,
                                                   const std::string& id) {
  auto opened = co_await uploads->Open(name, id);
  if (!opened.ok()) co_return ErrorResponse(opened.error(), req);
  co_return SessionResponse(204, name, **opened);
}

Task<Response> DistributionApi::Impl::CancelUpload(Request& req, const std::string& name,
                                                   const std::string& id) {
  Status st = co_await uploads->Cancel(name, id);
  if (!st.ok()) co_return ErrorResponse(st.error(), req);
  co_return Response::Empty(204);
}

}  // namespace atcr::registry
