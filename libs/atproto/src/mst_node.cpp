#include "mst_node.h"

#include "atcr/cbor/codec.h"
#include "atcr/cbor/multicodec.h"
#include "atcr/cbor/value.h"

namespace atcr::atproto::internal {

using cbor::Cid;
using cbor::Value;

Error MstCorrupt(const Cid& node, const std::string& why) {
  return Error(ErrorCode::kDataLoss, "MST node " + node.ToString() + ": " + why);
}

namespace {
bool IsNodeLink(const Cid& c) { return c.codec() == cbor::multicodec::kDagCbor && c.IsBlessed(); }
}  // namespace

Result<MstNode> ReadMstNode(const BlockStore& store, const Cid& cid, const MstLoadLimits& limits) {
  if (!IsNodeLink(cid)) return MstCorrupt(cid, "MST links must be dag-cbor sha-256 CIDs");
  ATCR_ASSIGN_OR_RETURN(Bytes bytes, store.Get(cid));
  if (bytes.size() > limits.max_node_bytes) return MstCorrupt(cid, "node too large");
  if (auto st = cid.Verify(bytes); !st.ok()) return MstCorrupt(cid, "bytes do not match CID");
  cbor::DecodeLimits dl;
  dl.max_depth = 4;
  dl.allow_floats = false;
  dl.max_items = 8 * limits.max_entries_per_node + 8;
  auto decoded = cbor::Decode(bytes, dl);
  if (!decoded.ok()) return MstCorrupt(cid, decoded.error().message);
  const Value& v = *decoded;
  const Value::Map* m = v.if_map();
  const Value::List* entries = v.FindList("e");
  const Value* left = v.Find("l");
  if (m == nullptr || m->size() != 2 || entries == nullptr || left == nullptr ||
      !(left->is_null() || left->is_link())) {
    return MstCorrupt(cid, "node must be {e: list, l: link or null}");
  }
  if (entries->size() > limits.max_entries_per_node) {
    return MstCorrupt(cid, "more than " + std::to_string(limits.max_entries_per_node) +
                               " entries in one node");
  }
  MstNode node;
  if (left->is_link()) {
    node.left = left->as_link();
    if (!IsNodeLink(node.left)) return MstCorrupt(cid, "subtree link is not a dag-cbor CID");
  }
  std::string prev;
  for (const Value& e : *entries) {
    const Value::Map* em = e.if_map();
    const Bytes* k = e.FindBytes("k");
    std::optional<int64_t> p = e.FindInt("p");
    const Cid* val = e.FindLink("v");
    const Value* t = e.Find("t");
    if (em == nullptr || em->size() != 4 || k == nullptr || !p || val == nullptr ||
        t == nullptr || !(t->is_null() || t->is_link())) {
      return MstCorrupt(cid, "entry must be {k: bytes, p: int, t: link|null, v: link}");
    }
    if (*p < 0 || static_cast<uint64_t>(*p) > prev.size()) {
      return MstCorrupt(cid, "entry prefix length out of range");
    }
    std::string key = prev.substr(0, static_cast<size_t>(*p));
    key.append(k->begin(), k->end());
    if (auto st = ValidateMstKey(key); !st.ok()) return MstCorrupt(cid, st.error().message);
    if (!node.entries.empty() && key <= prev) return MstCorrupt(cid, "keys out of order at " + key);
    int h = MstKeyHeight(key);
    if (node.layer < 0) node.layer = h;
    if (h != node.layer) {
      return MstCorrupt(cid, "key " + key + " has layer " + std::to_string(h) +
                                 ", node is at " + std::to_string(node.layer));
    }
    MstNodeEntry entry{key, *val, {}};
    if (t->is_link()) {
      entry.right = t->as_link();
      if (!IsNodeLink(entry.right)) return MstCorrupt(cid, "subtree link is not a dag-cbor CID");
    }
    prev = std::move(key);
    node.entries.push_back(std::move(entry));
  }
  return node;
}

Bytes EncodeMstNode(const Cid& left, const std::vector<MstNodeEntry>& entries) {
  Value::List list;
  list.reserve(entries.size());
  std::string_view prev;
  for (const MstNodeEntry& e : entries) {
    size_t p = list.empty() ? 0 : MstCommonPrefixLength(prev, e.key);
    Value::Map m;
    m["k"] = Bytes(e.key.begin() + static_cast<std::ptrdiff_t>(p), e.key.end());
    m["p"] = static_cast<int64_t>(p);
    m["t"] = e.right.empty() ? Value() : Value(e.right);
    m["v"] = e.value;
    list.emplace_back(std::move(m));
    prev = e.key;
  }
  Value::Map node;
  node["e"] = Value(std::move(list));
  node["l"] = left.empty() ? Value() : Value(left);
  return cbor::Encode(Value(std::move(node)));
}

}  // namespace atcr::atproto::internal
