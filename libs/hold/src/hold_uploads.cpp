// Multipart uploads: io.atcr.hold.initiateUpload, getPartUploadUrl, uploadPart, completeUpload,
// abortUpload, and the hold-signed part URL (PUT /uploads/<id>/<part>?exp&sig).
#include <charconv>

#include "internal/hold_impl.h"

namespace atcr::hold {
namespace {

constexpr std::string_view kInitiate = "io.atcr.hold.initiateUpload";
constexpr std::string_view kPartUrl = "io.atcr.hold.getPartUploadUrl";
constexpr std::string_view kUploadPart = "io.atcr.hold.uploadPart";
constexpr std::string_view kComplete = "io.atcr.hold.completeUpload";
constexpr std::string_view kAbort = "io.atcr.hold.abortUpload";

Error UploadNotFound(const std::string& id) {
  return NotFound("no upload " + id + " on this hold for this caller", "UploadNotFound");
}

Error NeedWrite(const Access& a) {
  return Forbidden(a.did + " may not write to this hold (owner or crew with blob:write only)");
}

std::optional<int> ParsePartNumber(std::string_view text) {
  int n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 1 || n > kMaxPartNumber) {
    return std::nullopt;
  }
  return n;
}

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

Task<Response> Hold::Impl::InitiateUpload(Request& req) {
  auto access = co_await Authenticate(req, kInitiate);
  if (!access.ok()) co_return ErrorResponse(access.error());
  if (!access->can_write()) co_return ErrorResponse(NeedWrite(*access));
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());
  auto text = RequiredString(*body, "digest", 128);
  if (!text.ok()) co_return ErrorResponse(text.error());
  auto digest = oci::Digest::ParseSupported(*text);
  if (!digest.ok()) {
    co_return ErrorResponse(InvalidRequest(digest.error().message, "InvalidDigest"));
  }

  // A user already at or over quota is refused here, before any byte is uploaded.
  if (std::optional<uint64_t> limit = LimitOf(access->did)) {
    auto usage = co_await internal::Blocking([&] { return index->UsageOf(access->did); });
    if (!usage.ok()) co_return ErrorResponse(usage.error());
    if (usage->total_size >= *limit) {
      co_return ErrorResponse(Error(
          ErrorCode::kResourceExhausted,
          "quota exceeded: " + access->did + " uses " + std::to_string(usage->total_size) + " of " +
              std::to_string(*limit) + " bytes on this hold (tier " +
              (TierOf(access->did) ? TierOf(access->did)->name : std::string("?")) + ")",
          "QuotaExceeded"));
    }
  }

  Touch(digest->str());
  oci::Digest wanted = *digest;
  auto id = co_await storage->StartUpload(std::move(wanted));
  if (!id.ok()) co_return ErrorResponse(id.error());
  internal::UploadRow row;
  row.id = *id;
  row.digest = digest->str();
  row.user_did = access->did;
  row.started_unix = row.touched_unix = Now();
  Status st = co_await internal::Blocking([&] { return index->AddUpload(row); });
  if (!st.ok()) co_return ErrorResponse(st.error());
  co_return JsonResponse(json::object{{"uploadId", *id}});
}

namespace {

// The upload `id` if it exists and `access` may use it (its initiator, or the owner).
Task<Result<internal::UploadRow>> OwnedUpload(Hold::Impl& h, const Access& access,
                                              const std::string& id) {
  auto row = co_await internal::Blocking([&] { return h.index->GetUpload(id); });
  if (!row.ok()) co_return std::move(row).error();
  if (!*row || ((*row)->user_did != access.did && !access.is_owner())) {
    co_return UploadNotFound(id);
  }
  co_return std::move(**row);
}

}  // namespace

Task<Response> Hold::Impl::GetPartUploadUrl(Request& req) {
  auto access = co_await Authenticate(req, kPartUrl);
  if (!access.ok()) co_return ErrorResponse(access.error());
  if (!access->can_write()) co_return ErrorResponse(NeedWrite(*access));
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());
  auto id = RequiredString(*body, "uploadId", 256);
  if (!id.ok()) co_return ErrorResponse(id.error());
  auto part = RequiredInt(*body, "partNumber", 1, kMaxPartNumber);
  if (!part.ok()) co_return ErrorResponse(part.error());
  auto row = co_await OwnedUpload(*this, *access, *id);
  if (!row.ok()) co_return ErrorResponse(row.error());

  json::object out;
  out["method"] = "PUT";
  json::object headers;
  if (storage->can_presign() && !config.disable_presigned_urls) {
    auto presigned =
        storage->PresignPart(*id, static_cast<int>(*part), config.url_expiry_seconds);
    if (!presigned.ok()) co_return ErrorResponse(presigned.error());
    out["url"] = presigned->url;
    for (const auto& [k, v] : presigned->headers) headers[k] = v;
  } else {
    std::string path = "/uploads/" + *id + "/" + std::to_string(*part);
    out["url"] = signer->SignUrl(identity.public_url, "PUT", path, config.url_expiry_seconds);
  }
  out["headers"] = std::move(headers);
  const int64_t now = Now();
  (void)co_await internal::Blocking([&] { return index->TouchUpload(*id, now); });
  co_return JsonResponse(out);
}

Task<Response> Hold::Impl::ReceivePart(Request& req, const std::string& upload_id,
                                       int part_number) {
  req.body->set_limit(config.max_part_bytes);
  std::string id = upload_id;
  auto etag = co_await storage->WritePart(std::move(id), part_number, *req.body);
  if (!etag.ok()) {
    if (etag.error().code == ErrorCode::kResourceExhausted) {
      co_return net::XrpcErrorResponse(
          413, "PayloadTooLarge",
          "a part may have at most " + std::to_string(config.max_part_bytes) + " bytes");
    }
    co_return ErrorResponse(etag.error());
  }
  const int64_t now = Now();
  (void)co_await internal::Blocking([&] { return index->TouchUpload(upload_id, now); });
  Response r = JsonResponse(json::object{{"etag", *etag}});
  r.headers.Set("ETag", "\"" + *etag + "\"");
  co_return r;
}

Task<Response> Hold::Impl::UploadPart(Request& req) {
  auto access = co_await Authenticate(req, kUploadPart);
  if (!access.ok()) co_return ErrorResponse(access.error());
  if (!access->can_write()) co_return ErrorResponse(NeedWrite(*access));
  auto id_header = req.headers.Get("X-Upload-Id");
  auto part_header = req.headers.Get("X-Part-Number");
  if (!id_header || id_header->empty() || id_header->size() > 256) {
    co_return ErrorResponse(InvalidRequest("the X-Upload-Id header is required"));
  }
  std::optional<int> part = part_header ? ParsePartNumber(*part_header) : std::nullopt;
  if (!part) {
    co_return ErrorResponse(InvalidRequest(
        "the X-Part-Number header must be 1.." + std::to_string(kMaxPartNumber),
        "InvalidPartNumber"));
  }
  std::string id(*id_header);
  auto row = co_await OwnedUpload(*this, *access, id);
  if (!row.ok()) co_return ErrorResponse(row.error());
  co_return co_await ReceivePart(req, id, *part);
}

Task<Response> Hold::Impl::SignedPartPut(Request& req) {
  if (req.method != net::Method::kPut) {
    Response r = net::XrpcErrorResponse(405, "InvalidRequest", "signed part URLs take PUT");
    r.headers.Set("Allow", "PUT");
    co_return r;
  }
  // /uploads/<id>/<part>
  std::string_view rest = std::string_view(req.path).substr(std::string_view("/uploads/").size());
  size_t slash = rest.find('/');
  std::optional<int> part;
  if (slash != std::string_view::npos) part = ParsePartNumber(rest.substr(slash + 1));
  if (!part || slash == 0 || slash > 256) {
    co_return net::XrpcErrorResponse(404, "NotFound", "no such upload URL");
  }
  std::string id(rest.substr(0, slash));
  Status sig = signer->Verify("PUT", req.path, req.Query("exp").value_or(""),
                              req.Query("sig").value_or(""));
  if (!sig.ok()) co_return net::XrpcErrorResponse(403, sig.error().wire, sig.error().message);
  auto row = co_await internal::Blocking([&] { return index->GetUpload(id); });
  if (!row.ok()) co_return ErrorResponse(row.error());
  if (!*row) co_return ErrorResponse(UploadNotFound(id));
  co_return co_await ReceivePart(req, id, *part);
}

Task<Response> Hold::Impl::CompleteUpload(Request& req) {
  auto access = co_await Authenticate(req, kComplete);
  if (!access.ok()) co_return ErrorResponse(access.error());
  if (!access->can_write()) co_return ErrorResponse(NeedWrite(*access));
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());
  auto id = RequiredString(*body, "uploadId", 256);
  if (!id.ok()) co_return ErrorResponse(id.error());
  auto text = RequiredString(*body, "digest", 128);
  if (!text.ok()) co_return ErrorResponse(text.error());
  auto digest = oci::Digest::ParseSupported(*text);
  if (!digest.ok()) {
    co_return ErrorResponse(InvalidRequest(digest.error().message, "InvalidDigest"));
  }
  const json::value* parts_json = body->if_contains("parts");
  if (parts_json == nullptr || !parts_json->is_array() || parts_json->get_array().empty() ||
      parts_json->get_array().size() > static_cast<size_t>(kMaxPartNumber)) {
    co_return ErrorResponse(InvalidRequest("parts must be an array of 1..10000 parts"));
  }
  std::vector<PartRef> parts;
  for (const json::value& p : parts_json->get_array()) {
    if (!p.is_object()) co_return ErrorResponse(InvalidRequest("each part must be an object"));
    auto n = RequiredInt(p.get_object(), "partNumber", 1, kMaxPartNumber);
    if (!n.ok()) co_return ErrorResponse(n.error());
    auto etag = RequiredString(p.get_object(), "etag", 256);
    if (!etag.ok()) co_return ErrorResponse(etag.error());
    parts.push_back(PartRef{static_cast<int>(*n), StripQuotes(*etag)});
  }
  auto row = co_await OwnedUpload(*this, *access, *id);
  if (!row.ok()) co_return ErrorResponse(row.error());
  if (row->digest != digest->str()) {
    // The blob must be the one the upload was started for; the upload is discarded, as for
    // bytes that do not hash to the digest (drivers that cannot tell do not need to).
    std::string abort_id = *id;
    (void)co_await storage->AbortUpload(std::move(abort_id));
    (void)co_await internal::Blocking([&] { return index->RemoveUpload(*id); });
    co_return ErrorResponse(InvalidRequest("upload " + *id + " was started for " + row->digest +
                                               ", not " + digest->str() +
                                               "; the upload was discarded",
                                           "DigestMismatch"));
  }

  std::string upload_id = *id;
  oci::Digest wanted = *digest;
  auto blob = co_await storage->CompleteUpload(std::move(upload_id), std::move(wanted),
                                               std::move(parts));
  if (!blob.ok()) {
    if (blob.error().wire == "DigestMismatch") {
      (void)co_await internal::Blocking([&] { return index->RemoveUpload(*id); });
    }
    co_return ErrorResponse(blob.error());
  }
  Touch(digest->str());
  (void)co_await internal::Blocking([&] { return index->RemoveUpload(*id); });
  json::object out;
  out["status"] = "completed";
  out["digest"] = digest->str();
  co_return JsonResponse(out);
}

Task<Response> Hold::Impl::AbortUpload(Request& req) {
  auto access = co_await Authenticate(req, kAbort);
  if (!access.ok()) co_return ErrorResponse(access.error());
  if (!access->can_write()) co_return ErrorResponse(NeedWrite(*access));
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());
  auto id = RequiredString(*body, "uploadId", 256);
  if (!id.ok()) co_return ErrorResponse(id.error());
  auto row = co_await OwnedUpload(*this, *access, *id);
  if (!row.ok()) co_return ErrorResponse(row.error());
  std::string upload_id = *id;
  Status st = co_await storage->AbortUpload(std::move(upload_id));
  if (!st.ok() && st.error().code != ErrorCode::kNotFound) co_return ErrorResponse(st.error());
  (void)co_await internal::Blocking([&] { return index->RemoveUpload(*id); });
  co_return JsonResponse(json::object{{"status", "aborted"}});
}

}  // namespace atcr::hold
