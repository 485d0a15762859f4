// SQLite tables of the account side (see internal/account_store.h).
#include "internal/account_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "internal/account_session_jwt.h"

namespace atcr::pds::internal {
namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE account (
  did TEXT PRIMARY KEY,
  handle TEXT UNIQUE,
  email TEXT UNIQUE,
  password_scrypt TEXT,
  key_type TEXT NOT NULL,
  signing_key BLOB NOT NULL,
  status TEXT NOT NULL DEFAULT 'active',
  created_at TEXT NOT NULL,
  email_confirmed_at TEXT,
  service_account INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE app_password (
  did TEXT NOT NULL,
  name TEXT NOT NULL,
  password_scrypt TEXT NOT NULL,
  privileged INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  PRIMARY KEY (did, name)
);
CREATE TABLE refresh_token (
  id TEXT PRIMARY KEY,
  did TEXT NOT NULL,
  app_password_name TEXT,
  expires_at INTEGER NOT NULL,
  next_id TEXT
);
CREATE INDEX refresh_token_did ON refresh_token (did);
CREATE TABLE invite_code (
  code TEXT PRIMARY KEY,
  available_uses INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  for_account TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE invite_code_use (
  code TEXT NOT NULL,
  used_by TEXT NOT NULL,
  used_at TEXT NOT NULL,
  PRIMARY KEY (code, used_by)
);
)sql";

constexpr db::Migration kMigrations[] = {{1, kSchemaV1}};

constexpr std::string_view kAccountColumns =
    "did, handle, email, password_scrypt, key_type, signing_key, status, created_at, "
    "email_confirmed_at, service_account";

std::string OptText(const db::Statement& st, int col) {
  return st.IsNull(col) ? std::string() : st.Text(col);
}

AccountRow ReadAccount(const db::Statement& st) {
  AccountRow r;
  r.did = st.Text(0);
  r.handle = OptText(st, 1);
  r.email = OptText(st, 2);
  r.password_scrypt = OptText(st, 3);
  r.key_type = st.Text(4);
  r.signing_key = st.Blob(5);
  r.status = st.Text(6);
  r.created_at = st.Text(7);
  r.email_confirmed_at = OptText(st, 8);
  r.service_account = st.Int(9) != 0;
  return r;
}

std::optional<std::string> NullIfEmpty(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return std::string(s);
}

// The file holds password hashes and signing keys: create it 0600 before SQLite opens it
// (SQLite gives its -wal and -shm files the same mode), and tighten an existing one.
Status EnsurePrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("open " + path, errno);
  int rc = ::fchmod(fd, 0600);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("chmod " + path, err);
  return Ok();
}

}  // namespace

Result<std::unique_ptr<AccountStore>> AccountStore::Open(const std::string& path) {
  if (path != ":memory:") ATCR_TRY(EnsurePrivateFile(path));
  ATCR_ASSIGN_OR_RETURN(auto db, db::Database::Open(path));
  ATCR_TRY(db->Migrate(kMigrations));
  return std::unique_ptr<AccountStore>(new AccountStore(std::move(db)));
}

Status AccountStore::Ping() {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT 1");
  auto row = st.Step();
  st.Reset();
  if (!row.ok()) return std::move(row).error();
  return Ok();
}

Result<std::vector<AccountRow>> AccountStore::ListAccounts() {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT " + std::string(kAccountColumns) + " FROM account");
  std::vector<AccountRow> out;
  while (true) {
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadAccount(st));
  }
  st.Reset();
  return out;
}

namespace {
Result<std::optional<AccountRow>> GetOne(db::Database& db, std::string_view column,
                                         std::string_view value) {
  auto lock = db.Lock();
  auto& st = db.Cached("SELECT " + std::string(kAccountColumns) + " FROM account WHERE " +
                       std::string(column) + " = ?");
  st.Bind(1, value);
  auto row = st.Step();
  if (!row.ok()) {
    st.Reset();
    return std::move(row).error();
  }
  std::optional<AccountRow> out;
  if (*row) out = ReadAccount(st);
  st.Reset();
  return out;
}
}  // namespace

Result<std::optional<AccountRow>> AccountStore::GetByDid(std::string_view did) {
  return GetOne(*db_, "did", did);
}
Result<std::optional<AccountRow>> AccountStore::GetByHandle(std::string_view handle) {
  return GetOne(*db_, "handle", handle);
}
Result<std::optional<AccountRow>> AccountStore::GetByEmail(std::string_view email) {
  return GetOne(*db_, "email", email);
}

Status AccountStore::CheckInviteLocked(std::string_view code) {
  auto& st = db_->Cached(
      "SELECT available_uses, disabled, (SELECT COUNT(*) FROM invite_code_use u WHERE u.code = "
      "c.code) FROM invite_code c WHERE code = ?");
  st.Bind(1, code);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  bool ok = row && st.Int(1) == 0 && st.Int(0) > st.Int(2);
  st.Reset();
  if (!ok) return InvalidArgument("Provided invite code not available", "InvalidInviteCode");
  return Ok();
}

Status AccountStore::CheckInviteAvailable(std::string_view code) {
  auto lock = db_->Lock();
  return CheckInviteLocked(code);
}

Status AccountStore::InsertAccount(const AccountRow& r, const std::optional<InviteUse>& invite) {
  return db_->Transaction([&]() -> Status {
    if (invite) {
      ATCR_TRY(CheckInviteLocked(invite->code));
      auto& use = db_->Cached("INSERT INTO invite_code_use (code, used_by, used_at) VALUES (?, ?, ?)");
      use.Bind(1, invite->code).Bind(2, r.did).Bind(3, invite->now);
      ATCR_TRY(use.Run());
    }
    auto& st = db_->Cached(
        "INSERT INTO account (did, handle, email, password_scrypt, key_type, signing_key, status, "
        "created_at, email_confirmed_at, service_account) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    st.Bind(1, r.did)
        .Bind(2, NullIfEmpty(r.handle))
        .Bind(3, NullIfEmpty(r.email))
        .Bind(4, NullIfEmpty(r.password_scrypt))
        .Bind(5, r.key_type)
        .BindBlob(6, ByteSpan(r.signing_key))
        .Bind(7, r.status)
        .Bind(8, r.created_at)
        .Bind(9, NullIfEmpty(r.email_confirmed_at))
        .Bind(10, r.service_account ? 1 : 0);
    return st.Run();
  });
}

Status AccountStore::DeleteAccount(std::string_view did) {
  return db_->Transaction([&]() -> Status {
    for (const char* sql : {"DELETE FROM refresh_token WHERE did = ?",
                            "DELETE FROM app_password WHERE did = ?",
                            "DELETE FROM account WHERE did = ?"}) {
      auto& st = db_->Cached(sql);
      st.Bind(1, did);
      ATCR_TRY(st.Run());
    }
    return Ok();
  });
}

Status AccountStore::UpdateStatus(std::string_view did, std::string_view status) {
  return db_->Transaction([&]() -> Status {
    auto& st = db_->Cached("UPDATE account SET status = ? WHERE did = ?");
    st.Bind(1, status).Bind(2, did);
    ATCR_TRY(st.Run());
    if (db_->Changes() == 0) return NotFound("no account " + std::string(did));
    if (status != "active") {
      auto& del = db_->Cached("DELETE FROM refresh_token WHERE did = ?");
      del.Bind(1, did);
      ATCR_TRY(del.Run());
    }
    return Ok();
  });
}

Status AccountStore::UpdateHandle(std::string_view did, std::string_view handle) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("UPDATE account SET handle = ? WHERE did = ?");
  st.Bind(1, NullIfEmpty(handle)).Bind(2, did);
  return st.Run();
}

Status AccountStore::InsertAppPassword(std::string_view did, const AppPasswordRow& row) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "INSERT INTO app_password (did, name, password_scrypt, privileged, created_at) VALUES (?, "
      "?, ?, ?, ?)");
  st.Bind(1, did)
      .Bind(2, row.name)
      .Bind(3, row.password_scrypt)
      .Bind(4, row.privileged ? 1 : 0)
      .Bind(5, row.created_at);
  return st.Run();
}

Result<std::vector<AppPasswordRow>> AccountStore::ListAppPasswords(std::string_view did) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "SELECT name, password_scrypt, privileged, created_at FROM app_password WHERE did = ? "
      "ORDER BY created_at DESC, rowid DESC");
  st.Bind(1, did);
  std::vector<AppPasswordRow> out;
  while (true) {
    auto row = st.Step();
    if (!row.ok()) {
      st.Reset();
      return std::move(row).error();
    }
    if (!*row) break;
    out.push_back({st.Text(0), st.Text(1), st.Int(2) != 0, st.Text(3)});
  }
  st.Reset();
  return out;
}

Status AccountStore::RevokeAppPassword(std::string_view did, std::string_view name) {
  return db_->Transaction([&]() -> Status {
    auto& del = db_->Cached("DELETE FROM app_password WHERE did = ? AND name = ?");
    del.Bind(1, did).Bind(2, name);
    ATCR_TRY(del.Run());
    auto& tokens =
        db_->Cached("DELETE FROM refresh_token WHERE did = ? AND app_password_name = ?");
    tokens.Bind(1, did).Bind(2, name);
    return tokens.Run();
  });
}

Status AccountStore::StoreRefreshToken(std::string_view id, std::string_view did,
                                       const std::optional<std::string>& app_password_name,
                                       int64_t expires_at) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "INSERT OR IGNORE INTO refresh_token (id, did, app_password_name, expires_at) VALUES (?, "
      "?, ?, ?)");
  st.Bind(1, id).Bind(2, did).Bind(3, app_password_name).Bind(4, expires_at);
  return st.Run();
}

Result<std::optional<RefreshRotation>> AccountStore::RotateRefreshToken(std::string_view id,
                                                                        int64_t now,
                                                                        int64_t grace_seconds,
                                                                        int64_t next_expires_at) {
  std::optional<RefreshRotation> out;
  Status st = db_->Transaction([&]() -> Status {
    auto& get = db_->Cached(
        "SELECT t.did, t.app_password_name, t.expires_at, t.next_id, a.privileged "
        "FROM refresh_token t LEFT JOIN app_password a ON a.did = t.did AND a.name = "
        "t.app_password_name WHERE t.id = ?");
    get.Bind(1, id);
    ATCR_ASSIGN_OR_RETURN(bool found, get.Step());
    if (!found) {
      get.Reset();
      return Ok();
    }
    RefreshRotation rot;
    rot.did = get.Text(0);
    if (!get.IsNull(1)) {
      rot.app_password = AppPasswordRef{get.Text(1), !get.IsNull(4) && get.Int(4) != 0};
    }
    const int64_t prev_expires_at = get.Int(2);
    std::optional<std::string> next_id;
    if (!get.IsNull(3)) next_id = get.Text(3);
    get.Reset();

    auto& tidy = db_->Cached("DELETE FROM refresh_token WHERE did = ? AND expires_at <= ?");
    tidy.Bind(1, rot.did).Bind(2, now);
    ATCR_TRY(tidy.Run());

    const int64_t expires_at = std::min(now + grace_seconds, prev_expires_at);
    if (expires_at <= now) return Ok();
    rot.next_id = next_id ? *next_id : NewRefreshTokenId();

    auto& upd = db_->Cached(
        "UPDATE refresh_token SET expires_at = ?, next_id = ? WHERE id = ? AND (next_id IS NULL "
        "OR next_id = ?)");
    upd.Bind(1, expires_at).Bind(2, rot.next_id).Bind(3, id).Bind(4, rot.next_id);
    ATCR_TRY(upd.Run());
    std::optional<std::string> app_name;
    if (rot.app_password) app_name = rot.app_password->name;
    ATCR_TRY(StoreRefreshToken(rot.next_id, rot.did, app_name, next_expires_at));
    out = std::move(rot);
    return Ok();
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Status AccountStore::RevokeRefreshToken(std::string_view id) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("DELETE FROM refresh_token WHERE id = ?");
  st.Bind(1, id);
  return st.Run();
}

Result<int64_t> AccountStore::CountRefreshTokens(std::string_view did) {
  auto lock = db_->Lock();
  auto& st = db_->Cached("SELECT COUNT(*) FROM refresh_token WHERE did = ?");
  st.Bind(1, did);
  ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
  int64_t n = row ? st.Int(0) : 0;
  st.Reset();
  return n;
}

Status AccountStore::InsertInviteCode(std::string_view code, int64_t uses,
                                      std::string_view for_account, std::string_view created_by,
                                      std::string_view now) {
  auto lock = db_->Lock();
  auto& st = db_->Cached(
      "INSERT INTO invite_code (code, available_uses, disabled, for_account, created_by, "
      "created_at) VALUES (?, ?, 0, ?, ?, ?)");
  st.Bind(1, code).Bind(2, uses).Bind(3, for_account).Bind(4, created_by).Bind(5, now);
  return st.Run();
}

}  // namespace atcr::pds::internal
