#include "atcr/atproto/block_store.h"

namespace atcr::atproto {

Result<Bytes> MemoryBlockStore::Get(const cbor::Cid& cid) const {
  auto it = blocks_.find(cid);
  if (it == blocks_.end()) return NotFound("block not found: " + cid.ToString(), "BlockNotFound");
  return it->second;
}

void MemoryBlockStore::Put(const cbor::Cid& cid, Bytes data) {
  auto [it, inserted] = blocks_.try_emplace(cid);
  if (!inserted) return;  // same CID, same bytes
  total_bytes_ += data.size();
  it->second = std::move(data);
}

cbor::Cid MemoryBlockStore::PutDagCbor(Bytes data) {
  cbor::Cid cid = cbor::Cid::ForDagCbor(data);
  Put(cid, std::move(data));
  return cid;
}

}  // namespace atcr::atproto
