// One MST node in decoded form, shared by the full-tree code (mst.cpp) and the partial-tree
// inversion (mst_invert.cpp). Keys are full (prefix compression undone); an empty Cid is a
// null link.
#pragma once

#include <set>
#include <span>
#include <string>
#include <vector>

#include "atcr/atproto/block_store.h"
#include "atcr/atproto/mst.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"

namespace atcr::atproto::internal {

struct MstNodeEntry {
  std::string key;
  cbor::Cid value;
  cbor::Cid right;  // subtree after this entry; empty = null
};

struct MstNode {
  cbor::Cid left;  // subtree before the first entry; empty = null
  std::vector<MstNodeEntry> entries;
  int layer = -1;  // layer of the entries; -1 when there are none
};

Error MstCorrupt(const cbor::Cid& node, const std::string& why);

// Fetches and checks one node: block present and matching its CID, {e, l} with well-typed
// entries, valid keys strictly increasing inside the node, all entries on one layer, child
// links blessed dag-cbor CIDs. Layer relations between nodes are the caller's to check.
Result<MstNode> ReadMstNode(const BlockStore& store, const cbor::Cid& cid,
                            const MstLoadLimits& limits);

// Canonical DAG-CBOR of a node with per-node prefix compression.
Bytes EncodeMstNode(const cbor::Cid& left, const std::vector<MstNodeEntry>& entries);

// InvertOps that also records every node CID it reads (DiffMst uses it to find the proof nodes).
Result<cbor::Cid> InvertOpsRecording(const BlockStore& store, const cbor::Cid& new_root,
                                     std::span<const RecordOp> ops, const MstLoadLimits& limits,
                                     std::set<cbor::Cid>* reads);

}  // namespace atcr::atproto::internal
