#include "atcr/appview/hold_client.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

#include <boost/json.hpp>

#include "atcr/appview/pds_client.h"
#include "atcr/net/xrpc.h"
#include "internal/file_range_request.h"

namespace atcr::appview {
namespace json = boost::json;

struct HoldClient::Impl {
  std::shared_ptr<net::HttpClient> http;
  std::shared_ptr<identity::Resolver> resolver;
  HoldClientOptions options;

  std::mutex mu;
  std::map<std::string, std::string> endpoints;  // fixed endpoints by DID
  struct Cached {
    HoldInfo info;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, Cached> infos;
  std::map<std::string, bool> part_put;  // by endpoint: uploadPart takes PUT (true) or POST

  Result<json::object> ParseObject(std::string_view body, std::string_view nsid) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      return Error(ErrorCode::kUnavailable, std::string(nsid) + ": hold answer is not JSON",
                   "UpstreamFailure");
    }
    return std::move(v.get_object());
  }

  Task<Result<json::object>> Procedure(const HoldInfo& hold, std::string token, std::string nsid,
                                       json::object body) {
    net::XrpcCallOptions opts;
    opts.bearer = std::move(token);
    opts.timeout = options.timeout;
    std::string text = json::serialize(body);
    std::string base = hold.endpoint;
    std::string ct = "application/json";
    auto r = co_await net::XrpcProcedure(*http, base, nsid, std::move(text), ct, std::move(opts));
    if (!r.ok()) co_return r.error();
    co_return ParseObject(r->body, nsid);
  }
};

namespace {
std::string StrField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<std::string> ReadRange(const PartBody& body) {
  std::string out(static_cast<size_t>(body.length), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(body.fd, out.data() + got, out.size() - got,
                        static_cast<off_t>(body.offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read upload spool", errno);
    if (n == 0) return Error(ErrorCode::kDataLoss, "upload spool shorter than expected");
    got += static_cast<size_t>(n);
  }
  return out;
}

// One request with a part as its body: streamed from the file over http://, read into memory
// first over https (net::HttpClient's TLS).
Task<Result<net::ClientResponse>> SendPartBody(net::HttpClient& http, net::Method method,
                                               std::string url, net::Headers headers,
                                               PartBody body, std::chrono::milliseconds timeout) {
  if (internal::IsPlainHttp(url)) {
    internal::FileRange range;
    range.fd = body.fd;
    range.offset = body.offset;
    range.length = body.length;
    co_return co_await internal::SendFileRange(method, std::move(url), std::move(headers), range,
                                               timeout);
  }
  Result<std::string> bytes = std::string();
  co_await net::RunBlocking([&] { bytes = ReadRange(body); });
  if (!bytes.ok()) co_return bytes.error();
  net::ClientRequest req;
  req.method = method;
  req.url = std::move(url);
  req.headers = std::move(headers);
  req.body = std::move(*bytes);
  req.timeout = timeout;
  co_return co_await http.Send(std::move(req));
}
}  // namespace

HoldClient::HoldClient(std::shared_ptr<net::HttpClient> http,
                       std::shared_ptr<identity::Resolver> resolver, HoldClientOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->http = std::move(http);
  impl_->resolver = std::move(resolver);
  impl_->options = options;
}

HoldClient::~HoldClient() = default;

void HoldClient::SetEndpoint(const std::string& did, const std::string& endpoint) {
  std::lock_guard lock(impl_->mu);
  impl_->endpoints[did] = NormalizeBaseUrl(endpoint);
  impl_->infos.erase(did);
}

void HoldClient::InvalidateInfo(const std::string& did) {
  std::lock_guard lock(impl_->mu);
  impl_->infos.erase(did);
}

Task<Result<HoldInfo>> HoldClient::Info(std::string did) {
  auto impl = impl_;
  std::string endpoint;
  {
    std::lock_guard lock(impl->mu);
    auto it = impl->infos.find(did);
    if (it != impl->infos.end() && it->second.expires > std::chrono::steady_clock::now()) {
      co_return it->second.info;
    }
    auto e = impl->endpoints.find(did);
    if (e != impl->endpoints.end()) endpoint = e->second;
  }
  if (endpoint.empty()) {
    auto doc = co_await impl->resolver->ResolveDid(did);
    if (!doc.ok()) {
      co_return Error(ErrorCode::kUnavailable,
                      "cannot resolve hold " + did + ": " + doc.error().message, "UNAVAILABLE");
    }
    if (auto e = doc->ServiceEndpoint("atcr_hold")) {
      endpoint = *e;
    } else {
      endpoint = doc->pds_endpoint;
    }
    if (endpoint.empty()) {
      co_return Error(ErrorCode::kUnavailable, "hold " + did + " has no service endpoint",
                      "UNAVAILABLE");
    }
    endpoint = NormalizeBaseUrl(endpoint);
  }
  HoldInfo info;
  info.did = did;
  info.endpoint = endpoint;
  // The captain record says whether anonymous pulls are allowed. A hold that cannot be asked
  // counts as private, which only costs anonymous users a login.
  std::vector<std::pair<std::string, std::string>> params = {
      {"repo", did}, {"collection", "io.atcr.hold.captain"}, {"rkey", "self"}};
  std::string nsid = "com.atproto.repo.getRecord";
  auto r = co_await net::XrpcQuery(*impl->http, endpoint, nsid, std::move(params));
  if (r.ok()) {
    auto o = impl->ParseObject(r->body, nsid);
    if (o.ok()) {
      const json::value* v = o->if_contains("value");
      if (v != nullptr && v->is_object()) {
        const json::value* p = v->get_object().if_contains("public");
        info.is_public = p != nullptr && p->is_bool() && p->get_bool();
      }
    }
  } else {
    spdlog::info("appview: captain record of hold {} unreadable ({}); treating it as private",
                 did, r.error().message);
  }
  std::lock_guard lock(impl->mu);
  impl->infos[did] = {info, std::chrono::steady_clock::now() + impl->options.directory_ttl};
  co_return info;
}

Task<Result<std::string>> HoldClient::InitiateUpload(HoldInfo hold, std::string token,
                                                     oci::Digest digest) {
  json::object body;
  body["digest"] = digest.str();
  std::string nsid = "io.atcr.hold.initiateUpload";
  auto r = co_await impl_->Procedure(hold, std::move(token), nsid, std::move(body));
  if (!r.ok()) co_return r.error();
  std::string id = StrField(*r, "uploadId");
  if (id.empty()) co_return Error(ErrorCode::kUnavailable, nsid + ": no uploadId", "UpstreamFailure");
  co_return id;
}

Task<Result<PartUrl>> HoldClient::GetPartUploadUrl(HoldInfo hold, std::string token,
                                                   std::string upload_id, int part_number) {
  json::object body;
  body["uploadId"] = upload_id;
  body["partNumber"] = part_number;
  std::string nsid = "io.atcr.hold.getPartUploadUrl";
  auto r = co_await impl_->Procedure(hold, std::move(token), nsid, std::move(body));
  if (!r.ok()) co_return r.error();
  PartUrl p;
  p.url = StrField(*r, "url");
  if (std::string m = StrField(*r, "method"); !m.empty()) p.method = m;
  if (const json::value* h = r->if_contains("headers"); h != nullptr && h->is_object()) {
    for (const auto& kv : h->get_object()) {
      if (kv.value().is_string()) {
        p.headers.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
      }
    }
  }
  if (p.url.empty()) co_return Error(ErrorCode::kUnavailable, nsid + ": no url", "UpstreamFailure");
  co_return p;
}

Task<Result<std::string>> HoldClient::UploadPart(HoldInfo hold, std::string token,
                                                 std::string upload_id, int part_number,
                                                 PartBody body) {
  auto impl = impl_;
  bool put = impl->options.upload_part_put_first;
  {
    std::lock_guard lock(impl->mu);
    auto it = impl->part_put.find(hold.endpoint);
    if (it != impl->part_put.end()) put = it->second;
  }
  std::string nsid = "io.atcr.hold.uploadPart";
  for (int attempt = 0; attempt < 2; ++attempt) {
    net::Headers headers;
    headers.Set("Authorization", "Bearer " + token);
    headers.Set("Content-Type", "application/octet-stream");
    headers.Set("X-Upload-Id", upload_id);
    headers.Set("X-Part-Number", std::to_string(part_number));
    const net::Method method = put ? net::Method::kPut : net::Method::kPost;
    auto r = co_await SendPartBody(*impl->http, method, hold.endpoint + "/xrpc/" + nsid,
                                   std::move(headers), body, impl->options.timeout);
    if (!r.ok()) co_return r.error();
    if (r->status == 405 && attempt == 0) {
      put = !put;
      continue;
    }
    if (r->status < 200 || r->status >= 300) {
      co_return net::XrpcErrorFromResponse(r->status, r->body, nsid);
    }
    {
      std::lock_guard lock(impl->mu);
      impl->part_put[hold.endpoint] = put;
    }
    auto o = impl->ParseObject(r->body, nsid);
    if (!o.ok()) co_return o.error();
    std::string etag = StrField(*o, "etag");
    if (etag.empty()) co_return Error(ErrorCode::kUnavailable, nsid + ": no etag", "UpstreamFailure");
    co_return etag;
  }
  co_return Error(ErrorCode::kUnavailable, nsid + ": the hold accepts neither PUT nor POST",
                  "UpstreamFailure");
}

Task<Result<std::string>> HoldClient::PutPresignedPart(PartUrl url, PartBody body) {
  const net::Method method = net::ParseMethod(url.method);
  if (method != net::Method::kPut && method != net::Method::kPost) {
    co_return Error(ErrorCode::kUnavailable, "presigned part URL with method " + url.method,
                    "UpstreamFailure");
  }
  net::Headers headers;
  for (auto& [k, v] : url.headers) headers.Set(k, v);
  auto r = co_await SendPartBody(*impl_->http, method, std::move(url.url), std::move(headers), body,
                                 impl_->options.timeout);
  if (!r.ok()) co_return r.error();
  if (r->status == 413) {
    co_return ResourceExhausted("the part URL refused a part of " + std::to_string(body.length) +
                                    " bytes as too large",
                                "PayloadTooLarge");
  }
  if (r->status < 200 || r->status >= 300) {
    co_return Error(ErrorCode::kUnavailable,
                    "object storage answered HTTP " + std::to_string(r->status) + " to a part PUT",
                    "UpstreamFailure");
  }
  auto etag = r->headers.Get("ETag");
  if (!etag) co_return Error(ErrorCode::kUnavailable, "part PUT answer has no ETag", "UpstreamFailure");
  co_return std::string(*etag);
}

Task<Status> HoldClient::CompleteUpload(HoldInfo hold, std::string token, std::string upload_id,
                                        oci::Digest digest, std::vector<UploadedPart> parts) {
  json::object body;
  body["uploadId"] = upload_id;
  body["digest"] = digest.str();
  json::array arr;
  for (const UploadedPart& p : parts) {
    json::object o;
    o["partNumber"] = p.part_number;
    o["etag"] = p.etag;
    arr.emplace_back(std::move(o));
  }
  body["parts"] = std::move(arr);
  std::string nsid = "io.atcr.hold.completeUpload";
  auto r = co_await impl_->Procedure(hold, std::move(token), nsid, std::move(body));
  if (!r.ok()) co_return r.error();
  co_return Ok();
}

Task<Status> HoldClient::AbortUpload(HoldInfo hold, std::string token, std::string upload_id) {
  json::object body;
  body["uploadId"] = upload_id;
  std::string nsid = "io.atcr.hold.abortUpload";
  auto r = co_await impl_->Procedure(hold, std::move(token), nsid, std::move(body));
  if (!r.ok()) co_return r.error();
  co_return Ok();
}

Task<Result<json::object>> HoldClient::NotifyManifest(HoldInfo hold, std::string token,
                                                      json::object body) {
  std::string nsid = "io.atcr.hold.notifyManifest";
  co_return co_await impl_->Procedure(hold, std::move(token), nsid, std::move(body));
}

Task<Result<json::object>> HoldClient::RequestCrew(HoldInfo hold, std::string token) {
  std::string nsid = "io.atcr.hold.requestCrew";
  json::object body;
  co_return co_await impl_->Procedure(hold, std::move(token), nsid, std::move(body));
}

std::string HoldClient::BlobUrl(const HoldInfo& hold, const oci::Digest& digest) {
  return hold.endpoint + "/xrpc/com.atproto.sync.getBlob?did=" + net::PercentEncode(hold.did) +
         "&cid=" + net::PercentEncode(digest.str());
}

Task<Result<std::string>> HoldClient::ResolveBlobRedirect(HoldInfo hold, std::string token,
                                                          oci::Digest digest) {
  net::ClientRequest req;
  req.method = net::Method::kGet;
  req.url = BlobUrl(hold, digest);
  if (!token.empty()) req.headers.Set("Authorization", "Bearer " + token);
  // If the hold proxies instead of redirecting, this keeps the answer to one byte.
  req.headers.Set("Range", "bytes=0-0");
  req.timeout = impl_->options.timeout;
  auto r = co_await impl_->http->Send(std::move(req));
  if (!r.ok()) co_return r.error();
  if (r->status >= 300 && r->status < 400) {
    auto loc = r->headers.Get("Location");
    if (!loc || loc->empty()) {
      co_return Error(ErrorCode::kUnavailable, "hold redirect without Location", "UpstreamFailure");
    }
    co_return std::string(*loc);
  }
  if (r->status == 404) {
    co_return Error(ErrorCode::kNotFound, "hold " + hold.did + " has no blob " + digest.str(),
                    "BLOB_UNKNOWN");
  }
  if (r->status >= 200 && r->status < 300) {
    co_return Error(ErrorCode::kUnavailable,
                    "hold " + hold.did + " is private and serves blob bytes itself; the "
                    "registry cannot redirect to it",
                    "UNAVAILABLE");
  }
  co_return net::XrpcErrorFromResponse(r->status, r->body, "com.atproto.sync.getBlob");
}

}  // namespace atcr::appview
