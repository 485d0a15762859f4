// BlockStore: content-addressed blocks (CID -> bytes) as the repository code reads them.
// MemoryBlockStore is the in-memory implementation used by CAR reading, MST loading, diffs and
// tests; the PDS puts a persistent store behind the same interface. Implementations must be
// safe for concurrent const use; MemoryBlockStore is thread-compatible (no internal locking).
#pragma once

#include <cstddef>
#include <map>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"

namespace atcr::atproto {

class BlockStore {
 public:
  virtual ~BlockStore() = default;
  // The block's bytes, or NotFound.
  virtual Result<Bytes> Get(const cbor::Cid& cid) const = 0;
  virtual bool Has(const cbor::Cid& cid) const = 0;
};

class MemoryBlockStore : public BlockStore {
 public:
  Result<Bytes> Get(const cbor::Cid& cid) const override;
  bool Has(const cbor::Cid& cid) const override { return blocks_.contains(cid); }

  // Stores `data` under `cid` (the caller vouches that they match; CarReader checks it).
  void Put(const cbor::Cid& cid, Bytes data);
  // Stores DAG-CBOR bytes under their computed CID and returns it.
  cbor::Cid PutDagCbor(Bytes data);

  size_t size() const { return blocks_.size(); }
  size_t total_bytes() const { return total_bytes_; }
  const std::map<cbor::Cid, Bytes>& blocks() const { return blocks_; }

 private:
  std::map<cbor::Cid, Bytes> blocks_;
  size_t total_bytes_ = 0;
};

}  // namespace atcr::atproto
