// XRPC helpers: error bodies and status mapping, Authorization parsing, the /xrpc/ catch-all,
// and query/procedure calls through HttpClient.
#include "atcr/net/xrpc.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "atcr/base/encoding.h"
#include "internal/ascii.h"

namespace atcr::net {
namespace {

namespace json = boost::json;

std::string_view DefaultName(int status) {
  switch (status) {
    case 400: return "InvalidRequest";
    case 401: return "AuthenticationRequired";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 413: return "PayloadTooLarge";
    case 429: return "RateLimitExceeded";
    case 501: return "MethodNotImplemented";
    case 502: return "UpstreamFailure";
    case 503: return "NotEnoughResources";
    case 504: return "UpstreamTimeout";
    default: return "InternalServerError";
  }
}

// Value of `Authorization: <scheme> <credentials>` when the scheme matches.
std::optional<std::string_view> AuthorizationCredentials(const Request& req,
                                                         std::string_view scheme) {
  auto h = req.headers.Get("Authorization");
  if (!h) return std::nullopt;
  std::string_view v = *h;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  if (v.size() <= scheme.size() || !internal::IEquals(v.substr(0, scheme.size()), scheme) ||
      (v[scheme.size()] != ' ' && v[scheme.size()] != '\t')) {
    return std::nullopt;
  }
  v.remove_prefix(scheme.size());
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  return v;
}

std::string JoinUrl(std::string_view base, std::string_view nsid) {
  while (base.ends_with('/')) base.remove_suffix(1);
  return std::string(base) + XrpcPath(nsid);
}

Task<Result<XrpcResult>> Call(HttpClient& client, ClientRequest req, std::string nsid) {
  auto sent = co_await client.Send(std::move(req));
  if (!sent.ok()) co_return std::move(sent).error();
  if (sent->status < 200 || sent->status > 299) {
    co_return XrpcErrorFromResponse(sent->status, sent->body, nsid);
  }
  XrpcResult out;
  out.status = sent->status;
  out.headers = std::move(sent->headers);
  out.body = std::move(sent->body);
  co_return out;
}

void ApplyOptions(ClientRequest& req, XrpcCallOptions& opts) {
  req.headers = std::move(opts.headers);
  if (!opts.bearer.empty()) req.headers.Set("Authorization", "Bearer " + opts.bearer);
  req.timeout = opts.timeout;
}

}  // namespace

Response XrpcErrorResponse(int status, std::string_view error, std::string_view message) {
  json::object o;
  o["error"] = error;
  o["message"] = message;
  return Response::Json(status, json::serialize(o));
}

int XrpcStatusFor(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kAborted:
      return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return e.wire.empty() || e.wire == "NotFound" ? 404 : 400;
    case ErrorCode::kResourceExhausted: return e.wire == "RateLimitExceeded" ? 429 : 413;
    case ErrorCode::kUnimplemented: return 501;
    case ErrorCode::kUnavailable: return e.wire == "UpstreamFailure" ? 502 : 503;
    case ErrorCode::kDeadlineExceeded: return 504;
    case ErrorCode::kDataLoss:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

Response XrpcErrorResponse(const Error& e) {
  int status = XrpcStatusFor(e);
  std::string_view name = e.wire.empty() ? DefaultName(status) : std::string_view(e.wire);
  return XrpcErrorResponse(status, name, e.message);
}

std::string XrpcPath(std::string_view nsid) { return "/xrpc/" + std::string(nsid); }

std::optional<std::string> BearerToken(const Request& req) {
  auto v = AuthorizationCredentials(req, "Bearer");
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::optional<std::pair<std::string, std::string>> BasicCredentials(const Request& req) {
  auto v = AuthorizationCredentials(req, "Basic");
  if (!v) return std::nullopt;
  auto decoded = Base64Decode(*v);
  if (!decoded.ok()) return std::nullopt;
  std::string_view text = AsString(*decoded);
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(text.substr(0, colon)), std::string(text.substr(colon + 1)));
}

void AddXrpcNotFoundFallback(Router& router) {
  RouteOptions options;
  options.name = "/xrpc/unknown";
  options.max_body = 0;
  options.fallback = true;
  router.AddPrefix(
      "/xrpc/",
      [](Request& req) -> Task<Response> {
        std::string nsid = req.path.substr(6);
        co_return XrpcErrorResponse(501, "MethodNotImplemented",
                                    "Method Not Implemented: " + nsid);
      },
      std::move(options));
}

Error XrpcErrorFromResponse(int status, std::string_view body, std::string_view nsid) {
  std::string wire;
  std::string message;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    if (auto* e = o.if_contains("error"); e && e->is_string()) wire = std::string(e->get_string());
    if (auto* m = o.if_contains("message"); m && m->is_string()) {
      message = std::string(m->get_string());
    }
  }
  if (wire.empty()) wire = "HTTP " + std::to_string(status);
  if (message.empty()) message = std::string(nsid) + " answered HTTP " + std::to_string(status);
  ErrorCode code;
  switch (status) {
    case 400:
      code = wire.ends_with("NotFound") ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument;
      break;
    case 401: code = ErrorCode::kUnauthenticated; break;
    case 403: code = ErrorCode::kPermissionDenied; break;
    case 404: code = ErrorCode::kNotFound; break;
    case 409: code = ErrorCode::kAlreadyExists; break;
    case 413:
    case 429: code = ErrorCode::kResourceExhausted; break;
    case 501: code = ErrorCode::kUnimplemented; break;
    case 502:
    case 503: code = ErrorCode::kUnavailable; break;
    case 504: code = ErrorCode::kDeadlineExceeded; break;
    default:
      if (status >= 400 && status < 500) {
        code = ErrorCode::kInvalidArgument;
      } else if (status >= 300 && status < 400) {
        code = ErrorCode::kUnavailable;
      } else {
        code = ErrorCode::kInternal;
      }
  }
  return Error(code, std::move(message), std::move(wire));
}

Task<Result<XrpcResult>> XrpcQuery(HttpClient& client, std::string base_url, std::string nsid,
                                   std::vector<std::pair<std::string, std::string>> params,
                                   XrpcCallOptions opts) {
  ClientRequest req;
  req.method = Method::kGet;
  req.url = JoinUrl(base_url, nsid);
  char sep = '?';
  for (const auto& [k, v] : params) {
    req.url += sep;
    req.url += PercentEncode(k);
    req.url += '=';
    req.url += PercentEncode(v);
    sep = '&';
  }
  ApplyOptions(req, opts);
  co_return co_await Call(client, std::move(req), std::move(nsid));
}

Task<Result<XrpcResult>> XrpcProcedure(HttpClient& client, std::string base_url, std::string nsid,
                                       std::string body, std::string content_type,
                                       XrpcCallOptions opts) {
  ClientRequest req;
  req.method = Method::kPost;
  req.url = JoinUrl(base_url, nsid);
  ApplyOptions(req, opts);
  req.headers.Set("Content-Type", std::move(content_type));
  req.body = std::move(body);
  co_return co_await Call(client, std::move(req), std::move(nsid));
}

Task<Result<XrpcResult>> XrpcQuery(HttpClient& client, std::string base_url, std::string nsid,
                                   std::vector<std::pair<std::string, std::string>> params) {
  return XrpcQuery(client, std::move(base_url), std::move(nsid), std::move(params),
                   XrpcCallOptions());
}

Task<Result<XrpcResult>> XrpcProcedure(HttpClient& client, std::string base_url, std::string nsid,
                                       std::string body, std::string content_type) {
  return XrpcProcedure(client, std::move(base_url), std::move(nsid), std::move(body),
                       std::move(content_type), XrpcCallOptions());
}

Task<Result<XrpcResult>> XrpcProcedure(HttpClient& client, std::string base_url, std::string nsid,
                                       std::string body) {
  return XrpcProcedure(client, std::move(base_url), std::move(nsid), std::move(body),
                       "application/json", XrpcCallOptions());
}

}  // namespace atcr::net
