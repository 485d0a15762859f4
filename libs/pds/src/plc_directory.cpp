#include "atcr/pds/plc_directory.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <utility>

#include "atcr/base/time.h"
#include "atcr/db/database.h"

namespace atcr::pds {
namespace {

namespace json = boost::json;
using identity::PlcOperation;
using identity::PlcOpType;

constexpr size_t kMaxExportCount = 1000;

constexpr db::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE plc_operation (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  did TEXT NOT NULL,
  cid TEXT NOT NULL,
  operation TEXT NOT NULL,          -- the op as JSON (atcr's rendering; CBOR is derived from it)
  nullified INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,      -- Unix microseconds
  UNIQUE (did, cid)
);
CREATE INDEX plc_operation_did ON plc_operation (did, seq);
CREATE INDEX plc_operation_created ON plc_operation (created_at, seq);
)sql"},
};

Error Bad(std::string msg) { return InvalidArgument(std::move(msg)); }

net::Response Message(int status, std::string_view message) {
  json::object o;
  o["message"] = message;
  return net::Response::Json(status, json::serialize(o));
}

net::Response ErrorResponse(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return Message(400, e.message);
    case ErrorCode::kResourceExhausted:
      return Message(413, e.message);
    case ErrorCode::kNotFound:
      return Message(404, e.message);
    default:
      return Message(500, "Internal Server Error");
  }
}

json::object AuditJson(const PlcLogEntry& e) {
  json::object o;
  o["did"] = e.did;
  o["operation"] = identity::ToJson(e.op);
  o["cid"] = e.cid;
  o["nullified"] = e.nullified;
  o["createdAt"] = FormatRfc3339(e.created_at);
  return o;
}

}  // namespace

PlcDirectory::PlcDirectory(PlcDirectoryOptions options, std::unique_ptr<db::Database> db)
    : options_(std::move(options)), db_(std::move(db)) {}

PlcDirectory::~PlcDirectory() = default;

Result<std::unique_ptr<PlcDirectory>> PlcDirectory::Open(PlcDirectoryOptions options) {
  std::string path = ":memory:";
  if (!options.data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return Error(ErrorCode::kUnavailable,
                   "cannot create PLC data directory " + options.data_dir + ": " + ec.message());
    }
    path = options.data_dir + "/plc.sqlite";
  }
  ATCR_ASSIGN_OR_RETURN(auto db, db::Database::Open(path));
  ATCR_TRY(db->Migrate(kMigrations));
  return std::unique_ptr<PlcDirectory>(new PlcDirectory(std::move(options), std::move(db)));
}

int64_t PlcDirectory::Now() const {
  return options_.now_micros ? options_.now_micros() : UnixMicros();
}

Result<std::vector<PlcLogEntry>> PlcDirectory::LoadLocked(std::string_view did,
                                                          bool include_nullified) {
  auto& st = db_->Cached(
      include_nullified
          ? "SELECT cid, operation, nullified, created_at FROM plc_operation WHERE did = ? "
            "ORDER BY seq"
          : "SELECT cid, operation, nullified, created_at FROM plc_operation WHERE did = ? "
            "AND nullified = 0 ORDER BY seq");
  st.Bind(1, did);
  std::vector<PlcLogEntry> out;
  while (true) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    PlcLogEntry e;
    e.did = std::string(did);
    e.cid = st.Text(0);
    auto op = identity::ParsePlcOperationJson(st.TextView(1));
    if (!op.ok()) {
      st.Reset();
      return Error(ErrorCode::kDataLoss, "stored PLC operation " + e.cid + " of " + e.did +
                                             " does not parse: " + op.error().message);
    }
    e.op = std::move(*op);
    e.nullified = st.Int(2) != 0;
    e.created_at = st.Int(3);
    out.push_back(std::move(e));
  }
  st.Reset();
  return out;
}

Status PlcDirectory::Submit(std::string_view did_view, const PlcOperation& op) {
  std::string did(did_view);
  if (!identity::IsValidPlcDid(did)) {
    return Bad("Improperly formatted did: " + did +
               " (want did:plc: and 24 characters of base32)");
  }
  ATCR_TRY(identity::CheckPlcOperationLimits(op));
  if (op.type == PlcOpType::kLegacyCreate) {
    return Bad("legacy create operations are no longer accepted; submit a plc_operation");
  }
  std::string cid = identity::PlcOperationCid(op).ToString();
  std::string op_json = identity::ToJsonText(op);
  int64_t now = Now();

  return db_->Transaction([&]() -> Status {
    ATCR_ASSIGN_OR_RETURN(std::vector<PlcLogEntry> ops, LoadLocked(did, false));
    if (ops.empty()) {
      if (op.type == PlcOpType::kTombstone || !op.is_genesis()) {
        return Bad("DID not registered: " + did + " (the first operation must be a genesis "
                   "plc_operation with prev null)");
      }
      ATCR_TRY(identity::VerifyPlcOperation(op, op.rotation_keys));
      std::string derived = identity::PlcDidForGenesis(op);
      if (derived != did) {
        return Bad("Hash of genesis operation does not match DID identifier: expected " +
                   derived + ", got " + did);
      }
    } else {
      if (!op.prev) {
        return Bad("DID already exists: " + did + " (a genesis operation cannot be applied "
                   "again; set prev to the CID of the last operation)");
      }
      auto at = std::find_if(ops.begin(), ops.end(),
                             [&](const PlcLogEntry& e) { return e.cid == *op.prev; });
      if (at == ops.end()) {
        return Bad("Operations not correctly ordered: prev " + *op.prev +
                   " is not an operation in the log of " + did + " (head is " +
                   ops.back().cid + ")");
      }
      if (at->op.type == PlcOpType::kTombstone) {
        return Bad("DID is tombstoned: " + did + " accepts no further operations");
      }
      std::vector<std::string> keys = identity::NormalizePlcOperation(at->op).rotation_keys;
      auto first_nullified = std::next(at);
      if (first_nullified == ops.end()) {
        ATCR_TRY(identity::VerifyPlcOperation(op, keys));
      } else {
        // A fork: only a rotation key with higher priority than the one that signed the
        // first op being undone may rewrite history, and only within the recovery window.
        auto disputed = identity::VerifyPlcOperation(first_nullified->op, keys);
        if (!disputed.ok()) {
          return Error(ErrorCode::kDataLoss, "stored operation " + first_nullified->cid +
                                                 " no longer verifies: " +
                                                 disputed.error().message);
        }
        size_t rank = static_cast<size_t>(
            std::find(keys.begin(), keys.end(), *disputed) - keys.begin());
        std::vector<std::string> stronger(keys.begin(), keys.begin() + rank);
        if (stronger.empty() || !identity::VerifyPlcOperation(op, stronger).ok()) {
          return Bad("Invalid signature on recovery operation: forking away " +
                     std::to_string(ops.end() - first_nullified) + " operation(s) after " +
                     *op.prev + " needs a rotation key with higher priority than the one that "
                     "signed " + first_nullified->cid);
        }
        int64_t lapsed = now - first_nullified->created_at;
        int64_t window =
            std::chrono::duration_cast<std::chrono::microseconds>(options_.recovery_window)
                .count();
        if (lapsed > window) {
          return Bad("Recovery operation occurred outside of the allowed " +
                     std::to_string(options_.recovery_window.count() / 3600) +
                     " hr recovery window. Time lapsed: " + std::to_string(lapsed / 1000) +
                     " ms");
        }
        for (auto it = first_nullified; it != ops.end(); ++it) {
          auto& up = db_->Cached("UPDATE plc_operation SET nullified = 1 WHERE did = ? AND cid = ?");
          up.Bind(1, did).Bind(2, it->cid);
          ATCR_TRY(up.Run());
        }
      }
    }
    auto& ins = db_->Cached(
        "INSERT INTO plc_operation (did, cid, operation, nullified, created_at) "
        "VALUES (?, ?, ?, 0, ?)");
    ins.Bind(1, did).Bind(2, cid).Bind(3, op_json).Bind(4, now);
    Status st = ins.Run();
    if (!st.ok() && st.error().code == ErrorCode::kAlreadyExists) {
      return Bad("operation " + cid + " is already in the log of " + did);
    }
    return st;
  });
}

Result<std::vector<PlcLogEntry>> PlcDirectory::Log(std::string_view did, bool include_nullified) {
  auto lock = db_->Lock();
  ATCR_ASSIGN_OR_RETURN(auto ops, LoadLocked(did, include_nullified));
  if (ops.empty()) return NotFound("DID not registered: " + std::string(did));
  return ops;
}

Result<PlcLogEntry> PlcDirectory::Last(std::string_view did) {
  ATCR_ASSIGN_OR_RETURN(auto ops, Log(did, false));
  return std::move(ops.back());
}

Result<std::vector<PlcLogEntry>> PlcDirectory::Export(int64_t after_micros, size_t count) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "SELECT did, cid, operation, nullified, created_at FROM plc_operation "
      "WHERE created_at > ? ORDER BY created_at, seq LIMIT ?");
  st.Bind(1, after_micros).Bind(2, static_cast<int64_t>(std::min(count, kMaxExportCount)));
  std::vector<PlcLogEntry> out;
  while (true) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    PlcLogEntry e;
    e.did = st.Text(0);
    e.cid = st.Text(1);
    auto op = identity::ParsePlcOperationJson(st.TextView(2));
    if (!op.ok()) {
      st.Reset();
      return Error(ErrorCode::kDataLoss, "stored PLC operation " + e.cid + " does not parse");
    }
    e.op = std::move(*op);
    e.nullified = st.Int(3) != 0;
    e.created_at = st.Int(4);
    out.push_back(std::move(e));
  }
  st.Reset();
  return out;
}

Status PlcDirectory::Health() {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT 1");
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  st.Reset();
  if (!row) return Internal("SELECT 1 returned no row");
  return Ok();
}

void PlcDirectory::Register(net::Router& router) {
  net::RouteOptions options;
  options.name = "plc";
  options.max_body = identity::kPlcMaxOpJsonBytes;
  router.AddPrefix(
      "/", [this](net::Request& req) { return Handle(req); }, options);
}

net::Task<net::Response> PlcDirectory::Handle(net::Request& req) {
  const std::string& path = req.path;
  bool get = req.method == net::Method::kGet || req.method == net::Method::kHead;

  if (path == "/_health") {
    req.route = "plc /_health";
    if (!get) co_return Message(405, "method not allowed");
    Status st;
    co_await net::RunBlocking([&] { st = Health(); });
    json::object o;
    o["version"] = options_.version;
    if (!st.ok()) {
      o["error"] = "Service Unavailable";
      co_return net::Response::Json(503, json::serialize(o));
    }
    co_return net::Response::Json(200, json::serialize(o));
  }

  if (path == "/export") {
    req.route = "plc /export";
    if (!get) co_return Message(405, "method not allowed");
    size_t count = kMaxExportCount;
    if (auto c = req.Query("count")) {
      int64_t n = 0;
      auto [p, ec] = std::from_chars(c->data(), c->data() + c->size(), n);
      if (ec != std::errc() || p != c->data() + c->size() || n < 1) {
        co_return Message(400, "Invalid count parameter");
      }
      count = static_cast<size_t>(std::min<int64_t>(n, kMaxExportCount));
    }
    int64_t after = 0;
    if (auto a = req.Query("after")) {
      auto t = ParseRfc3339(*a);
      if (!t.ok()) co_return Message(400, "Invalid after parameter: " + t.error().message);
      after = *t;
    }
    Result<std::vector<PlcLogEntry>> ops = Internal("unset");
    co_await net::RunBlocking([&] { ops = Export(after, count); });
    if (!ops.ok()) co_return ErrorResponse(ops.error());
    std::string body;
    for (size_t i = 0; i < ops->size(); ++i) {
      if (i > 0) body += "\n";
      body += json::serialize(AuditJson((*ops)[i]));
    }
    co_return net::Response::Text(200, std::move(body), "application/jsonlines");
  }

  // /{did}[/data | /log | /log/audit | /log/last]
  std::string_view rest = std::string_view(path).substr(1);
  std::string_view did = rest.substr(0, rest.find('/'));
  std::string_view sub = rest.substr(did.size());
  if (did.empty() || !did.starts_with("did:")) co_return Message(404, "not found");

  if (sub.empty() && req.method == net::Method::kPost) {
    req.route = "plc /{did}";
    auto body = co_await req.body->ReadAll(identity::kPlcMaxOpJsonBytes);
    if (!body.ok()) co_return ErrorResponse(body.error());
    auto op = identity::ParsePlcOperationJson(*body);
    if (!op.ok()) co_return ErrorResponse(op.error());
    Status st;
    std::string did_s(did);
    co_await net::RunBlocking([&] { st = Submit(did_s, *op); });
    if (!st.ok()) co_return ErrorResponse(st.error());
    co_return net::Response::Text(200, "OK");
  }
  if (!get) co_return Message(405, "method not allowed");
  if (sub != "" && sub != "/data" && sub != "/log" && sub != "/log/audit" && sub != "/log/last") {
    co_return Message(404, "not found");
  }
  req.route = "plc /{did}" + std::string(sub);  // one label per endpoint, not per DID

  bool audit = sub == "/log/audit";
  Result<std::vector<PlcLogEntry>> ops = Internal("unset");
  std::string did_s(did);
  co_await net::RunBlocking([&] { ops = Log(did_s, audit); });
  if (!ops.ok()) co_return ErrorResponse(ops.error());

  if (audit) {
    json::array a;
    for (const auto& e : *ops) a.push_back(AuditJson(e));
    co_return net::Response::Json(200, json::serialize(a));
  }
  if (sub == "/log") {
    json::array a;
    for (const auto& e : *ops) a.push_back(identity::ToJson(e.op));
    co_return net::Response::Json(200, json::serialize(a));
  }
  const PlcLogEntry& last = ops->back();
  if (sub == "/log/last") co_return net::Response::Json(200, identity::ToJsonText(last.op));
  if (last.op.type == PlcOpType::kTombstone) {
    co_return Message(410, "DID not available: " + did_s);
  }
  if (sub == "/data") {
    co_return net::Response::Json(200, json::serialize(identity::PlcDocumentData(did_s, last.op)));
  }
  net::Response resp = net::Response::Text(200, identity::RenderPlcDidDocument(did_s, last.op),
                                           "application/did+ld+json; charset=utf-8");
  co_return resp;
}

}  // namespace atcr::pds
