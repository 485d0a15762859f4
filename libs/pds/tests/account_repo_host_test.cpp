// The account service over the real RepoStore: account creation leaves a verified repo and
// the reference's event order (#identity, #account, #commit, #sync); a failed creation leaves
// no repo and no events.
#include <gtest/gtest.h>

#include "account_test_support.h"
#include "atcr/pds/account_repo_host.h"
#include "atcr/pds/repo_store.h"

namespace atcr::pds {
namespace {

class AccountRepoHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repos = RepoStore::Open({.data_dir = dir_.path() + "/repo"});
    ASSERT_TRUE(repos.ok()) << repos.error().ToString();
    repos_ = std::move(repos).value();
    host_ = std::make_unique<RepoStoreHost>(*repos_);
    AccountServiceOptions o;
    o.data_dir = dir_.path() + "/accounts";
    o.plc_url = plc_.url();
    o.login_min_duration = std::chrono::milliseconds(0);
    auto svc = AccountService::Open(o, host_.get(), &http_);
    ASSERT_TRUE(svc.ok()) << svc.error().ToString();
    service_ = std::move(svc).value();
  }

  Result<CreatedAccount> Create(const std::string& handle) {
    CreateAccountInput in;
    in.handle = handle;
    in.password = "hunter2";
    return testing::RunSync(service_->CreateAccount(std::move(in)));
  }

  std::vector<std::string> EventTypes(const std::string& did) {
    auto events = repos_->ReadEvents(0, 100);
    EXPECT_TRUE(events.ok());
    std::vector<std::string> out;
    for (const auto& e : *events) {
      if (e.did == did) out.push_back(e.type);
    }
    return out;
  }

  testing::TempDir dir_;
  testing::TestPlcDirectory plc_;
  net::HttpClient http_;
  std::unique_ptr<RepoStore> repos_;
  std::unique_ptr<RepoStoreHost> host_;
  std::unique_ptr<AccountService> service_;
};

TEST_F(AccountRepoHostTest, CreatesTheRepoWithTheReferenceEventOrder) {
  auto created = Create("alice.test");
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  ASSERT_TRUE(repos_->HasRepo(created->did));
  auto root = repos_->GetRoot(created->did);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(EventTypes(created->did),
            (std::vector<std::string>{"#identity", "#account", "#commit", "#sync"}));
}

TEST_F(AccountRepoHostTest, AFailedCreationLeavesNoRepoAndNoEvents) {
  plc_.set_down(true);
  auto failed = Create("alice.test");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(repos_->LastSeq(), 0);
  plc_.set_down(false);
  // The undo path of a creation that fails after the repo exists: DeleteRepo drops the repo
  // and its events.
  auto ok = Create("bob.test");
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  ASSERT_TRUE(host_->DeleteRepo(ok->did).ok());
  EXPECT_FALSE(host_->HasRepo(ok->did));
  EXPECT_TRUE(EventTypes(ok->did).empty());
}

TEST_F(AccountRepoHostTest, ServiceAccountRepoIsCreatedOnce) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  ASSERT_TRUE(service_->EnsureServiceAccount("did:web:hold.test", "hold.test", key).ok());
  ASSERT_TRUE(service_->EnsureServiceAccount("did:web:hold.test", "hold.test", key).ok());
  EXPECT_EQ(EventTypes("did:web:hold.test"),
            (std::vector<std::string>{"#identity", "#account", "#commit", "#sync"}));
}

}  // namespace
}  // namespace atcr::pds
