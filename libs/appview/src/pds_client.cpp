#include "atcr/appview/pds_client.h"

#include <boost/json.hpp>

#include "atcr/net/xrpc.h"

namespace atcr::appview {
namespace json = boost::json;

namespace {

Result<json::object> ParseObject(std::string_view body, std::string_view nsid) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Error(ErrorCode::kUnavailable, std::string(nsid) + ": answer is not a JSON object",
                 "UpstreamFailure");
  }
  return std::move(v.get_object());
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<PdsSession> SessionFrom(const net::XrpcResult& r, std::string_view nsid,
                               const std::string& pds) {
  ATCR_ASSIGN_OR_RETURN(json::object o, ParseObject(r.body, nsid));
  PdsSession s;
  s.did = Str(o, "did");
  s.handle = Str(o, "handle");
  s.access_jwt = Str(o, "accessJwt");
  s.refresh_jwt = Str(o, "refreshJwt");
  s.pds_endpoint = pds;
  if (s.did.empty() || s.access_jwt.empty() || s.refresh_jwt.empty()) {
    return Error(ErrorCode::kUnavailable, std::string(nsid) + ": answer lacks did or tokens",
                 "UpstreamFailure");
  }
  return s;
}

}  // namespace

std::string NormalizeBaseUrl(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

PdsClient::PdsClient(std::shared_ptr<net::HttpClient> http, PdsClientOptions options)
    : http_(std::move(http)), options_(options) {}

Task<Result<PdsSession>> PdsClient::CreateSession(std::string pds, std::string identifier,
                                                  std::string password) {
  pds = NormalizeBaseUrl(pds);
  json::object body;
  body["identifier"] = identifier;
  body["password"] = password;
  std::string text = json::serialize(body);
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  std::string nsid = "com.atproto.server.createSession";
  std::string base = NormalizeBaseUrl(pds);
  std::string ct = "application/json";
  auto r = co_await net::XrpcProcedure(*http_, base, nsid, std::move(text), ct, std::move(opts));
  if (!r.ok()) co_return r.error();
  co_return SessionFrom(*r, nsid, pds);
}

Task<Result<PdsSession>> PdsClient::RefreshSession(std::string pds, std::string refresh_jwt) {
  pds = NormalizeBaseUrl(pds);
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  opts.bearer = std::move(refresh_jwt);
  std::string nsid = "com.atproto.server.refreshSession";
  std::string base = NormalizeBaseUrl(pds);
  std::string body;
  std::string ct = "application/json";
  auto r = co_await net::XrpcProcedure(*http_, base, nsid, std::move(body), ct, std::move(opts));
  if (!r.ok()) co_return r.error();
  co_return SessionFrom(*r, nsid, pds);
}

Task<Result<std::string>> PdsClient::GetServiceAuth(std::string pds, std::string access_jwt,
                                                    std::string aud, std::string lxm,
                                                    int64_t exp_unix) {
  std::vector<std::pair<std::string, std::string>> params;
  params.emplace_back("aud", std::move(aud));
  if (!lxm.empty()) params.emplace_back("lxm", std::move(lxm));
  if (exp_unix > 0) params.emplace_back("exp", std::to_string(exp_unix));
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  opts.bearer = std::move(access_jwt);
  std::string nsid = "com.atproto.server.getServiceAuth";
  std::string base = NormalizeBaseUrl(pds);
  auto r = co_await net::XrpcQuery(*http_, base, nsid, std::move(params),
                                   std::move(opts));
  if (!r.ok()) co_return r.error();
  ATCR_CO_ASSIGN_OR_RETURN(json::object o, ParseObject(r->body, nsid));
  std::string token = Str(o, "token");
  if (token.empty()) {
    co_return Error(ErrorCode::kUnavailable, nsid + ": answer has no token", "UpstreamFailure");
  }
  co_return token;
}

Task<Result<RecordValue>> PdsClient::GetRecord(std::string pds, std::string repo,
                                               std::string collection, std::string rkey) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"repo", std::move(repo)}, {"collection", std::move(collection)}, {"rkey", std::move(rkey)}};
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  std::string nsid = "com.atproto.repo.getRecord";
  std::string base = NormalizeBaseUrl(pds);
  auto r = co_await net::XrpcQuery(*http_, base, nsid, std::move(params),
                                   std::move(opts));
  if (!r.ok()) co_return r.error();
  ATCR_CO_ASSIGN_OR_RETURN(json::object o, ParseObject(r->body, nsid));
  RecordValue rv;
  rv.uri = Str(o, "uri");
  rv.cid = Str(o, "cid");
  if (json::value* v = o.if_contains("value")) rv.value = std::move(*v);
  if (!rv.value.is_object()) {
    co_return Error(ErrorCode::kUnavailable, nsid + ": answer has no record value",
                    "UpstreamFailure");
  }
  co_return rv;
}

Task<Result<RecordPage>> PdsClient::ListRecords(std::string pds, std::string repo,
                                                std::string collection, int limit,
                                                std::string cursor) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"repo", std::move(repo)},
      {"collection", std::move(collection)},
      {"limit", std::to_string(limit)}};
  if (!cursor.empty()) params.emplace_back("cursor", std::move(cursor));
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  std::string nsid = "com.atproto.repo.listRecords";
  std::string base = NormalizeBaseUrl(pds);
  auto r = co_await net::XrpcQuery(*http_, base, nsid, std::move(params),
                                   std::move(opts));
  if (!r.ok()) co_return r.error();
  ATCR_CO_ASSIGN_OR_RETURN(json::object o, ParseObject(r->body, nsid));
  RecordPage page;
  page.cursor = Str(o, "cursor");
  if (json::value* recs = o.if_contains("records"); recs != nullptr && recs->is_array()) {
    for (json::value& item : recs->get_array()) {
      if (!item.is_object()) continue;
      json::object& io = item.get_object();
      RecordValue rv;
      rv.uri = Str(io, "uri");
      rv.cid = Str(io, "cid");
      if (json::value* v = io.if_contains("value")) rv.value = std::move(*v);
      page.records.push_back(std::move(rv));
    }
  }
  co_return page;
}

Task<Result<std::string>> PdsClient::PutRecord(std::string pds, std::string access_jwt,
                                               std::string repo, std::string collection,
                                               std::string rkey, json::object record) {
  json::object body;
  body["repo"] = repo;
  body["collection"] = collection;
  body["rkey"] = rkey;
  body["validate"] = false;
  body["record"] = std::move(record);
  std::string text = json::serialize(body);
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  opts.bearer = std::move(access_jwt);
  std::string nsid = "com.atproto.repo.putRecord";
  std::string base = NormalizeBaseUrl(pds);
  std::string ct = "application/json";
  auto r = co_await net::XrpcProcedure(*http_, base, nsid, std::move(text), ct,
                                       std::move(opts));
  if (!r.ok()) co_return r.error();
  ATCR_CO_ASSIGN_OR_RETURN(json::object o, ParseObject(r->body, nsid));
  co_return Str(o, "cid");
}

Task<Status> PdsClient::DeleteRecord(std::string pds, std::string access_jwt, std::string repo,
                                     std::string collection, std::string rkey) {
  json::object body;
  body["repo"] = repo;
  body["collection"] = collection;
  body["rkey"] = rkey;
  std::string text = json::serialize(body);
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  opts.bearer = std::move(access_jwt);
  std::string nsid = "com.atproto.repo.deleteRecord";
  std::string base = NormalizeBaseUrl(pds);
  std::string ct = "application/json";
  auto r = co_await net::XrpcProcedure(*http_, base, nsid, std::move(text), ct,
                                       std::move(opts));
  if (!r.ok()) co_return r.error();
  co_return Ok();
}

Task<Result<BlobRef>> PdsClient::UploadBlob(std::string pds, std::string access_jwt,
                                            std::string bytes, std::string mime_type) {
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  opts.bearer = std::move(access_jwt);
  std::string nsid = "com.atproto.repo.uploadBlob";
  std::string base = NormalizeBaseUrl(pds);
  auto r = co_await net::XrpcProcedure(*http_, base, nsid, std::move(bytes),
                                       std::move(mime_type), std::move(opts));
  if (!r.ok()) co_return r.error();
  ATCR_CO_ASSIGN_OR_RETURN(json::object o, ParseObject(r->body, nsid));
  const json::value* blob = o.if_contains("blob");
  if (blob == nullptr) {
    co_return Error(ErrorCode::kUnavailable, nsid + ": answer has no blob", "UpstreamFailure");
  }
  auto ref = BlobRef::FromJson(*blob);
  if (!ref.ok()) {
    co_return Error(ErrorCode::kUnavailable, nsid + ": " + ref.error().message, "UpstreamFailure");
  }
  co_return std::move(*ref);
}

Task<Result<std::string>> PdsClient::GetBlob(std::string pds, std::string did, std::string cid) {
  std::vector<std::pair<std::string, std::string>> params = {{"did", std::move(did)},
                                                             {"cid", std::move(cid)}};
  net::XrpcCallOptions opts;
  opts.timeout = options_.timeout;
  std::string nsid = "com.atproto.sync.getBlob";
  std::string base = NormalizeBaseUrl(pds);
  auto r = co_await net::XrpcQuery(*http_, base, nsid, std::move(params),
                                   std::move(opts));
  if (!r.ok()) co_return r.error();
  if (r->body.size() > options_.max_blob_bytes) {
    co_return ResourceExhausted(nsid + ": blob larger than " +
                                std::to_string(options_.max_blob_bytes) + " bytes");
  }
  co_return std::move(r->body);
}

}  // namespace atcr::appview
