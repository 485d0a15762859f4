#include "atcr/db/database.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <thread>

namespace atcr::db {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "atcr-db-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr std::array<Migration, 2> kMigrations = {{
    {1, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL);"},
    {2, "CREATE TABLE log (id INTEGER PRIMARY KEY, msg TEXT); CREATE INDEX log_msg ON log(msg);"},
}};

int64_t Count(Database& db, std::string_view table) {
  auto st = db.Prepare("SELECT count(*) FROM " + std::string(table));
  EXPECT_TRUE(st.ok());
  auto row = st->Step();
  EXPECT_TRUE(row.ok() && *row);
  return st->Int(0);
}

TEST(Database, MigratesOnceAndRecordsTheVersion) {
  TempDir dir;
  std::string path = dir.path() + "/a.sqlite";
  {
    auto db = Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE((*db)->Migrate(kMigrations).ok());
    EXPECT_EQ((*db)->UserVersion(), 2);
    ASSERT_TRUE((*db)->Migrate(kMigrations).ok());  // idempotent
  }
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->UserVersion(), 2);
  ASSERT_TRUE((*db)->Migrate(kMigrations).ok());
  // Code older than the file refuses it rather than guessing.
  auto old = std::span<const Migration>(kMigrations).first(1);
  auto s = (*db)->Migrate(old);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
}

TEST(Database, FailedMigrationLeavesNoTrace) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  constexpr std::array<Migration, 2> bad = {{
      {1, "CREATE TABLE a (x INTEGER);"},
      {2, "CREATE TABLE b (x INTEGER); CREATE TABLE a (y INTEGER);"},  // a exists: fails
  }};
  auto s = (*db)->Migrate(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("migration 2"), std::string::npos);
  EXPECT_EQ((*db)->UserVersion(), 1);
  auto st = (*db)->Prepare("SELECT count(*) FROM b");
  EXPECT_FALSE(st.ok());  // table b rolled back with the failed migration
}

TEST(Database, BindsAndReadsEveryType) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n TEXT)").ok());
  std::vector<uint8_t> bytes = {0, 1, 2, 255};
  auto& ins = (*db)->Cached("INSERT INTO t VALUES (?, ?, ?, ?)");
  ins.Bind(1, int64_t{1} << 40).Bind(2, std::string("héllo")).BindBlob(3, bytes);
  ins.Bind(4, std::optional<std::string>());
  ASSERT_TRUE(ins.Run().ok());
  auto& ins2 = (*db)->Cached("INSERT INTO t VALUES (?, ?, ?, ?)");
  EXPECT_EQ(&ins, &ins2);  // cached
  ins2.Bind(1, 2).Bind(2, "").BindBlob(3, std::span<const uint8_t>()).BindNull(4);
  ASSERT_TRUE(ins2.Run().ok());

  auto& sel = (*db)->Cached("SELECT i, s, b, n FROM t ORDER BY i DESC");
  auto row = sel.Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(sel.Int(0), int64_t{1} << 40);
  EXPECT_EQ(sel.Text(1), "héllo");
  EXPECT_EQ(sel.Blob(2), bytes);
  EXPECT_TRUE(sel.IsNull(3));
  row = sel.Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(sel.Text(1), "");
  EXPECT_FALSE(sel.IsNull(2));  // an empty blob is not NULL
  EXPECT_TRUE(sel.Blob(2).empty());
  row = sel.Step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);
}

TEST(Database, TransactionRollsBackOnError) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate(kMigrations).ok());
  auto s = (*db)->Transaction([&]() -> Status {
    auto& st = (*db)->Cached("INSERT INTO kv VALUES (?, ?)");
    st.Bind(1, "a").BindBlob(2, std::string_view("1"));
    ATCR_TRY(st.Run());
    return InvalidArgument("stop");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "stop");
  EXPECT_EQ(Count(**db, "kv"), 0);
}

TEST(Database, NestedTransactionRollsBackOnlyItsPart) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate(kMigrations).ok());
  auto put = [&](const char* k) {
    auto& st = (*db)->Cached("INSERT INTO kv VALUES (?, x'00')");
    st.Bind(1, k);
    return st.Run();
  };
  auto s = (*db)->Transaction([&]() -> Status {
    ATCR_TRY(put("outer"));
    auto inner = (*db)->Transaction([&]() -> Status {
      ATCR_TRY(put("inner"));
      return put("outer");  // duplicate key: constraint violation
    });
    EXPECT_FALSE(inner.ok());
    EXPECT_EQ(inner.error().code, ErrorCode::kAlreadyExists);
    return Ok();
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(Count(**db, "kv"), 1);
}

TEST(Database, RejectsAFileThatIsNotADatabase) {
  TempDir dir;
  std::string path = dir.path() + "/junk.sqlite";
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("this is not a sqlite database, just some text that is long enough......", f);
  fclose(f);
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, ErrorCode::kDataLoss);
}

TEST(Database, InvalidSqlIsAnError) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  EXPECT_FALSE((*db)->Prepare("SELEC nonsense").ok());
  EXPECT_FALSE((*db)->Exec("CREATE TABLE (").ok());
}

// A committed transaction survives the process being killed right after COMMIT returns.
TEST(Database, CommittedRowsSurviveKill9) {
  TempDir dir;
  std::string path = dir.path() + "/crash.sqlite";
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    auto db = Database::Open(path);
    if (!db.ok() || !(*db)->Migrate(kMigrations).ok()) _exit(2);
    for (int i = 0;; ++i) {
      auto s = (*db)->Transaction([&]() -> Status {
        auto& st = (*db)->Cached("INSERT INTO log (msg) VALUES (?)");
        st.Bind(1, "m" + std::to_string(i));
        return st.Run();
      });
      if (!s.ok()) _exit(3);
      // Acknowledge only after COMMIT returned.
      if (write(pipefd[1], &i, sizeof i) != sizeof i) _exit(4);
    }
  }
  close(pipefd[1]);
  int acked = -1;
  int v;
  while (acked < 200 && read(pipefd[0], &v, sizeof v) == sizeof v) acked = v;
  kill(pid, SIGKILL);
  while (read(pipefd[0], &v, sizeof v) == sizeof v) acked = v;
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok());
  EXPECT_GE(Count(**db, "log"), acked + 1);
}

TEST(Database, SerializesThreadsThroughTheLock) {
  TempDir dir;
  auto db = Database::Open(dir.path() + "/t.sqlite");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate(kMigrations).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto s = (*db)->Transaction([&]() -> Status {
          auto& st = (*db)->Cached("INSERT INTO log (msg) VALUES (?)");
          st.Bind(1, std::to_string(t) + ":" + std::to_string(i));
          return st.Run();
        });
        EXPECT_TRUE(s.ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(Count(**db, "log"), 200);
}

}  // namespace
}  // namespace atcr::db
