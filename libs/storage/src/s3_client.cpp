#include "s3_client.h"

#include <charconv>
#include <ctime>
#include <random>
#include <thread>

#include "atcr/base/hash.h"
#include "atcr/base/time.h"

namespace atcr::storage::s3 {
namespace {

bool Is2xx(int status) { return status >= 200 && status < 300; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "Wed, 12 Oct 2009 17:50:00 GMT" (RFC 7231 IMF-fixdate); 0 if unparsable.
int64_t ParseHttpDate(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Result<uint64_t> ParseContentLength(const net::ClientResponse& r) {
  auto v = r.headers.Get("Content-Length");
  uint64_t n = 0;
  if (!v) return Internal("S3 response without Content-Length");
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) {
    return Internal("S3 response with a bad Content-Length '" + std::string(*v) + "'");
  }
  return n;
}

std::string StatusText(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 412:
      return "PreconditionFailed";
    case 416:
      return "InvalidRange";
    case 500:
      return "InternalError";
    case 501:
      return "NotImplemented";
    case 503:
      return "ServiceUnavailable";
    default:
      return "HTTP" + std::to_string(status);
  }
}

ErrorCode CodeFor(std::string_view code, int status) {
  struct Entry {
    std::string_view s3;
    ErrorCode code;
  };
  static constexpr Entry kTable[] = {
      {"NoSuchKey", ErrorCode::kNotFound},
      {"NoSuchUpload", ErrorCode::kNotFound},
      {"NotFound", ErrorCode::kNotFound},
      {"NoSuchBucket", ErrorCode::kFailedPrecondition},  // configuration, not the blob
      {"AccessDenied", ErrorCode::kPermissionDenied},
      {"SignatureDoesNotMatch", ErrorCode::kPermissionDenied},
      {"AllAccessDisabled", ErrorCode::kPermissionDenied},
      {"AccountProblem", ErrorCode::kPermissionDenied},
      {"InvalidAccessKeyId", ErrorCode::kUnauthenticated},
      {"ExpiredToken", ErrorCode::kUnauthenticated},
      {"InvalidToken", ErrorCode::kUnauthenticated},
      {"MissingSecurityHeader", ErrorCode::kUnauthenticated},
      {"RequestTimeTooSkewed", ErrorCode::kFailedPrecondition},
      {"InvalidBucketName", ErrorCode::kFailedPrecondition},
      {"PermanentRedirect", ErrorCode::kFailedPrecondition},  // wrong region/endpoint
      {"AuthorizationHeaderMalformed", ErrorCode::kFailedPrecondition},
      {"EntityTooSmall", ErrorCode::kInvalidArgument},
      {"InvalidPart", ErrorCode::kInvalidArgument},
      {"InvalidPartOrder", ErrorCode::kInvalidArgument},
      {"InvalidArgument", ErrorCode::kInvalidArgument},
      {"MalformedXML", ErrorCode::kInvalidArgument},
      {"InvalidRequest", ErrorCode::kInvalidArgument},
      {"EntityTooLarge", ErrorCode::kResourceExhausted},
      {"QuotaExceeded", ErrorCode::kResourceExhausted},
      {"TooManyBuckets", ErrorCode::kResourceExhausted},
      {"InvalidRange", ErrorCode::kOutOfRange},
      {"PreconditionFailed", ErrorCode::kFailedPrecondition},
      {"BadDigest", ErrorCode::kDataLoss},
      {"XAmzContentSHA256Mismatch", ErrorCode::kDataLoss},
      {"InvalidDigest", ErrorCode::kDataLoss},
      {"IncompleteBody", ErrorCode::kUnavailable},
      {"RequestTimeout", ErrorCode::kUnavailable},
      {"SlowDown", ErrorCode::kUnavailable},
      {"ServiceUnavailable", ErrorCode::kUnavailable},
      {"InternalError", ErrorCode::kUnavailable},
      {"NotImplemented", ErrorCode::kUnimplemented},
  };
  for (const auto& e : kTable) {
    if (e.s3 == code) return e.code;
  }
  if (status == 404) return ErrorCode::kNotFound;
  if (status == 401) return ErrorCode::kUnauthenticated;
  if (status == 403) return ErrorCode::kPermissionDenied;
  if (status == 416) return ErrorCode::kOutOfRange;
  if (status == 501) return ErrorCode::kUnimplemented;
  if (status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kInvalidArgument;
}

std::string EncodeCopySource(const std::string& bucket, const std::string& key) {
  return "/" + bucket + "/" + AwsUriEncode(key, true);
}

}  // namespace

Result<Endpoint> ParseEndpoint(std::string_view url) {
  Endpoint ep;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return InvalidArgument("S3 endpoint '" + std::string(url) + "' needs http:// or https://");
  }
  ep.scheme = Lower(url.substr(0, sep));
  if (ep.scheme != "http" && ep.scheme != "https") {
    return InvalidArgument("S3 endpoint scheme must be http or https, not '" + ep.scheme + "'");
  }
  std::string_view rest = url.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return InvalidArgument("S3 endpoint '" + std::string(url) +
                           "' must be scheme://host[:port] without a path or user info");
  }
  std::string_view port_text;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return InvalidArgument("S3 endpoint: unclosed IPv6 literal");
    ep.host = std::string(rest.substr(0, close + 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("S3 endpoint: junk after the IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = rest.find(':');
    ep.host = Lower(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (ep.host.empty() || ep.host == "[]") return InvalidArgument("S3 endpoint: empty host");
  const uint16_t default_port = ep.scheme == "https" ? 443 : 80;
  ep.port = default_port;
  if (!port_text.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      return InvalidArgument("S3 endpoint: bad port '" + std::string(port_text) + "'");
    }
    ep.port = static_cast<uint16_t>(v);
  }
  ep.default_port = ep.port == default_port;
  return ep;
}

bool IsRetryableS3Code(std::string_view code) {
  return code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" ||
         code == "RequestTimeout" || code == "IncompleteBody" || code == "BadDigest" ||
         code == "XAmzContentSHA256Mismatch";
}

Error MapS3Error(std::string_view op, std::string_view key, const net::ClientResponse& response) {
  std::optional<ErrorBody> body = ParseErrorBody(response.body);
  std::string code = body ? body->code : StatusText(response.status);
  std::string msg = "S3 " + std::string(op);
  if (!key.empty()) msg += " " + std::string(key);
  msg += ": " + code;
  if (body && !body->message.empty()) msg += ": " + body->message;
  if (!body && response.body.empty() && (response.status == 403 || response.status == 401)) {
    msg += " (no error body; access denied or bad credentials)";
  }
  msg += " (HTTP " + std::to_string(response.status);
  std::string request_id = body ? body->request_id : std::string();
  if (request_id.empty()) {
    if (auto h = response.headers.Get("x-amz-request-id")) request_id = std::string(*h);
  }
  if (!request_id.empty()) msg += ", request id " + request_id;
  msg += ")";
  return Error(CodeFor(code, response.status), std::move(msg));
}

Client::Client(ClientConfig config)
    : config_(std::move(config)), signer_(config_.credentials, config_.region, "s3") {
  http_ = std::make_unique<net::HttpClient>(config_.http);
}

Result<std::unique_ptr<Client>> Client::Create(ClientConfig config) {
  if (config.bucket.empty()) return InvalidArgument("S3: bucket is empty");
  if (config.region.empty()) return InvalidArgument("S3: region is empty");
  if (config.credentials.access_key.empty() || config.credentials.secret_key.empty()) {
    return InvalidArgument("S3: access key and secret key are required");
  }
  if (config.bucket.find_first_of("/?#% ") != std::string::npos) {
    return InvalidArgument("S3: bucket name '" + config.bucket + "' is not valid");
  }
  if (!config.path_style) {
    const std::string& h = config.endpoint.host;
    const bool ip = h.front() == '[' || h.find_first_not_of("0123456789.") == std::string::npos;
    if (ip) {
      return InvalidArgument("S3: virtual-host addressing needs a DNS name endpoint, not " + h);
    }
    if (config.bucket.find('.') != std::string::npos && config.endpoint.scheme == "https") {
      return InvalidArgument("S3: bucket '" + config.bucket +
                             "' contains '.', which breaks TLS names with virtual-host "
                             "addressing; use path-style");
    }
  }
  if (config.max_attempts < 1) config.max_attempts = 1;
  return std::unique_ptr<Client>(new Client(std::move(config)));
}

int64_t Client::Now() const { return config_.clock ? config_.clock() : UnixSeconds(); }

Target Client::TargetFor(std::string_view key) const {
  const Endpoint& ep = config_.endpoint;
  std::string host = config_.path_style ? ep.host : config_.bucket + "." + ep.host;
  if (!ep.default_port) host += ":" + std::to_string(ep.port);
  Target t;
  t.origin = ep.scheme + "://" + host;
  t.host_header = host;
  if (config_.path_style) {
    t.canonical_uri = "/" + config_.bucket;
    if (!key.empty()) t.canonical_uri += "/" + AwsUriEncode(key, true);
  } else {
    t.canonical_uri = "/" + AwsUriEncode(key, true);
  }
  return t;
}

std::string Client::UrlFor(std::string_view key, const ParamList& query) const {
  Target t = TargetFor(key);
  std::string url = t.origin + t.canonical_uri;
  if (!query.empty()) url += "?" + CanonicalQueryString(query);
  return url;
}

Result<net::ClientResponse> Client::Do(Call call) const {
  const Target target = TargetFor(call.key);
  const std::string url = UrlFor(call.key, call.query);
  const std::string payload = call.payload_hash.empty() ? Sha256Hex(call.body) : call.payload_hash;
  std::string_view method_name = net::MethodName(call.method);
  thread_local std::minstd_rand rng(std::random_device{}());

  Error last;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    ParamList sign_headers = call.headers;
    sign_headers.emplace_back("Host", target.host_header);
    SigV4Request sreq{.method = std::string(method_name),
                      .canonical_uri = target.canonical_uri,
                      .query = call.query,
                      .headers = sign_headers,
                      .payload_hash = payload};
    SigV4Signature sig = signer_.Sign(sreq, Now());

    net::ClientRequest req;
    req.method = call.method;
    req.url = url;
    req.timeout = config_.request_timeout;
    for (const auto& [k, v] : sign_headers) req.headers.Add(k, v);
    for (const auto& [k, v] : sig.add_headers) req.headers.Add(k, v);
    // The body is kept for a retry, except on the last attempt.
    req.body = attempt == config_.max_attempts ? std::move(call.body) : call.body;

    Result<net::ClientResponse> r = http_->SendSync(std::move(req));
    bool retryable = false;
    if (!r.ok()) {
      const ErrorCode c = r.error().code;
      last = Error(
          c, "S3 " + call.op + (call.key.empty() ? "" : " " + call.key) + ": " + r.error().message);
      retryable =
          call.idempotent && (c == ErrorCode::kUnavailable || c == ErrorCode::kDeadlineExceeded);
    } else if (Is2xx(r->status)) {
      if (!call.error_in_200 || r->body.find("<Error") == std::string::npos) return r;
      std::optional<ErrorBody> body = ParseErrorBody(r->body);
      if (!body) return r;
      net::ClientResponse as_error = std::move(*r);
      as_error.status = 500;  // the operation failed after S3 sent 200
      last = MapS3Error(call.op, call.key, as_error);
      retryable = call.idempotent && IsRetryableS3Code(body->code);
    } else {
      std::optional<ErrorBody> body = ParseErrorBody(r->body);
      const std::string code = body ? body->code : std::string();
      last = MapS3Error(call.op, call.key, *r);
      const bool throttled = r->status == 503 || code == "SlowDown";
      retryable = throttled || (call.idempotent && (r->status >= 500 || IsRetryableS3Code(code)));
    }
    if (!retryable || attempt == config_.max_attempts) break;
    const auto cap = config_.retry_max_delay.count();
    int64_t delay = config_.retry_base_delay.count() << std::min(attempt - 1, 20);
    if (delay > cap) delay = cap;
    std::uniform_int_distribution<int64_t> jitter(delay / 2, std::max<int64_t>(delay, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
  }
  return last;
}

Result<PresignedRequest> Client::Presign(std::string_view method, std::string_view key,
                                         const ParamList& query, const ParamList& signed_headers,
                                         std::string payload_hash, int64_t expires_seconds) const {
  if (expires_seconds < 1 || expires_seconds > 604800) {
    return InvalidArgument("presigned URL expiry must be 1..604800 seconds, not " +
                           std::to_string(expires_seconds));
  }
  const Target target = TargetFor(key);
  ParamList headers = signed_headers;
  headers.emplace_back("host", target.host_header);
  SigV4Request sreq{.method = std::string(method),
                    .canonical_uri = target.canonical_uri,
                    .query = query,
                    .headers = headers,
                    .payload_hash = std::move(payload_hash)};
  const int64_t now = Now();
  SigV4Signature sig = signer_.Presign(sreq, now, expires_seconds);
  PresignedRequest out;
  out.method = std::string(method);
  out.url = target.origin + target.canonical_uri + "?" + sig.query_string;
  out.headers = signed_headers;
  out.expires_unix = now + expires_seconds;
  return out;
}

Status Client::HeadBucket() const {
  Call c{.method = net::Method::kHead, .op = "HeadBucket"};
  auto r = Do(std::move(c));
  if (!r.ok()) {
    Error e = std::move(r).error();
    if (e.code == ErrorCode::kNotFound) {
      return Error(ErrorCode::kFailedPrecondition,
                   "S3 bucket '" + config_.bucket + "' does not exist at " + config_.endpoint.host +
                       " (" + e.message + ")");
    }
    return e;
  }
  return Ok();
}

Result<std::optional<ObjectHead>> Client::Head(const std::string& key) const {
  Call c{.method = net::Method::kHead, .op = "HeadObject", .key = key};
  auto r = Do(std::move(c));
  if (!r.ok()) {
    if (r.error().code == ErrorCode::kNotFound) return std::optional<ObjectHead>();
    return std::move(r).error();
  }
  ObjectHead h;
  ATCR_ASSIGN_OR_RETURN(h.size, ParseContentLength(*r));
  if (auto lm = r->headers.Get("Last-Modified")) h.modified_unix = ParseHttpDate(*lm);
  if (auto et = r->headers.Get("ETag")) h.etag = std::string(*et);
  return std::optional<ObjectHead>(std::move(h));
}

Result<std::string> Client::GetRange(const std::string& key, uint64_t offset,
                                     uint64_t length) const {
  if (length == 0) return std::string();
  Call c{.method = net::Method::kGet,
         .op = "GetObject",
         .key = key,
         .headers = {{"Range", "bytes=" + std::to_string(offset) + "-" +
                                   std::to_string(offset + length - 1)}}};
  ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
  if (r.status == 200) {
    // A server that ignores Range sends the whole object.
    if (offset >= r.body.size()) return std::string();
    return r.body.substr(offset, length);
  }
  if (r.body.size() > length) {
    return Internal("S3 GetObject " + key + ": asked for " + std::to_string(length) +
                    " bytes, got " + std::to_string(r.body.size()));
  }
  return std::move(r.body);
}

Result<std::string> Client::Put(const std::string& key, std::string body,
                                std::string sha256_hex) const {
  Call c{.method = net::Method::kPut,
         .op = "PutObject",
         .key = key,
         .headers = {{"Content-Type", "application/octet-stream"}},
         .body = std::move(body),
         .payload_hash = std::move(sha256_hex)};
  ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
  auto etag = r.headers.Get("ETag");
  return etag ? std::string(*etag) : std::string();
}

Status Client::Delete(const std::string& key) const {
  Call c{.method = net::Method::kDelete, .op = "DeleteObject", .key = key};
  auto r = Do(std::move(c));
  if (!r.ok() && r.error().code != ErrorCode::kNotFound) return std::move(r).error();
  return Ok();
}

Result<std::string> Client::Copy(const std::string& src_key, const std::string& dst_key) const {
  Call c{.method = net::Method::kPut,
         .op = "CopyObject",
         .key = dst_key,
         .headers = {{"x-amz-copy-source", EncodeCopySource(config_.bucket, src_key)}},
         .error_in_200 = true};
  ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
  return ParseResultETag(r.body, "CopyObjectResult");
}

Result<std::string> Client::CreateMultipart(const std::string& key) const {
  Call c{.method = net::Method::kPost,
         .op = "CreateMultipartUpload",
         .key = key,
         .query = {{"uploads", ""}},
         .headers = {{"Content-Type", "application/octet-stream"}},
         .idempotent = false};
  ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
  return ParseInitiateMultipartUpload(r.body);
}

Result<std::string> Client::UploadPart(const std::string& key, const std::string& upload_id,
                                       int32_t part_number, std::string body) const {
  Call c{.method = net::Method::kPut,
         .op = "UploadPart",
         .key = key,
         .query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}},
         .body = std::move(body)};
  ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
  auto etag = r.headers.Get("ETag");
  if (!etag) return Internal("S3 UploadPart " + key + ": no ETag in the response");
  return std::string(*etag);
}

Result<std::string> Client::UploadPartCopy(const std::string& key, const std::string& upload_id,
                                           int32_t part_number, const std::string& src_key,
                                           uint64_t first, uint64_t last) const {
  Call c{.method = net::Method::kPut,
         .op = "UploadPartCopy",
         .key = key,
         .query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}},
         .headers = {{"x-amz-copy-source", EncodeCopySource(config_.bucket, src_key)},
                     {"x-amz-copy-source-range",
                      "bytes=" + std::to_string(first) + "-" + std::to_string(last)}},
         .error_in_200 = true};
  ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
  return ParseResultETag(r.body, "CopyPartResult");
}

Result<std::string> Client::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                              const std::vector<CompletedPart>& parts) const {
  Call c{.method = net::Method::kPost,
         .op = "CompleteMultipartUpload",
         .key = key,
         .query = {{"uploadId", upload_id}},
         .headers = {{"Content-Type", "application/xml"}},
         .body = BuildCompleteMultipartUpload(parts),
         .error_in_200 = true};
  ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
  return ParseResultETag(r.body, "CompleteMultipartUploadResult");
}

Status Client::AbortMultipart(const std::string& key, const std::string& upload_id) const {
  Call c{.method = net::Method::kDelete,
         .op = "AbortMultipartUpload",
         .key = key,
         .query = {{"uploadId", upload_id}}};
  auto r = Do(std::move(c));
  if (!r.ok()) return std::move(r).error();
  return Ok();
}

Result<std::vector<ListedPart>> Client::ListParts(const std::string& key,
                                                  const std::string& upload_id) const {
  std::vector<ListedPart> out;
  std::string marker;
  for (int page = 0; page < 100; ++page) {
    Call c{.method = net::Method::kGet,
           .op = "ListParts",
           .key = key,
           .query = {{"uploadId", upload_id}, {"max-parts", "1000"}}};
    if (!marker.empty()) c.query.emplace_back("part-number-marker", marker);
    ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
    ATCR_ASSIGN_OR_RETURN(ListPartsResult res, ParseListParts(r.body));
    for (auto& p : res.parts) out.push_back(std::move(p));
    if (!res.truncated) return out;
    marker = res.next_part_number_marker;
  }
  return Internal("S3 ListParts " + key + ": more than 100 pages");
}

Result<std::vector<ListedUpload>> Client::ListUploads(const std::string& prefix) const {
  std::vector<ListedUpload> out;
  std::string key_marker;
  std::string id_marker;
  // 1000 pages of 1000: far beyond any sane number of open uploads; stops a looping server.
  for (int page = 0; page < 1000; ++page) {
    Call c{.method = net::Method::kGet,
           .op = "ListMultipartUploads",
           .query = {{"uploads", ""}, {"prefix", prefix}, {"max-uploads", "1000"}}};
    if (!key_marker.empty()) c.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) c.query.emplace_back("upload-id-marker", id_marker);
    ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
    ATCR_ASSIGN_OR_RETURN(ListUploadsResult res, ParseListMultipartUploads(r.body));
    for (auto& u : res.uploads) out.push_back(std::move(u));
    if (!res.truncated) return out;
    key_marker = res.next_key_marker;
    id_marker = res.next_upload_id_marker;
  }
  return Internal("S3 ListMultipartUploads: more than 1000 pages");
}

Status Client::ListObjects(const std::string& prefix,
                           const std::function<Status(const ListedObject&)>& visit) const {
  std::string token;
  for (;;) {
    Call c{.method = net::Method::kGet,
           .op = "ListObjectsV2",
           .query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", "1000"}}};
    if (!token.empty()) c.query.emplace_back("continuation-token", token);
    ATCR_ASSIGN_OR_RETURN(net::ClientResponse r, Do(std::move(c)));
    ATCR_ASSIGN_OR_RETURN(ListObjectsResult res, ParseListObjectsV2(r.body));
    for (const auto& o : res.objects) ATCR_TRY(visit(o));
    if (!res.truncated) return Ok();
    if (res.next_continuation_token == token) {
      return Internal("S3 ListObjectsV2: the continuation token did not advance");
    }
    token = res.next_continuation_token;
  }
}

}  // namespace atcr::storage::s3
