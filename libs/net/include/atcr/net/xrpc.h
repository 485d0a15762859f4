// ATProto XRPC on top of Router/Request/Response/HttpClient: the {"error","message"} error body
// and its mapping to and from ErrorCode and HTTP status, credential extraction for handlers,
// and client calls (queries and procedures) that turn non-2xx answers into Errors.
// Used by the PDS, the hold and the appview. Stateless functions; thread-safe.
//
//   router.Add(Method::kGet, XrpcPath("com.atproto.repo.getRecord"), GetRecord);
//   AddXrpcNotFoundFallback(router);  // unknown /xrpc/ methods: 501 MethodNotImplemented
//   co_return XrpcErrorResponse(NotFound("no such record", "RecordNotFound"));  // 400
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/net/http_client.h"
#include "atcr/net/router.h"

namespace atcr::net {

// ---- Server side ----

// `{"error": error, "message": message}` with Content-Type application/json.
Response XrpcErrorResponse(int status, std::string_view error, std::string_view message);

// Status from the error code, error name from e.wire or a default per code:
//   kInvalidArgument, kAlreadyExists, kFailedPrecondition, kOutOfRange, kAborted
//                          400 InvalidRequest
//   kUnauthenticated       401 AuthenticationRequired
//   kPermissionDenied      403 Forbidden
//   kNotFound              404 NotFound; but 400 when e.wire is set (a Lexicon error such as
//                          RecordNotFound or RepoNotFound, which XRPC answers with 400)
//   kResourceExhausted     413 PayloadTooLarge (429 when e.wire is RateLimitExceeded)
//   kUnimplemented         501 MethodNotImplemented
//   kUnavailable           503 NotEnoughResources (502 when e.wire is UpstreamFailure)
//   kDeadlineExceeded      504 UpstreamTimeout
//   kDataLoss, kInternal   500 InternalServerError
// The names are those of the reference implementation (@atproto/xrpc ResponseType).
int XrpcStatusFor(const Error& e);
Response XrpcErrorResponse(const Error& e);

std::string XrpcPath(std::string_view nsid);  // "/xrpc/" + nsid

// The token of `Authorization: Bearer <token>` (scheme case-insensitive); nullopt when the
// header is missing, has another scheme, or the token is empty.
std::optional<std::string> BearerToken(const Request& req);
// (user, password) of `Authorization: Basic <base64(user:password)>`; nullopt when missing,
// another scheme, or not valid base64 with a ':'.
std::optional<std::pair<std::string, std::string>> BasicCredentials(const Request& req);

// Answers every method under /xrpc/ that has no route of its own with
// 501 {"error":"MethodNotImplemented"}, and a known /xrpc/ path called with the wrong
// method with 405 (the server's usual answer). Call it in any order relative to other Add()s.
void AddXrpcNotFoundFallback(Router& router);

// ---- Client side ----

struct XrpcCallOptions {
  std::string bearer;  // sent as "Authorization: Bearer <bearer>" when not empty
  Headers headers;     // extra headers (e.g. atproto-proxy)
  std::chrono::milliseconds timeout{30000};
};

struct XrpcResult {
  int status = 0;
  Headers headers;
  std::string body;
};

// Error for a non-2xx XRPC answer: wire = the body's "error" (or "HTTP <status>"), message =
// its "message" (or "<nsid> answered HTTP <status>"), code from the status (400
// kInvalidArgument, but kNotFound when the error name ends in "NotFound"; 401
// kUnauthenticated; 403 kPermissionDenied; 404 kNotFound; 409 kAlreadyExists; 413/429
// kResourceExhausted; 501 kUnimplemented; 502/503 kUnavailable; 504 kDeadlineExceeded;
// other 4xx kInvalidArgument; 3xx kUnavailable; other 5xx kInternal).
Error XrpcErrorFromResponse(int status, std::string_view body, std::string_view nsid);

// GET base_url/xrpc/nsid?params (keys and values percent-encoded; repeated keys allowed).
// Transport errors as HttpClient::Send; a non-2xx answer as XrpcErrorFromResponse.
Task<Result<XrpcResult>> XrpcQuery(HttpClient& client, std::string base_url, std::string nsid,
                                   std::vector<std::pair<std::string, std::string>> params,
                                   XrpcCallOptions opts);
// POST base_url/xrpc/nsid with body and Content-Type content_type (JSON by default, or raw
// bytes such as a blob or CAR).
Task<Result<XrpcResult>> XrpcProcedure(HttpClient& client, std::string base_url, std::string nsid,
                                       std::string body, std::string content_type,
                                       XrpcCallOptions opts);
// Shorter forms, instead of default arguments: a defaulted argument would be a temporary inside
// the caller's co_await expression (the GCC 12 pitfall). Still pass named locals for the rest.
Task<Result<XrpcResult>> XrpcQuery(HttpClient& client, std::string base_url, std::string nsid,
                                   std::vector<std::pair<std::string, std::string>> params);
Task<Result<XrpcResult>> XrpcProcedure(HttpClient& client, std::string base_url, std::string nsid,
                                       std::string body, std::string content_type);
Task<Result<XrpcResult>> XrpcProcedure(HttpClient& client, std::string base_url, std::string nsid,
                                       std::string body);  // application/json

}  // namespace atcr::net
