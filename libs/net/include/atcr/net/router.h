// Maps (method, path) to handlers: exact paths, and prefixes for APIs such as /v2/ whose
// paths carry names with slashes (the handler parses the rest). Longest prefix wins; a path
// that matches with another method gets 405. Built before the server starts; read-only after.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/net/http.h"

namespace atcr::net {

struct RouteOptions {
  std::string name;                      // metrics/access-log label; defaults to the pattern
  uint64_t max_body = 1024 * 1024;       // initial BodyReader limit for this route
  // Prefix routes only: used just for paths that have no exact route, so an exact path called
  // with another method still gets 405 (e.g. the /xrpc/ catch-all of AddXrpcNotFoundFallback).
  bool fallback = false;
};

class Router {
 public:
  void Add(Method method, std::string path, Handler handler, RouteOptions options = {});
  // Every method, every path starting with prefix.
  void AddPrefix(std::string prefix, Handler handler, RouteOptions options = {});

  struct Match {
    const Handler* handler = nullptr;
    const RouteOptions* options = nullptr;
    bool method_not_allowed = false;
  };
  // Exact routes first, then the longest prefix that accepts the method. HEAD falls back to
  // the GET route of the same path. method_not_allowed: the path exists for other methods.
  Match Find(Method method, std::string_view path) const;
  // The methods some route accepts for path (for the Allow header of a 405).
  std::vector<Method> AllowedMethods(std::string_view path) const;

 private:
  struct Route {
    std::optional<Method> method;  // nullopt: any
    std::string path;
    bool prefix = false;
    Handler handler;
    RouteOptions options;
  };
  std::vector<Route> routes_;
};

}  // namespace atcr::net
