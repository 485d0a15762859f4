#include "atcr/atproto/mst.h"

#include <algorithm>
#include <array>
#include <set>

#include "atcr/base/hash.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/multicodec.h"
#include "atcr/cbor/value.h"
#include "mst_node.h"

namespace atcr::atproto {

using cbor::Cid;
using cbor::Value;

int MstKeyHeight(std::string_view key) {
  std::array<uint8_t, 32> h = Sha256(key);
  int zeros = 0;
  for (uint8_t b : h) {
    if (b == 0) {
      zeros += 8;
      continue;
    }
    while ((b & 0x80) == 0) {
      ++zeros;
      b = static_cast<uint8_t>(b << 1);
    }
    break;
  }
  return zeros / 2;
}

size_t MstCommonPrefixLength(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

Status ValidateMstKey(std::string_view key) {
  if (key.empty() || key.size() > 1024) return InvalidArgument("MST key must be 1-1024 bytes");
  size_t slash = key.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == key.size() ||
      key.find('/', slash + 1) != std::string_view::npos) {
    return InvalidArgument("MST key must be \"collection/rkey\"");
  }
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '~' || c == '-' || c == ':' || c == '.' || c == '/';
    if (!ok) return InvalidArgument("MST key has a character outside [a-zA-Z0-9_~-:.]");
  }
  return Ok();
}

namespace {

struct Item {
  std::string_view key;
  const Cid* value;
  int height;
};

// Builds the node at `layer` holding items[begin, end) (all of height <= layer), appending
// every node block it creates to `out`. Items of height == layer become this node's entries;
// each run of lower items between them becomes a child one layer down.
Cid BuildNode(const Item* begin, const Item* end, int layer, std::map<Cid, Bytes>& out) {
  std::vector<internal::MstNodeEntry> entries;
  Cid left;
  const Item* run = begin;
  auto attach = [&](Cid sub) {
    if (entries.empty()) {
      left = std::move(sub);
    } else {
      entries.back().right = std::move(sub);
    }
  };
  for (const Item* it = begin; it != end; ++it) {
    if (it->height < layer) continue;
    attach(run == it ? Cid() : BuildNode(run, it, layer - 1, out));
    entries.push_back({std::string(it->key), *it->value, Cid()});
    run = it + 1;
  }
  attach(run == end ? Cid() : BuildNode(run, end, layer - 1, out));
  Bytes bytes = internal::EncodeMstNode(left, entries);
  Cid cid = Cid::ForDagCbor(bytes);
  out.emplace(cid, std::move(bytes));
  return cid;
}

class Loader {
 public:
  Loader(const BlockStore& store, const MstLoadLimits& limits) : store_(store), limits_(limits) {}

  // Walks the subtree at `cid` in key order. expected_layer < 0: the root (layer unknown).
  Status Walk(const Cid& cid, int expected_layer,
              std::vector<std::tuple<std::string, Cid, int>>& out) {
    if (++nodes_ > limits_.max_nodes) {
      return ResourceExhausted("MST has more than " + std::to_string(limits_.max_nodes) +
                               " nodes");
    }
    ATCR_ASSIGN_OR_RETURN(internal::MstNode node, internal::ReadMstNode(store_, cid, limits_));
    int layer = node.layer;
    if (node.entries.empty()) {
      if (expected_layer < 0) {
        if (!node.left.empty()) {
          return internal::MstCorrupt(cid, "root node without entries points down");
        }
        return Ok();  // the empty tree
      }
      if (node.left.empty()) return internal::MstCorrupt(cid, "empty node below the root");
      layer = expected_layer;
    } else if (expected_layer >= 0 && layer != expected_layer) {
      return internal::MstCorrupt(cid, "node at layer " + std::to_string(layer) +
                                           " where layer " + std::to_string(expected_layer) +
                                           " was expected");
    }
    auto child = [&](const Cid& link) -> Status {
      if (link.empty()) return Ok();
      if (layer == 0) return internal::MstCorrupt(cid, "leaf node has a subtree link");
      return Walk(link, layer - 1, out);
    };
    ATCR_TRY(child(node.left));
    for (internal::MstNodeEntry& e : node.entries) {
      if (have_last_ && e.key <= last_key_) {
        return internal::MstCorrupt(cid, "keys out of order at " + e.key);
      }
      last_key_ = e.key;
      have_last_ = true;
      if (out.size() >= limits_.max_keys) {
        return ResourceExhausted("MST has more than " + std::to_string(limits_.max_keys) +
                                 " keys");
      }
      out.emplace_back(std::move(e.key), e.value, layer);
      ATCR_TRY(child(e.right));
    }
    return Ok();
  }

 private:
  const BlockStore& store_;
  const MstLoadLimits& limits_;
  size_t nodes_ = 0;
  std::string last_key_;
  bool have_last_ = false;
};

}  // namespace

Result<Mst> Mst::Load(const BlockStore& store, const Cid& root, const MstLoadLimits& limits) {
  Loader loader(store, limits);
  std::vector<std::tuple<std::string, Cid, int>> items;
  ATCR_TRY(loader.Walk(root, -1, items));
  Mst tree;
  for (auto& [key, value, height] : items) {
    tree.entries_.emplace_hint(tree.entries_.end(), std::move(key),
                               Leaf{std::move(value), static_cast<uint8_t>(height)});
  }
  if (tree.RootCid() != root) {
    return Error(ErrorCode::kDataLoss,
                 "MST rooted at " + root.ToString() + " is not in canonical shape");
  }
  return tree;
}

Status Mst::Put(std::string_view key, const Cid& value) {
  ATCR_TRY(ValidateMstKey(key));
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (it->second.value == value) return Ok();
    it->second.value = value;
  } else {
    entries_.emplace(std::string(key), Leaf{value, static_cast<uint8_t>(MstKeyHeight(key))});
  }
  built_ = false;
  return Ok();
}

bool Mst::Remove(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  built_ = false;
  return true;
}

std::optional<Cid> Mst::Get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second.value;
}

std::vector<std::pair<std::string, Cid>> Mst::List(std::string_view prefix,
                                                   std::string_view after, size_t limit) const {
  std::vector<std::pair<std::string, Cid>> out;
  auto it = after.empty() || after < prefix ? entries_.lower_bound(prefix)
                                            : entries_.upper_bound(after);
  for (; it != entries_.end(); ++it) {
    if (!std::string_view(it->first).starts_with(prefix)) break;
    out.emplace_back(it->first, it->second.value);
    if (limit != 0 && out.size() >= limit) break;
  }
  return out;
}

void Mst::Build() const {
  if (built_) return;
  blocks_.clear();
  if (entries_.empty()) {
    Bytes bytes = internal::EncodeMstNode(Cid(), {});
    root_ = Cid::ForDagCbor(bytes);
    blocks_.emplace(root_, std::move(bytes));
  } else {
    std::vector<Item> items;
    items.reserve(entries_.size());
    int top = 0;
    for (const auto& [key, leaf] : entries_) {
      items.push_back({key, &leaf.value, leaf.height});
      top = std::max(top, static_cast<int>(leaf.height));
    }
    root_ = BuildNode(items.data(), items.data() + items.size(), top, blocks_);
  }
  built_ = true;
}

Cid Mst::RootCid() const {
  Build();
  return root_;
}

const std::map<Cid, Bytes>& Mst::Blocks() const {
  Build();
  return blocks_;
}

int Mst::RootLayer() const {
  int top = 0;
  for (const auto& [key, leaf] : entries_) top = std::max(top, static_cast<int>(leaf.height));
  return top;
}

const char* RecordOpActionName(RecordOp::Action a) {
  switch (a) {
    case RecordOp::Action::kCreate:
      return "create";
    case RecordOp::Action::kUpdate:
      return "update";
    case RecordOp::Action::kDelete:
      return "delete";
  }
  return "?";
}

MstDiff DiffMst(const Mst& from, const Mst& to) {
  MstDiff diff;
  auto a = from.List();
  auto b = to.List();
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].first < b[j].first)) {
      diff.ops.push_back({RecordOp::Action::kDelete, a[i].first, std::nullopt, a[i].second});
      ++i;
    } else if (i == a.size() || b[j].first < a[i].first) {
      diff.ops.push_back({RecordOp::Action::kCreate, b[j].first, b[j].second, std::nullopt});
      ++j;
    } else {
      if (a[i].second != b[j].second) {
        diff.ops.push_back({RecordOp::Action::kUpdate, b[j].first, b[j].second, a[i].second});
      }
      ++i;
      ++j;
    }
  }
  const auto& old_nodes = from.Blocks();
  const auto& new_nodes = to.Blocks();
  for (const auto& [cid, bytes] : new_nodes) {
    if (!old_nodes.contains(cid)) diff.new_nodes.emplace(cid, bytes);
  }
  for (const auto& [cid, bytes] : old_nodes) {
    if (!new_nodes.contains(cid)) diff.removed_nodes.push_back(cid);
  }
  // Run the consumer's inversion against the full new tree and keep every unchanged node it
  // reads: without them a consumer holding only the slice could not check the commit.
  if (!diff.ops.empty()) {
    class MapStore : public BlockStore {
     public:
      explicit MapStore(const std::map<Cid, Bytes>& m) : m_(m) {}
      Result<Bytes> Get(const Cid& cid) const override {
        auto it = m_.find(cid);
        if (it == m_.end()) return NotFound("block not found");
        return it->second;
      }
      bool Has(const Cid& cid) const override { return m_.contains(cid); }

     private:
      const std::map<Cid, Bytes>& m_;
    };
    MapStore store(new_nodes);
    std::set<Cid> reads;
    auto root = internal::InvertOpsRecording(store, to.RootCid(), diff.ops, {}, &reads);
    if (root.ok() && *root == from.RootCid()) {
      for (const Cid& cid : reads) {
        if (!diff.new_nodes.contains(cid)) diff.proof_nodes.emplace(cid, new_nodes.at(cid));
      }
    } else {
      // Cannot happen for two canonical trees; if it ever does, carry the whole tree, which
      // always suffices, rather than a slice consumers would reject.
      for (const auto& [cid, bytes] : new_nodes) {
        if (!diff.new_nodes.contains(cid)) diff.proof_nodes.emplace(cid, bytes);
      }
    }
  }
  return diff;
}

}  // namespace atcr::atproto
