// The hold with its embedded PDS: records are signed commits in a real repo, served by the
// PDS's read and sync routes, and announced on the firehose.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "atcr/cbor/codec.h"
#include "atcr/cbor/json.h"
#include "atcr/hold/access.h"
#include "atcr/identity/did_document.h"
#include "atcr/net/websocket.h"
#include "hold_fixture.h"

namespace atcr::hold {
namespace {

using net::Method;
using namespace testing;  // NOLINT

class EmbeddedPdsTest : public HoldFixture {
 protected:
  void SetUp() override {
    HoldFixture::SetUp();
    use_pds_ = true;
    Start();
  }
  std::string Did() { return net::PercentEncode(hold_->identity().did); }
};

TEST_F(EmbeddedPdsTest, DidDocumentAndServerComeFromTheAccountService) {
  Reply r = Send(Method::kGet, "/.well-known/did.json");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = identity::ParseDidDocument(r.body, hold_->identity().did);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->signing_key, hold_->identity().signing_key.public_key().DidKey());
  EXPECT_EQ(doc->pds_endpoint, config_.public_url);
  EXPECT_EQ(doc->ServiceEndpoint("atcr_hold").value_or(""), config_.public_url);
  EXPECT_EQ(Send(Method::kGet, "/.well-known/atproto-did").body, hold_->identity().did);
  EXPECT_EQ(Get("", "com.atproto.server.describeServer").json.at("did").as_string(),
            hold_->identity().did);
  EXPECT_EQ(Send(Method::kGet, "/xrpc/_health").status, 200);
  EXPECT_EQ(Get("", "io.atcr.hold.noSuchMethod").status, 501);
}

TEST_F(EmbeddedPdsTest, BootstrapRecordsAreInTheSignedRepo) {
  Reply cap = Get("", "com.atproto.repo.getRecord",
                  "repo=" + Did() + "&collection=io.atcr.hold.captain&rkey=self");
  ASSERT_EQ(cap.status, 200) << cap.body;
  EXPECT_EQ(cap.json.at("value").as_object().at("owner").as_string(), kOwner);
  Reply commit = Get("", "com.atproto.sync.getLatestCommit", "did=" + Did());
  ASSERT_EQ(commit.status, 200) << commit.body;
  EXPECT_FALSE(commit.json.at("rev").as_string().empty());
  Reply repo = Get("", "com.atproto.repo.describeRepo", "repo=" + Did());
  ASSERT_EQ(repo.status, 200) << repo.body;
  EXPECT_EQ(repo.json.at("collections").as_array().size(), 3u);
  Reply car = Get("", "com.atproto.sync.getRepo", "did=" + Did());
  EXPECT_EQ(car.status, 200);
  EXPECT_GT(car.body.size(), 100u);

  // A restart finds the repo and its service account again (same key), writes nothing new.
  std::string rev(commit.json.at("rev").as_string());
  Start();
  EXPECT_EQ(Get("", "com.atproto.sync.getLatestCommit", "did=" + Did()).json.at("rev").as_string(),
            rev);
}

TEST_F(EmbeddedPdsTest, PushesBecomeCommitsOnTheFirehose) {
  AddCrew(kAlice, {"blob:read", "blob:write"});
  std::string layer = Upload(kAlice, {std::string(4000, 'L')});
  Reply push = Notify(kAlice, kAlice, "app", "sha256:" + std::string(64, 'c'),
                      Manifest({{layer, 4000}}));
  ASSERT_EQ(push.status, 200) << push.body;
  Reply layers = Get("", "com.atproto.repo.listRecords",
                     "repo=" + Did() + "&collection=io.atcr.hold.layer");
  ASSERT_EQ(layers.status, 200);
  ASSERT_EQ(layers.json.at("records").as_array().size(), 1u);
  EXPECT_EQ(layers.json.at("records").as_array()[0].as_object().at("value").as_object()
                .at("digest")
                .as_string(),
            layer);

  // Replay the firehose from the start: #identity, #account, the repo's first commit and
  // #sync, the bootstrap commit, the crew commit, the layer commit, the stats commit.
  std::string url = "ws://127.0.0.1:" + std::to_string(server_->port()) +
                    "/xrpc/com.atproto.sync.subscribeRepos?cursor=0";
  std::vector<std::string> types;
  RunSync([&]() -> net::Task<int> {
    net::WebSocketClientOptions options;
    options.idle_timeout = std::chrono::milliseconds(5000);  // no hang if frames are missing
    auto ws = co_await net::ConnectWebSocket(url, std::move(options));
    if (!ws.ok()) {
      ADD_FAILURE() << ws.error().message;
      co_return 0;
    }
    for (int i = 0; i < 8; ++i) {
      auto msg = co_await (*ws)->Receive();
      if (!msg.ok()) break;
      size_t used = 0;
      auto header = cbor::DecodeFirst(AsBytes(msg->data), &used);
      if (!header.ok()) break;
      auto t = cbor::ToJson(*header).as_object().if_contains("t");
      types.push_back(t && t->is_string() ? std::string(t->get_string()) : "?");
    }
    co_return 0;
  }());
  ASSERT_EQ(types.size(), 8u);
  EXPECT_EQ(types[0], "#identity");
  EXPECT_EQ(types[1], "#account");
  EXPECT_EQ(std::count(types.begin(), types.end(), "#commit"), 5);
}

TEST_F(EmbeddedPdsTest, GetBlobServesOciDigestsAndLeavesCidsToThePds) {
  std::string digest = Upload(kOwner, {std::string(100, 'b')});
  EXPECT_EQ(Get(kOwner, "com.atproto.sync.getBlob", "did=" + Did() + "&cid=" + digest).status, 307);
  Reply cid = Get("", "com.atproto.sync.getBlob",
                  "did=" + Did() +
                      "&cid=bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm");
  EXPECT_EQ(cid.status, 400);
  // The PDS's answer, shaped like the reference's: InvalidRequest "Blob not found".
  EXPECT_EQ(cid.json.at("message").as_string(), "Blob not found") << cid.body;
}

}  // namespace
}  // namespace atcr::hold
