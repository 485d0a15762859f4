// Fixture for the AppView flow tests: FakePds + FakeHold + an AppView on a real net::Server,
// and a client that speaks the Docker token flow (challenge, /auth/token, Bearer calls),
// pushes blobs chunked or monolithic, and pushes manifests.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "atcr/appview/app_view.h"
#include "atcr/base/encoding.h"
#include "atcr/net/http_client.h"
#include "atcr/net/server.h"
#include "fakes.h"
#include "test_util.h"

namespace atcr::appview::testing {

inline std::string DigestOf(std::string_view data) {
  return oci::Digest::Sha256Of(AsBytes(data)).str();
}

inline std::string Desc(std::string_view mt, std::string_view data, std::string extra = {}) {
  return R"({"mediaType":")" + std::string(mt) + R"(","digest":")" + DigestOf(data) +
         R"(","size":)" + std::to_string(data.size()) + extra + "}";
}

inline std::string ImageManifest(const std::string& config, const std::vector<std::string>& layers,
                                 std::string extra = {}) {
  std::string s = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)";
  s += R"("config":)" + Desc("application/vnd.oci.image.config.v1+json", config) + R"(,"layers":[)";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i > 0) s += ",";
    s += Desc("application/vnd.oci.image.layer.v1.tar+gzip", layers[i]);
  }
  return s + "]" + extra + "}";
}

// Serves whatever the test registers later (the AppView needs the port for its base URL).
class LateServer {
 public:
  LateServer() {
    net::Router outer;
    auto inner = inner_;
    net::RouteOptions opts;
    opts.max_body = 64 * 1024;
    outer.AddPrefix(
        "/",
        [inner](net::Request& req) -> net::Task<net::Response> {
          auto m = inner->Find(req.method, req.path);
          if (m.handler == nullptr) co_return net::Response::Text(404, "no route");
          if (m.options != nullptr) req.route = m.options->name;
          co_return co_await (*m.handler)(req);
        },
        opts);
    net::ServerOptions so;
    so.access_log = false;
    so.threads = 2;
    server_ = std::make_unique<net::Server>(so, std::move(outer));
    EXPECT_TRUE(server_->Start().ok());
  }
  ~LateServer() { server_->Stop(); }
  net::Router& router() { return *inner_; }
  uint16_t port() const { return server_->port(); }
  void Stop() { server_->Stop(); }

 private:
  std::shared_ptr<net::Router> inner_ = std::make_shared<net::Router>();
  std::unique_ptr<net::Server> server_;
};

struct Reply {
  int status = 0;
  net::Headers headers;
  std::string body;
  std::string Header(std::string_view name) const {
    return std::string(headers.Get(name).value_or(""));
  }
};

class RegistryClient {
 public:
  RegistryClient(std::string base) : base_(std::move(base)) {}

  Reply Do(net::Method m, const std::string& target, const std::string& token = {},
           std::string body = {}, net::Headers headers = {}) {
    net::ClientRequest req;
    req.method = m;
    req.url = target.starts_with("http") ? target : base_ + target;
    req.headers = std::move(headers);
    if (!token.empty()) req.headers.Set("Authorization", "Bearer " + token);
    req.body = std::move(body);
    req.timeout = std::chrono::seconds(30);
    auto r = http_.SendSync(std::move(req));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().ToString());
    if (!r.ok()) return {};
    return Reply{r->status, r->headers, r->body};
  }

  // GET /auth/token with Basic credentials (empty user: anonymous).
  Reply TokenReply(const std::string& user, const std::string& password,
                   const std::vector<std::string>& scopes, const std::string& service) {
    std::string target = "/auth/token?service=" + net::PercentEncode(service);
    for (const auto& s : scopes) target += "&scope=" + net::PercentEncode(s);
    net::Headers h;
    if (!user.empty()) {
      h.Set("Authorization",
            "Basic " + Base64Encode(AsBytes(user + ":" + password)));
    }
    return Do(net::Method::kGet, target, {}, {}, std::move(h));
  }

  std::string Token(const std::string& user, const std::string& password,
                    const std::vector<std::string>& scopes, const std::string& service) {
    Reply r = TokenReply(user, password, scopes, service);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return {};
    return std::string(boost::json::parse(r.body).as_object().at("token").as_string());
  }

  // POST, PATCH in `chunk` sized pieces, PUT ?digest=. Returns the final status.
  int PushBlobChunked(const std::string& token, const std::string& name, const std::string& data,
                      size_t chunk = 700) {
    Reply start = Do(net::Method::kPost, "/v2/" + name + "/blobs/uploads/", token);
    if (start.status != 202) {
      ADD_FAILURE() << "POST upload: " << start.status << " " << start.body;
      return start.status;
    }
    std::string location = start.Header("Location");
    size_t off = 0;
    while (off < data.size()) {
      std::string piece = data.substr(off, chunk);
      net::Headers h;
      h.Set("Content-Type", "application/octet-stream");
      h.Set("Content-Range", std::to_string(off) + "-" + std::to_string(off + piece.size() - 1));
      Reply p = Do(net::Method::kPatch, location, token, piece, std::move(h));
      if (p.status != 202) {
        ADD_FAILURE() << "PATCH: " << p.status << " " << p.body;
        return p.status;
      }
      location = p.Header("Location");
      off += piece.size();
    }
    std::string sep = location.find('?') == std::string::npos ? "?" : "&";
    Reply done = Do(net::Method::kPut, location + sep + "digest=" + DigestOf(data), token);
    return done.status;
  }

  int PushBlobMonolithic(const std::string& token, const std::string& name,
                         const std::string& data) {
    net::Headers h;
    h.Set("Content-Type", "application/octet-stream");
    Reply r = Do(net::Method::kPost, "/v2/" + name + "/blobs/uploads/?digest=" + DigestOf(data),
                 token, data, std::move(h));
    return r.status;
  }

  Reply PutManifest(const std::string& token, const std::string& name, const std::string& ref,
                    const std::string& body,
                    std::string mt = "application/vnd.oci.image.manifest.v1+json") {
    net::Headers h;
    h.Set("Content-Type", mt);
    return Do(net::Method::kPut, "/v2/" + name + "/manifests/" + ref, token, body, std::move(h));
  }

  Reply GetManifest(const std::string& token, const std::string& name, const std::string& ref) {
    net::Headers h;
    h.Set("Accept",
          "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json");
    return Do(net::Method::kGet, "/v2/" + name + "/manifests/" + ref, token, {}, std::move(h));
  }

 private:
  std::string base_;
  net::HttpClient http_;
};

class AppViewFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pds_ = std::make_unique<FakePds>();
    alice_ = pds_->AddAccount("alice.test", "alice-app-pw");
    bob_ = pds_->AddAccount("bob.test", "bob-app-pw");
  }

  virtual FakeHold::Options HoldOptions() { return {}; }

  void StartHold() {
    FakeHold::Options o = HoldOptions();
    identity::ResolverOptions ro;
    ro.plc_url = pds_->url();
    ro.use_dns = false;
    ro.handle_overrides[".test"] = pds_->url();
    o.verify_with = std::make_shared<identity::Resolver>(ro);
    hold_ = std::make_unique<FakeHold>(o);
  }

  AppViewConfig Config() {
    AppViewConfig c;
    c.data = dir_.path() + "/appview";
    c.base_url = "http://localhost:" + std::to_string(server_->port());
    c.default_hold_did = hold_->did();
    c.plc_url = pds_->url();
    c.identity_use_dns = false;
    c.handle_overrides[".test"] = pds_->url();
    c.firehose_enabled = false;
    c.upload_part_bytes = 1024;  // small, so tests cover several parts
    c.hold_part_bytes = 1024;
    c.notify_pulls = false;
    return c;
  }

  // (Re)starts the AppView on a fresh server over the same data directory.
  void StartAppView(std::function<void(AppViewConfig&)> tweak = {}) {
    appview_.reset();
    server_.reset();
    server_ = std::make_unique<LateServer>();
    if (!hold_) StartHold();
    AppViewConfig c = Config();
    if (tweak) tweak(c);
    AppViewOptions options;
    options.background = false;
    auto av = AppView::Open(c, options);
    ASSERT_TRUE(av.ok()) << av.error().ToString();
    appview_ = std::move(*av);
    appview_->Register(server_->router());
    client_ = std::make_unique<RegistryClient>(base());
  }

  std::string base() const { return "http://localhost:" + std::to_string(server_->port()); }
  std::string service() const { return "localhost:" + std::to_string(server_->port()); }

  std::string AliceToken(const std::string& repo = "alice.test/app") {
    return client_->Token("alice.test", "alice-app-pw", {"repository:" + repo + ":pull,push,delete"},
                          service());
  }

  // Pushes config + layers + manifest; returns the manifest body.
  std::string PushImage(const std::string& token, const std::string& name, const std::string& tag,
                        const std::string& salt, size_t layer_size = 3000) {
    std::string config = R"({"architecture":"amd64","os":"linux","salt":")" + salt + "\"}";
    std::string layer1(layer_size, 'x');
    layer1 += salt;
    std::string layer2 = "small-layer-" + salt;
    EXPECT_EQ(client_->PushBlobChunked(token, name, config), 201);
    EXPECT_EQ(client_->PushBlobChunked(token, name, layer1), 201);
    EXPECT_EQ(client_->PushBlobMonolithic(token, name, layer2), 201);
    std::string body = ImageManifest(config, {layer1, layer2});
    Reply r = client_->PutManifest(token, name, tag, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return body;
  }

  TempDir dir_;
  std::unique_ptr<FakePds> pds_;
  std::unique_ptr<FakeHold> hold_;
  std::unique_ptr<LateServer> server_;
  std::unique_ptr<AppView> appview_;
  std::unique_ptr<RegistryClient> client_;
  std::string alice_;
  std::string bob_;
};

}  // namespace atcr::appview::testing
