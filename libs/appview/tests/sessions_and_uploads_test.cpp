// Session refresh under concurrency, service-token caching, upload sessions across restarts,
// digest mismatches and cancels, and pull notifications.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

#include "flow_fixture.h"
#include "internal/schema.h"

namespace atcr::appview::testing {
namespace {

class SessionFlowTest : public AppViewFlowTest {
 protected:
  void SetUp() override {
    AppViewFlowTest::SetUp();
    StartAppView();
  }
};

TEST_F(SessionFlowTest, ConcurrentCallsWithAnExpiredTokenRefreshOnce) {
  AliceToken();  // logs in, stores the session
  pds_->ExpireAccessTokens();
  auto& s = appview_->services();
  boost::asio::io_context ioc;
  int ok = 0;
  for (int i = 0; i < 8; ++i) {
    boost::asio::co_spawn(
        ioc,
        [&]() -> net::Task<void> {
          std::function<net::Task<Result<std::string>>(const PdsSession&)> call =
              [&s](const PdsSession& session) -> net::Task<Result<std::string>> {
            std::string pds = session.pds_endpoint;
            std::string access = session.access_jwt;
            std::string aud = "did:web:somewhere.test";
            std::string lxm = "io.atcr.hold.initiateUpload";
            co_return co_await s.pds->GetServiceAuth(pds, access, aud, lxm, 0);
          };
          std::string did = alice_;
          auto r = co_await s.sessions->WithSession<std::string>(did, std::move(call));
          if (r.ok()) ++ok;
        },
        boost::asio::detached);
  }
  std::thread a([&] { ioc.run(); });
  std::thread b([&] { ioc.run(); });
  a.join();
  b.join();
  EXPECT_EQ(ok, 8);
  // One refresh for all of them: the PDS revokes a refresh token once used, so a second
  // concurrent refresh would have failed and logged the user out.
  EXPECT_EQ(pds_->calls("com.atproto.server.refreshSession"), 1);
  EXPECT_EQ(pds_->calls("com.atproto.server.createSession"), 1);
}

TEST_F(SessionFlowTest, ServiceTokensAreCachedUntilAHoldRefusesReuse) {
  AliceToken();
  auto& tokens = *appview_->services().service_tokens;
  auto get = [&](const std::string& lxm) {
    auto r = RunSync(tokens.Get(alice_, hold_->did(), lxm));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : std::string();
  };
  int before = pds_->calls("com.atproto.server.getServiceAuth");
  std::string a = get("io.atcr.hold.uploadPart");
  std::string b = get("io.atcr.hold.uploadPart");
  EXPECT_EQ(a, b);
  EXPECT_EQ(pds_->calls("com.atproto.server.getServiceAuth"), before + 1);
  // Another method is another token.
  std::string c = get("io.atcr.hold.completeUpload");
  EXPECT_NE(a, c);
  tokens.TokenRefused(alice_, hold_->did(), "io.atcr.hold.uploadPart", /*replayed=*/true);
  std::string d = get("io.atcr.hold.uploadPart");
  std::string e = get("io.atcr.hold.uploadPart");
  EXPECT_NE(d, e);
  EXPECT_EQ(pds_->calls("com.atproto.server.getServiceAuth"), before + 4);
  // Without a session there is no token.
  auto none = RunSync(tokens.Get(bob_, hold_->did(), "io.atcr.hold.uploadPart"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(SessionFlowTest, AnUploadSessionSurvivesARestart) {
  std::string token = AliceToken();
  std::string data(5000, 'r');
  Reply start = client_->Do(net::Method::kPost, "/v2/alice.test/app/blobs/uploads/", token);
  ASSERT_EQ(start.status, 202);
  std::string location = start.Header("Location");
  net::Headers h;
  h.Set("Content-Range", "0-2999");
  Reply p1 = client_->Do(net::Method::kPatch, location, token, data.substr(0, 3000), h);
  ASSERT_EQ(p1.status, 202);
  EXPECT_EQ(p1.Header("Range"), "0-2999");

  StartAppView();  // new process, same data directory; the session row and spool remain
  token = AliceToken();
  Reply status = client_->Do(net::Method::kGet, location, token);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.Header("Range"), "0-2999");
  net::Headers h2;
  h2.Set("Content-Range", "3000-4999");
  ASSERT_EQ(client_->Do(net::Method::kPatch, location, token, data.substr(3000), h2).status, 202);
  Reply done = client_->Do(net::Method::kPut, location + "?digest=" + DigestOf(data), token);
  EXPECT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(hold_->Blob(DigestOf(data)), data);
}

TEST_F(SessionFlowTest, AWrongDigestKeepsTheSessionAndCancelEndsIt) {
  std::string token = AliceToken();
  std::string data = "some blob bytes";
  Reply start = client_->Do(net::Method::kPost, "/v2/alice.test/app/blobs/uploads/", token);
  ASSERT_EQ(start.status, 202);
  std::string location = start.Header("Location");
  ASSERT_EQ(client_->Do(net::Method::kPatch, location, token, data).status, 202);
  Reply wrong = client_->Do(net::Method::kPut, location + "?digest=" + DigestOf("other"), token);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_NE(wrong.body.find("DIGEST_INVALID"), std::string::npos);
  EXPECT_EQ(hold_->calls("io.atcr.hold.initiateUpload"), 0);  // nothing reached the hold
  Reply right = client_->Do(net::Method::kPut, location + "?digest=" + DigestOf(data), token);
  EXPECT_EQ(right.status, 201) << right.body;

  Reply second = client_->Do(net::Method::kPost, "/v2/alice.test/app/blobs/uploads/", token);
  std::string loc2 = second.Header("Location");
  ASSERT_EQ(client_->Do(net::Method::kPatch, loc2, token, data).status, 202);
  EXPECT_EQ(client_->Do(net::Method::kDelete, loc2, token).status, 204);
  EXPECT_EQ(client_->Do(net::Method::kGet, loc2, token).status, 404);
  // Another user cannot write into alice's session.
  Reply third = client_->Do(net::Method::kPost, "/v2/alice.test/app/blobs/uploads/", token);
  std::string bob_token = client_->Token("bob.test", "bob-app-pw",
                                         {"repository:alice.test/app:pull,push"}, service());
  EXPECT_EQ(client_->Do(net::Method::kPatch, third.Header("Location"), bob_token, data).status, 403);
}

class PullNotifyTest : public AppViewFlowTest {};

TEST_F(PullNotifyTest, PullsAreReportedToTheHoldInTheBackground) {
  StartAppView([](AppViewConfig& c) { c.notify_pulls = true; });
  std::string token = AliceToken();
  std::string body = PushImage(token, "alice.test/app", "latest", "pull");
  std::string anon = client_->Token("", "", {"repository:alice.test/app:pull"}, service());
  ASSERT_EQ(client_->GetManifest(anon, "alice.test/app", "latest").status, 200);
  ASSERT_EQ(client_->Do(net::Method::kHead, "/v2/alice.test/app/manifests/latest", anon).status,
            200);  // HEAD is not a pull
  size_t pulls = 0;
  for (int i = 0; i < 200 && pulls == 0; ++i) {
    pulls = 0;
    for (const auto& n : hold_->notifications()) {
      if (n.at("operation").as_string() == "pull") ++pulls;
    }
    if (pulls == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(pulls, 1u);
  for (const auto& n : hold_->notifications()) {
    if (n.at("operation").as_string() != "pull") continue;
    EXPECT_EQ(n.at("manifestDigest").as_string(), DigestOf(body));
    EXPECT_EQ(n.at("userDid").as_string(), alice_);
  }
}

}  // namespace
}  // namespace atcr::appview::testing
