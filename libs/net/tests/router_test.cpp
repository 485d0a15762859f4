#include "atcr/net/router.h"

#include <gtest/gtest.h>

namespace atcr::net {
namespace {

Handler Named(std::string name) {
  return [name](Request&) -> Task<Response> { co_return Response::Text(200, name); };
}

std::string RouteName(const Router& r, Method m, std::string_view path) {
  auto match = r.Find(m, path);
  if (!match.handler) return match.method_not_allowed ? "405" : "404";
  return match.options->name;
}

TEST(Router, ExactRoutesMatchMethodAndPath) {
  Router r;
  r.Add(Method::kGet, "/a", Named("a"), {.name = "get-a"});
  r.Add(Method::kPost, "/a", Named("a"), {.name = "post-a"});
  EXPECT_EQ(RouteName(r, Method::kGet, "/a"), "get-a");
  EXPECT_EQ(RouteName(r, Method::kPost, "/a"), "post-a");
  EXPECT_EQ(RouteName(r, Method::kDelete, "/a"), "405");
  EXPECT_EQ(RouteName(r, Method::kGet, "/a/"), "404");
  EXPECT_EQ(RouteName(r, Method::kGet, "/b"), "404");
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.Add(Method::kGet, "/x", Named("x"));
  EXPECT_EQ(RouteName(r, Method::kHead, "/x"), "/x");
  r.Add(Method::kHead, "/x", Named("x"), {.name = "head-x"});
  EXPECT_EQ(RouteName(r, Method::kHead, "/x"), "head-x");
}

TEST(Router, LongestPrefixWinsAndExactBeatsPrefix) {
  Router r;
  r.AddPrefix("/v2/", Named("v2"), {.name = "v2"});
  r.AddPrefix("/v2/_catalog/", Named("cat"), {.name = "catalog"});
  r.Add(Method::kGet, "/v2/", Named("base"), {.name = "base"});
  EXPECT_EQ(RouteName(r, Method::kGet, "/v2/"), "base");
  EXPECT_EQ(RouteName(r, Method::kPut, "/v2/"), "v2");  // exact is GET-only; the prefix takes any
  EXPECT_EQ(RouteName(r, Method::kGet, "/v2/library/ubuntu/manifests/latest"), "v2");
  EXPECT_EQ(RouteName(r, Method::kPatch, "/v2/_catalog/x"), "catalog");
  EXPECT_EQ(RouteName(r, Method::kOther, "/v2/a"), "v2");
  EXPECT_EQ(RouteName(r, Method::kGet, "/v1/"), "404");
  EXPECT_EQ(RouteName(r, Method::kGet, "/v2"), "404");
}

TEST(Router, DefaultNamesAreThePattern) {
  Router r;
  r.Add(Method::kGet, "/xrpc/_health", Named("h"));
  r.AddPrefix("/v2/", Named("v2"));
  EXPECT_EQ(RouteName(r, Method::kGet, "/xrpc/_health"), "/xrpc/_health");
  EXPECT_EQ(RouteName(r, Method::kGet, "/v2/x"), "/v2/*");
}

TEST(Router, AllowedMethodsListsEveryMatchingRoute) {
  Router r;
  r.Add(Method::kGet, "/a", Named("a"));
  r.Add(Method::kDelete, "/a", Named("a"));
  auto allowed = r.AllowedMethods("/a");
  EXPECT_EQ(allowed, (std::vector<Method>{Method::kGet, Method::kHead, Method::kDelete}));
  EXPECT_TRUE(r.AllowedMethods("/b").empty());
}

TEST(Router, RouteOptionsCarryTheBodyLimit) {
  Router r;
  r.Add(Method::kPut, "/blob", Named("b"), {.name = "blob", .max_body = 1ull << 40});
  auto m = r.Find(Method::kPut, "/blob");
  ASSERT_NE(m.options, nullptr);
  EXPECT_EQ(m.options->max_body, 1ull << 40);
  r.Add(Method::kPut, "/small", Named("s"));
  EXPECT_EQ(r.Find(Method::kPut, "/small").options->max_body, 1024u * 1024u);
}

}  // namespace
}  // namespace atcr::net
