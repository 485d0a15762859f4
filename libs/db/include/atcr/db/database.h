// SQLite wrapper used by the PDS, the dev PLC directory, the hold and the AppView index.
// One Database = one connection opened in WAL mode with a busy timeout; statements are
// prepared once and cached per SQL text. A connection is not used by two threads at once:
// hold Lock() around any sequence of calls, or use Transaction(), which takes it itself.
// All calls block; coroutine code runs them through net::RunBlocking.
//
//   ATCR_ASSIGN_OR_RETURN(auto db, Database::Open(dir + "/pds.sqlite"));
//   ATCR_TRY(db->Migrate(kMigrations));
//   ATCR_TRY(db->Transaction([&]() -> Status {
//     auto& st = db->Cached("INSERT INTO record (uri, cid) VALUES (?, ?)");
//     st.Bind(1, uri).Bind(2, cid);
//     return st.Run();
//   }));
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "atcr/base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace atcr::db {

// A prepared statement. Bind parameters are 1-based, columns 0-based (SQLite's convention).
// Binding copies text and blobs (SQLITE_TRANSIENT), so arguments may be temporaries.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, std::span<const uint8_t> blob);
  Statement& BindBlob(int index, std::string_view blob);  // bytes held in a string
  Statement& BindNull(int index);
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }

  // Advances: true = a row is available, false = done. A failure carries SQLite's message
  // (kAlreadyExists for constraint violations, kUnavailable for SQLITE_BUSY).
  Result<bool> Step();
  // Steps until done (for INSERT/UPDATE/DELETE), then resets the statement.
  Status Run();
  // Clears bindings and rewinds; called automatically by Cached().
  void Reset();

  int ColumnCount() const;
  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;
  std::string_view TextView(int column) const;  // valid until the next Step/Reset
  std::vector<uint8_t> Blob(int column) const;
  std::string_view BlobView(int column) const;  // valid until the next Step/Reset

  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  Status Check(int rc) const;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status bind_status_;  // first bind failure, reported by Step/Run
};

struct OpenOptions {
  bool read_only = false;
  bool create = true;
  std::chrono::milliseconds busy_timeout{10000};
  // WAL + synchronous=FULL: a committed transaction survives a crash and power loss.
  // synchronous=NORMAL survives a process crash (kill -9) but may lose the last commits on
  // power loss; choose it only where that is acceptable.
  bool synchronous_full = true;
};

struct Migration {
  int version;           // 1, 2, 3... applied in order, each exactly once
  std::string_view sql;  // may hold several statements
};

class Database {
 public:
  // path ":memory:" gives a private in-memory database.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, OpenOptions options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Serializes users of this connection; recursive, so Transaction() callbacks may call
  // anything here.
  std::unique_lock<std::recursive_mutex> Lock() { return std::unique_lock(mu_); }

  // Runs one or more statements without results.
  Status Exec(std::string_view sql);
  // A fresh statement owned by the caller.
  Result<Statement> Prepare(std::string_view sql);
  // A statement from this connection's cache, reset and with bindings cleared. Valid until the
  // Database is destroyed; the caller must hold Lock() (or be inside Transaction()) while using it.
  // Aborts on invalid SQL (a programming error, not input).
  Statement& Cached(std::string_view sql);

  // BEGIN IMMEDIATE; fn; COMMIT — or ROLLBACK when fn fails or COMMIT fails. Nested calls run
  // inside the outer transaction (SAVEPOINTs), so helpers can be composed.
  Status Transaction(const std::function<Status()>& fn);

  // Applies the migrations whose version is above PRAGMA user_version, each in a transaction
  // that also bumps user_version. Refuses a database newer than the code (kFailedPrecondition).
  Status Migrate(std::span<const Migration> migrations);
  int64_t UserVersion();

  int64_t LastInsertRowId();
  int64_t Changes();
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  Database() = default;
  sqlite3* db_ = nullptr;
  std::string path_;
  std::recursive_mutex mu_;
  int tx_depth_ = 0;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace atcr::db
