// Small in-process peers for the AppView unit tests, each a real net::Server on 127.0.0.1:
//   FakePds   a PDS with just what the AppView calls (sessions, getServiceAuth, repo records,
//             blobs), its own PLC-style DID documents and handle resolution, and knobs to
//             expire tokens; counts calls per method.
//   FakeHold  a hold with ATCR's io.atcr.hold.* upload methods, notifyManifest (with an
//             optional quota), com.atproto.sync.getBlob redirects, a captain record and a
//             did:web document; verifies service tokens (aud, lxm, exp, signature through a
//             Resolver) and can refuse reused ones like atcr's hold does.
// The integration test swaps FakePds for the reference PDS; FakeHold stays.
#pragma once

#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "atcr/base/encoding.h"
#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/cbor/cid.h"
#include "atcr/crypto/jwt.h"
#include "atcr/crypto/keys.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "atcr/net/xrpc.h"
#include "atcr/oci/digest.h"

namespace atcr::appview::testing {
namespace json = boost::json;

inline std::string Str(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline net::Response JsonResponse(const json::value& v, int status = 200) {
  return net::Response::Json(status, json::serialize(v));
}

class FakePds {
 public:
  struct Account {
    std::string did;
    std::string handle;
    std::string password;
    std::unique_ptr<crypto::PrivateKey> key;
    std::map<std::string, std::map<std::string, std::pair<std::string, json::value>>> records;
  };

  FakePds() {
    net::Router r;
    auto self = this;
    r.Add(net::Method::kGet, "/.well-known/atproto-did",
          [self](net::Request& req) -> net::Task<net::Response> {
            std::string host(req.headers.Get("Host").value_or(""));
            if (auto c = host.find(':'); c != std::string::npos) host.resize(c);
            std::lock_guard lock(self->mu_);
            for (auto& [did, a] : self->accounts_) {
              if (a.handle == host) co_return net::Response::Text(200, did);
            }
            co_return net::Response::Text(404, "no such handle");
          });
    r.AddPrefix("/did:plc:", [self](net::Request& req) -> net::Task<net::Response> {
      co_return self->DidDocument(req.path.substr(1));
    });
    auto add = [&](net::Method m, std::string nsid,
                   std::function<net::Task<net::Response>(net::Request&)> h) {
      net::RouteOptions o;
      o.max_body = 64 << 20;
      r.Add(m, net::XrpcPath(nsid),
            [self, nsid, h](net::Request& req) -> net::Task<net::Response> {
              {
                std::lock_guard lock(self->mu_);
                ++self->calls_[nsid];
              }
              ++self->requests_;
              co_return co_await h(req);
            },
            o);
    };
    add(net::Method::kPost, "com.atproto.server.createSession",
        [self](net::Request& req) { return self->CreateSession(req); });
    add(net::Method::kPost, "com.atproto.server.refreshSession",
        [self](net::Request& req) { return self->RefreshSession(req); });
    add(net::Method::kGet, "com.atproto.server.getServiceAuth",
        [self](net::Request& req) { return self->GetServiceAuth(req); });
    add(net::Method::kGet, "com.atproto.repo.getRecord",
        [self](net::Request& req) { return self->GetRecord(req); });
    add(net::Method::kGet, "com.atproto.repo.listRecords",
        [self](net::Request& req) { return self->ListRecords(req); });
    add(net::Method::kPost, "com.atproto.repo.putRecord",
        [self](net::Request& req) { return self->PutRecord(req); });
    add(net::Method::kPost, "com.atproto.repo.deleteRecord",
        [self](net::Request& req) { return self->DeleteRecord(req); });
    add(net::Method::kPost, "com.atproto.repo.uploadBlob",
        [self](net::Request& req) { return self->UploadBlob(req); });
    add(net::Method::kGet, "com.atproto.sync.getBlob",
        [self](net::Request& req) { return self->GetBlob(req); });
    net::ServerOptions so;
    so.access_log = false;
    so.threads = 2;
    server_ = std::make_unique<net::Server>(so, std::move(r));
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakePds() { server_->Stop(); }

  std::string url() const { return "http://localhost:" + std::to_string(server_->port()); }

  std::string AddAccount(const std::string& handle, const std::string& password) {
    std::lock_guard lock(mu_);
    Account a;
    a.did = "did:plc:" + Base32Encode(RandomBytes(15)).substr(0, 24);
    a.handle = handle;
    a.password = password;
    a.key = std::make_unique<crypto::PrivateKey>(crypto::PrivateKey::Generate(crypto::KeyType::kK256));
    std::string did = a.did;
    accounts_.emplace(did, std::move(a));
    return did;
  }

  std::optional<json::value> Record(const std::string& did, const std::string& collection,
                                    const std::string& rkey) {
    std::lock_guard lock(mu_);
    auto& recs = accounts_.at(did).records[collection];
    auto it = recs.find(rkey);
    if (it == recs.end()) return std::nullopt;
    return it->second.second;
  }
  std::vector<std::string> Rkeys(const std::string& did, const std::string& collection) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& [k, v] : accounts_.at(did).records[collection]) out.push_back(k);
    return out;
  }
  // Writes a record behind the AppView's back (another client, another AppView).
  void PutRecordDirect(const std::string& did, const std::string& collection,
                       const std::string& rkey, json::value record) {
    std::lock_guard lock(mu_);
    std::string cid = cbor::Cid::ForRaw(AsBytes(json::serialize(record))).ToString();
    accounts_.at(did).records[collection][rkey] = {cid, std::move(record)};
  }
  void DeleteRecordDirect(const std::string& did, const std::string& collection,
                          const std::string& rkey) {
    std::lock_guard lock(mu_);
    accounts_.at(did).records[collection].erase(rkey);
  }
  // Every access token issued so far stops working (the next use gets ExpiredToken).
  void ExpireAccessTokens() {
    std::lock_guard lock(mu_);
    access_.clear();
  }
  // Every refresh token issued so far is refused from now on.
  void RevokeRefreshTokens() {
    std::lock_guard lock(mu_);
    refresh_.clear();
  }
  int calls(const std::string& nsid) {
    std::lock_guard lock(mu_);
    return calls_[nsid];
  }
  int requests() const { return requests_.load(); }
  void set_down(bool down) { down_ = down; }
  // A blob uploaded by some other client; returns its CID.
  std::string PutBlobDirect(const std::string& bytes) {
    std::string cid = cbor::Cid::ForRaw(AsBytes(bytes)).ToString();
    std::lock_guard lock(mu_);
    blobs_[cid] = bytes;
    return cid;
  }

 private:
  net::Response Err(int status, std::string_view error, std::string_view message) {
    return net::XrpcErrorResponse(status, error, message);
  }

  std::string MakeToken(const std::string& did, std::string_view kind, int64_t ttl) {
    json::object claims;
    claims["sub"] = did;
    claims["scope"] = kind;
    claims["exp"] = UnixSeconds() + ttl;
    claims["jti"] = RandomId();
    return "eyJhbGciOiJIUzI1NiJ9." +
           Base64Encode(AsBytes(json::serialize(claims)), Base64Variant::kUrl, false) + ".c2ln";
  }

  json::object SessionJson(const Account& a) {
    std::string access = MakeToken(a.did, "access", 7200);
    std::string refresh = MakeToken(a.did, "refresh", 86400);
    access_[access] = a.did;
    refresh_[refresh] = a.did;
    json::object o;
    o["did"] = a.did;
    o["handle"] = a.handle;
    o["accessJwt"] = access;
    o["refreshJwt"] = refresh;
    return o;
  }

  // The DID of a valid access token, or an error response.
  std::variant<std::string, net::Response> Authed(const net::Request& req) {
    auto bearer = net::BearerToken(req);
    if (!bearer) return Err(401, "AuthMissing", "Authentication Required");
    std::lock_guard lock(mu_);
    auto it = access_.find(*bearer);
    if (it == access_.end()) return Err(400, "ExpiredToken", "Token has expired");
    return it->second;
  }

  net::Response DidDocument(const std::string& did) {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(did);
    if (it == accounts_.end()) return net::Response::Text(404, "not found");
    json::object doc;
    doc["@context"] = json::array{"https://www.w3.org/ns/did/v1"};
    doc["id"] = did;
    doc["alsoKnownAs"] = json::array{"at://" + it->second.handle};
    json::object vm;
    vm["id"] = did + "#atproto";
    vm["type"] = "Multikey";
    vm["controller"] = did;
    vm["publicKeyMultibase"] = it->second.key->public_key().Multikey();
    doc["verificationMethod"] = json::array{vm};
    json::object svc;
    svc["id"] = "#atproto_pds";
    svc["type"] = "AtprotoPersonalDataServer";
    svc["serviceEndpoint"] = url();
    doc["service"] = json::array{svc};
    return JsonResponse(doc);
  }

  net::Task<net::Response> CreateSession(net::Request& req) {
    if (down_) co_return Err(503, "NotEnoughResources", "down");
    auto body = co_await req.body->ReadAll(1 << 20);
    json::value v = json::parse(*body);
    std::string id = Str(v.as_object(), "identifier");
    std::string pw = Str(v.as_object(), "password");
    std::lock_guard lock(mu_);
    for (auto& [did, a] : accounts_) {
      if ((a.handle == id || did == id) && a.password == pw) co_return JsonResponse(SessionJson(a));
    }
    co_return Err(401, "AuthenticationRequired", "Invalid identifier or password");
  }

  net::Task<net::Response> RefreshSession(net::Request& req) {
    auto bearer = net::BearerToken(req);
    std::lock_guard lock(mu_);
    if (!bearer || refresh_.count(*bearer) == 0) {
      co_return Err(400, "ExpiredToken", "Token has been revoked");
    }
    std::string did = refresh_[*bearer];
    refresh_.erase(*bearer);  // single use, as the reference PDS revokes it
    co_return JsonResponse(SessionJson(accounts_.at(did)));
  }

  net::Task<net::Response> GetServiceAuth(net::Request& req) {
    auto who = Authed(req);
    if (auto* r = std::get_if<net::Response>(&who)) co_return std::move(*r);
    std::string did = std::get<std::string>(who);
    crypto::ServiceAuthRequest sa;
    sa.iss = did;
    sa.aud = req.Query("aud").value_or("");
    sa.lxm = req.Query("lxm").value_or("");
    if (auto exp = req.Query("exp")) sa.ttl_seconds = std::stoll(*exp) - UnixSeconds();
    std::lock_guard lock(mu_);
    json::object o;
    o["token"] = crypto::SignServiceAuthJwt(*accounts_.at(did).key, sa);
    co_return JsonResponse(o);
  }

  net::Task<net::Response> GetRecord(net::Request& req) {
    if (down_) co_return Err(503, "NotEnoughResources", "down");
    std::string repo = req.Query("repo").value_or("");
    std::string collection = req.Query("collection").value_or("");
    std::string rkey = req.Query("rkey").value_or("");
    std::lock_guard lock(mu_);
    auto a = accounts_.find(repo);
    if (a == accounts_.end()) co_return Err(400, "RepoNotFound", "no repo");
    auto& recs = a->second.records[collection];
    auto it = recs.find(rkey);
    if (it == recs.end()) co_return Err(400, "RecordNotFound", "Could not locate record");
    json::object o;
    o["uri"] = "at://" + repo + "/" + collection + "/" + rkey;
    o["cid"] = it->second.first;
    o["value"] = it->second.second;
    co_return JsonResponse(o);
  }

  net::Task<net::Response> ListRecords(net::Request& req) {
    if (down_) co_return Err(503, "NotEnoughResources", "down");
    std::string repo = req.Query("repo").value_or("");
    std::string collection = req.Query("collection").value_or("");
    size_t limit = std::stoul(req.Query("limit").value_or("50"));
    std::string cursor = req.Query("cursor").value_or("");
    std::lock_guard lock(mu_);
    auto a = accounts_.find(repo);
    if (a == accounts_.end()) co_return Err(400, "RepoNotFound", "no repo");
    json::array recs;
    std::string last;
    auto& all = a->second.records[collection];
    for (auto it = all.rbegin(); it != all.rend(); ++it) {  // descending, like the reference
      if (!cursor.empty() && it->first >= cursor) continue;
      if (recs.size() >= limit) break;
      json::object o;
      o["uri"] = "at://" + repo + "/" + collection + "/" + it->first;
      o["cid"] = it->second.first;
      o["value"] = it->second.second;
      recs.emplace_back(std::move(o));
      last = it->first;
    }
    json::object out;
    out["records"] = std::move(recs);
    if (out["records"].as_array().size() == limit) out["cursor"] = last;
    co_return JsonResponse(out);
  }

  net::Task<net::Response> PutRecord(net::Request& req) {
    auto who = Authed(req);
    if (auto* r = std::get_if<net::Response>(&who)) co_return std::move(*r);
    auto body = co_await req.body->ReadAll(1 << 20);
    json::value v = json::parse(*body);
    json::object& o = v.as_object();
    std::string repo = Str(o, "repo");
    if (repo != std::get<std::string>(who)) co_return Err(403, "Forbidden", "not your repo");
    std::string collection = Str(o, "collection");
    std::string rkey = Str(o, "rkey");
    json::value record = o.at("record");
    std::string cid = cbor::Cid::ForRaw(AsBytes(json::serialize(record))).ToString();
    std::lock_guard lock(mu_);
    accounts_.at(repo).records[collection][rkey] = {cid, record};
    json::object out;
    out["uri"] = "at://" + repo + "/" + collection + "/" + rkey;
    out["cid"] = cid;
    co_return JsonResponse(out);
  }

  net::Task<net::Response> DeleteRecord(net::Request& req) {
    auto who = Authed(req);
    if (auto* r = std::get_if<net::Response>(&who)) co_return std::move(*r);
    auto body = co_await req.body->ReadAll(1 << 20);
    json::value v = json::parse(*body);
    std::string repo = Str(v.as_object(), "repo");
    if (repo != std::get<std::string>(who)) co_return Err(403, "Forbidden", "not your repo");
    std::lock_guard lock(mu_);
    accounts_.at(repo).records[Str(v.as_object(), "collection")].erase(Str(v.as_object(), "rkey"));
    co_return JsonResponse(json::object{});
  }

  net::Task<net::Response> UploadBlob(net::Request& req) {
    auto who = Authed(req);
    if (auto* r = std::get_if<net::Response>(&who)) co_return std::move(*r);
    auto body = co_await req.body->ReadAll(64 << 20);
    std::string cid = cbor::Cid::ForRaw(AsBytes(*body)).ToString();
    std::string mime(req.headers.Get("Content-Type").value_or("application/octet-stream"));
    std::lock_guard lock(mu_);
    blobs_[cid] = *body;
    json::object blob;
    blob["$type"] = "blob";
    blob["ref"] = json::object{{"$link", cid}};
    blob["mimeType"] = mime;
    blob["size"] = body->size();
    co_return JsonResponse(json::object{{"blob", blob}});
  }

  net::Task<net::Response> GetBlob(net::Request& req) {
    if (down_) co_return Err(503, "NotEnoughResources", "down");
    std::lock_guard lock(mu_);
    auto it = blobs_.find(req.Query("cid").value_or(""));
    if (it == blobs_.end()) co_return Err(400, "BlobNotFound", "no blob");
    co_return net::Response::Text(200, it->second, "application/octet-stream");
  }

  std::unique_ptr<net::Server> server_;
  std::mutex mu_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, std::string> access_;   // token -> did
  std::map<std::string, std::string> refresh_;  // token -> did
  std::map<std::string, std::string> blobs_;
  std::map<std::string, int> calls_;
  std::atomic<int> requests_{0};
  std::atomic<bool> down_{false};
};

class FakeHold {
 public:
  struct Options {
    bool is_public = true;
    bool presign = false;          // getPartUploadUrl hands out URLs to /s3/...
    bool reject_replay = false;    // a jti is accepted once (atcr's hold)
    bool part_put_only = false;    // uploadPart answers 405 to POST
    uint64_t max_part_bytes = 0;   // uploadPart: 413 PayloadTooLarge above this, unread; 0 = none
    uint64_t quota_bytes = 0;      // notifyManifest(push): QuotaExceeded above this; 0 = none
    bool crew_only = false;        // initiateUpload, notifyManifest(push): 403 unless crew
    bool allow_all_crew = true;    // requestCrew makes the caller crew (else RegistrationDisabled)
    std::shared_ptr<identity::Resolver> verify_with;  // null: signatures not checked
  };

  explicit FakeHold(Options options) : options_(std::move(options)) {
    net::Router r;
    auto self = this;
    r.Add(net::Method::kGet, "/.well-known/did.json",
          [self](net::Request&) -> net::Task<net::Response> {
            json::object doc;
            doc["id"] = self->did();
            json::object svc;
            svc["id"] = "#atcr_hold";
            svc["type"] = "AtcrHoldService";
            svc["serviceEndpoint"] = self->url();
            json::object pds;
            pds["id"] = "#atproto_pds";
            pds["type"] = "AtprotoPersonalDataServer";
            pds["serviceEndpoint"] = self->url();
            doc["service"] = json::array{pds, svc};
            co_return JsonResponse(doc);
          });
    r.Add(net::Method::kGet, net::XrpcPath("com.atproto.repo.getRecord"),
          [self](net::Request& req) -> net::Task<net::Response> {
            if (req.Query("collection").value_or("") != "io.atcr.hold.captain") {
              co_return net::XrpcErrorResponse(400, "RecordNotFound", "no record");
            }
            json::object value;
            value["$type"] = "io.atcr.hold.captain";
            value["owner"] = "did:plc:owner";
            value["public"] = self->options_.is_public;
            json::object o;
            o["uri"] = "at://" + self->did() + "/io.atcr.hold.captain/self";
            o["value"] = value;
            co_return JsonResponse(o);
          });
    auto add = [&](net::Method m, std::string nsid,
                   std::function<net::Task<net::Response>(net::Request&, json::value)> h,
                   bool json_body = true) {
      net::RouteOptions o;
      o.max_body = 64 << 20;
      net::Handler handler = [self, nsid, h, json_body](net::Request& req) -> net::Task<net::Response> {
        {
          std::lock_guard lock(self->mu_);
          ++self->calls_[nsid];
        }
        auto auth = co_await self->CheckToken(req, nsid);
        if (auth) co_return std::move(*auth);
        json::value body;
        if (json_body) {
          auto text = co_await req.body->ReadAll(1 << 20);
          boost::system::error_code ec;
          body = json::parse(*text, ec);
          if (ec) co_return net::XrpcErrorResponse(400, "InvalidRequest", "bad json");
        }
        co_return co_await h(req, std::move(body));
      };
      r.Add(m, net::XrpcPath(nsid), handler, o);
      if (nsid == "io.atcr.hold.uploadPart" && !self->options_.part_put_only) {
        r.Add(net::Method::kPost, net::XrpcPath(nsid), handler, o);
      }
    };
    add(net::Method::kPost, "io.atcr.hold.initiateUpload",
        [self](net::Request&, json::value b) -> net::Task<net::Response> {
          std::lock_guard lock(self->mu_);
          // The caller is the issuer CheckToken saw last (these tests push as one user).
          if (self->options_.crew_only && self->crew_.count(self->issuers_.back()) == 0) {
            co_return net::XrpcErrorResponse(403, "Forbidden",
                                             self->issuers_.back() + " may not write to this hold");
          }
          std::string id = RandomId();
          self->uploads_[id].digest = Str(b.as_object(), "digest");
          co_return JsonResponse(json::object{{"uploadId", id}});
        });
    add(net::Method::kPost, "io.atcr.hold.requestCrew",
        [self](net::Request&, json::value) -> net::Task<net::Response> {
          std::lock_guard lock(self->mu_);
          if (!self->options_.allow_all_crew) {
            co_return net::XrpcErrorResponse(403, "RegistrationDisabled", "ask the owner");
          }
          bool created = self->crew_.insert(self->issuers_.back()).second;
          co_return JsonResponse(json::object{{"status", created ? "created" : "already_member"}});
        });
    add(net::Method::kPost, "io.atcr.hold.getPartUploadUrl",
        [self](net::Request&, json::value b) -> net::Task<net::Response> {
          if (!self->options_.presign) {
            co_return net::XrpcErrorResponse(501, "MethodNotImplemented", "no presigning here");
          }
          std::string id = Str(b.as_object(), "uploadId");
          int64_t n = b.as_object().at("partNumber").as_int64();
          json::object o;
          o["url"] = self->url() + "/s3/" + id + "/" + std::to_string(n) + "?X-Amz-Signature=x";
          o["method"] = "PUT";
          o["headers"] = json::object{{"x-amz-test", "1"}};
          co_return JsonResponse(o);
        });
    add(net::Method::kPut, "io.atcr.hold.uploadPart",
        [self](net::Request& req, json::value) -> net::Task<net::Response> {
          std::string id(req.headers.Get("X-Upload-Id").value_or(""));
          int n = std::stoi(std::string(req.headers.Get("X-Part-Number").value_or("0")));
          uint64_t max = self->options_.max_part_bytes;
          if (max != 0 && req.body->content_length().value_or(0) > max) {
            // Answered before the body is read, as a hold with a part limit does.
            co_return net::XrpcErrorResponse(413, "PayloadTooLarge", "part too large");
          }
          {
            std::lock_guard lock(self->mu_);
            self->max_parts_in_flight_ = std::max(self->max_parts_in_flight_, ++self->parts_in_flight_);
          }
          auto bytes = co_await req.body->ReadAll(64 << 20);
          {
            std::lock_guard lock(self->mu_);
            --self->parts_in_flight_;
            self->part_sizes_.push_back(bytes.ok() ? bytes->size() : 0);
          }
          co_return self->StorePart(id, n, std::move(*bytes));
        },
        /*json_body=*/false);
    add(net::Method::kPost, "io.atcr.hold.completeUpload",
        [self](net::Request&, json::value b) -> net::Task<net::Response> {
          co_return self->Complete(b.as_object());
        });
    add(net::Method::kPost, "io.atcr.hold.abortUpload",
        [self](net::Request&, json::value b) -> net::Task<net::Response> {
          std::lock_guard lock(self->mu_);
          self->uploads_.erase(Str(b.as_object(), "uploadId"));
          ++self->aborts_;
          co_return JsonResponse(json::object{{"status", "aborted"}});
        });
    add(net::Method::kPost, "io.atcr.hold.notifyManifest",
        [self](net::Request&, json::value b) -> net::Task<net::Response> {
          std::lock_guard lock(self->mu_);
          const json::object& o = b.as_object();
          if (self->options_.crew_only && Str(o, "operation") == "push" &&
              self->crew_.count(self->issuers_.back()) == 0) {
            co_return net::XrpcErrorResponse(403, "Forbidden",
                                             self->issuers_.back() + " may not write to this hold");
          }
          if (self->options_.quota_bytes > 0 && Str(o, "operation") == "push") {
            uint64_t total = 0;
            if (const auto* m = o.if_contains("manifest"); m && m->as_object().contains("layers")) {
              for (const auto& l : m->as_object().at("layers").as_array()) {
                total += l.as_object().at("size").to_number<uint64_t>();
              }
            }
            if (total > self->options_.quota_bytes) {
              co_return net::XrpcErrorResponse(400, "QuotaExceeded",
                                               "quota of " +
                                                   std::to_string(self->options_.quota_bytes) +
                                                   " bytes exceeded");
            }
          }
          self->notifications_.push_back(o);
          json::object out;
          out["success"] = true;
          out["operation"] = Str(o, "operation");
          out["statsUpdated"] = true;
          co_return JsonResponse(out);
        });
    // Blob reads: getBlob redirects to a "signed" URL on the same server.
    r.Add(net::Method::kGet, net::XrpcPath("com.atproto.sync.getBlob"),
          [self](net::Request& req) -> net::Task<net::Response> {
            {
              std::lock_guard lock(self->mu_);
              ++self->calls_["com.atproto.sync.getBlob"];
            }
            if (!self->options_.is_public) {
              std::string lxm = "com.atproto.sync.getBlob";
              auto auth = co_await self->CheckToken(req, lxm);
              if (auth) co_return std::move(*auth);
            }
            std::string cid = req.Query("cid").value_or("");
            {
              std::lock_guard lock(self->mu_);
              if (self->blobs_.count(cid) == 0) co_return net::XrpcErrorResponse(404, "BlobNotFound", cid);
            }
            net::Response resp = net::Response::Empty(307);
            resp.headers.Set("Location", self->url() + "/signed/" + cid + "?sig=abc");
            co_return resp;
          });
    r.AddPrefix("/signed/", [self](net::Request& req) -> net::Task<net::Response> {
      std::lock_guard lock(self->mu_);
      auto it = self->blobs_.find(req.path.substr(8));
      if (it == self->blobs_.end()) co_return net::Response::Text(404, "no");
      co_return net::Response::Text(200, it->second, "application/octet-stream");
    });
    net::RouteOptions s3;
    s3.max_body = 64 << 20;
    r.AddPrefix(
        "/s3/",
        [self](net::Request& req) -> net::Task<net::Response> {
          std::string rest = req.path.substr(4);
          size_t slash = rest.find('/');
          if (req.method != net::Method::kPut || slash == std::string::npos ||
              !req.headers.Has("x-amz-test")) {
            co_return net::Response::Text(403, "SignatureDoesNotMatch");
          }
          {
            std::lock_guard lock(self->mu_);
            ++self->presigned_puts_;
          }
          auto bytes = co_await req.body->ReadAll(64 << 20);
          net::Response r = self->StorePart(rest.substr(0, slash), std::stoi(rest.substr(slash + 1)),
                                            std::move(*bytes));
          if (r.status == 200) {
            r = net::Response::Empty(200);
            r.headers.Set("ETag", "\"etag-" + rest + "\"");
          }
          co_return r;
        },
        s3);
    net::ServerOptions so;
    so.access_log = false;
    so.threads = 2;
    server_ = std::make_unique<net::Server>(so, std::move(r));
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakeHold() { server_->Stop(); }

  std::string url() const { return "http://localhost:" + std::to_string(server_->port()); }
  std::string did() const { return "did:web:localhost%3A" + std::to_string(server_->port()); }

  void PutBlobDirect(const std::string& bytes) {
    std::lock_guard lock(mu_);
    blobs_[oci::Digest::Sha256Of(AsBytes(bytes)).str()] = bytes;
  }
  bool HasBlob(const std::string& digest) {
    std::lock_guard lock(mu_);
    return blobs_.count(digest) != 0;
  }
  std::string Blob(const std::string& digest) {
    std::lock_guard lock(mu_);
    return blobs_[digest];
  }
  std::vector<json::object> notifications() {
    std::lock_guard lock(mu_);
    return notifications_;
  }
  int calls(const std::string& nsid) {
    std::lock_guard lock(mu_);
    return calls_[nsid];
  }
  // Sizes of the parts uploadPart stored, in arrival order.
  std::vector<size_t> part_sizes() {
    std::lock_guard lock(mu_);
    return part_sizes_;
  }
  int max_parts_in_flight() {
    std::lock_guard lock(mu_);
    return max_parts_in_flight_;
  }
  int presigned_puts() {
    std::lock_guard lock(mu_);
    return presigned_puts_;
  }
  int aborts() {
    std::lock_guard lock(mu_);
    return aborts_;
  }
  int refused_tokens() {
    std::lock_guard lock(mu_);
    return refused_;
  }
  std::vector<std::string> token_issuers() {
    std::lock_guard lock(mu_);
    return issuers_;
  }
  bool IsCrew(const std::string& did) {
    std::lock_guard lock(mu_);
    return crew_.count(did) != 0;
  }

 private:
  // nullopt when the request carries a good service token for `lxm`.
  net::Task<std::optional<net::Response>> CheckToken(net::Request& req, std::string lxm) {
    auto refuse = [this](std::string_view error, std::string message) {
      std::lock_guard lock(mu_);
      ++refused_;
      return std::optional<net::Response>(net::XrpcErrorResponse(401, error, message));
    };
    auto bearer = net::BearerToken(req);
    if (!bearer) co_return refuse("AuthRequired", "no token");
    auto jwt = crypto::ParseJwt(*bearer);
    if (!jwt.ok()) co_return refuse("BadJwt", jwt.error().message);
    if (jwt->aud() != did()) co_return refuse("BadJwtAudience", "aud " + jwt->aud());
    if (jwt->lxm() != lxm) co_return refuse("BadJwtLexiconMethod", "lxm " + jwt->lxm());
    if (jwt->exp().value_or(0) < UnixSeconds()) co_return refuse("JwtExpired", "expired");
    if (options_.verify_with) {
      std::string iss = jwt->issuer_did();
      auto doc = co_await options_.verify_with->ResolveDid(iss);
      if (!doc.ok()) co_return refuse("BadJwtIss", doc.error().message);
      auto key = crypto::PublicKey::FromDidKey(doc->signing_key);
      if (!key.ok()) co_return refuse("BadJwtIss", key.error().message);
      crypto::JwtVerifyOptions vo;
      vo.audience = did();
      vo.lxm = lxm;
      Status st = crypto::VerifyJwt(*jwt, *key, vo);
      if (!st.ok()) co_return refuse("BadJwtSignature", st.error().message);
    }
    std::lock_guard lock(mu_);
    if (options_.reject_replay && !seen_jti_.insert(jwt->jti()).second) {
      ++refused_;
      co_return net::XrpcErrorResponse(401, "BadJwt",
                                       "token replayed: jti " + jwt->jti() + " was already used");
    }
    issuers_.push_back(jwt->issuer_did());
    co_return std::nullopt;
  }

  net::Response StorePart(const std::string& id, int n, std::string bytes) {
    std::lock_guard lock(mu_);
    auto it = uploads_.find(id);
    if (it == uploads_.end()) return net::XrpcErrorResponse(400, "UploadNotFound", id);
    it->second.parts[n] = std::move(bytes);
    return JsonResponse(json::object{{"etag", "etag-" + id + "/" + std::to_string(n)}});
  }

  net::Response Complete(const json::object& b) {
    std::lock_guard lock(mu_);
    std::string id = Str(b, "uploadId");
    auto it = uploads_.find(id);
    if (it == uploads_.end()) return net::XrpcErrorResponse(400, "UploadNotFound", id);
    std::string data;
    for (const auto& p : b.at("parts").as_array()) {
      int n = static_cast<int>(p.as_object().at("partNumber").as_int64());
      std::string etag = Str(p.as_object(), "etag");
      auto part = it->second.parts.find(n);
      if (part == it->second.parts.end() || etag.find(id + "/" + std::to_string(n)) == std::string::npos) {
        return net::XrpcErrorResponse(400, "InvalidPart", "part " + std::to_string(n));
      }
      data += part->second;
    }
    std::string digest = Str(b, "digest");
    if (oci::Digest::Sha256Of(AsBytes(data)).str() != digest || digest != it->second.digest) {
      uploads_.erase(it);
      return net::XrpcErrorResponse(400, "DigestMismatch", "bytes do not match " + digest);
    }
    blobs_[digest] = std::move(data);
    uploads_.erase(it);
    return JsonResponse(json::object{{"status", "completed"}, {"digest", digest}});
  }

  struct UploadState {
    std::string digest;
    std::map<int, std::string> parts;
  };

  Options options_;
  std::unique_ptr<net::Server> server_;
  std::mutex mu_;
  std::map<std::string, UploadState> uploads_;
  std::map<std::string, std::string> blobs_;
  std::vector<json::object> notifications_;
  std::map<std::string, int> calls_;
  std::set<std::string> seen_jti_;
  std::vector<std::string> issuers_;
  std::set<std::string> crew_;
  int presigned_puts_ = 0;
  std::vector<size_t> part_sizes_;
  int parts_in_flight_ = 0;
  int max_parts_in_flight_ = 0;
  int aborts_ = 0;
  int refused_ = 0;
};

}  // namespace atcr::appview::testing
