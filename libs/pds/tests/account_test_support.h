// Peers and doubles for the account service tests: the development PLC directory on a real
// net::Server (it checks genesis signatures and DID derivation), a RepoHost that records
// calls, a temp dir, and HTTP answer parsing.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "atcr/identity/plc_operation.h"
#include "atcr/net/http_client.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "atcr/pds/account_service.h"
#include "atcr/pds/plc_directory.h"

namespace atcr::pds::testing {

// The development PLC directory (plc_directory.h) on a real net::Server, with a switch that
// makes it answer 503 as if it were down.
class TestPlcDirectory {
 public:
  TestPlcDirectory() {
    auto plc = PlcDirectory::Open({});
    EXPECT_TRUE(plc.ok()) << plc.error().ToString();
    plc_ = std::move(plc).value();
    plc_->Register(inner_);
    net::Router router;
    router.AddPrefix("/", [this](net::Request& req) -> net::Task<net::Response> {
      if (down_) {
        co_return net::Response::Json(503, R"({"message":"down for maintenance"})");
      }
      auto match = inner_.Find(req.method, req.path);
      if (match.handler == nullptr) co_return net::Response::Json(404, R"({"message":"no route"})");
      co_return co_await (*match.handler)(req);
    });
    net::ServerOptions o;
    o.threads = 1;
    o.access_log = false;
    server_ = std::make_unique<net::Server>(o, std::move(router));
    Status st = server_->Start();
    EXPECT_TRUE(st.ok()) << st.error().ToString();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  void set_down(bool down) { down_ = down; }
  size_t op_count() {
    auto ops = plc_->Export(0, 1000);
    EXPECT_TRUE(ops.ok());
    return ops.ok() ? ops->size() : 0;
  }
  std::optional<identity::PlcOperation> Op(const std::string& did) {
    auto last = plc_->Last(did);
    if (!last.ok()) return std::nullopt;
    return last->op;
  }

 private:
  std::atomic<bool> down_{false};
  std::unique_ptr<PlcDirectory> plc_;
  net::Router inner_;
  std::unique_ptr<net::Server> server_;
};

class FakeRepoHost : public RepoHost {
 public:
  struct Event {
    std::string kind;  // "identity" | "account"
    std::string did;
    std::string detail;  // handle, or "active"/status
  };

  Status CreateRepo(std::string_view did, const crypto::PrivateKey& key) override {
    std::lock_guard lock(mu_);
    if (fail_create_) return Error(ErrorCode::kInternal, "disk full (fake)");
    if (repos_.count(std::string(did))) return Error(ErrorCode::kAlreadyExists, "repo exists");
    repos_[std::string(did)] = key.public_key().DidKey();
    return Ok();
  }
  Status AppendIdentityEvent(std::string_view did, std::optional<std::string> handle) override {
    std::lock_guard lock(mu_);
    events_.push_back({"identity", std::string(did), handle.value_or("")});
    return Ok();
  }
  Status AppendAccountEvent(std::string_view did, bool active,
                            std::optional<std::string> status) override {
    std::lock_guard lock(mu_);
    events_.push_back({"account", std::string(did), active ? "active" : status.value_or("?")});
    return Ok();
  }
  Status DeleteRepo(std::string_view did) override {
    std::lock_guard lock(mu_);
    repos_.erase(std::string(did));
    // Like RepoStore: the DID's sequenced events go with it.
    std::erase_if(events_, [&](const Event& e) { return e.did == did; });
    ++deletes_;
    return Ok();
  }
  bool HasRepo(std::string_view did) override {
    std::lock_guard lock(mu_);
    return repos_.count(std::string(did)) > 0;
  }

  void set_fail_create(bool f) {
    std::lock_guard lock(mu_);
    fail_create_ = f;
  }
  std::string RepoKey(const std::string& did) {
    std::lock_guard lock(mu_);
    return repos_.count(did) ? repos_[did] : "";
  }
  size_t repo_count() {
    std::lock_guard lock(mu_);
    return repos_.size();
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  bool fail_create_ = false;
  std::map<std::string, std::string> repos_;  // did -> did:key
  std::vector<Event> events_;
  int deletes_ = 0;

 public:
  int deletes() {
    std::lock_guard lock(mu_);
    return deletes_;
  }
};

// A fresh private temp directory, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "atcr-accounts-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct HttpAnswer {
  int status = 0;
  std::string body;
  net::Headers headers;
  boost::json::object json;  // empty unless the body is a JSON object

  std::string Str(std::string_view key) const {
    const boost::json::value* v = json.if_contains(boost::json::string_view(key.data(), key.size()));
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  }
  std::string error() const { return Str("error"); }
  std::string message() const { return Str("message"); }
};

// Runs a coroutine to completion on a private io_context on the calling thread.
template <typename T>
T RunSync(net::Task<T> task) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      ioc, [&]() -> net::Task<void> { out.emplace(co_await std::move(task)); },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

inline HttpAnswer ToAnswer(Result<net::ClientResponse> r) {
  HttpAnswer a;
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  if (!r.ok()) return a;
  a.status = r->status;
  a.body = r->body;
  a.headers = r->headers;
  boost::system::error_code ec;
  auto v = boost::json::parse(a.body, ec);
  if (!ec && v.is_object()) a.json = v.as_object();
  return a;
}

}  // namespace atcr::pds::testing
