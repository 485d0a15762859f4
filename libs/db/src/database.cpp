#include "atcr/db/database.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "atcr/base/check.h"

namespace atcr::db {
namespace {

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Error(ErrorCode::kAlreadyExists, std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorCode::kUnavailable, std::move(msg));
    case SQLITE_FULL:
      return Error(ErrorCode::kResourceExhausted, std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error(ErrorCode::kDataLoss, std::move(msg));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error(ErrorCode::kPermissionDenied, std::move(msg));
    default:
      return Error(ErrorCode::kInternal, std::move(msg));
  }
}

}  // namespace

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_status_(std::move(other.bind_status_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

Status Statement::Check(int rc) const {
  if (rc == SQLITE_OK) return {};
  return SqliteError(db_, rc, "sqlite bind");
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = Check(rc);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = Check(rc);
  return *this;
}

Statement& Statement::BindBlob(int index, std::span<const uint8_t> blob) {
  // A zero-length blob must stay a blob, not NULL: give SQLite a valid pointer.
  static const uint8_t kEmpty = 0;
  const void* p = blob.empty() ? &kEmpty : blob.data();
  int rc = sqlite3_bind_blob64(stmt_, index, p, blob.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = Check(rc);
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view blob) {
  return BindBlob(index, std::span<const uint8_t>(
                             reinterpret_cast<const uint8_t*>(blob.data()), blob.size()));
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = Check(rc);
  return *this;
}

Result<bool> Statement::Step() {
  if (!bind_status_.ok()) {
    Error e = bind_status_.error();
    return e;
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = SqliteError(db_, rc, "sqlite step");
  sqlite3_reset(stmt_);
  return e;
}

Status Statement::Run() {
  while (true) {
    auto r = Step();
    if (!r.ok()) {
      Reset();
      return r.error();
    }
    if (!*r) break;
  }
  Reset();
  return {};
}

void Statement::Reset() {
  if (!stmt_) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = {};
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }
bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string_view Statement::TextView(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string_view(p, static_cast<size_t>(n)) : std::string_view();
}
std::string Statement::Text(int column) const { return std::string(TextView(column)); }

std::string_view Statement::BlobView(int column) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string_view(p, static_cast<size_t>(n)) : std::string_view();
}
std::vector<uint8_t> Statement::Blob(int column) const {
  auto v = BlobView(column);
  return std::vector<uint8_t>(v.begin(), v.end());
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, OpenOptions options) {
  std::unique_ptr<Database> db(new Database());
  db->path_ = path;
  int flags = SQLITE_OPEN_NOMUTEX;  // our own recursive mutex serializes users
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create) flags |= SQLITE_OPEN_CREATE;
  }
  int rc = sqlite3_open_v2(path.c_str(), &db->db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(db->db_, rc, "open " + path);
    if (rc == SQLITE_CANTOPEN) e.code = ErrorCode::kNotFound;
    return e;
  }
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, static_cast<int>(options.busy_timeout.count()));
  if (path != ":memory:" && !options.read_only) {
    ATCR_TRY(db->Exec("PRAGMA journal_mode=WAL"));
  }
  ATCR_TRY(db->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                             : "PRAGMA synchronous=NORMAL"));
  ATCR_TRY(db->Exec("PRAGMA foreign_keys=ON"));
  // Integrity check of the header: a file that is not a database fails here, not later.
  ATCR_TRY(db->Exec("SELECT count(*) FROM sqlite_master"));
  return db;
}

Database::~Database() {
  cache_.clear();  // finalize statements before closing
  if (db_) sqlite3_close_v2(db_);
}

Status Database::Exec(std::string_view sql) {
  auto lock = Lock();
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string what = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Error e = SqliteError(nullptr, rc, "sqlite exec");
    e.message = "sqlite exec: " + what;
    return e;
  }
  return {};
}

Result<Statement> Database::Prepare(std::string_view sql) {
  auto lock = Lock();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "sqlite prepare");
  return Statement(db_, stmt);
}

Statement& Database::Cached(std::string_view sql) {
  auto lock = Lock();
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    auto st = Prepare(sql);
    if (!st.ok()) {
      std::fprintf(stderr, "invalid cached SQL (%s): %.*s\n", st.error().message.c_str(),
                   static_cast<int>(sql.size()), sql.data());
    }
    ATCR_CHECK(st.ok());
    it = cache_.emplace(std::string(sql), std::make_unique<Statement>(std::move(*st))).first;
  } else {
    it->second->Reset();
  }
  return *it->second;
}

Status Database::Transaction(const std::function<Status()>& fn) {
  auto lock = Lock();
  const bool outer = tx_depth_ == 0;
  const std::string savepoint = "sp" + std::to_string(tx_depth_);
  ATCR_TRY(Exec(outer ? std::string("BEGIN IMMEDIATE") : "SAVEPOINT " + savepoint));
  ++tx_depth_;
  Status s = fn();
  --tx_depth_;
  if (s.ok()) {
    Status c = Exec(outer ? std::string("COMMIT") : "RELEASE " + savepoint);
    if (c.ok()) return {};
    s = c;
  }
  if (outer) {
    (void)Exec("ROLLBACK");
  } else {
    (void)Exec("ROLLBACK TO " + savepoint);
    (void)Exec("RELEASE " + savepoint);
  }
  return s;
}

int64_t Database::UserVersion() {
  auto lock = Lock();
  auto& st = Cached("PRAGMA user_version");
  auto r = st.Step();
  int64_t v = (r.ok() && *r) ? st.Int(0) : 0;
  st.Reset();
  return v;
}

Status Database::Migrate(std::span<const Migration> migrations) {
  auto lock = Lock();
  int64_t current = UserVersion();
  int64_t newest = 0;
  for (const auto& m : migrations) newest = std::max<int64_t>(newest, m.version);
  if (current > newest) {
    return Error(ErrorCode::kFailedPrecondition,
                 path_ + " has schema version " + std::to_string(current) +
                     ", newer than this program understands (" + std::to_string(newest) +
                     "); upgrade atcr");
  }
  int64_t expect = current + 1;
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    ATCR_CHECK(m.version == expect);  // migrations are numbered 1, 2, 3...
    ++expect;
    Status s = Transaction([&]() -> Status {
      ATCR_TRY(Exec(m.sql));
      return Exec("PRAGMA user_version=" + std::to_string(m.version));
    });
    if (!s.ok()) {
      Error e = s.error();
      e.message = "migration " + std::to_string(m.version) + " of " + path_ + ": " + e.message;
      return e;
    }
  }
  return {};
}

int64_t Database::LastInsertRowId() { return sqlite3_last_insert_rowid(db_); }
int64_t Database::Changes() { return sqlite3_changes64(db_); }

}  // namespace atcr::db
