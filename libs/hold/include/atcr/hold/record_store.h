// RecordStore: the hold's repository as the hold's logic sees it — records by (collection,
// rkey) as ATProto JSON, read one at a time or listed in rkey order, written in atomic
// batches. The embedded PDS's repo store implements it for the hold's did:web (signed
// commits, firehose); OpenSqliteRecordStore is a plain-table store with the same semantics
// (record CIDs are the DAG-CBOR CIDs) for tests and for running without a repo.
// All methods block (SQLite): call them through net::RunBlocking. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "atcr/base/result.h"

namespace atcr::hold {

struct StoredRecord {
  std::string collection;
  std::string rkey;
  std::string uri;  // at://<did>/<collection>/<rkey>
  std::string cid;
  boost::json::object value;
};

struct RecordWrite {
  enum class Action {
    kCreate,  // fails (kAlreadyExists) when the record exists
    kPut,     // create or replace
    kDelete,  // no-op when absent
  };
  Action action = Action::kPut;
  std::string collection;
  std::string rkey;
  boost::json::object value;  // not for kDelete; must carry "$type" = collection
};

struct WriteOutcome {
  std::string uri;
  std::string cid;  // empty for deletes
};

class RecordStore {
 public:
  virtual ~RecordStore() = default;
  virtual const std::string& did() const = 0;
  virtual Result<std::optional<StoredRecord>> Get(std::string_view collection,
                                                  std::string_view rkey) = 0;
  // Up to `limit` records with rkey > after (rkey < after when reverse), in rkey order
  // (descending when reverse). after = "" starts at the beginning (end).
  virtual Result<std::vector<StoredRecord>> List(std::string_view collection, size_t limit,
                                                 std::string_view after, bool reverse) = 0;
  // All collections that have at least one record.
  virtual Result<std::vector<std::string>> Collections() = 0;
  // One atomic commit; at most 200 writes.
  virtual Result<std::vector<WriteOutcome>> Apply(const std::vector<RecordWrite>& writes) = 0;
};

inline constexpr size_t kMaxWritesPerCommit = 200;

// path ":memory:" for a private in-memory store.
Result<std::shared_ptr<RecordStore>> OpenSqliteRecordStore(const std::string& path,
                                                           std::string did);

// "at://" + did + "/" + collection + "/" + rkey.
std::string RecordUri(std::string_view did, std::string_view collection, std::string_view rkey);

}  // namespace atcr::hold
