#include "atcr/net/router.h"

#include <utility>

namespace atcr::net {

void Router::Add(Method method, std::string path, Handler handler, RouteOptions options) {
  if (options.name.empty()) options.name = path;
  routes_.push_back(Route{method, std::move(path), false, std::move(handler), std::move(options)});
}

void Router::AddPrefix(std::string prefix, Handler handler, RouteOptions options) {
  if (options.name.empty()) options.name = prefix + "*";
  routes_.push_back(
      Route{std::nullopt, std::move(prefix), true, std::move(handler), std::move(options)});
}

Router::Match Router::Find(Method method, std::string_view path) const {
  Match out;
  const Route* head_fallback = nullptr;
  bool other_method = false;
  for (const Route& r : routes_) {
    if (r.prefix || r.path != path) continue;
    if (!r.method || *r.method == method) return {&r.handler, &r.options, false};
    if (method == Method::kHead && *r.method == Method::kGet) head_fallback = &r;
    other_method = true;
  }
  // HEAD is answered by the GET handler when there is no HEAD route; the server never sends
  // the body of a HEAD response.
  if (head_fallback) return {&head_fallback->handler, &head_fallback->options, false};
  const bool exact_path_exists = other_method;

  const Route* best = nullptr;
  for (const Route& r : routes_) {
    if (!r.prefix || !path.starts_with(r.path)) continue;
    if (r.options.fallback && exact_path_exists) continue;
    if (r.method && *r.method != method &&
        !(method == Method::kHead && *r.method == Method::kGet)) {
      other_method = true;
      continue;
    }
    if (!best || r.path.size() > best->path.size()) best = &r;
  }
  if (best) return {&best->handler, &best->options, false};
  out.method_not_allowed = other_method;
  return out;
}

std::vector<Method> Router::AllowedMethods(std::string_view path) const {
  std::vector<Method> out;
  auto add = [&](Method m) {
    for (Method x : out) {
      if (x == m) return;
    }
    out.push_back(m);
  };
  bool exact_path_exists = false;
  for (const Route& r : routes_) exact_path_exists |= !r.prefix && r.path == path;
  for (const Route& r : routes_) {
    bool matches = r.prefix ? path.starts_with(r.path) : r.path == path;
    if (!matches || (r.prefix && r.options.fallback && exact_path_exists)) continue;
    if (!r.method) {
      for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch,
                       Method::kDelete, Method::kOptions}) {
        add(m);
      }
      continue;
    }
    add(*r.method);
    if (*r.method == Method::kGet) add(Method::kHead);
  }
  return out;
}

}  // namespace atcr::net
