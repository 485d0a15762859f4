#include "atcr/hold/hold_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "atcr/identity/did_document.h"
#include "test_util.h"

namespace atcr::hold {
namespace {

TEST(HoldIdentity, DidWebFromPublicUrl) {
  testing::TempDir dir;
  auto id = LoadHoldIdentity("https://hold01.example.com/", dir.path() + "/data");
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->did, "did:web:hold01.example.com");
  EXPECT_EQ(id->handle, "hold01.example.com");
  EXPECT_EQ(id->public_url, "https://hold01.example.com");

  auto local = LoadHoldIdentity("http://localhost:8080", dir.path() + "/data");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->did, "did:web:localhost%3A8080");
  EXPECT_EQ(local->handle, "");  // "localhost" is not a handle
}

TEST(HoldIdentity, SigningKeyIsCreatedOnceWithMode0600) {
  testing::TempDir dir;
  auto first = LoadHoldIdentity("http://127.0.0.1:8080", dir.path());
  ASSERT_TRUE(first.ok()) << first.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = LoadHoldIdentity("http://127.0.0.1:8080", dir.path());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->signing_key.public_key(), second->signing_key.public_key());
  EXPECT_EQ(first->signing_key.type(), crypto::KeyType::kK256);
}

TEST(HoldIdentity, RefusesAKeyFileOthersCanRead) {
  testing::TempDir dir;
  ASSERT_TRUE(LoadHoldIdentity("http://127.0.0.1:8080", dir.path()).ok());
  ASSERT_EQ(::chmod((dir.path() + "/signing.key").c_str(), 0644), 0);
  auto id = LoadHoldIdentity("http://127.0.0.1:8080", dir.path());
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("chmod 600"), std::string::npos);
}

TEST(HoldIdentity, RefusesAGarbledKeyFile) {
  testing::TempDir dir;
  std::string path = dir.path() + "/signing.key";
  {
    std::ofstream(path) << "zz-not-hex\n";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_FALSE(LoadOrCreateSigningKey(path).ok());
}

TEST(HoldIdentity, SecretsRoundTrip) {
  testing::TempDir dir;
  auto a = LoadOrCreateSecret(dir.path() + "/url.key", 32);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 32u);
  auto b = LoadOrCreateSecret(dir.path() + "/url.key", 32);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(HoldIdentity, DidDocumentParsesBackWithKeyAndServices) {
  testing::TempDir dir;
  auto id = LoadHoldIdentity("https://hold.example.com", dir.path());
  ASSERT_TRUE(id.ok());
  auto doc = identity::ParseDidDocument(DidDocumentJson(*id), id->did);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->signing_key, id->signing_key.public_key().DidKey());
  EXPECT_EQ(doc->pds_endpoint, "https://hold.example.com");
  EXPECT_EQ(doc->handle, "hold.example.com");
  ASSERT_TRUE(doc->ServiceEndpoint("atcr_hold").has_value());
  EXPECT_EQ(*doc->ServiceEndpoint("atcr_hold"), "https://hold.example.com");
}

}  // namespace
}  // namespace atcr::hold
