#include <gtest/gtest.h>

#include "account_test_support.h"
#include "internal/account_store.h"

namespace atcr::pds::internal {
namespace {

constexpr int64_t kGrace = 7200;
constexpr int64_t kDay = 24 * 3600;

class AccountStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = AccountStore::Open(dir_.path() + "/accounts.sqlite");
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
    AccountRow row;
    row.did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    row.handle = "alice.test";
    row.key_type = "k256";
    row.signing_key = Bytes(32, 1);
    row.created_at = "2024-01-01T00:00:00.000Z";
    ASSERT_TRUE(store_->InsertAccount(row, std::nullopt).ok());
  }
  const std::string did_ = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
  testing::TempDir dir_;
  std::unique_ptr<AccountStore> store_;
};

TEST_F(AccountStoreTest, RotationFollowsTheReferenceGraceRules) {
  ASSERT_TRUE(store_->StoreRefreshToken("A", did_, std::nullopt, 1000 + 90 * kDay).ok());
  auto r1 = store_->RotateRefreshToken("A", 1000, kGrace, 1000 + 90 * kDay);
  ASSERT_TRUE(r1.ok() && r1->has_value());
  EXPECT_EQ((*r1)->did, did_);
  EXPECT_FALSE((*r1)->app_password.has_value());
  const std::string next = (*r1)->next_id;
  EXPECT_NE(next, "A");
  // Reuse within the grace period: the same successor.
  auto r2 = store_->RotateRefreshToken("A", 1000 + kGrace - 1, kGrace, 2000 + 90 * kDay);
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_EQ((*r2)->next_id, next);
  // The grace is counted from the first rotation, not extended by reuse.
  auto r3 = store_->RotateRefreshToken("A", 1000 + kGrace, kGrace, 9000 + 90 * kDay);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(r3->has_value());
  // The successor rotates on its own.
  auto r4 = store_->RotateRefreshToken(next, 1000 + kGrace, kGrace, 9000 + 90 * kDay);
  ASSERT_TRUE(r4.ok() && r4->has_value());
  EXPECT_NE((*r4)->next_id, next);
  // Unknown and revoked tokens do not rotate.
  EXPECT_FALSE(store_->RotateRefreshToken("nope", 1000, kGrace, 1)->has_value());
  ASSERT_TRUE(store_->RevokeRefreshToken((*r4)->next_id).ok());
  EXPECT_FALSE(store_->RotateRefreshToken((*r4)->next_id, 1000, kGrace, 1)->has_value());
}

TEST_F(AccountStoreTest, ExpiredTokensAreTidiedAndNeverRotate) {
  ASSERT_TRUE(store_->StoreRefreshToken("old", did_, std::nullopt, 500).ok());
  ASSERT_TRUE(store_->StoreRefreshToken("live", did_, std::nullopt, 5000).ok());
  EXPECT_EQ(*store_->CountRefreshTokens(did_), 2);
  EXPECT_FALSE(store_->RotateRefreshToken("old", 1000, kGrace, 99999)->has_value());
  // "live" rotated: it stays (shortened) and its successor is stored; "old" is gone.
  ASSERT_TRUE(store_->RotateRefreshToken("live", 1000, kGrace, 99999)->has_value());
  EXPECT_EQ(*store_->CountRefreshTokens(did_), 2);
  // A token whose own expiry comes before the grace end keeps its expiry.
  ASSERT_TRUE(store_->StoreRefreshToken("short", did_, std::nullopt, 1100).ok());
  ASSERT_TRUE(store_->RotateRefreshToken("short", 1000, kGrace, 99999)->has_value());
  EXPECT_FALSE(store_->RotateRefreshToken("short", 1100, kGrace, 99999)->has_value());
}

TEST_F(AccountStoreTest, AppPasswordTokensCarryTheirPrivilegeAndDieWithIt) {
  ASSERT_TRUE(store_->InsertAppPassword(did_, {"ci", "salt:hash", true, "2024-01-01T00:00:00.000Z"}).ok());
  EXPECT_EQ(store_->InsertAppPassword(did_, {"ci", "x:y", false, "2024-01-02T00:00:00.000Z"})
                .error()
                .code,
            ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store_->StoreRefreshToken("T", did_, std::string("ci"), 99999).ok());
  auto r = store_->RotateRefreshToken("T", 1000, kGrace, 99999);
  ASSERT_TRUE(r.ok() && r->has_value());
  ASSERT_TRUE((*r)->app_password.has_value());
  EXPECT_EQ((*r)->app_password->name, "ci");
  EXPECT_TRUE((*r)->app_password->privileged);
  ASSERT_TRUE(store_->RevokeAppPassword(did_, "ci").ok());
  EXPECT_EQ(*store_->CountRefreshTokens(did_), 0);
  EXPECT_TRUE(store_->ListAppPasswords(did_)->empty());
}

TEST_F(AccountStoreTest, UniqueHandleEmailAndInviteUses) {
  AccountRow bob;
  bob.did = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
  bob.handle = "alice.test";
  bob.key_type = "k256";
  bob.signing_key = Bytes(32, 2);
  bob.created_at = "x";
  EXPECT_EQ(store_->InsertAccount(bob, std::nullopt).error().code, ErrorCode::kAlreadyExists);
  bob.handle = "bob.test";
  ASSERT_TRUE(store_->InsertInviteCode("code-1", 1, "admin", "admin", "now").ok());
  ASSERT_TRUE(store_->InsertAccount(bob, InviteUse{"code-1", "now"}).ok());
  AccountRow carol = bob;
  carol.did = "did:plc:cccccccccccccccccccccccc";
  carol.handle = "carol.test";
  auto used = store_->InsertAccount(carol, InviteUse{"code-1", "now"});
  ASSERT_FALSE(used.ok());
  EXPECT_EQ(used.error().wire, "InvalidInviteCode");
  EXPECT_FALSE(store_->GetByDid(carol.did)->has_value());  // rolled back
  EXPECT_EQ(store_->CheckInviteAvailable("code-1").error().wire, "InvalidInviteCode");
  EXPECT_EQ(store_->CheckInviteAvailable("missing").error().wire, "InvalidInviteCode");
}

TEST_F(AccountStoreTest, StatusChangesRevokeSessions) {
  ASSERT_TRUE(store_->StoreRefreshToken("T", did_, std::nullopt, 99999).ok());
  ASSERT_TRUE(store_->UpdateStatus(did_, "takendown").ok());
  EXPECT_EQ(*store_->CountRefreshTokens(did_), 0);
  EXPECT_EQ((*store_->GetByDid(did_))->status, "takendown");
  EXPECT_EQ(store_->UpdateStatus("did:plc:nobody", "active").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteAccount(did_).ok());
  EXPECT_FALSE(store_->GetByHandle("alice.test")->has_value());
}

}  // namespace
}  // namespace atcr::pds::internal
