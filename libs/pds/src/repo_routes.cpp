// com.atproto.repo.* and com.atproto.sync.* over RepoStore and Firehose. Every handler checks
// its parameters or body first (lexicon-style messages), then the caller, then does all its
// blocking work (directory lookups, SQLite) in one trip to the blocking pool.
#include "atcr/pds/repo_routes.h"

#include <memory>
#include <string>
#include <utility>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "atcr/atproto/car.h"
#include "atcr/atproto/syntax.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/json.h"
#include "atcr/identity/did_document.h"
#include "atcr/net/websocket.h"
#include "atcr/net/xrpc.h"
#include "internal/repo_async.h"
#include "internal/repo_prepare.h"
#include "internal/repo_xrpc_input.h"

namespace atcr::pds {
namespace {

namespace json = boost::json;
using internal::Blocking;
using internal::JsonFields;
using internal::StringFormat;

constexpr char kCarType[] = "application/vnd.ipld.car";
constexpr char kInvalidHandle[] = "handle.invalid";
constexpr size_t kCarChunkBytes = 256 * 1024;

struct Ctx {
  RepoStore& store;
  Firehose& firehose;
  const RequestAuthenticator& auth;
  const AccountDirectory& accounts;
  RepoRoutesOptions opts;
};

// ---- responses ----

net::Response Fail(const Error& e) {
  int status = net::XrpcStatusFor(e);
  if (status >= 500) {
    spdlog::error("pds repo: {}", e.ToString());
    return net::XrpcErrorResponse(500, "InternalServerError", "Internal Server Error");
  }
  return net::XrpcErrorResponse(e);
}

net::Response JsonOk(const json::value& v) { return net::Response::Json(200, json::serialize(v)); }

Error AccountNotFound() {
  return Error(ErrorCode::kPermissionDenied, "Account not found", "AccountNotFound");
}
Error AuthRequired() {
  return Error(ErrorCode::kUnauthenticated, "Authentication Required", "AuthenticationRequired");
}
Error RepoNotFound(std::string_view did) {
  return NotFound("Could not find repo for DID: " + std::string(did), "RepoNotFound");
}

bool IsTakendown(std::string_view status) {
  return status == "takendown" || status == "suspended";
}

// ---- input ----

net::Task<Result<json::object>> ReadJsonBody(net::Request& req, uint64_t max_bytes) {
  if (auto ct = req.headers.Get("Content-Type"); ct && !ct->empty()) {
    std::string bare = internal::BareMimeType(*ct);
    if (bare != "application/json") {
      co_return InvalidArgument("Wrong request encoding (Content-Type): " + bare);
    }
  }
  auto body = co_await req.body->ReadAll(max_bytes);
  if (!body.ok()) {
    if (body.error().code == ErrorCode::kResourceExhausted) {
      co_return Error(ErrorCode::kResourceExhausted, "request entity too large",
                      "PayloadTooLarge");
    }
    co_return std::move(body).error();
  }
  if (body->empty()) co_return InvalidArgument("A request body is expected but none was provided");
  json::parse_options po;
  po.max_depth = 128;
  boost::system::error_code ec;
  json::value v = json::parse(*body, ec, {}, po);
  if (ec) co_return InvalidArgument("Invalid JSON in the request body: " + ec.message());
  if (!v.is_object()) {
    co_return InvalidArgument("Expected object value type (got " + internal::DescribeJson(v) +
                              ") at $");
  }
  co_return std::move(v.get_object());
}

Result<cbor::Value> RecordValue(const json::object& obj, const std::string& path) {
  auto v = cbor::FromJson(json::value(obj));
  if (!v.ok()) return InvalidArgument(v.error().message + " at " + path);
  return std::move(v).value();
}

Result<std::optional<cbor::Cid>> OptCid(const JsonFields& f, std::string_view key) {
  ATCR_ASSIGN_OR_RETURN(std::optional<std::string> s, f.OptString(key, StringFormat::kCid));
  if (!s) return std::optional<cbor::Cid>();
  ATCR_ASSIGN_OR_RETURN(cbor::Cid c, cbor::Cid::Parse(*s));
  return std::optional<cbor::Cid>(std::move(c));
}

// ---- the write path ----

struct WriteJob {
  std::string repo;
  std::string caller;
  std::vector<RepoWrite> writes;
  std::optional<cbor::Cid> swap_commit;
  std::optional<bool> validate;
  size_t max_writes = SIZE_MAX;
};

// Blocking: the account checks of the reference's findAccount, ownership, then the commit.
Result<std::pair<std::string, WriteResult>> RunWrite(Ctx& ctx, WriteJob& job) {
  auto did = ctx.accounts.ResolveRepo(job.repo);
  if (!did.ok()) {
    if (did.error().code == ErrorCode::kNotFound) return AccountNotFound();
    return std::move(did).error();
  }
  std::string status = ctx.accounts.AccountStatus(*did);
  if (status == "deleted") return AccountNotFound();
  if (IsTakendown(status)) {
    return Error(ErrorCode::kUnauthenticated, "Account has been taken down", "AccountTakedown");
  }
  if (status == "deactivated") {
    return Error(ErrorCode::kUnauthenticated, "Account is deactivated", "AccountDeactivated");
  }
  if (*did != job.caller) return AuthRequired();
  if (job.writes.size() > job.max_writes) {
    return InvalidArgument("Too many writes. Max: " + std::to_string(job.max_writes));
  }
  ATCR_ASSIGN_OR_RETURN(crypto::PrivateKey key, ctx.accounts.SigningKey(*did));
  ATCR_ASSIGN_OR_RETURN(WriteResult r, ctx.store.ApplyWrites(*did, key, std::move(job.writes),
                                                             job.swap_commit, job.validate));
  return std::make_pair(std::move(did).value(), std::move(r));
}

json::object CommitMeta(const CommitInfo& c) {
  json::object o;
  o["cid"] = c.cid.ToString();
  o["rev"] = c.rev;
  return o;
}

net::Task<net::Response> CreateOrPut(std::shared_ptr<Ctx> ctx, net::Request& req, bool put) {
  auto caller = ctx->auth.Authenticate(req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto body = co_await ReadJsonBody(req, ctx->opts.max_json_bytes);
  if (!body.ok()) co_return Fail(body.error());
  JsonFields f(*body, "$");
  WriteJob job;
  job.caller = caller->did;
  RepoWrite w;
  w.action = put ? RepoWrite::Action::kPut : RepoWrite::Action::kCreate;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(job.repo, f.String("repo", StringFormat::kAtIdentifier));
    ATCR_ASSIGN_OR_RETURN(w.collection, f.String("collection", StringFormat::kNsid));
    if (put) {
      ATCR_ASSIGN_OR_RETURN(w.rkey, f.String("rkey", StringFormat::kRecordKey));
    } else {
      ATCR_ASSIGN_OR_RETURN(auto rkey, f.OptString("rkey", StringFormat::kRecordKey));
      if (rkey) {
        if (rkey->size() > 512) {
          return InvalidArgument("string too big (maximum 512, got " +
                                 std::to_string(rkey->size()) + ") at $.rkey");
        }
        w.rkey = std::move(*rkey);
      }
    }
    ATCR_ASSIGN_OR_RETURN(job.validate, f.OptBool("validate"));
    ATCR_ASSIGN_OR_RETURN(const json::object* record, f.Object("record"));
    if (put) {
      if (f.IsNull("swapRecord")) {
        w.swap_record = std::optional<cbor::Cid>();
      } else {
        ATCR_ASSIGN_OR_RETURN(auto swap, OptCid(f, "swapRecord"));
        if (swap) w.swap_record = std::move(swap);
      }
    }
    ATCR_ASSIGN_OR_RETURN(job.swap_commit, OptCid(f, "swapCommit"));
    ATCR_ASSIGN_OR_RETURN(w.record, RecordValue(*record, "$.record"));
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  job.writes.push_back(std::move(w));
  auto r = co_await Blocking([&] { return RunWrite(*ctx, job); });
  if (!r.ok()) co_return Fail(r.error());
  const WriteResult& wr = r->second;
  const WriteResult::Item& item = wr.results.at(0);
  json::object out;
  out["uri"] = item.uri;
  out["cid"] = item.cid.ToString();
  if (wr.commit) out["commit"] = CommitMeta(*wr.commit);
  if (item.validation_status) out["validationStatus"] = *item.validation_status;
  co_return JsonOk(out);
}

net::Task<net::Response> DeleteRecord(std::shared_ptr<Ctx> ctx, net::Request& req) {
  auto caller = ctx->auth.Authenticate(req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto body = co_await ReadJsonBody(req, ctx->opts.max_json_bytes);
  if (!body.ok()) co_return Fail(body.error());
  JsonFields f(*body, "$");
  WriteJob job;
  job.caller = caller->did;
  RepoWrite w;
  w.action = RepoWrite::Action::kDelete;
  w.ignore_missing = true;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(job.repo, f.String("repo", StringFormat::kAtIdentifier));
    ATCR_ASSIGN_OR_RETURN(w.collection, f.String("collection", StringFormat::kNsid));
    ATCR_ASSIGN_OR_RETURN(w.rkey, f.String("rkey", StringFormat::kRecordKey));
    // The reference treats swapRecord: null like no swapRecord here.
    if (!f.IsNull("swapRecord")) {
      ATCR_ASSIGN_OR_RETURN(auto swap, OptCid(f, "swapRecord"));
      if (swap) w.swap_record = std::move(swap);
    }
    if (!f.IsNull("swapCommit")) {
      ATCR_ASSIGN_OR_RETURN(job.swap_commit, OptCid(f, "swapCommit"));
    }
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  job.writes.push_back(std::move(w));
  auto r = co_await Blocking([&] { return RunWrite(*ctx, job); });
  if (!r.ok()) co_return Fail(r.error());
  json::object out;
  if (r->second.commit) out["commit"] = CommitMeta(*r->second.commit);
  co_return JsonOk(out);
}

net::Task<net::Response> ApplyWrites(std::shared_ptr<Ctx> ctx, net::Request& req) {
  auto caller = ctx->auth.Authenticate(req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto body = co_await ReadJsonBody(req, ctx->opts.max_json_bytes);
  if (!body.ok()) co_return Fail(body.error());
  JsonFields f(*body, "$");
  WriteJob job;
  job.caller = caller->did;
  job.max_writes = 200;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(job.repo, f.String("repo", StringFormat::kAtIdentifier));
    ATCR_ASSIGN_OR_RETURN(job.validate, f.OptBool("validate"));
    ATCR_ASSIGN_OR_RETURN(const json::array* writes, f.Array("writes"));
    for (size_t i = 0; i < writes->size(); ++i) {
      std::string path = "$.writes[" + std::to_string(i) + "]";
      const json::value& item = (*writes)[i];
      if (!item.is_object() || !item.get_object().contains("$type")) {
        return InvalidArgument("Expected an object which includes the \"$type\" property value "
                               "type (got " + internal::DescribeJson(item) + ") at " + path);
      }
      JsonFields wf(item.get_object(), path);
      ATCR_ASSIGN_OR_RETURN(std::string type, wf.String("$type"));
      RepoWrite w;
      if (type == "com.atproto.repo.applyWrites#create") {
        w.action = RepoWrite::Action::kCreate;
      } else if (type == "com.atproto.repo.applyWrites#update") {
        w.action = RepoWrite::Action::kUpdate;
      } else if (type == "com.atproto.repo.applyWrites#delete") {
        w.action = RepoWrite::Action::kDelete;
      } else {
        return InvalidArgument(
            "Expected one of \"com.atproto.repo.applyWrites#create\", "
            "\"com.atproto.repo.applyWrites#update\" or \"com.atproto.repo.applyWrites#delete\" "
            "(got " + internal::DescribeString(type) + ") at " + path + ".$type");
      }
      ATCR_ASSIGN_OR_RETURN(w.collection, wf.String("collection", StringFormat::kNsid));
      if (w.action == RepoWrite::Action::kCreate) {
        ATCR_ASSIGN_OR_RETURN(auto rkey, wf.OptString("rkey", StringFormat::kRecordKey));
        if (rkey) w.rkey = std::move(*rkey);
      } else {
        ATCR_ASSIGN_OR_RETURN(w.rkey, wf.String("rkey", StringFormat::kRecordKey));
      }
      if (w.action != RepoWrite::Action::kDelete) {
        ATCR_ASSIGN_OR_RETURN(const json::object* value, wf.Object("value"));
        ATCR_ASSIGN_OR_RETURN(w.record, RecordValue(*value, path + ".value"));
      }
      job.writes.push_back(std::move(w));
    }
    ATCR_ASSIGN_OR_RETURN(job.swap_commit, OptCid(f, "swapCommit"));
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  auto r = co_await Blocking([&] { return RunWrite(*ctx, job); });
  if (!r.ok()) co_return Fail(r.error());
  const WriteResult& wr = r->second;
  json::object out;
  if (wr.commit) out["commit"] = CommitMeta(*wr.commit);
  json::array results;
  for (const auto& item : wr.results) {
    json::object o;
    switch (item.action) {
      case RepoWrite::Action::kDelete:
        o["$type"] = "com.atproto.repo.applyWrites#deleteResult";
        break;
      case RepoWrite::Action::kUpdate:
        o["$type"] = "com.atproto.repo.applyWrites#updateResult";
        break;
      default:
        o["$type"] = "com.atproto.repo.applyWrites#createResult";
        break;
    }
    if (item.action != RepoWrite::Action::kDelete) {
      o["uri"] = item.uri;
      o["cid"] = item.cid.ToString();
      if (item.validation_status) o["validationStatus"] = *item.validation_status;
    }
    results.push_back(std::move(o));
  }
  out["results"] = std::move(results);
  co_return JsonOk(out);
}

net::Task<net::Response> UploadBlob(std::shared_ptr<Ctx> ctx, net::Request& req) {
  auto caller = ctx->auth.Authenticate(req);
  if (!caller.ok()) co_return Fail(caller.error());
  if (caller->did.empty()) co_return Fail(AuthRequired());
  std::optional<std::string_view> ct = req.headers.Get("Content-Type");
  if (!ct || ct->empty()) {
    co_return Fail(InvalidArgument("Request encoding (Content-Type) required but not provided"));
  }
  std::string mime(*ct);
  std::string did = caller->did;
  auto started = co_await Blocking([&]() -> Result<std::unique_ptr<BlobUpload>> {
    std::string status = ctx->accounts.AccountStatus(did);
    if (IsTakendown(status)) {
      return Error(ErrorCode::kUnauthenticated, "Account has been taken down", "AccountTakedown");
    }
    return ctx->store.StartBlobUpload(did);
  });
  if (!started.ok()) co_return Fail(started.error());
  std::unique_ptr<BlobUpload> upload = std::move(started).value();
  uint64_t limit = ctx->store.options().max_blob_bytes;
  if (auto len = req.body->content_length(); len && *len > limit) {
    co_return Fail(Error(ErrorCode::kResourceExhausted, "request entity too large",
                         "PayloadTooLarge"));
  }
  req.body->set_limit(limit + 1);
  // Read ~1 MiB at a time, then hand it to the blocking pool (hashing + file writes).
  Bytes buf;
  buf.reserve(1 << 20);
  std::vector<uint8_t> chunk(64 * 1024);
  while (true) {
    auto n = co_await req.body->Read(chunk);
    if (!n.ok()) {
      if (n.error().code == ErrorCode::kResourceExhausted) {
        co_return Fail(Error(ErrorCode::kResourceExhausted, "request entity too large",
                             "PayloadTooLarge"));
      }
      co_return Fail(n.error());
    }
    bool done = *n == 0;
    buf.insert(buf.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(*n));
    if (buf.size() >= (1 << 20) || (done && !buf.empty())) {
      auto st = co_await Blocking([&] { return upload->Write(buf); });
      if (!st.ok()) co_return Fail(st.error());
      buf.clear();
    }
    if (done) break;
  }
  auto ref = co_await Blocking([&] { return upload->Finish(mime); });
  if (!ref.ok()) co_return Fail(ref.error());
  json::object link;
  link["$link"] = ref->cid.ToString();
  json::object blob;
  blob["$type"] = "blob";
  blob["ref"] = std::move(link);
  blob["mimeType"] = ref->mime_type;
  blob["size"] = ref->size;
  json::object out;
  out["blob"] = std::move(blob);
  co_return JsonOk(out);
}

// ---- repo reads ----

Result<json::value> RecordJson(const Bytes& cbor_bytes) {
  ATCR_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(cbor_bytes));
  return cbor::ToJson(v);
}

net::Task<net::Response> GetRecord(std::shared_ptr<Ctx> ctx, net::Request& req) {
  std::string repo, collection, rkey;
  std::optional<cbor::Cid> cid;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(repo, internal::QueryString(req, "repo", StringFormat::kAtIdentifier));
    ATCR_ASSIGN_OR_RETURN(collection, internal::QueryString(req, "collection", StringFormat::kNsid));
    ATCR_ASSIGN_OR_RETURN(rkey, internal::QueryString(req, "rkey", StringFormat::kRecordKey));
    ATCR_ASSIGN_OR_RETURN(auto c, internal::QueryOptString(req, "cid", StringFormat::kCid));
    if (c) cid = *cbor::Cid::Parse(*c);
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  std::string did;
  auto rec = co_await Blocking([&]() -> Result<StoredRecord> {
    auto d = ctx->accounts.ResolveRepo(repo);
    if (!d.ok()) {
      if (d.error().code == ErrorCode::kNotFound) return InvalidArgument("Could not locate record");
      return std::move(d).error();
    }
    did = *d;
    return ctx->store.GetRecord(did, collection, rkey, cid);
  });
  if (!rec.ok()) co_return Fail(rec.error());
  auto value = RecordJson(rec->cbor);
  if (!value.ok()) co_return Fail(Error(ErrorCode::kDataLoss, value.error().message));
  json::object out;
  out["uri"] = RecordUri(did, collection, rkey);
  out["cid"] = rec->cid.ToString();
  out["value"] = std::move(value).value();
  co_return JsonOk(out);
}

net::Task<net::Response> ListRecords(std::shared_ptr<Ctx> ctx, net::Request& req) {
  std::string repo, collection;
  std::optional<int64_t> limit;
  std::optional<std::string> cursor;
  std::optional<bool> reverse;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(repo, internal::QueryString(req, "repo", StringFormat::kAtIdentifier));
    ATCR_ASSIGN_OR_RETURN(collection, internal::QueryString(req, "collection", StringFormat::kNsid));
    ATCR_ASSIGN_OR_RETURN(limit, internal::QueryOptInt(req, "limit", 1, 100));
    ATCR_ASSIGN_OR_RETURN(cursor, internal::QueryOptString(req, "cursor"));
    ATCR_ASSIGN_OR_RETURN(reverse, internal::QueryOptBool(req, "reverse"));
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  std::string did;
  auto list = co_await Blocking([&]() -> Result<std::vector<ListedRecord>> {
    auto d = ctx->accounts.ResolveRepo(repo);
    if (!d.ok()) {
      if (d.error().code == ErrorCode::kNotFound) {
        return InvalidArgument("Could not find repo: " + repo);
      }
      return std::move(d).error();
    }
    did = *d;
    return ctx->store.ListRecords(did, collection, static_cast<size_t>(limit.value_or(50)), cursor,
                                  reverse.value_or(false));
  });
  if (!list.ok()) co_return Fail(list.error());
  json::array records;
  for (const ListedRecord& r : *list) {
    auto value = RecordJson(r.cbor);
    if (!value.ok()) co_return Fail(Error(ErrorCode::kDataLoss, value.error().message));
    json::object o;
    o["uri"] = RecordUri(did, r.collection, r.rkey);
    o["cid"] = r.cid.ToString();
    o["value"] = std::move(value).value();
    records.push_back(std::move(o));
  }
  json::object out;
  out["records"] = std::move(records);
  if (!list->empty()) out["cursor"] = list->back().rkey;
  co_return JsonOk(out);
}

// The reference's assertRepoAvailability: the account must exist; unless the caller is the
// account itself or an admin, it must also be neither taken down nor deactivated.
Result<std::string> RepoAvailable(Ctx& ctx, std::string_view repo, bool self_or_admin) {
  auto did = ctx.accounts.ResolveRepo(repo);
  if (!did.ok()) {
    if (did.error().code == ErrorCode::kNotFound) return RepoNotFound(repo);
    return std::move(did).error();
  }
  std::string status = ctx.accounts.AccountStatus(*did);
  if (status == "deleted") return RepoNotFound(repo);
  if (self_or_admin) return did;
  if (IsTakendown(status)) {
    return InvalidArgument("Repo has been takendown: " + std::string(repo), "RepoTakendown");
  }
  if (status == "deactivated") {
    return InvalidArgument("Repo has been deactivated: " + std::string(repo), "RepoDeactivated");
  }
  return did;
}

net::Task<net::Response> DescribeRepo(std::shared_ptr<Ctx> ctx, net::Request& req) {
  auto repo = internal::QueryString(req, "repo", StringFormat::kAtIdentifier);
  if (!repo.ok()) co_return Fail(repo.error());
  struct Found {
    std::string did;
    std::optional<std::string> handle;
    std::vector<std::string> collections;
  };
  auto found = co_await Blocking([&]() -> Result<Found> {
    Found f;
    ATCR_ASSIGN_OR_RETURN(f.did, RepoAvailable(*ctx, *repo, false));
    f.handle = ctx->accounts.HandleOf(f.did);
    ATCR_ASSIGN_OR_RETURN(f.collections, ctx->store.ListCollections(f.did));
    return f;
  });
  if (!found.ok()) co_return Fail(found.error());
  json::value doc;
  bool handle_ok = false;
  if (ctx->opts.did_document) {
    std::string did = found->did;  // a named argument, not a temporary in the co_await
    auto text = co_await ctx->opts.did_document(std::move(did));
    if (!text.ok()) {
      co_return Fail(InvalidArgument("Could not resolve DID: " + text.error().message));
    }
    boost::system::error_code ec;
    doc = json::parse(*text, ec);
    if (ec || !doc.is_object()) co_return Fail(InvalidArgument("Could not resolve DID: bad document"));
    auto parsed = identity::ParseDidDocument(*text, found->did);
    handle_ok = parsed.ok() && found->handle && !parsed->handle.empty() &&
                atproto::NormalizeHandle(parsed->handle) == *found->handle;
  } else {
    json::object minimal;
    minimal["id"] = found->did;
    doc = std::move(minimal);
  }
  json::object out;
  out["handle"] = found->handle.value_or(kInvalidHandle);
  out["did"] = found->did;
  out["didDoc"] = std::move(doc);
  json::array cols;
  for (const auto& c : found->collections) cols.emplace_back(c);
  out["collections"] = std::move(cols);
  out["handleIsCorrect"] = handle_ok;
  co_return JsonOk(out);
}

// ---- sync ----

// Optional credentials: none is fine, bad ones are an error (authorizationOrAdminTokenOptional).
Result<std::optional<Caller>> OptionalCaller(Ctx& ctx, const net::Request& req) {
  if (!req.headers.Has("Authorization")) return std::optional<Caller>();
  ATCR_ASSIGN_OR_RETURN(Caller c, ctx.auth.Authenticate(req));
  return std::optional<Caller>(std::move(c));
}

bool SelfOrAdmin(const std::optional<Caller>& c, std::string_view did) {
  return c && (c->kind == Caller::Kind::kAdmin || c->did == did);
}

net::Task<Result<void>> StreamCar(std::shared_ptr<RepoExport> exp, net::BodyWriter& w) {
  Bytes buf;
  atproto::CarWriter car({exp->root().cid},
                         [&buf](ByteSpan b) { buf.insert(buf.end(), b.begin(), b.end()); });
  while (true) {
    auto batch = co_await Blocking([&] { return exp->Next(kCarChunkBytes); });
    if (!batch.ok()) co_return std::move(batch).error();
    for (const auto& b : *batch) car.Add(b.cid, b.data);
    if (!buf.empty()) {
      auto st = co_await w.Write(buf);
      if (!st.ok()) co_return st;
      buf.clear();
    }
    if (batch->empty()) break;
  }
  // Close the read transaction on the pool, not on the I/O thread.
  co_await Blocking([&] {
    exp.reset();
    return 0;
  });
  co_return Ok();
}

// sync.getRepo, and the deprecated sync.getCheckout (the whole repo, no `since`).
net::Task<net::Response> SyncGetRepo(std::shared_ptr<Ctx> ctx, net::Request& req, bool checkout) {
  std::string did;
  std::optional<std::string> since;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(did, internal::QueryString(req, "did", StringFormat::kDid));
    if (!checkout) {
      ATCR_ASSIGN_OR_RETURN(since, internal::QueryOptString(req, "since", StringFormat::kTid));
    }
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  auto caller = OptionalCaller(*ctx, req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto exp = co_await Blocking([&]() -> Result<std::unique_ptr<RepoExport>> {
    ATCR_TRY(RepoAvailable(*ctx, did, SelfOrAdmin(*caller, did)));
    return ctx->store.ExportRepo(did, since);
  });
  if (!exp.ok()) co_return Fail(exp.error());
  std::shared_ptr<RepoExport> shared = std::move(exp).value();
  net::Response r;
  r.status = 200;
  r.headers.Set("Content-Type", kCarType);
  r.body = net::StreamBody([shared](net::BodyWriter& w) { return StreamCar(shared, w); });
  co_return r;
}

net::Task<net::Response> SyncGetBlocks(std::shared_ptr<Ctx> ctx, net::Request& req) {
  std::string did;
  std::vector<cbor::Cid> cids;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(did, internal::QueryString(req, "did", StringFormat::kDid));
    std::vector<std::string> raw = req.QueryAll("cids");
    if (raw.empty()) return InvalidArgument(R"(Missing required key "cids" at $)");
    if (raw.size() > 10000) return InvalidArgument("Too many cids. Max: 10000");
    for (size_t i = 0; i < raw.size(); ++i) {
      ATCR_TRY(internal::CheckFormat(raw[i], StringFormat::kCid,
                                     "$.cids[" + std::to_string(i) + "]"));
      cids.push_back(*cbor::Cid::Parse(raw[i]));
    }
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  auto caller = OptionalCaller(*ctx, req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto car = co_await Blocking([&]() -> Result<Bytes> {
    ATCR_TRY(RepoAvailable(*ctx, did, SelfOrAdmin(*caller, did)));
    return ctx->store.GetBlocks(did, cids);
  });
  if (!car.ok()) co_return Fail(car.error());
  co_return net::Response::Text(200, std::string(car->begin(), car->end()), kCarType);
}

// Deprecated, still served by the reference: the current commit CID.
net::Task<net::Response> SyncGetHead(std::shared_ptr<Ctx> ctx, net::Request& req) {
  auto did = internal::QueryString(req, "did", StringFormat::kDid);
  if (!did.ok()) co_return Fail(did.error());
  auto caller = OptionalCaller(*ctx, req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto root = co_await Blocking([&]() -> Result<CommitInfo> {
    ATCR_TRY(RepoAvailable(*ctx, *did, SelfOrAdmin(*caller, *did)));
    auto r = ctx->store.GetRoot(*did);
    if (!r.ok() && r.error().code == ErrorCode::kNotFound) {
      return InvalidArgument("Could not find root for DID: " + *did, "HeadNotFound");
    }
    return r;
  });
  if (!root.ok()) co_return Fail(root.error());
  json::object out;
  out["root"] = root->cid.ToString();
  co_return JsonOk(out);
}

net::Task<net::Response> SyncGetRecord(std::shared_ptr<Ctx> ctx, net::Request& req) {
  std::string did, collection, rkey;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(did, internal::QueryString(req, "did", StringFormat::kDid));
    ATCR_ASSIGN_OR_RETURN(collection, internal::QueryString(req, "collection", StringFormat::kNsid));
    ATCR_ASSIGN_OR_RETURN(rkey, internal::QueryString(req, "rkey", StringFormat::kRecordKey));
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  auto caller = OptionalCaller(*ctx, req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto car = co_await Blocking([&]() -> Result<Bytes> {
    ATCR_TRY(RepoAvailable(*ctx, did, SelfOrAdmin(*caller, did)));
    return ctx->store.GetRecordProof(did, collection, rkey);
  });
  if (!car.ok()) co_return Fail(car.error());
  co_return net::Response::Text(200, std::string(car->begin(), car->end()), kCarType);
}

net::Task<net::Response> SyncGetBlob(std::shared_ptr<Ctx> ctx, net::Request& req) {
  std::string did, cid_text;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(did, internal::QueryString(req, "did", StringFormat::kDid));
    ATCR_ASSIGN_OR_RETURN(cid_text, internal::QueryString(req, "cid", StringFormat::kCid));
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  auto caller = OptionalCaller(*ctx, req);
  if (!caller.ok()) co_return Fail(caller.error());
  cbor::Cid cid = *cbor::Cid::Parse(cid_text);
  auto blob = co_await Blocking([&]() -> Result<BlobContent> {
    ATCR_TRY(RepoAvailable(*ctx, did, SelfOrAdmin(*caller, did)));
    auto b = ctx->store.OpenBlob(did, cid);
    if (!b.ok() && b.error().code == ErrorCode::kNotFound) {
      return InvalidArgument("Blob not found");  // the reference names no error here
    }
    return b;
  });
  if (!blob.ok()) co_return Fail(blob.error());
  net::Response r;
  if (blob->read.fd < 0 && !blob->read.redirect_url.empty()) {
    r.status = 307;
    r.headers.Set("Location", blob->read.redirect_url);
    co_return r;
  }
  r.status = 200;
  r.headers.Set("Content-Type", blob->ref.mime_type.empty() ? "application/octet-stream"
                                                            : blob->ref.mime_type);
  r.headers.Set("X-Content-Type-Options", "nosniff");
  r.headers.Set("Content-Disposition", "attachment; filename=\"" + cid_text + "\"");
  r.headers.Set("Content-Security-Policy", "default-src 'none'; sandbox");
  net::FileBody file;
  file.fd = blob->read.fd;
  file.offset = 0;
  file.length = blob->read.size;
  r.body = file;
  co_return r;
}

net::Task<net::Response> SyncListBlobs(std::shared_ptr<Ctx> ctx, net::Request& req) {
  std::string did;
  std::optional<std::string> since, cursor;
  std::optional<int64_t> limit;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(did, internal::QueryString(req, "did", StringFormat::kDid));
    ATCR_ASSIGN_OR_RETURN(since, internal::QueryOptString(req, "since", StringFormat::kTid));
    ATCR_ASSIGN_OR_RETURN(limit, internal::QueryOptInt(req, "limit", 1, 1000));
    ATCR_ASSIGN_OR_RETURN(cursor, internal::QueryOptString(req, "cursor"));
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  auto caller = OptionalCaller(*ctx, req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto cids = co_await Blocking([&]() -> Result<std::vector<std::string>> {
    ATCR_TRY(RepoAvailable(*ctx, did, SelfOrAdmin(*caller, did)));
    return ctx->store.ListBlobs(did, since, cursor, static_cast<size_t>(limit.value_or(500)));
  });
  if (!cids.ok()) co_return Fail(cids.error());
  json::object out;
  if (!cids->empty()) out["cursor"] = cids->back();
  json::array list;
  for (auto& c : *cids) list.emplace_back(c);
  out["cids"] = std::move(list);
  co_return JsonOk(out);
}

net::Task<net::Response> SyncGetLatestCommit(std::shared_ptr<Ctx> ctx, net::Request& req) {
  auto did = internal::QueryString(req, "did", StringFormat::kDid);
  if (!did.ok()) co_return Fail(did.error());
  auto caller = OptionalCaller(*ctx, req);
  if (!caller.ok()) co_return Fail(caller.error());
  auto root = co_await Blocking([&]() -> Result<CommitInfo> {
    ATCR_TRY(RepoAvailable(*ctx, *did, SelfOrAdmin(*caller, *did)));
    auto r = ctx->store.GetRoot(*did);
    if (!r.ok() && r.error().code == ErrorCode::kNotFound) {
      return NotFound("Could not find root for DID: " + *did, "RepoNotFound");
    }
    return r;
  });
  if (!root.ok()) co_return Fail(root.error());
  co_return JsonOk(CommitMeta(*root));
}

net::Task<net::Response> SyncGetRepoStatus(std::shared_ptr<Ctx> ctx, net::Request& req) {
  auto did = internal::QueryString(req, "did", StringFormat::kDid);
  if (!did.ok()) co_return Fail(did.error());
  struct Status_ {
    std::string status;
    std::optional<std::string> rev;
  };
  auto st = co_await Blocking([&]() -> Result<Status_> {
    Status_ s;
    ATCR_TRY(RepoAvailable(*ctx, *did, true));
    s.status = ctx->accounts.AccountStatus(*did);
    if (s.status == "active") {
      auto root = ctx->store.GetRoot(*did);
      if (root.ok()) s.rev = root->rev;
    }
    return s;
  });
  if (!st.ok()) co_return Fail(st.error());
  json::object out;
  out["did"] = *did;
  out["active"] = st->status == "active";
  if (st->status != "active") out["status"] = st->status;
  if (st->rev) out["rev"] = *st->rev;
  co_return JsonOk(out);
}

net::Task<net::Response> SyncListRepos(std::shared_ptr<Ctx> ctx, net::Request& req) {
  std::optional<int64_t> limit;
  std::optional<std::string> cursor;
  auto parsed = [&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(limit, internal::QueryOptInt(req, "limit", 1, 1000));
    ATCR_ASSIGN_OR_RETURN(cursor, internal::QueryOptString(req, "cursor"));
    return Ok();
  }();
  if (!parsed.ok()) co_return Fail(parsed.error());
  // Cursor "<created ms>::<did>", as the reference's TimeDidKeyset packs it.
  std::optional<std::pair<int64_t, std::string>> after;
  if (cursor && !cursor->empty()) {
    size_t sep = cursor->find("::");
    int64_t ms = 0;
    bool ok = sep != std::string::npos && sep > 0 && sep + 2 < cursor->size() &&
              cursor->find("::", sep + 2) == std::string::npos;
    if (ok) {
      try {
        size_t used = 0;
        ms = std::stoll(cursor->substr(0, sep), &used);
        ok = used == sep;
      } catch (...) {
        ok = false;
      }
    }
    if (!ok) co_return Fail(InvalidArgument("Malformed cursor"));
    after = std::make_pair(ms, cursor->substr(sep + 2));
  }
  struct Row {
    RepoSummary repo;
    std::string status;
  };
  auto rows = co_await Blocking([&]() -> Result<std::vector<Row>> {
    ATCR_ASSIGN_OR_RETURN(auto repos,
                          ctx->store.ListRepos(static_cast<size_t>(limit.value_or(500)), after));
    std::vector<Row> out;
    out.reserve(repos.size());
    for (auto& r : repos) {
      std::string status = ctx->accounts.AccountStatus(r.did);
      out.push_back({std::move(r), std::move(status)});
    }
    return out;
  });
  if (!rows.ok()) co_return Fail(rows.error());
  json::object out;
  if (!rows->empty()) {
    const RepoSummary& last = rows->back().repo;
    out["cursor"] = std::to_string(last.created_unix_ms) + "::" + last.did;
  }
  json::array repos;
  for (const Row& row : *rows) {
    json::object o;
    o["did"] = row.repo.did;
    o["head"] = row.repo.head.ToString();
    o["rev"] = row.repo.rev;
    o["active"] = row.status == "active";
    if (row.status != "active") o["status"] = row.status;
    repos.push_back(std::move(o));
  }
  out["repos"] = std::move(repos);
  co_return JsonOk(out);
}

net::Task<net::Response> SubscribeRepos(std::shared_ptr<Ctx> ctx, net::Request& req) {
  auto cursor = internal::QueryOptInt(req, "cursor", 0, INT64_MAX);
  if (!cursor.ok()) co_return Fail(cursor.error());
  if (!net::IsWebSocketUpgrade(req)) {
    co_return net::XrpcErrorResponse(426, "InvalidRequest",
                                     "com.atproto.sync.subscribeRepos is a WebSocket stream");
  }
  std::optional<int64_t> c = *cursor;
  Firehose* firehose = &ctx->firehose;
  co_return net::Response::WebSocketUpgrade(
      [firehose, c](net::WebSocket& ws) { return firehose->Serve(ws, c); });
}

using RouteFn = net::Task<net::Response> (*)(std::shared_ptr<Ctx>, net::Request&);

void Add(net::Router& router, net::Method method, const char* nsid, std::shared_ptr<Ctx> ctx,
         RouteFn fn, uint64_t max_body = 1024 * 1024) {
  net::RouteOptions o;
  o.name = nsid;
  o.max_body = max_body;
  router.Add(method, net::XrpcPath(nsid),
             [ctx, fn](net::Request& req) { return fn(ctx, req); }, std::move(o));
}

}  // namespace

void RegisterRepoRoutes(net::Router& router, RepoStore& store, Firehose& firehose,
                        const RequestAuthenticator& auth, const AccountDirectory& accounts,
                        RepoRoutesOptions options) {
  auto ctx = std::make_shared<Ctx>(Ctx{store, firehose, auth, accounts, std::move(options)});
  using M = net::Method;
  if (ctx->opts.writes) {
    uint64_t json_max = ctx->opts.max_json_bytes;
    Add(router, M::kPost, "com.atproto.repo.createRecord", ctx,
        [](std::shared_ptr<Ctx> c, net::Request& r) { return CreateOrPut(std::move(c), r, false); },
        json_max);
    Add(router, M::kPost, "com.atproto.repo.putRecord", ctx,
        [](std::shared_ptr<Ctx> c, net::Request& r) { return CreateOrPut(std::move(c), r, true); },
        json_max);
    Add(router, M::kPost, "com.atproto.repo.deleteRecord", ctx, DeleteRecord, json_max);
    Add(router, M::kPost, "com.atproto.repo.applyWrites", ctx, ApplyWrites, json_max);
    Add(router, M::kPost, "com.atproto.repo.uploadBlob", ctx, UploadBlob,
        store.options().max_blob_bytes + 1);
  }
  Add(router, M::kGet, "com.atproto.repo.getRecord", ctx, GetRecord);
  Add(router, M::kGet, "com.atproto.repo.listRecords", ctx, ListRecords);
  Add(router, M::kGet, "com.atproto.repo.describeRepo", ctx, DescribeRepo);
  Add(router, M::kGet, "com.atproto.sync.getRepo", ctx,
      [](std::shared_ptr<Ctx> c, net::Request& r) { return SyncGetRepo(std::move(c), r, false); });
  Add(router, M::kGet, "com.atproto.sync.getCheckout", ctx,
      [](std::shared_ptr<Ctx> c, net::Request& r) { return SyncGetRepo(std::move(c), r, true); });
  Add(router, M::kGet, "com.atproto.sync.getHead", ctx, SyncGetHead);
  Add(router, M::kGet, "com.atproto.sync.getBlocks", ctx, SyncGetBlocks);
  Add(router, M::kGet, "com.atproto.sync.getRecord", ctx, SyncGetRecord);
  Add(router, M::kGet, "com.atproto.sync.getBlob", ctx, SyncGetBlob);
  Add(router, M::kGet, "com.atproto.sync.listBlobs", ctx, SyncListBlobs);
  Add(router, M::kGet, "com.atproto.sync.getLatestCommit", ctx, SyncGetLatestCommit);
  Add(router, M::kGet, "com.atproto.sync.getRepoStatus", ctx, SyncGetRepoStatus);
  Add(router, M::kGet, "com.atproto.sync.listRepos", ctx, SyncListRepos);
  Add(router, M::kGet, "com.atproto.sync.subscribeRepos", ctx, SubscribeRepos);
}

}  // namespace atcr::pds
