#include "atcr/appview/registry_token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "atcr/base/time.h"
#include "atcr/crypto/jwt.h"
#include "test_util.h"

namespace atcr::appview {
namespace {

TEST(RegistryScope, ParsesTypeNameAndActions) {
  auto a = ParseScope("repository:alice.test/app:pull,push");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->type, "repository");
  EXPECT_EQ(a->name, "alice.test/app");
  EXPECT_EQ(a->actions, (std::vector<std::string>{"pull", "push"}));
  // A DID name keeps its colons; actions split off the last one.
  auto did = ParseScope("repository:did:plc:abc123/app/web:pull");
  ASSERT_TRUE(did.ok());
  EXPECT_EQ(did->name, "did:plc:abc123/app/web");
  EXPECT_EQ(did->actions, (std::vector<std::string>{"pull"}));
  auto plugin = ParseScope("repository(plugin):x/y:pull");
  ASSERT_TRUE(plugin.ok());
  EXPECT_EQ(plugin->type, "repository");
  auto catalog = ParseScope("registry:catalog:*");
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(catalog->actions, (std::vector<std::string>{"*"}));
  EXPECT_FALSE(ParseScope("repository").ok());
  EXPECT_FALSE(ParseScope("repository:pull").ok());
  EXPECT_FALSE(ParseScope(":x:pull").ok());
}

TEST(RegistryScope, CoversChecksEveryAction) {
  std::vector<registry::Access> granted = {{"repository", "a/b", {"pull", "push"}},
                                           {"registry", "catalog", {"*"}}};
  EXPECT_TRUE(Covers(granted, {"repository", "a/b", {"pull"}}));
  EXPECT_TRUE(Covers(granted, {"repository", "a/b", {"pull", "push"}}));
  EXPECT_FALSE(Covers(granted, {"repository", "a/b", {"delete"}}));
  EXPECT_FALSE(Covers(granted, {"repository", "a/c", {"pull"}}));
  EXPECT_TRUE(Covers(granted, {"registry", "catalog", {"*"}}));
}

class RegistryTokenTest : public ::testing::Test {
 protected:
  RegistryTokenSigner signer_{crypto::PrivateKey::Generate(crypto::KeyType::kP256), "localhost:5000",
                              "localhost:5000"};
};

TEST_F(RegistryTokenTest, IssuedTokensVerifyWithTheirScopes) {
  RegistryToken t;
  t.subject = "did:plc:alice";
  t.access = {{"repository", "alice.test/app", {"pull", "push"}}};
  t.auth_method = "app_password";
  t.issued_at = UnixSeconds();
  t.expires_at = t.issued_at + 300;
  std::string jwt = signer_.Issue(t);
  auto parsed = crypto::ParseJwt(jwt);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->alg(), "ES256");
  EXPECT_EQ(parsed->kid(), signer_.kid());
  EXPECT_FALSE(parsed->jti().empty());
  auto back = signer_.Verify(jwt);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->subject, "did:plc:alice");
  EXPECT_EQ(back->auth_method, "app_password");
  ASSERT_EQ(back->access.size(), 1u);
  EXPECT_TRUE(Covers(back->access, {"repository", "alice.test/app", {"push"}}));
}

TEST_F(RegistryTokenTest, RejectsExpiredForeignAndTamperedTokens) {
  RegistryToken t;
  t.issued_at = UnixSeconds() - 1000;
  t.expires_at = t.issued_at + 300;
  auto expired = signer_.Verify(signer_.Issue(t));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(expired.error().wire, "invalid_token");

  RegistryTokenSigner other(crypto::PrivateKey::Generate(crypto::KeyType::kP256), "localhost:5000",
                            "localhost:5000");
  t.issued_at = UnixSeconds();
  t.expires_at = t.issued_at + 300;
  EXPECT_FALSE(signer_.Verify(other.Issue(t)).ok());
  RegistryTokenSigner other_service(crypto::PrivateKey::Generate(crypto::KeyType::kP256),
                                    "localhost:5000", "elsewhere:5000");
  EXPECT_FALSE(signer_.Verify(other_service.Issue(t)).ok());

  std::string jwt = signer_.Issue(t);
  std::string tampered = jwt;
  tampered[jwt.find('.') + 5] ^= 1;
  EXPECT_FALSE(signer_.Verify(tampered).ok());
  EXPECT_FALSE(signer_.Verify("not.a.jwt").ok());
}

TEST(RegistryTokenKey, IsGeneratedOnceIntoA0600File) {
  testing::TempDir dir;
  std::string path = dir.path() + "/registry-token.key";
  auto a = RegistryTokenSigner::LoadOrCreateKey(path);
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto b = RegistryTokenSigner::LoadOrCreateKey(path);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_EQ(a->type(), crypto::KeyType::kP256);
}

}  // namespace
}  // namespace atcr::appview
