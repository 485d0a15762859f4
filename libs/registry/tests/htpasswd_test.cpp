#include "atcr/registry/htpasswd.h"

#include <gtest/gtest.h>

#include "atcr/base/encoding.h"
#include "test_support.h"

namespace atcr::registry {
namespace {

// Made with `htpasswd -nbB -C 4 alice s3cret` and `htpasswd -nbs bob hunter2`.
constexpr const char* kFile =
    "# users\n"
    "alice:$2y$04$GOrOpt4XKR0.umJ/Szk...2GU6vOOHpSqFXEHLK.I/loJ9Q3DcWgi\n"
    "\n"
    "bob:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=\r\n";

TEST(Htpasswd, VerifiesBcryptAndSha1) {
  auto auth = HtpasswdAuthenticator::Parse(kFile, {});
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ((*auth)->user_count(), 2u);
  EXPECT_TRUE((*auth)->Verify("alice", "s3cret"));
  EXPECT_FALSE((*auth)->Verify("alice", "s3cret "));
  EXPECT_FALSE((*auth)->Verify("alice", ""));
  EXPECT_TRUE((*auth)->Verify("bob", "hunter2"));
  EXPECT_FALSE((*auth)->Verify("bob", "hunter3"));
  EXPECT_FALSE((*auth)->Verify("carol", "s3cret"));
  EXPECT_EQ((*auth)->Challenge({}, Error()), "Basic realm=\"atcr\"");
}

TEST(Htpasswd, RejectsUnsupportedLinesNamingTheLine) {
  auto md5 = HtpasswdAuthenticator::Parse("a:$apr1$abc$def\n", {});
  ASSERT_FALSE(md5.ok());
  EXPECT_NE(md5.error().message.find("line 1"), std::string::npos);
  EXPECT_EQ(md5.error().message.find("$apr1$"), std::string::npos);  // never echo hashes
  EXPECT_FALSE(HtpasswdAuthenticator::Parse("no-colon\n", {}).ok());
  EXPECT_FALSE(HtpasswdAuthenticator::Parse(":{SHA}x\n", {}).ok());
  EXPECT_FALSE(HtpasswdAuthenticator::Parse("a:plain\n", {}).ok());
  auto dup = HtpasswdAuthenticator::Parse(
      "bob:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=\nbob:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=\n", {});
  EXPECT_FALSE(dup.ok());
}

net::Request WithAuth(std::string value) {
  net::Request r;
  if (!value.empty()) r.headers.Set("Authorization", std::move(value));
  return r;
}

std::string Basic(std::string_view creds) { return "Basic " + Base64Encode(AsBytes(creds)); }

TEST(Htpasswd, AuthenticatesRequests) {
  auto parsed = HtpasswdAuthenticator::Parse(kFile, {});
  ASSERT_TRUE(parsed.ok());
  auto& auth = **parsed;
  auto check = [&](std::string header) {
    net::Request r = WithAuth(std::move(header));
    return testing::RunSync(auth.Authenticate(r, {}));
  };
  EXPECT_TRUE(check(Basic("alice:s3cret")).ok());
  EXPECT_TRUE(check(Basic("alice:s3cret")).ok());  // cached the second time
  EXPECT_TRUE(check("basic " + Base64Encode(AsBytes(std::string_view("bob:hunter2")))).ok());
  for (std::string bad : {std::string(), Basic("alice:wrong"), Basic("alice"), Basic("eve:s3cret"),
                          std::string("Bearer abc"), std::string("Basic !!!"),
                          std::string("Basic")}) {
    Status st = check(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated) << bad;
  }
}

}  // namespace
}  // namespace atcr::registry
