// RecordStore over one SQLite table: records(collection, rkey, cid, json). No commits or
// MST; the CID of each record is the CID of its DAG-CBOR encoding, as in a real repo.
#include <boost/json.hpp>

#include "atcr/atproto/syntax.h"
#include "atcr/cbor/cid.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/json.h"
#include "atcr/db/database.h"
#include "atcr/hold/record_store.h"

namespace atcr::hold {
namespace json = boost::json;
namespace {

constexpr db::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE records (
  collection TEXT NOT NULL,
  rkey TEXT NOT NULL,
  cid TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (collection, rkey)
) WITHOUT ROWID;
)sql"},
};

Result<std::string> RecordCid(const json::object& value) {
  auto dm = cbor::FromJson(json::value(value));
  if (!dm.ok()) return InvalidArgument("record is not valid ATProto data: " + dm.error().message);
  Bytes encoded = cbor::Encode(*dm);
  return cbor::Cid::ForDagCbor(encoded).ToString();
}

class SqliteRecordStore final : public RecordStore {
 public:
  SqliteRecordStore(std::unique_ptr<db::Database> db, std::string did)
      : db_(std::move(db)), did_(std::move(did)) {}

  const std::string& did() const override { return did_; }

  Result<std::optional<StoredRecord>> Get(std::string_view collection,
                                          std::string_view rkey) override {
    auto lock = db_->Lock();
    auto& st = db_->Cached("SELECT cid, json FROM records WHERE collection = ? AND rkey = ?");
    st.Bind(1, collection).Bind(2, rkey);
    ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<StoredRecord>();
    ATCR_ASSIGN_OR_RETURN(StoredRecord r, Make(collection, rkey, st.Text(0), st.TextView(1)));
    return std::optional<StoredRecord>(std::move(r));
  }

  Result<std::vector<StoredRecord>> List(std::string_view collection, size_t limit,
                                         std::string_view after, bool reverse) override {
    auto lock = db_->Lock();
    const char* sql =
        reverse ? (after.empty()
                       ? "SELECT rkey, cid, json FROM records WHERE collection = ?1 "
                         "ORDER BY rkey DESC LIMIT ?3"
                       : "SELECT rkey, cid, json FROM records WHERE collection = ?1 AND rkey < ?2 "
                         "ORDER BY rkey DESC LIMIT ?3")
                : "SELECT rkey, cid, json FROM records WHERE collection = ?1 AND rkey > ?2 "
                  "ORDER BY rkey LIMIT ?3";
    auto& st = db_->Cached(sql);
    st.Bind(1, collection).Bind(2, after).Bind(3, static_cast<int64_t>(limit));
    std::vector<StoredRecord> out;
    for (;;) {
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      ATCR_ASSIGN_OR_RETURN(StoredRecord r,
                            Make(collection, st.TextView(0), st.Text(1), st.TextView(2)));
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::vector<std::string>> Collections() override {
    auto lock = db_->Lock();
    auto& st = db_->Cached("SELECT DISTINCT collection FROM records ORDER BY collection");
    std::vector<std::string> out;
    for (;;) {
      ATCR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(st.Text(0));
    }
    return out;
  }

  Result<std::vector<WriteOutcome>> Apply(const std::vector<RecordWrite>& writes) override {
    if (writes.size() > kMaxWritesPerCommit) {
      return ResourceExhausted("at most " + std::to_string(kMaxWritesPerCommit) +
                               " writes per commit");
    }
    std::vector<WriteOutcome> out;
    Status st = db_->Transaction([&]() -> Status {
      out.clear();
      for (const RecordWrite& w : writes) {
        ATCR_TRY(atproto::ValidateNsid(w.collection));
        ATCR_TRY(atproto::ValidateRecordKey(w.rkey));
        WriteOutcome o;
        o.uri = RecordUri(did_, w.collection, w.rkey);
        if (w.action == RecordWrite::Action::kDelete) {
          auto& del = db_->Cached("DELETE FROM records WHERE collection = ? AND rkey = ?");
          del.Bind(1, w.collection).Bind(2, w.rkey);
          ATCR_TRY(del.Run());
          out.push_back(std::move(o));
          continue;
        }
        const json::value* type = w.value.if_contains("$type");
        if (type == nullptr || !type->is_string() || type->get_string() != w.collection) {
          return InvalidArgument("record $type must be " + w.collection);
        }
        ATCR_ASSIGN_OR_RETURN(o.cid, RecordCid(w.value));
        const char* sql = w.action == RecordWrite::Action::kCreate
                              ? "INSERT INTO records (collection, rkey, cid, json) VALUES (?,?,?,?)"
                              : "INSERT OR REPLACE INTO records (collection, rkey, cid, json) "
                                "VALUES (?,?,?,?)";
        auto& ins = db_->Cached(sql);
        ins.Bind(1, w.collection).Bind(2, w.rkey).Bind(3, o.cid).Bind(4, json::serialize(w.value));
        Status r = ins.Run();
        if (!r.ok() && r.error().code == ErrorCode::kAlreadyExists) {
          return Error(ErrorCode::kAlreadyExists, "record " + o.uri + " already exists",
                       "InvalidSwap");
        }
        ATCR_TRY(r);
        out.push_back(std::move(o));
      }
      return Ok();
    });
    if (!st.ok()) return std::move(st).error();
    return out;
  }

 private:
  Result<StoredRecord> Make(std::string_view collection, std::string_view rkey, std::string cid,
                            std::string_view text) const {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) {
      return Error(ErrorCode::kDataLoss, "stored record " + std::string(rkey) + " is corrupt");
    }
    StoredRecord r;
    r.collection = std::string(collection);
    r.rkey = std::string(rkey);
    r.uri = RecordUri(did_, collection, rkey);
    r.cid = std::move(cid);
    r.value = std::move(v.as_object());
    return r;
  }

  std::unique_ptr<db::Database> db_;
  std::string did_;
};

}  // namespace

std::string RecordUri(std::string_view did, std::string_view collection, std::string_view rkey) {
  std::string uri = "at://";
  uri.append(did).append("/").append(collection).append("/").append(rkey);
  return uri;
}

Result<std::shared_ptr<RecordStore>> OpenSqliteRecordStore(const std::string& path,
                                                           std::string did) {
  ATCR_ASSIGN_OR_RETURN(auto db, db::Database::Open(path));
  ATCR_TRY(db->Migrate(kMigrations));
  return std::shared_ptr<RecordStore>(std::make_shared<SqliteRecordStore>(std::move(db), std::move(did)));
}

}  // namespace atcr::hold
