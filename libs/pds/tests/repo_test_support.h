// Helpers for the repo/firehose/route tests: temp dirs, records, and a full repo check (export,
// parse the CAR, load the MST from its blocks, verify the commit signature).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>

#include "atcr/atproto/car.h"
#include "atcr/atproto/commit.h"
#include "atcr/atproto/mst.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/json.h"
#include "atcr/net/http.h"
#include "atcr/net/xrpc.h"
#include "atcr/pds/auth.h"
#include "atcr/pds/repo_store.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>

namespace atcr::pds::testing {

class RepoTempDir {
 public:
  RepoTempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "atcr-repo-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~RepoTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline cbor::Value Json(std::string_view text) {
  auto v = cbor::FromJsonText(text);
  EXPECT_TRUE(v.ok()) << v.error().message;
  return v.ok() ? *v : cbor::Value();
}

inline RepoWrite Create(std::string collection, std::string rkey, std::string_view json) {
  RepoWrite w;
  w.action = RepoWrite::Action::kCreate;
  w.collection = std::move(collection);
  w.rkey = std::move(rkey);
  w.record = Json(json);
  return w;
}
inline RepoWrite Update(std::string collection, std::string rkey, std::string_view json) {
  RepoWrite w = Create(std::move(collection), std::move(rkey), json);
  w.action = RepoWrite::Action::kUpdate;
  return w;
}
inline RepoWrite Put(std::string collection, std::string rkey, std::string_view json) {
  RepoWrite w = Create(std::move(collection), std::move(rkey), json);
  w.action = RepoWrite::Action::kPut;
  return w;
}
inline RepoWrite Delete(std::string collection, std::string rkey) {
  RepoWrite w;
  w.action = RepoWrite::Action::kDelete;
  w.collection = std::move(collection);
  w.rkey = std::move(rkey);
  return w;
}

struct LoadedRepo {
  atproto::Commit commit;
  cbor::Cid commit_cid;
  atproto::Mst tree;
  atproto::MemoryBlockStore blocks;
};

// Reads a whole CAR (root = commit), checks the signature with `key` and loads the MST.
inline Result<LoadedRepo> LoadRepoCar(ByteSpan car, const crypto::PublicKey& key) {
  LoadedRepo out;
  ATCR_ASSIGN_OR_RETURN(auto roots, atproto::ReadCarIntoStore(car, &out.blocks));
  out.commit_cid = roots.at(0);
  ATCR_ASSIGN_OR_RETURN(Bytes commit_bytes, out.blocks.Get(out.commit_cid));
  ATCR_ASSIGN_OR_RETURN(out.commit, atproto::Commit::Decode(commit_bytes));
  ATCR_TRY(atproto::VerifyCommit(out.commit, key));
  ATCR_ASSIGN_OR_RETURN(out.tree, atproto::Mst::Load(out.blocks, out.commit.data));
  for (const auto& [path, cid] : out.tree.List()) {
    if (!out.blocks.Has(cid)) return NotFound("record block missing for " + path);
  }
  return out;
}

// The repo as sync.getRepo serves it, as CAR bytes.
inline Result<Bytes> ExportCar(RepoStore& store, std::string_view did,
                               std::optional<std::string> since = std::nullopt) {
  ATCR_ASSIGN_OR_RETURN(auto exp, store.ExportRepo(did, since));
  Bytes out;
  atproto::CarWriter w({exp->root().cid},
                       [&](ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); });
  while (true) {
    ATCR_ASSIGN_OR_RETURN(auto batch, exp->Next(64 * 1024));
    if (batch.empty()) break;
    for (const auto& b : batch) w.Add(b.cid, b.data);
  }
  return out;
}

// Bearer "tok:<did>" is that DID's session; "admin" is the admin; anything else is refused with
// the reference's names (AuthMissing without credentials, InvalidToken otherwise).
class FakeAuthenticator : public RequestAuthenticator {
 public:
  Result<Caller> Authenticate(const net::Request& req) const override {
    auto token = net::BearerToken(req);
    if (!token) return Error(ErrorCode::kUnauthenticated, "Authentication Required", "AuthMissing");
    if (*token == "admin") return Caller{Caller::Kind::kAdmin, ""};
    if (token->starts_with("tok:")) return Caller{Caller::Kind::kAccess, token->substr(4)};
    return Error(ErrorCode::kInvalidArgument, "Token could not be verified", "InvalidToken");
  }
};

class FakeDirectory : public AccountDirectory {
 public:
  struct Account {
    std::string handle;
    std::optional<crypto::PrivateKey> key;
    std::string status = "active";
  };
  void Add(const std::string& did, const std::string& handle, const crypto::PrivateKey& key) {
    std::lock_guard lock(mu_);
    accounts_[did] = Account{handle, key, "active"};
  }
  void SetStatus(const std::string& did, std::string status) {
    std::lock_guard lock(mu_);
    accounts_[did].status = std::move(status);
  }
  Result<std::string> ResolveRepo(std::string_view handle_or_did) const override {
    std::lock_guard lock(mu_);
    for (const auto& [did, a] : accounts_) {
      if (did == handle_or_did || a.handle == handle_or_did) return did;
    }
    return NotFound("Could not find repo: " + std::string(handle_or_did), "RepoNotFound");
  }
  std::optional<std::string> HandleOf(std::string_view did) const override {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(std::string(did));
    if (it == accounts_.end()) return std::nullopt;
    return it->second.handle;
  }
  Result<crypto::PrivateKey> SigningKey(std::string_view did) const override {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(std::string(did));
    if (it == accounts_.end() || !it->second.key) return NotFound("no key");
    return *it->second.key;
  }
  std::string AccountStatus(std::string_view did) const override {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(std::string(did));
    return it == accounts_.end() ? "deleted" : it->second.status;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Account> accounts_;
};

// Runs a coroutine to completion on a private io_context on this thread.
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

}  // namespace atcr::pds::testing
