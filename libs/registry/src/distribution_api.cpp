#include "atcr/registry/distribution_api.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <unistd.h>

#include <limits>

#include "atcr/oci/name.h"
#include "internal/api.h"
#include "internal/api_path.h"

namespace atcr::registry {
namespace json = boost::json;
using internal::Endpoint;
using internal::OciError;
using oci::ErrorCodeOci;

namespace internal {

Response OciError(ErrorCodeOci code, std::string_view message, std::string_view detail_json,
                  int status) {
  return Response::Json(status != 0 ? status : oci::HttpStatus(code),
                        oci::ErrorBody(code, message, detail_json));
}

Response ErrorResponse(const Error& error, const Request& req) {
  ErrorCodeOci code = error.wire == "TAG_INVALID" ? ErrorCodeOci::kManifestInvalid
                                                  : oci::CodeFor(error);
  int status = oci::HttpStatus(code);
  // The registered defaults of these two are 404; clients and the spec's tables expect 400.
  if (code == ErrorCodeOci::kBlobUploadInvalid || code == ErrorCodeOci::kSizeInvalid) status = 400;
  if (status >= 500) {
    if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kDeadlineExceeded) {
      // Mostly a client that went away or stalled mid-body; nobody reads this answer.
      spdlog::info("registry: {} {}: {}", req.method_name, req.path, error.ToString());
    } else {
      spdlog::error("registry: {} {}: {}", req.method_name, req.path, error.ToString());
    }
    return OciError(code, "internal error; see the registry log", {}, status);
  }
  return OciError(code, error.message, {}, status);
}

Response BodyReadError(const Error& error, const Request& req, ErrorCodeOci malformed) {
  // The net layer reports broken framing (bad chunk sizes, ...) as kInvalidArgument without an
  // OCI wire name; that is the client's fault, not a 500.
  if (error.code == ErrorCode::kInvalidArgument && error.wire.empty()) {
    return OciError(malformed, error.message, {}, 400);
  }
  return ErrorResponse(error, req);
}

std::string DigestDetail(const oci::Digest& d) {
  json::object o;
  o["digest"] = d.str();
  return json::serialize(o);
}

std::string UploadRange(uint64_t size) {
  return "0-" + std::to_string(size == 0 ? 0 : size - 1);
}
std::string UploadLocation(std::string_view name, std::string_view id) {
  return "/v2/" + std::string(name) + "/blobs/uploads/" + std::string(id);
}
std::string BlobLocation(std::string_view name, const oci::Digest& d) {
  return "/v2/" + std::string(name) + "/blobs/" + d.str();
}
std::string ManifestLocation(std::string_view name, const oci::Digest& d) {
  return "/v2/" + std::string(name) + "/manifests/" + d.str();
}
std::string ETag(const oci::Digest& d) { return "\"" + d.str() + "\""; }

bool IfNoneMatch(const Request& req, const oci::Digest& d) {
  std::string tag = ETag(d);
  for (std::string_view value : req.headers.GetAll("If-None-Match")) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string_view item =
          value.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                              : comma - start);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item.starts_with("W/")) item.remove_prefix(2);
      if (item == "*" || item == tag || item == d.str()) return true;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return false;
}

}  // namespace internal

namespace {

struct Page {
  std::optional<size_t> n;
  std::string last;
};

// n: non-negative integer (clamped to max_page); anything else is PAGINATION_NUMBER_INVALID.
Result<Page> ParsePage(const Request& req, size_t max_page) {
  Page page;
  if (auto n = req.Query("n")) {
    auto v = internal::ParseUint(*n);
    if (!v) {
      return InvalidArgument("n must be a non-negative integer, got \"" + *n + "\"",
                             "PAGINATION_NUMBER_INVALID");
    }
    page.n = *v > max_page ? max_page : static_cast<size_t>(*v);
  }
  if (auto last = req.Query("last")) page.last = *last;
  return page;
}

std::string NextLink(std::string_view path, std::string_view last, size_t n) {
  return "<" + std::string(path) + "?last=" + net::PercentEncode(last) + "&n=" +
         std::to_string(n) + ">; rel=\"next\"";
}

std::string_view RouteLabel(Endpoint e, net::Method m) {
  using net::Method;
  switch (e) {
    case Endpoint::kBase: return "v2_base";
    case Endpoint::kCatalog: return "catalog";
    case Endpoint::kTagsList: return "tags_list";
    case Endpoint::kReferrers: return "referrers";
    case Endpoint::kManifest:
      if (m == Method::kPut) return "manifest_put";
      if (m == Method::kDelete) return "manifest_delete";
      if (m == Method::kHead) return "manifest_head";
      return "manifest_get";
    case Endpoint::kBlob:
      if (m == Method::kDelete) return "blob_delete";
      if (m == Method::kHead) return "blob_head";
      return "blob_get";
    case Endpoint::kUploadStart: return "upload_start";
    case Endpoint::kUpload:
      if (m == Method::kPatch) return "upload_patch";
      if (m == Method::kPut) return "upload_put";
      if (m == Method::kDelete) return "upload_delete";
      return "upload_status";
    case Endpoint::kUnknown: break;
  }
  return "v2_unknown";
}

// What the request touches, in token-scope terms (oci.md §11.1).
std::vector<Access> RequiredAccess(const internal::ApiPath& path, const Request& req) {
  using net::Method;
  std::vector<Access> out;
  if (path.endpoint == Endpoint::kCatalog) {
    out.push_back({"registry", "catalog", {"*"}});
    return out;
  }
  if (path.name.empty()) return out;
  std::vector<std::string> actions;
  switch (req.method) {
    case Method::kGet:
    case Method::kHead: actions = {"pull"}; break;
    case Method::kDelete:
      // Cancelling one's own upload is part of pushing.
      actions = path.endpoint == Endpoint::kUpload ? std::vector<std::string>{"pull", "push"}
                                                   : std::vector<std::string>{"delete"};
      break;
    default: actions = {"pull", "push"}; break;
  }
  out.push_back({"repository", path.name, std::move(actions)});
  if (path.endpoint == Endpoint::kUploadStart && req.method == Method::kPost) {
    auto from = req.Query("from");
    if (from && req.Query("mount") && *from != path.name) {
      out.push_back({"repository", *from, {"pull"}});
    }
  }
  return out;
}

// UNAUTHORIZED detail: [{"Type","Name","Action"}, ...] as distribution gives it.
std::string AccessDetail(const std::vector<Access>& access) {
  json::array arr;
  for (const Access& a : access) {
    for (const std::string& action : a.actions) {
      json::object o;
      o["Type"] = a.type;
      o["Name"] = a.name;
      o["Action"] = action;
      arr.emplace_back(std::move(o));
    }
  }
  if (arr.empty()) return {};
  return json::serialize(arr);
}

Response MethodNotAllowed(std::string_view allow) {
  Response r = OciError(ErrorCodeOci::kUnsupported, "method not allowed on this endpoint", {}, 405);
  r.headers.Set("Allow", std::string(allow));
  return r;
}

}  // namespace

std::string Access::Scope() const {
  std::string s = type + ":" + name + ":";
  for (size_t i = 0; i < actions.size(); ++i) {
    if (i > 0) s += ",";
    s += actions[i];
  }
  return s;
}

DistributionApi::DistributionApi(DistributionApiOptions options,
                                 std::shared_ptr<ManifestStore> manifests,
                                 std::shared_ptr<BlobStore> blobs,
                                 std::shared_ptr<UploadStore> uploads)
    : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
  impl_->manifests = std::move(manifests);
  impl_->blobs = std::move(blobs);
  impl_->uploads = std::move(uploads);
  if (impl_->options.metrics) {
    impl_->uploads_in_flight = &impl_->options.metrics->GetGauge(
        "atcr_registry_uploads_in_flight", "Requests currently streaming blob upload bytes.");
  }
}

DistributionApi::~DistributionApi() = default;

void DistributionApi::Register(net::Router& router) {
  std::shared_ptr<Impl> impl = impl_;
  net::Handler handler = [impl](Request& req) { return impl->Handle(req); };
  // The limit is raised per request for uploads and manifests (Impl::ReceiveBody, PutManifest).
  net::RouteOptions options;
  options.name = "v2";
  options.max_body = 64 * 1024;
  router.AddPrefix("/v2/", handler, options);
  for (net::Method m : {net::Method::kGet, net::Method::kHead}) {
    router.Add(m, "/v2", handler, options);
  }
}

net::Task<Response> DistributionApi::Handle(Request& request) {
  return impl_->Handle(request);
}

Task<Response> DistributionApi::Impl::Handle(Request& req) {
  using net::Method;
  internal::ApiPath path = internal::ParseApiPath(req.path);
  req.route = std::string(RouteLabel(path.endpoint, req.method));
  const Method m = req.method;
  const bool head = m == Method::kHead;

  Response resp;
  bool done = false;
  if (options.authenticator) {
    std::vector<Access> access = RequiredAccess(path, req);
    Status auth = co_await options.authenticator->Authenticate(req, access);
    if (!auth.ok()) {
      if (auth.error().code == ErrorCode::kPermissionDenied) {
        resp = OciError(ErrorCodeOci::kDenied, auth.error().message);
      } else {
        resp = OciError(ErrorCodeOci::kUnauthorized, auth.error().message, AccessDetail(access),
                        401);
        resp.headers.Set("WWW-Authenticate",
                         options.authenticator->Challenge(access, auth.error()));
      }
      done = true;
    }
  }
  if (!done && !path.name.empty()) {
    Status st = options.validate_name ? options.validate_name(path.name)
                                      : oci::ValidateRepositoryName(path.name);
    if (!st.ok()) {
      resp = OciError(ErrorCodeOci::kNameInvalid, st.error().message);
      done = true;
    }
  }
  if (!done) {
    switch (path.endpoint) {
      case Endpoint::kBase:
        if (m == Method::kGet || head) {
          resp = Response::Json(200, "{}");
        } else {
          resp = MethodNotAllowed("GET, HEAD");
        }
        break;
      case Endpoint::kCatalog:
        if (m == Method::kGet || head) {
          resp = co_await Catalog(req);
        } else {
          resp = MethodNotAllowed("GET, HEAD");
        }
        break;
      case Endpoint::kTagsList:
        if (m == Method::kGet || head) {
          resp = co_await TagsList(req, path.name);
        } else {
          resp = MethodNotAllowed("GET, HEAD");
        }
        break;
      case Endpoint::kManifest:
        if (m == Method::kGet || head) {
          resp = co_await GetManifest(req, path.name, path.arg);
        } else if (m == Method::kPut) {
          resp = co_await PutManifest(req, path.name, path.arg);
        } else if (m == Method::kDelete) {
          resp = co_await DeleteManifest(req, path.name, path.arg);
        } else {
          resp = MethodNotAllowed("GET, HEAD, PUT, DELETE");
        }
        break;
      case Endpoint::kReferrers:
        if (m == Method::kGet || head) {
          resp = co_await Referrers(req, path.name, path.arg);
        } else {
          resp = MethodNotAllowed("GET, HEAD");
        }
        break;
      case Endpoint::kBlob:
        if (m == Method::kGet || head) {
          resp = co_await GetBlob(req, path.name, path.arg);
        } else if (m == Method::kDelete) {
          resp = co_await DeleteBlob(req, path.name, path.arg);
        } else {
          resp = MethodNotAllowed("GET, HEAD, DELETE");
        }
        break;
      case Endpoint::kUploadStart:
        if (m == Method::kPost) {
          resp = co_await StartUpload(req, path.name);
        } else {
          resp = MethodNotAllowed("POST");
        }
        break;
      case Endpoint::kUpload:
        if (m == Method::kPatch) {
          resp = co_await PatchUpload(req, path.name, path.arg);
        } else if (m == Method::kPut) {
          resp = co_await FinishUpload(req, path.name, path.arg);
        } else if (m == Method::kGet || head) {
          resp = co_await UploadStatus(req, path.name, path.arg);
        } else if (m == Method::kDelete) {
          resp = co_await CancelUpload(req, path.name, path.arg);
        } else {
          resp = MethodNotAllowed("GET, HEAD, PATCH, PUT, DELETE");
        }
        break;
      case Endpoint::kUnknown:
        resp = OciError(ErrorCodeOci::kUnsupported, "no such endpoint: " + req.path, {}, 404);
        break;
    }
  }

  resp.headers.Set("Docker-Distribution-API-Version", "registry/2.0");
  if (head) {
    // HEAD answers carry the headers of the GET, never a body.
    if (auto* s = std::get_if<std::string>(&resp.body)) {
      if (!resp.content_length) resp.content_length = s->size();
      resp.body = std::monostate{};
    } else if (auto* f = std::get_if<net::FileBody>(&resp.body)) {
      if (!resp.content_length) resp.content_length = f->length;
      if (f->fd >= 0) ::close(f->fd);
      resp.body = std::monostate{};
    }
  }
  co_return resp;
}

Task<Response> DistributionApi::Impl::Catalog(Request& req) {
  auto page = ParsePage(req, options.max_page);
  if (!page.ok()) co_return internal::ErrorResponse(page.error(), req);
  size_t n = page->n.value_or(options.catalog_page);
  std::vector<std::string> repos;
  if (n > 0) {
    auto listed = co_await manifests->ListRepositories(page->last, n + 1);
    if (!listed.ok()) co_return internal::ErrorResponse(listed.error(), req);
    repos = std::move(*listed);
  }
  bool more = repos.size() > n;
  if (more) repos.resize(n);
  json::array arr;
  for (const std::string& r : repos) arr.emplace_back(r);
  json::object o;
  o["repositories"] = std::move(arr);
  Response resp = Response::Json(200, json::serialize(o));
  if (more) resp.headers.Set("Link", NextLink("/v2/_catalog", repos.back(), n));
  co_return resp;
}

Task<Response> DistributionApi::Impl::TagsList(Request& req, const std::string& name) {
  auto page = ParsePage(req, options.max_page);
  if (!page.ok()) co_return internal::ErrorResponse(page.error(), req);
  // Without n the whole list is returned; with n one more is asked to know whether to link.
  size_t ask = page->n ? (*page->n == 0 ? 0 : *page->n + 1) : std::numeric_limits<size_t>::max();
  auto listed = co_await manifests->ListTags(name, page->last, ask);
  if (!listed.ok()) co_return internal::ErrorResponse(listed.error(), req);
  std::vector<std::string> tags = std::move(*listed);
  bool more = page->n && tags.size() > *page->n;
  if (more) tags.resize(*page->n);
  json::array arr;
  for (const std::string& t : tags) arr.emplace_back(t);
  json::object o;
  o["name"] = name;
  o["tags"] = std::move(arr);
  Response resp = Response::Json(200, json::serialize(o));
  if (more) resp.headers.Set("Link", NextLink("/v2/" + name + "/tags/list", tags.back(), *page->n));
  co_return resp;
}

}  // namespace atcr::registry
