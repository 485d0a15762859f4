#include "atcr/appview/session_store.h"

#include <gtest/gtest.h>

#include "atcr/appview/name_resolver.h"
#include "atcr/appview/session_manager.h"
#include "atcr/base/encoding.h"
#include "internal/schema.h"
#include "test_util.h"

namespace atcr::appview {
namespace {

std::array<uint8_t, 32> Key(uint8_t fill) {
  std::array<uint8_t, 32> k{};
  k.fill(fill);
  return k;
}

PdsSession Alice() {
  return PdsSession{"did:plc:alice", "alice.test", "http://localhost:2583", "access-jwt-1",
                    "refresh-jwt-1"};
}

TEST(SessionStore, TokensAreSealedAtRest) {
  testing::TempDir dir;
  std::string path = dir.path() + "/appview.sqlite";
  {
    auto db = internal::OpenAppViewDatabase(path);
    ASSERT_TRUE(db.ok());
    SessionStore store(*db, SecretBox(Key(7)));
    ASSERT_TRUE(store.PutBlocking(Alice()).ok());
  }
  // Nothing in the database file reveals a token.
  auto db = internal::OpenAppViewDatabase(path);
  ASSERT_TRUE(db.ok());
  auto st = (*db)->Prepare("SELECT access_sealed, refresh_sealed, handle FROM session");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(std::string(st->BlobView(0)).find("access-jwt-1"), std::string::npos);
  EXPECT_EQ(std::string(st->BlobView(1)).find("refresh-jwt-1"), std::string::npos);
  EXPECT_EQ(st->Text(2), "alice.test");
}

TEST(SessionStore, ReadsBackAfterARestartAndNeedsTheSameKey) {
  testing::TempDir dir;
  std::string path = dir.path() + "/appview.sqlite";
  {
    auto db = internal::OpenAppViewDatabase(path);
    SessionStore store(*db, SecretBox(Key(7)));
    ASSERT_TRUE(store.PutBlocking(Alice()).ok());
    PdsSession updated = Alice();
    updated.access_jwt = "access-jwt-2";
    ASSERT_TRUE(store.PutBlocking(updated).ok());
  }
  {
    auto db = internal::OpenAppViewDatabase(path);
    SessionStore store(*db, SecretBox(Key(7)));
    auto s = store.GetBlocking("did:plc:alice");
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    ASSERT_TRUE(s->has_value());
    EXPECT_EQ((*s)->access_jwt, "access-jwt-2");
    EXPECT_EQ((*s)->refresh_jwt, "refresh-jwt-1");
    EXPECT_EQ((*s)->pds_endpoint, "http://localhost:2583");
    auto none = store.GetBlocking("did:plc:bob");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
  }
  auto db = internal::OpenAppViewDatabase(path);
  SessionStore wrong_key(*db, SecretBox(Key(8)));
  auto s = wrong_key.GetBlocking("did:plc:alice");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
}

TEST(SessionStore, DeleteForgetsTheSession) {
  auto db = internal::OpenAppViewDatabase(":memory:");
  ASSERT_TRUE(db.ok());
  auto store = std::make_shared<SessionStore>(*db, SecretBox(Key(1)));
  ASSERT_TRUE(store->PutBlocking(Alice()).ok());
  Status st = testing::RunSync(store->Delete("did:plc:alice"));
  ASSERT_TRUE(st.ok());
  auto s = store->GetBlocking("did:plc:alice");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->has_value());
}

TEST(SessionManager, ReadsTheExpiryOfUnverifiedTokens) {
  std::string claims = Base64Encode(AsBytes(R"({"sub":"did:plc:a","exp":1700000000})"),
                                    Base64Variant::kUrl, false);
  EXPECT_EQ(UnverifiedJwtExpiry("eyJhbGciOiJIUzI1NiJ9." + claims + ".sig"), 1700000000);
  EXPECT_EQ(UnverifiedJwtExpiry("opaque"), 0);
  EXPECT_EQ(UnverifiedJwtExpiry("a.!!.c"), 0);
}

TEST(RepositoryName, SplitsIdentityFromRepository) {
  auto a = SplitRepositoryName("Alice.Test/team/app");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "alice.test");
  EXPECT_EQ(a->second, "team/app");
  auto d = SplitRepositoryName("did:plc:abc123/app");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->first, "did:plc:abc123");
  for (const char* bad : {"app", "/app", "alice.test/", "not_a_handle/app", "did:/app"}) {
    auto r = SplitRepositoryName(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().wire, "NAME_INVALID") << bad;
  }
}

}  // namespace
}  // namespace atcr::appview
