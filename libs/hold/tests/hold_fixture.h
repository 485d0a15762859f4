// A hold on a real net::Server (127.0.0.1, port 0) over a temp data dir, filesystem storage
// and an in-memory record store, with in-memory DID documents for the test accounts, and a
// client that mints service tokens the way a PDS does.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/json.hpp>

#include "atcr/base/time.h"
#include "atcr/crypto/jwt.h"
#include "atcr/hold/embedded_pds.h"
#include "atcr/hold/hold.h"
#include "atcr/net/http_client.h"
#include "atcr/net/server.h"
#include "test_util.h"

namespace atcr::hold::testing {

inline constexpr const char* kOwner = "did:plc:owner222222222222222222";
inline constexpr const char* kAlice = "did:plc:alice22222222222222222222";
inline constexpr const char* kBob = "did:plc:bob2222222222222222222222";
inline constexpr const char* kAppview = "did:web:appview.example";

struct Reply {
  int status = 0;
  net::Headers headers;
  std::string body;
  boost::json::object json;
  std::string error() const {
    const auto* e = json.if_contains("error");
    return e && e->is_string() ? std::string(e->get_string()) : std::string();
  }
};

class HoldFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = UnixSeconds();
    for (const char* did : {kOwner, kAlice, kBob, kAppview}) {
      keys_.emplace(did, crypto::PrivateKey::Generate(std::string(did) == kAppview
                                                          ? crypto::KeyType::kP256
                                                          : crypto::KeyType::kK256));
    }
    config_.public_url = "http://hold.test:8080";
    config_.owner_did = kOwner;
    config_.data_dir = dir_.path() + "/data";
    config_.trusted_appviews = {kAppview};
    config_.admin_enabled = true;
    config_.admin_token = "admin-token-0123456789";
  }
  void TearDown() override { Stop(); }

  // Builds the hold with config_ and starts a server for it.
  void Start() {
    Stop();
    ASSERT_TRUE(ValidateHoldConfig(config_).ok());
    auto id = LoadHoldIdentity(config_.public_url, config_.data_dir);
    ASSERT_TRUE(id.ok()) << id.error().message;
    if (use_pds_) {
      EmbeddedPdsOptions po;
      po.data_dir = config_.data_dir + "/pds";
      po.identity = *id;
      po.durable = false;
      auto pds = EmbeddedPds::Open(po);
      ASSERT_TRUE(pds.ok()) << pds.error().message;
      pds_ = std::move(*pds);
      records_ = pds_->records();
    } else if (!records_) {
      auto rs = OpenSqliteRecordStore(":memory:", id->did);
      ASSERT_TRUE(rs.ok());
      records_ = *rs;
    }
    auto storage = CreateFsHoldStorage({.root = config_.StorageRoot(), .fsync = false});
    ASSERT_TRUE(storage.ok());
    HoldDeps deps;
    deps.identity = *id;
    deps.storage = *storage;
    deps.records = records_;
    deps.did_source = [this](std::string did, bool) -> net::Task<Result<identity::DidDocument>> {
      std::lock_guard l(mu_);
      auto it = keys_.find(did);
      if (it == keys_.end()) co_return NotFound("unknown " + did);
      identity::DidDocument doc;
      doc.did = did;
      doc.signing_key = it->second.public_key().DidKey();
      co_return doc;
    };
    auto key = LoadOrCreateSecret(config_.data_dir + "/url-signing.key", 32);
    ASSERT_TRUE(key.ok());
    deps.url_signing_key = *key;
    deps.now = [this] { return now_.load(); };
    auto hold = Hold::Create(config_, std::move(deps));
    ASSERT_TRUE(hold.ok()) << hold.error().message;
    hold_ = std::move(*hold);
    net::Router router;
    hold_->Register(router, pds_ ? pds_->handler() : net::Handler());
    net::ServerOptions so;
    so.threads = 2;
    so.access_log = false;
    server_ = std::make_unique<net::Server>(so, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void Stop() {
    if (pds_) pds_->Stop();
    server_.reset();
    hold_.reset();
    if (pds_) records_.reset();
    pds_.reset();
  }

  std::string Token(const std::string& iss, const std::string& lxm, int64_t ttl = 60) {
    crypto::ServiceAuthRequest r;
    r.iss = iss;
    r.aud = hold_->identity().did;
    r.lxm = lxm;
    r.ttl_seconds = ttl;
    r.now = now_.load();
    std::lock_guard l(mu_);
    return crypto::SignServiceAuthJwt(keys_.at(iss), r);
  }

  Reply Send(net::Method method, const std::string& target, std::string body = {},
             net::Headers headers = {}) {
    net::ClientRequest req;
    req.method = method;
    req.url = target.starts_with("http") ? target : base_ + target;
    req.headers = std::move(headers);
    req.body = std::move(body);
    auto r = client_.SendSync(std::move(req));
    Reply out;
    if (!r.ok()) {
      ADD_FAILURE() << r.error().message;
      return out;
    }
    out.status = r->status;
    out.headers = r->headers;
    out.body = r->body;
    boost::system::error_code ec;
    auto v = boost::json::parse(out.body, ec);
    if (!ec && v.is_object()) out.json = v.as_object();
    return out;
  }

  // An XRPC call as `caller` (empty: anonymous) with a fresh token for the method.
  Reply Xrpc(const std::string& caller, net::Method method, const std::string& nsid,
             const boost::json::object& body = {}, const std::string& query = {}) {
    net::Headers h;
    if (!caller.empty()) h.Set("Authorization", "Bearer " + Token(caller, nsid));
    std::string payload;
    if (method == net::Method::kPost) {
      h.Set("Content-Type", "application/json");
      payload = boost::json::serialize(body);
    }
    return Send(method, "/xrpc/" + nsid + (query.empty() ? "" : "?" + query), payload, h);
  }
  Reply Post(const std::string& caller, const std::string& nsid, const boost::json::object& body) {
    return Xrpc(caller, net::Method::kPost, nsid, body);
  }
  Reply Get(const std::string& caller, const std::string& nsid, const std::string& query = {}) {
    return Xrpc(caller, net::Method::kGet, nsid, {}, query);
  }

  // The path and query of a URL the hold handed out for its public address.
  std::string Local(const std::string& url) {
    EXPECT_TRUE(url.starts_with(config_.public_url)) << url;
    return url.substr(config_.public_url.size());
  }

  // initiate + uploadPart (one part per chunk) + complete; returns the digest.
  std::string Upload(const std::string& caller, const std::vector<std::string>& chunks) {
    std::string all;
    for (const auto& c : chunks) all += c;
    std::string digest = oci::Digest::Sha256Of(AsBytes(all)).str();
    Reply init = Post(caller, "io.atcr.hold.initiateUpload", {{"digest", digest}});
    EXPECT_EQ(init.status, 200) << init.body;
    std::string id(init.json.at("uploadId").as_string());
    boost::json::array parts;
    for (size_t i = 0; i < chunks.size(); ++i) {
      net::Headers h;
      h.Set("Authorization", "Bearer " + Token(caller, "io.atcr.hold.uploadPart"));
      h.Set("X-Upload-Id", id);
      h.Set("X-Part-Number", std::to_string(i + 1));
      Reply part = Send(net::Method::kPut, "/xrpc/io.atcr.hold.uploadPart", chunks[i], h);
      EXPECT_EQ(part.status, 200) << part.body;
      parts.push_back(boost::json::object{{"partNumber", i + 1},
                                          {"etag", part.json.at("etag").as_string()}});
    }
    Reply done = Post(caller, "io.atcr.hold.completeUpload",
                      {{"uploadId", id}, {"digest", digest}, {"parts", parts}});
    EXPECT_EQ(done.status, 200) << done.body;
    return digest;
  }

  boost::json::object Manifest(const std::vector<std::pair<std::string, uint64_t>>& layers,
                               std::optional<std::pair<std::string, uint64_t>> config = {}) {
    boost::json::object m;
    m["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
    if (config) m["config"] = boost::json::object{{"digest", config->first}, {"size", config->second}};
    boost::json::array arr;
    for (const auto& [d, s] : layers) {
      arr.push_back(boost::json::object{
          {"digest", d}, {"size", s}, {"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"}});
    }
    m["layers"] = std::move(arr);
    return m;
  }

  Reply Notify(const std::string& caller, const std::string& user, const std::string& repo,
               const std::string& manifest_digest, const boost::json::object& manifest,
               const std::string& op = "push") {
    return Post(caller, "io.atcr.hold.notifyManifest",
                {{"repository", repo},
                 {"userDid", user},
                 {"manifestDigest", manifest_digest},
                 {"operation", op},
                 {"manifest", manifest}});
  }

  Reply Admin(net::Method method, const std::string& path, const std::string& body = {}) {
    net::Headers h;
    h.Set("Authorization", "Bearer " + config_.admin_token);
    h.Set("Content-Type", "application/json");
    return Send(method, path, body, h);
  }

  void AddCrew(const std::string& did, std::vector<std::string> perms, std::string tier = {}) {
    boost::json::array p;
    for (auto& s : perms) p.emplace_back(s);
    boost::json::object body{{"did", did}, {"permissions", p}};
    if (!tier.empty()) body["tier"] = tier;
    Reply r = Admin(net::Method::kPost, "/admin/api/crew", boost::json::serialize(body));
    ASSERT_EQ(r.status, 200) << r.body;
  }

  TempDir dir_;
  HoldConfig config_;
  bool use_pds_ = false;  // records in an EmbeddedPds (signed repo, firehose) instead of SQLite
  std::unique_ptr<EmbeddedPds> pds_;
  std::shared_ptr<RecordStore> records_;
  std::unique_ptr<Hold> hold_;
  std::unique_ptr<net::Server> server_;
  net::HttpClient client_;
  std::string base_;
  std::mutex mu_;
  std::map<std::string, crypto::PrivateKey> keys_;
  std::atomic<int64_t> now_{0};
};

}  // namespace atcr::hold::testing
