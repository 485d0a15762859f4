// The development PLC directory (`atcr plc serve`, and `atcr dev`): accepts signed did:plc
// operations, checks them the way the reference directory does (genesis derives the DID,
// updates chain to the head and are signed by one of its rotation keys, a higher-priority
// rotation key may fork away ops younger than 72 hours, a tombstone ends the DID), keeps each
// DID's log in SQLite (a private in-memory database, or <data_dir>/plc.sqlite) and serves the
// reference's HTTP API. Thread-safe: every call takes the connection's lock (one writer at a
// time is plenty for a development directory); calls block, handlers use net::RunBlocking.
//
//   ATCR_ASSIGN_OR_RETURN(auto plc, PlcDirectory::Open({.data_dir = dir}));
//   net::Router router;
//   plc->Register(router);  // POST /{did}, GET /{did}[/data|/log|/log/audit|/log/last], ...
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/identity/plc_operation.h"
#include "atcr/net/router.h"

namespace atcr::db {
class Database;
}

namespace atcr::pds {

struct PlcDirectoryOptions {
  std::string data_dir;  // empty: in memory, gone when the directory is destroyed
  std::string version = "atcr-plc-dev";  // reported by GET /_health
  std::chrono::seconds recovery_window = std::chrono::hours(72);
  // Clock (Unix microseconds) for createdAt and the recovery window; tests move it.
  std::function<int64_t()> now_micros;
};

struct PlcLogEntry {
  std::string did;
  identity::PlcOperation op;
  std::string cid;
  bool nullified = false;
  int64_t created_at = 0;  // Unix microseconds
};

class PlcDirectory {
 public:
  static Result<std::unique_ptr<PlcDirectory>> Open(PlcDirectoryOptions options = {});
  ~PlcDirectory();
  PlcDirectory(const PlcDirectory&) = delete;
  PlcDirectory& operator=(const PlcDirectory&) = delete;

  // Validates `op` as the next operation of `did` and appends it. kInvalidArgument (the
  // reference's 400) names what was wrong: limits, signature, DID derivation, prev, tombstoned,
  // recovery window. Legacy `create` ops are refused, as the reference does today.
  Status Submit(std::string_view did, const identity::PlcOperation& op);
  // The DID's operations oldest first: the canonical chain, or every op ever accepted
  // (nullified ones flagged) with include_nullified. kNotFound for an unknown DID.
  Result<std::vector<PlcLogEntry>> Log(std::string_view did, bool include_nullified = false);
  // The head of the canonical chain (a tombstone when the DID is deactivated).
  Result<PlcLogEntry> Last(std::string_view did);
  // Every op (all DIDs) created after `after_micros`, oldest first, at most `count`.
  Result<std::vector<PlcLogEntry>> Export(int64_t after_micros, size_t count);
  Status Health();

  // GET /_health, GET /export, POST /{did}, GET /{did}, /{did}/data, /{did}/log,
  // /{did}/log/audit, /{did}/log/last. Errors are {"message": ...} as in the reference.
  // The directory must outlive the router's server.
  void Register(net::Router& router);

 private:
  explicit PlcDirectory(PlcDirectoryOptions options, std::unique_ptr<db::Database> db);
  int64_t Now() const;
  Result<std::vector<PlcLogEntry>> LoadLocked(std::string_view did, bool include_nullified);
  net::Task<net::Response> Handle(net::Request& req);

  PlcDirectoryOptions options_;
  std::unique_ptr<db::Database> db_;
};

}  // namespace atcr::pds
