#include "atcr/pds/repo_routes.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "atcr/atproto/firehose.h"
#include "atcr/net/http_client.h"
#include "atcr/net/server.h"
#include "atcr/net/websocket.h"
#include "repo_test_support.h"

namespace atcr::pds {
namespace {

namespace json = boost::json;
using cbor::Cid;

constexpr char kAlice[] = "did:plc:aliceaaaaaaaaaaaaaaaaaaa";
constexpr char kBob[] = "did:plc:bobbbbbbbbbbbbbbbbbbbbbb";
constexpr char kAliceTok[] = "tok:did:plc:aliceaaaaaaaaaaaaaaaaaaa";

struct Reply {
  int status = 0;
  net::Headers headers;
  std::string body;
  json::value Json() const {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    EXPECT_FALSE(ec) << body;
    return v;
  }
  std::string Error() const { return std::string(Json().at("error").as_string()); }
  std::string Message() const { return std::string(Json().at("message").as_string()); }
};

class RepoRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RepoStoreOptions opts;
    opts.data_dir = dir_.path();
    opts.fsync_blobs = false;
    opts.max_blob_bytes = 1024;
    auto s = RepoStore::Open(opts);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    firehose_ = std::make_unique<Firehose>(*store_);
    accounts_.Add(kAlice, "alice.test", alice_key_);
    accounts_.Add(kBob, "bob.test", bob_key_);
    ASSERT_TRUE(store_->CreateRepo(kAlice, alice_key_).ok());
    ASSERT_TRUE(store_->CreateRepo(kBob, bob_key_).ok());
    net::Router router;
    RepoRoutesOptions ro;
    ro.max_json_bytes = 4096;
    ro.did_document = [](std::string did) -> net::Task<Result<std::string>> {
      std::string handle = did == kAlice ? "alice.test" : "someone.else";
      co_return R"({"id":")" + did + R"(","alsoKnownAs":["at://)" + handle + R"("]})";
    };
    RegisterRepoRoutes(router, *store_, *firehose_, auth_, accounts_, std::move(ro));
    net::AddXrpcNotFoundFallback(router);
    net::ServerOptions so;
    so.port = 0;
    so.threads = 2;
    so.access_log = false;
    server_ = std::make_unique<net::Server>(so, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    firehose_->Stop();
    server_->Stop();
  }

  Reply Send(net::Method m, const std::string& nsid, const std::string& query, std::string body,
             const std::string& token, const std::string& content_type = "application/json") {
    net::ClientRequest req;
    req.method = m;
    req.url = base_ + "/xrpc/" + nsid + (query.empty() ? "" : "?" + query);
    if (!token.empty()) req.headers.Set("Authorization", "Bearer " + token);
    if (m == net::Method::kPost && !content_type.empty()) req.headers.Set("Content-Type", content_type);
    req.body = std::move(body);
    auto r = client_.SendSync(std::move(req));
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r.ok()) return {};
    return Reply{r->status, r->headers, r->body};
  }
  Reply Post(const std::string& nsid, const std::string& body, const std::string& token = kAliceTok) {
    return Send(net::Method::kPost, nsid, "", body, token);
  }
  Reply Get(const std::string& nsid, const std::string& query, const std::string& token = "") {
    return Send(net::Method::kGet, nsid, query, "", token);
  }

  testing::RepoTempDir dir_;
  crypto::PrivateKey alice_key_ = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  crypto::PrivateKey bob_key_ = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  testing::FakeAuthenticator auth_;
  testing::FakeDirectory accounts_;
  std::unique_ptr<RepoStore> store_;
  std::unique_ptr<Firehose> firehose_;
  std::unique_ptr<net::Server> server_;
  net::HttpClient client_;
  std::string base_;
};

std::string Body(const std::string& collection, const std::string& extra, const std::string& record,
                 const std::string& repo = kAlice) {
  return R"({"repo":")" + repo + R"(","collection":")" + collection + "\"" + extra +
         R"(,"record":)" + record + "}";
}

TEST_F(RepoRoutesTest, RecordLifecycleThroughXrpc) {
  Reply c = Post("com.atproto.repo.createRecord",
                 Body("app.example.thing", R"(,"rkey":"one")", R"({"a":1})"));
  ASSERT_EQ(c.status, 200) << c.body;
  json::object co = c.Json().as_object();
  EXPECT_EQ(co.at("uri").as_string(), std::string("at://") + kAlice + "/app.example.thing/one");
  EXPECT_EQ(co.at("validationStatus").as_string(), "unknown");
  std::string cid(co.at("cid").as_string());
  // Key order as the reference writes it.
  EXPECT_TRUE(c.body.starts_with(R"({"uri":)")) << c.body;
  EXPECT_NE(c.body.find(R"("commit":{"cid":")"), std::string::npos);

  Reply g = Get("com.atproto.repo.getRecord",
                std::string("repo=alice.test&collection=app.example.thing&rkey=one"));
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.body, R"({"uri":"at://)" + std::string(kAlice) + R"(/app.example.thing/one","cid":")" +
                        cid + R"(","value":{"a":1,"$type":"app.example.thing"}})");

  // Unchanged put: no commit in the answer.
  Reply same = Post("com.atproto.repo.putRecord",
                    Body("app.example.thing", R"(,"rkey":"one")", R"({"a":1})"));
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_FALSE(same.Json().as_object().contains("commit"));
  Reply put = Post("com.atproto.repo.putRecord",
                   Body("app.example.thing", R"(,"rkey":"one","swapRecord":")" + cid + "\"",
                        R"({"a":2})"));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(put.Json().as_object().contains("commit"));

  Reply apply = Post("com.atproto.repo.applyWrites",
                     std::string(R"({"repo":")") + kAlice + R"(","writes":[)" +
                         R"({"$type":"com.atproto.repo.applyWrites#create","collection":"io.atcr.tag","rkey":"app_latest","value":{"repository":"app","tag":"latest"}},)" +
                         R"({"$type":"com.atproto.repo.applyWrites#update","collection":"app.example.thing","rkey":"one","value":{"a":3}},)" +
                         R"({"$type":"com.atproto.repo.applyWrites#delete","collection":"app.example.thing","rkey":"one"}]})");
  // Two writes to one record in a batch are refused.
  EXPECT_EQ(apply.status, 400) << apply.body;
  apply = Post("com.atproto.repo.applyWrites",
               std::string(R"({"repo":")") + kAlice + R"(","writes":[)" +
                   R"({"$type":"com.atproto.repo.applyWrites#create","collection":"io.atcr.tag","rkey":"app_latest","value":{"repository":"app","tag":"latest"}},)" +
                   R"({"$type":"com.atproto.repo.applyWrites#update","collection":"app.example.thing","rkey":"one","value":{"a":3}},)" +
                   R"({"$type":"com.atproto.repo.applyWrites#create","collection":"app.example.thing","value":{"b":1}}]})");
  ASSERT_EQ(apply.status, 200) << apply.body;
  json::array results = apply.Json().at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].at("$type").as_string(), "com.atproto.repo.applyWrites#createResult");
  EXPECT_EQ(results[0].at("validationStatus").as_string(), "valid");
  EXPECT_EQ(results[1].at("$type").as_string(), "com.atproto.repo.applyWrites#updateResult");
  EXPECT_EQ(results[2].at("$type").as_string(), "com.atproto.repo.applyWrites#createResult");

  Reply list = Get("com.atproto.repo.listRecords",
                   std::string("repo=") + kAlice + "&collection=app.example.thing&limit=1");
  ASSERT_EQ(list.status, 200) << list.body;
  json::object lo = list.Json().as_object();
  ASSERT_EQ(lo.at("records").as_array().size(), 1u);
  EXPECT_EQ(lo.at("cursor").as_string(), "one");  // descending: "one" sorts after TIDs
  Reply next = Get("com.atproto.repo.listRecords", std::string("repo=") + kAlice +
                                                       "&collection=app.example.thing&cursor=one");
  EXPECT_EQ(next.Json().at("records").as_array().size(), 1u);
  Reply empty = Get("com.atproto.repo.listRecords",
                    std::string("repo=") + kAlice + "&collection=app.example.none");
  EXPECT_EQ(empty.body, R"({"records":[]})");

  Reply del = Post("com.atproto.repo.deleteRecord",
                   std::string(R"({"repo":")") + kAlice +
                       R"(","collection":"app.example.thing","rkey":"one"})");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(del.Json().as_object().contains("commit"));
  Reply again = Post("com.atproto.repo.deleteRecord",
                     std::string(R"({"repo":")") + kAlice +
                         R"(","collection":"app.example.thing","rkey":"one"})");
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "{}");

  Reply desc = Get("com.atproto.repo.describeRepo", "repo=alice.test");
  ASSERT_EQ(desc.status, 200) << desc.body;
  json::object d = desc.Json().as_object();
  EXPECT_EQ(d.at("handle").as_string(), "alice.test");
  EXPECT_EQ(d.at("did").as_string(), kAlice);
  EXPECT_EQ(d.at("didDoc").at("id").as_string(), kAlice);
  EXPECT_EQ(json::serialize(d.at("collections")), R"(["app.example.thing","io.atcr.tag"])");
  EXPECT_TRUE(d.at("handleIsCorrect").as_bool());
  EXPECT_FALSE(Get("com.atproto.repo.describeRepo", "repo=bob.test").Json().at("handleIsCorrect").as_bool());
}

TEST_F(RepoRoutesTest, WriteErrorsUseTheReferenceNamesAndStatuses) {
  std::string ok_body = Body("app.example.thing", "", R"({"a":1})");
  Reply none = Post("com.atproto.repo.createRecord", ok_body, "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Error(), "AuthMissing");
  Reply bad_token = Post("com.atproto.repo.createRecord", ok_body, "garbage");
  EXPECT_EQ(bad_token.status, 400);
  EXPECT_EQ(bad_token.Error(), "InvalidToken");
  Reply others = Post("com.atproto.repo.createRecord",
                      Body("app.example.thing", "", R"({"a":1})", kBob));
  EXPECT_EQ(others.status, 401);
  EXPECT_EQ(others.Error(), "AuthenticationRequired");
  EXPECT_EQ(others.Message(), "Authentication Required");
  Reply nobody = Post("com.atproto.repo.createRecord",
                      Body("app.example.thing", "", R"({"a":1})", "nobody.test"));
  EXPECT_EQ(nobody.status, 403);
  EXPECT_EQ(nobody.Error(), "AccountNotFound");
  EXPECT_EQ(nobody.Message(), "Account not found");

  struct Case {
    std::string body;
    std::string message;
  };
  std::vector<Case> cases = {
      {std::string(R"({"repo":")") + kAlice + R"(","record":{"a":1}})",
       R"(Missing required key "collection" at $)"},
      {Body("notnsid", "", "{}"), R"(Invalid NSID (got "notnsid") at $.collection)"},
      {Body("app.example.thing", R"(,"rkey":"bad/key")", "{}"),
       R"(Invalid record key (got "bad/key") at $.rkey)"},
      {Body("app.example.thing", "", R"("str")"), R"(Expected object value type (got "str") at $.record)"},
      {Body("app.example.thing", R"(,"swapCommit":"garbage")", "{}"),
       R"(Invalid CID string (got "garbage") at $.swapCommit)"},
      {Body("app.example.thing", R"(,"validate":"yes")", "{}"),
       R"(Expected boolean value type (got "yes") at $.validate)"},
      {Body("app.example.thing", "", R"({"$type":"app.example.other"})"),
       "Invalid $type: expected app.example.thing, got app.example.other"},
      {Body("app.example.thing", R"(,"validate":true)", "{}"),
       "Unknown lexicon type: app.example.thing"},
      {"[1]", "Expected object value type (got [...]) at $"},
  };
  for (const Case& c : cases) {
    Reply r = Post("com.atproto.repo.createRecord", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(r.Error(), "InvalidRequest") << c.body;
    EXPECT_EQ(r.Message(), c.message) << c.body;
  }
  Reply floats = Post("com.atproto.repo.createRecord", Body("app.example.thing", "", R"({"a":1.5})"));
  EXPECT_EQ(floats.status, 400);
  Reply not_json = Post("com.atproto.repo.createRecord", "not json");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(not_json.Error(), "InvalidRequest");
  Reply big = Post("com.atproto.repo.createRecord",
                   Body("app.example.thing", "", R"({"s":")" + std::string(5000, 'x') + "\"}"));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.Error(), "PayloadTooLarge");
  Reply wrong_type = Send(net::Method::kPost, "com.atproto.repo.createRecord", "", ok_body,
                          kAliceTok, "text/plain");
  EXPECT_EQ(wrong_type.status, 400);

  Reply first = Post("com.atproto.repo.createRecord", Body("app.example.thing", R"(,"rkey":"x")", "{}"));
  ASSERT_EQ(first.status, 200);
  std::string cid(first.Json().at("cid").as_string());
  Reply dup = Post("com.atproto.repo.createRecord", Body("app.example.thing", R"(,"rkey":"x")", "{}"));
  EXPECT_EQ(dup.status, 400);
  Reply swap = Post("com.atproto.repo.putRecord",
                    Body("app.example.thing", R"(,"rkey":"x","swapRecord":null)", R"({"a":2})"));
  EXPECT_EQ(swap.status, 400);
  EXPECT_EQ(swap.Error(), "InvalidSwap");
  EXPECT_EQ(swap.Message(), "Record was at " + cid);
  Reply stale = Post("com.atproto.repo.createRecord",
                     Body("app.example.thing",
                          R"(,"swapCommit":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")",
                          "{}"));
  EXPECT_EQ(stale.Error(), "InvalidSwap");
  EXPECT_TRUE(stale.Message().starts_with("Commit was at bafyrei")) << stale.Message();
  Reply no_rkey = Post("com.atproto.repo.putRecord", Body("app.example.thing", "", "{}"));
  EXPECT_EQ(no_rkey.Message(), R"(Missing required key "rkey" at $)");
  std::string writes = R"({"repo":")" + std::string(kAlice) + R"(","writes":[)";
  Reply untyped = Post("com.atproto.repo.applyWrites",
                       writes + R"({"collection":"app.example.thing","value":{}}]})");
  EXPECT_EQ(untyped.status, 400);
  EXPECT_TRUE(untyped.Message().ends_with("at $.writes[0]")) << untyped.Message();
  Reply bogus = Post("com.atproto.repo.applyWrites",
                     writes + R"({"$type":"com.atproto.repo.applyWrites#bogus","collection":"a.b.c"}]})");
  EXPECT_TRUE(bogus.Message().ends_with("at $.writes[0].$type")) << bogus.Message();

  accounts_.SetStatus(kAlice, "deactivated");
  Reply off = Post("com.atproto.repo.createRecord", ok_body);
  EXPECT_EQ(off.status, 401);
  EXPECT_EQ(off.Error(), "AccountDeactivated");
  accounts_.SetStatus(kAlice, "takendown");
  EXPECT_EQ(Post("com.atproto.repo.createRecord", ok_body).Error(), "AccountTakedown");
}

TEST_F(RepoRoutesTest, ReadErrorsUseTheReferenceNamesAndStatuses) {
  Reply missing = Get("com.atproto.repo.getRecord",
                      std::string("repo=") + kAlice + "&collection=app.example.thing&rkey=nope");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.Error(), "RecordNotFound");
  EXPECT_EQ(missing.Message(),
            std::string("Could not locate record: at://") + kAlice + "/app.example.thing/nope");
  Reply unknown = Get("com.atproto.repo.getRecord", "repo=nobody.test&collection=a.b.c&rkey=x");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.Error(), "InvalidRequest");
  EXPECT_EQ(unknown.Message(), "Could not locate record");
  Reply no_rkey = Get("com.atproto.repo.getRecord", std::string("repo=") + kAlice + "&collection=a.b.c");
  EXPECT_EQ(no_rkey.status, 400);
  EXPECT_EQ(no_rkey.Message(), R"(Missing required key "rkey" at $)");
  Reply list_unknown = Get("com.atproto.repo.listRecords", "repo=nobody.test&collection=a.b.c");
  EXPECT_EQ(list_unknown.Message(), "Could not find repo: nobody.test");
  Reply limit = Get("com.atproto.repo.listRecords",
                    std::string("repo=") + kAlice + "&collection=a.b.c&limit=101");
  EXPECT_EQ(limit.status, 400);
  EXPECT_EQ(limit.Message(), "integer too big (maximum 100, got 101) at $.limit");
  Reply describe = Get("com.atproto.repo.describeRepo", "repo=nobody.test");
  EXPECT_EQ(describe.Error(), "RepoNotFound");
  EXPECT_EQ(describe.Message(), "Could not find repo for DID: nobody.test");
  for (const char* nsid : {"com.atproto.sync.getLatestCommit", "com.atproto.sync.getRepoStatus",
                           "com.atproto.sync.getRepo", "com.atproto.sync.listBlobs"}) {
    Reply r = Get(nsid, "did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa");
    EXPECT_EQ(r.status, 400) << nsid;
    EXPECT_EQ(r.Error(), "RepoNotFound") << nsid;
    EXPECT_EQ(r.Message(), "Could not find repo for DID: did:plc:aaaaaaaaaaaaaaaaaaaaaaaa") << nsid;
  }
  EXPECT_EQ(Get("com.atproto.sync.getRepo", "did=notadid").Message(),
            R"(Invalid DID (got "notadid") at $.did)");
  EXPECT_EQ(Get("com.atproto.sync.listRepos", "cursor=garbage").Message(), "Malformed cursor");
  EXPECT_EQ(Get("com.atproto.nope.nothing", "").status, 501);

  accounts_.SetStatus(kBob, "deactivated");
  Reply deact = Get("com.atproto.sync.getLatestCommit", std::string("did=") + kBob);
  EXPECT_EQ(deact.Error(), "RepoDeactivated");
  EXPECT_EQ(deact.Message(), std::string("Repo has been deactivated: ") + kBob);
  // The account itself still gets it.
  EXPECT_EQ(Get("com.atproto.sync.getLatestCommit", std::string("did=") + kBob,
                std::string("tok:") + kBob).status,
            200);
  Reply status = Get("com.atproto.sync.getRepoStatus", std::string("did=") + kBob);
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(status.body, std::string(R"({"did":")") + kBob + R"(","active":false,"status":"deactivated"})");
  accounts_.SetStatus(kBob, "takendown");
  EXPECT_EQ(Get("com.atproto.sync.getRepo", std::string("did=") + kBob).Error(), "RepoTakendown");
}

TEST_F(RepoRoutesTest, BlobsUploadServeAndList) {
  Reply up = Send(net::Method::kPost, "com.atproto.repo.uploadBlob", "", "hello blob", kAliceTok,
                  "text/plain");
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.body,
            R"({"blob":{"$type":"blob","ref":{"$link":"bafkreihjs6x5dds7npqaj7azhlwszebjdzukwldvtgtckogjgw37zjvlb4"},"mimeType":"text/plain","size":10}})");
  std::string cid = "bafkreihjs6x5dds7npqaj7azhlwszebjdzukwldvtgtckogjgw37zjvlb4";
  Reply temp = Get("com.atproto.sync.getBlob", std::string("did=") + kAlice + "&cid=" + cid);
  EXPECT_EQ(temp.status, 400);
  EXPECT_EQ(temp.body, R"({"error":"InvalidRequest","message":"Blob not found"})");
  Reply none = Send(net::Method::kPost, "com.atproto.repo.uploadBlob", "", "x", "", "text/plain");
  EXPECT_EQ(none.status, 401);
  Reply too_big = Send(net::Method::kPost, "com.atproto.repo.uploadBlob", "",
                       std::string(2000, 'z'), kAliceTok, "application/octet-stream");
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(too_big.Error(), "PayloadTooLarge");
  Reply no_type = Send(net::Method::kPost, "com.atproto.repo.uploadBlob", "", "x", kAliceTok, "");
  EXPECT_EQ(no_type.status, 400);

  std::string blob = R"({"$type":"blob","ref":{"$link":")" + cid +
                     R"("},"mimeType":"text/plain","size":10})";
  Reply rec = Post("com.atproto.repo.createRecord",
                   Body("app.example.thing", R"(,"rkey":"b")", R"({"file":)" + blob + "}"));
  ASSERT_EQ(rec.status, 200) << rec.body;
  Reply got = Get("com.atproto.sync.getBlob", std::string("did=") + kAlice + "&cid=" + cid);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "hello blob");
  EXPECT_EQ(got.headers.Get("Content-Type").value_or(""), "text/plain");
  EXPECT_EQ(got.headers.Get("X-Content-Type-Options").value_or(""), "nosniff");
  EXPECT_EQ(got.headers.Get("Content-Security-Policy").value_or(""), "default-src 'none'; sandbox");
  EXPECT_EQ(got.headers.Get("Content-Disposition").value_or(""), "attachment; filename=\"" + cid + "\"");
  Reply list = Get("com.atproto.sync.listBlobs", std::string("did=") + kAlice);
  EXPECT_EQ(list.body, R"({"cursor":")" + cid + R"(","cids":[")" + cid + R"("]})");
  Reply unknown_blob = Post("com.atproto.repo.createRecord",
                            Body("app.example.thing", "",
                                 R"({"f":{"$type":"blob","ref":{"$link":"bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},"mimeType":"text/plain","size":1}})"));
  EXPECT_EQ(unknown_blob.status, 400);
  EXPECT_EQ(unknown_blob.Error(), "BlobNotFound");
}

TEST_F(RepoRoutesTest, SyncEndpointsServeVerifiableData) {
  for (int i = 0; i < 30; ++i) {
    Reply r = Post("com.atproto.repo.createRecord",
                   Body("app.example.thing", R"(,"rkey":"r)" + std::to_string(i) + "\"",
                        R"({"i":)" + std::to_string(i) + "}"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  Reply latest = Get("com.atproto.sync.getLatestCommit", std::string("did=") + kAlice);
  ASSERT_EQ(latest.status, 200);
  std::string head(latest.Json().at("cid").as_string());
  std::string rev(latest.Json().at("rev").as_string());
  Reply repo = Get("com.atproto.sync.getRepo", std::string("did=") + kAlice);
  ASSERT_EQ(repo.status, 200);
  EXPECT_EQ(repo.headers.Get("Content-Type").value_or(""), "application/vnd.ipld.car");
  auto loaded = testing::LoadRepoCar(AsBytes(repo.body), alice_key_.public_key());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->commit_cid.ToString(), head);
  EXPECT_EQ(loaded->tree.size(), 30u);
  Reply since = Get("com.atproto.sync.getRepo", std::string("did=") + kAlice + "&since=" + rev);
  ASSERT_EQ(since.status, 200);
  EXPECT_LT(since.body.size(), 200u);  // just the header: nothing newer than the head

  Reply proof = Get("com.atproto.sync.getRecord",
                    std::string("did=") + kAlice + "&collection=app.example.thing&rkey=r7");
  ASSERT_EQ(proof.status, 200);
  atproto::MemoryBlockStore blocks;
  auto roots = atproto::ReadCarIntoStore(AsBytes(proof.body), &blocks);
  ASSERT_TRUE(roots.ok());
  auto commit = atproto::Commit::Decode(*blocks.Get(roots->at(0)));
  ASSERT_TRUE(commit.ok());
  auto path = atproto::MstProofPath(blocks, commit->data, "app.example.thing/r7");
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_TRUE(path->value.has_value());

  // getBlocks: exactly the asked blocks, no roots; a missing one is named.
  std::string record_cid = path->value->ToString();
  Reply blocks_reply = Get("com.atproto.sync.getBlocks", std::string("did=") + kAlice + "&cids=" +
                                                             head + "&cids=" + record_cid);
  ASSERT_EQ(blocks_reply.status, 200) << blocks_reply.body;
  auto got_blocks = atproto::ReadCar(AsBytes(blocks_reply.body));
  ASSERT_TRUE(got_blocks.ok()) << got_blocks.error().message;
  EXPECT_TRUE(got_blocks->roots.empty());
  ASSERT_EQ(got_blocks->blocks.size(), 2u);
  EXPECT_EQ(got_blocks->blocks[0].cid.ToString(), head);
  std::string absent = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";
  Reply missing_block = Get("com.atproto.sync.getBlocks",
                            std::string("did=") + kAlice + "&cids=" + head + "&cids=" + absent);
  EXPECT_EQ(missing_block.status, 400);
  EXPECT_EQ(missing_block.Message(), "Could not find cids: " + absent);
  EXPECT_EQ(Get("com.atproto.sync.getBlocks", std::string("did=") + kAlice + "&cids=nope").Message(),
            R"(Invalid CID string (got "nope") at $.cids[0])");
  Reply head_reply = Get("com.atproto.sync.getHead", std::string("did=") + kAlice);
  EXPECT_EQ(head_reply.body, R"({"root":")" + head + "\"}");
  Reply checkout = Get("com.atproto.sync.getCheckout", std::string("did=") + kAlice);
  ASSERT_EQ(checkout.status, 200);
  EXPECT_TRUE(testing::LoadRepoCar(AsBytes(checkout.body), alice_key_.public_key()).ok());

  Reply status = Get("com.atproto.sync.getRepoStatus", std::string("did=") + kAlice);
  EXPECT_EQ(status.body, std::string(R"({"did":")") + kAlice + R"(","active":true,"rev":")" + rev + "\"}");
  Reply page1 = Get("com.atproto.sync.listRepos", "limit=1");
  ASSERT_EQ(page1.status, 200);
  json::object p1 = page1.Json().as_object();
  ASSERT_EQ(p1.at("repos").as_array().size(), 1u);
  EXPECT_TRUE(p1.at("repos").as_array()[0].at("active").as_bool());
  Reply page2 = Get("com.atproto.sync.listRepos",
                    "limit=5&cursor=" + net::PercentEncode(std::string(p1.at("cursor").as_string())));
  ASSERT_EQ(page2.status, 200) << page2.body;
  ASSERT_EQ(page2.Json().at("repos").as_array().size(), 1u);
  EXPECT_NE(page2.Json().at("repos").as_array()[0].at("did"), p1.at("repos").as_array()[0].at("did"));
}

// A real WebSocket consumer: live frames, then a reconnect with a cursor replays the rest.
TEST_F(RepoRoutesTest, SubscribeReposLiveAndReplayOverWebSocket) {
  std::string url = "ws://127.0.0.1:" + std::to_string(server_->port()) +
                    "/xrpc/com.atproto.sync.subscribeRepos";
  int64_t start = firehose_->head_seq();
  auto run = [&]() -> net::Task<std::vector<int64_t>> {
    std::vector<int64_t> seqs;
    std::string live_url = url;
    auto ws = co_await net::ConnectWebSocket(std::move(live_url));
    if (!ws.ok()) {
      ADD_FAILURE() << ws.error().message;
      co_return seqs;
    }
    // Wait until the session is registered, then write.
    for (int i = 0; i < 500 && firehose_->consumers() == 0; ++i) {
      std::function<void()> nap = [] { std::this_thread::sleep_for(std::chrono::milliseconds(2)); };
      co_await net::RunBlocking(std::move(nap));
    }
    std::function<void()> writes = [&] {
      for (int i = 0; i < 3; ++i) {
        auto r = store_->ApplyWrites(kAlice, alice_key_,
                                     {testing::Create("app.example.thing", "", "{}")}, std::nullopt);
        EXPECT_TRUE(r.ok());
      }
    };
    co_await net::RunBlocking(std::move(writes));
    for (int i = 0; i < 3; ++i) {
      auto m = co_await (*ws)->Receive();
      if (!m.ok()) break;
      auto f = atproto::DecodeFrame(AsBytes(m->data));
      if (!f.ok()) break;
      EXPECT_EQ(f->header.t, "#commit");
      seqs.push_back(*f->body.FindInt("seq"));
    }
    std::string bye;  // named: no defaulted temporary inside the co_await (GCC 12)
    co_await (*ws)->Close(1000, std::move(bye));
    // Reconnect from the first one: the other two come again, from the store.
    std::string replay_url = url + "?cursor=" + std::to_string(seqs.empty() ? 0 : seqs[0]);
    auto again = co_await net::ConnectWebSocket(std::move(replay_url));
    if (!again.ok()) {
      ADD_FAILURE() << again.error().message;
      co_return seqs;
    }
    for (int i = 0; i < 2; ++i) {
      auto m = co_await (*again)->Receive();
      if (!m.ok()) break;
      auto f = atproto::DecodeFrame(AsBytes(m->data));
      if (!f.ok()) break;
      seqs.push_back(*f->body.FindInt("seq"));
    }
    std::string bye_again;
    co_await (*again)->Close(1000, std::move(bye_again));
    // A cursor in the future: error frame, then the server closes.
    std::string future_url = url + "?cursor=999999";
    auto future = co_await net::ConnectWebSocket(std::move(future_url));
    if (future.ok()) {
      auto m = co_await (*future)->Receive();
      if (m.ok()) {
        auto f = atproto::DecodeFrame(AsBytes(m->data));
        EXPECT_TRUE(f.ok());
        if (f.ok()) {
          EXPECT_EQ(f->header.op, -1);
          EXPECT_EQ(*f->body.FindString("error"), "FutureCursor");
          EXPECT_EQ(*f->body.FindString("message"), "Cursor in the future.");
        }
      } else {
        ADD_FAILURE() << m.error().message;
      }
      auto closed = co_await (*future)->Receive();
      EXPECT_FALSE(closed.ok());
    }
    co_return seqs;
  };
  std::vector<int64_t> seqs = testing::RunSync(run());
  ASSERT_EQ(seqs.size(), 5u);
  EXPECT_EQ(seqs[0], start + 1);
  EXPECT_EQ(seqs[1], start + 2);
  EXPECT_EQ(seqs[2], start + 3);
  EXPECT_EQ(seqs[3], start + 2);
  EXPECT_EQ(seqs[4], start + 3);
  Reply plain = Get("com.atproto.sync.subscribeRepos", "");
  EXPECT_EQ(plain.status, 426);
  EXPECT_EQ(Get("com.atproto.sync.subscribeRepos", "cursor=abc").status, 400);
}

}  // namespace
}  // namespace atcr::pds
