#include "atcr/net/http.h"

#include <gtest/gtest.h>

namespace atcr::net {
namespace {

TEST(Headers, NamesCompareCaseInsensitively) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-Multi", "a");
  h.Add("x-multi", "b");
  EXPECT_EQ(h.Get("content-type"), "text/plain");
  EXPECT_TRUE(h.Has("CONTENT-TYPE"));
  EXPECT_FALSE(h.Has("Content-Length"));
  EXPECT_EQ(h.GetAll("X-MULTI"), (std::vector<std::string_view>{"a", "b"}));
  h.Set("x-Multi", "c");
  EXPECT_EQ(h.GetAll("x-multi"), (std::vector<std::string_view>{"c"}));
  h.Remove("X-MULTI");
  EXPECT_FALSE(h.Has("x-multi"));
  EXPECT_EQ(h.entries().size(), 1u);
}

TEST(Method, RoundTripsKnownNamesAndIsCaseSensitive) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch,
                   Method::kDelete, Method::kOptions}) {
    EXPECT_EQ(ParseMethod(MethodName(m)), m);
  }
  EXPECT_EQ(ParseMethod("get"), Method::kOther);
  EXPECT_EQ(ParseMethod("PROPFIND"), Method::kOther);
}

TEST(PercentDecode, DecodesEscapesAndRejectsMalformedOnes) {
  EXPECT_EQ(*PercentDecode("a%2Fb%20c"), "a/b c");
  EXPECT_EQ(*PercentDecode("a+b"), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("%e2%82%ac"), "\xe2\x82\xac");
  EXPECT_FALSE(PercentDecode("%").ok());
  EXPECT_FALSE(PercentDecode("%4").ok());
  EXPECT_FALSE(PercentDecode("%zz").ok());
  EXPECT_EQ(PercentDecode("ab%g1").error().code, ErrorCode::kInvalidArgument);
}

TEST(PercentEncode, KeepsUnreservedOnly) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
  EXPECT_EQ(*PercentDecode(PercentEncode("\x01\xff sha256:abc")), "\x01\xff sha256:abc");
}

TEST(Request, QueryParametersAreDecoded) {
  Request r;
  r.query = "n=10&last=library%2Fubuntu&q=a+b&flag&n=20&bad=%zz&empty=";
  EXPECT_EQ(r.Query("n"), "10");
  EXPECT_EQ(r.QueryAll("n"), (std::vector<std::string>{"10", "20"}));
  EXPECT_EQ(r.Query("last"), "library/ubuntu");
  EXPECT_EQ(r.Query("q"), "a b");
  EXPECT_EQ(r.Query("flag"), "");
  EXPECT_EQ(r.Query("empty"), "");
  EXPECT_FALSE(r.Query("bad").has_value());
  EXPECT_FALSE(r.Query("missing").has_value());
}

TEST(Response, FactoriesSetContentType) {
  auto t = Response::Text(201, "hi");
  EXPECT_EQ(t.status, 201);
  EXPECT_EQ(t.headers.Get("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(std::get<std::string>(t.body), "hi");
  auto j = Response::Json(400, "{}");
  EXPECT_EQ(j.headers.Get("content-type"), "application/json");
  auto e = Response::Empty(204);
  EXPECT_EQ(e.status, 204);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(e.body));
}

}  // namespace
}  // namespace atcr::net
