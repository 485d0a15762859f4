// Partial-tree MST edits for commit inversion (sync spec, consumer checklist step 7): load only
// the nodes an edit touches, apply inserts/removes/updates with the same split and merge rules
// that give the canonical shape, and recompute the root. Untouched subtrees stay as CIDs.
#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <set>

#include "atcr/atproto/mst.h"
#include "mst_node.h"

namespace atcr::atproto {

using cbor::Cid;

namespace {

struct PNode;

// A child pointer: null, an unloaded subtree (cid only), or a loaded (possibly edited) node.
struct Link {
  Cid cid;
  std::unique_ptr<PNode> node;
  bool null() const { return !node && cid.empty(); }
};

struct PEntry {
  std::string key;
  Cid value;
  Link right;
};

struct PNode {
  Link left;
  std::vector<PEntry> entries;
};

class PartialTree {
 public:
  PartialTree(const BlockStore& store, const MstLoadLimits& limits, std::set<Cid>* reads)
      : store_(store), limits_(limits), reads_(reads) {}

  Status Init(const Cid& root) {
    ATCR_ASSIGN_OR_RETURN(internal::MstNode n, Read(root));
    if (n.entries.empty()) {
      if (!n.left.empty()) return internal::MstCorrupt(root, "root node without entries points down");
      return Ok();  // empty tree: root_ stays null
    }
    layer_ = n.layer;
    root_.node = Convert(std::move(n));
    return Ok();
  }

  Result<std::optional<Cid>> Get(std::string_view key) {
    Link* cur = &root_;
    int layer = layer_;
    while (!cur->null()) {
      ATCR_TRY(Load(*cur, layer));
      PNode& n = *cur->node;
      size_t i = LowerBound(n, key);
      if (i < n.entries.size() && n.entries[i].key == key) return std::optional<Cid>(n.entries[i].value);
      if (layer == 0) break;
      cur = &ChildAt(n, i);
      --layer;
    }
    return std::optional<Cid>();
  }

  Status Update(std::string_view key, const Cid& value) {
    Link* cur = &root_;
    int layer = layer_;
    while (!cur->null()) {
      ATCR_TRY(Load(*cur, layer));
      PNode& n = *cur->node;
      size_t i = LowerBound(n, key);
      if (i < n.entries.size() && n.entries[i].key == key) {
        n.entries[i].value = value;
        return Ok();
      }
      if (layer == 0) break;
      cur = &ChildAt(n, i);
      --layer;
    }
    return NotFound("MST has no key " + std::string(key));
  }

  Status Insert(const std::string& key, const Cid& value) {
    int h = MstKeyHeight(key);
    if (root_.null()) {
      root_ = Chain(h, h, key, value);
      layer_ = h;
      return Ok();
    }
    if (h > layer_) {
      ATCR_ASSIGN_OR_RETURN(auto halves, Split(root_, layer_, key));
      auto top = std::make_unique<PNode>();
      top->left = Wrap(std::move(halves.first), layer_, h - 1);
      top->entries.push_back({key, value, Wrap(std::move(halves.second), layer_, h - 1)});
      root_ = Link{Cid(), std::move(top)};
      layer_ = h;
      return Ok();
    }
    return InsertAt(root_, layer_, key, h, value);
  }

  Status Remove(std::string_view key) {
    ATCR_TRY(RemoveAt(root_, layer_, key));
    // Trim the top: the root is never an entry-less node pointing down.
    while (!root_.null()) {
      ATCR_TRY(Load(root_, layer_));
      if (!root_.node->entries.empty()) break;
      Link down = std::move(root_.node->left);
      root_ = std::move(down);
      --layer_;
    }
    if (root_.null()) layer_ = 0;
    return Ok();
  }

  // The root after the edits. With `blocks`, every node that was loaded (read or rebuilt) is
  // re-encoded into it; unloaded subtrees stay CIDs.
  Cid RootCid(std::map<Cid, Bytes>* blocks = nullptr) {
    if (root_.null()) {
      Bytes empty = internal::EncodeMstNode(Cid(), {});
      Cid cid = Cid::ForDagCbor(empty);
      if (blocks != nullptr) blocks->emplace(cid, std::move(empty));
      return cid;
    }
    return Finalize(root_, blocks);
  }

 private:
  Result<internal::MstNode> Read(const Cid& cid) {
    if (++nodes_ > limits_.max_nodes) return ResourceExhausted("MST inversion read too many nodes");
    if (reads_ != nullptr) reads_->insert(cid);
    auto n = internal::ReadMstNode(store_, cid, limits_);
    if (!n.ok() && n.error().code == ErrorCode::kNotFound) {
      return NotFound("MST node " + cid.ToString() + " is needed but missing", "BlockNotFound");
    }
    return n;
  }

  static std::unique_ptr<PNode> Convert(internal::MstNode n) {
    auto p = std::make_unique<PNode>();
    p->left.cid = n.left;
    p->entries.reserve(n.entries.size());
    for (auto& e : n.entries) p->entries.push_back({std::move(e.key), e.value, Link{e.right, {}}});
    return p;
  }

  Status Load(Link& l, int layer) {
    if (l.node || l.cid.empty()) return Ok();
    ATCR_ASSIGN_OR_RETURN(internal::MstNode n, Read(l.cid));
    if (n.entries.empty() && n.left.empty()) {
      return internal::MstCorrupt(l.cid, "empty node below the root");
    }
    if (!n.entries.empty() && n.layer != layer) {
      return internal::MstCorrupt(l.cid, "node at layer " + std::to_string(n.layer) +
                                             " where layer " + std::to_string(layer) +
                                             " was expected");
    }
    if (layer == 0) {
      bool links = !n.left.empty();
      for (const auto& e : n.entries) links = links || !e.right.empty();
      if (links) return internal::MstCorrupt(l.cid, "leaf node has a subtree link");
    }
    l.node = Convert(std::move(n));
    return Ok();
  }

  static size_t LowerBound(const PNode& n, std::string_view key) {
    auto it = std::lower_bound(n.entries.begin(), n.entries.end(), key,
                               [](const PEntry& e, std::string_view k) { return e.key < k; });
    return static_cast<size_t>(it - n.entries.begin());
  }
  static Link& ChildAt(PNode& n, size_t i) { return i == 0 ? n.left : n.entries[i - 1].right; }

  // A fresh path from `layer` down to the key's own layer `h`.
  static Link Chain(int layer, int h, const std::string& key, const Cid& value) {
    auto n = std::make_unique<PNode>();
    if (layer == h) {
      n->entries.push_back({key, value, Link{}});
    } else {
      n->left = Chain(layer - 1, h, key, value);
    }
    return Link{Cid(), std::move(n)};
  }

  // Raises a subtree at `from` to `to` with entry-less nodes (null stays null).
  static Link Wrap(Link l, int from, int to) {
    for (; from < to && !l.null(); ++from) {
      auto n = std::make_unique<PNode>();
      n->left = std::move(l);
      l = Link{Cid(), std::move(n)};
    }
    return l;
  }

  static Link Normalize(Link l) {
    if (l.node && l.node->entries.empty() && l.node->left.null()) return Link{};
    return l;
  }

  // Splits the subtree at `layer` into the keys below and above `key` (which it lacks).
  Result<std::pair<Link, Link>> Split(Link& at, int layer, const std::string& key) {
    if (at.null()) return std::pair<Link, Link>();
    ATCR_TRY(Load(at, layer));
    PNode& n = *at.node;
    size_t i = LowerBound(n, key);
    std::pair<Link, Link> below;
    if (layer > 0) {
      ATCR_ASSIGN_OR_RETURN(below, Split(ChildAt(n, i), layer - 1, key));
    }
    auto right = std::make_unique<PNode>();
    right->left = std::move(below.second);
    right->entries.assign(std::make_move_iterator(n.entries.begin() + static_cast<std::ptrdiff_t>(i)),
                          std::make_move_iterator(n.entries.end()));
    n.entries.resize(i);
    ChildAt(n, i) = std::move(below.first);
    return std::pair<Link, Link>(Normalize(std::move(at)), Normalize(Link{Cid(), std::move(right)}));
  }

  Status InsertAt(Link& at, int layer, const std::string& key, int h, const Cid& value) {
    if (at.null()) {
      at = Chain(layer, h, key, value);
      return Ok();
    }
    ATCR_TRY(Load(at, layer));
    PNode& n = *at.node;
    size_t i = LowerBound(n, key);
    if (i < n.entries.size() && n.entries[i].key == key) {
      return Error(ErrorCode::kAlreadyExists, "MST already has key " + key);
    }
    if (h < layer) return InsertAt(ChildAt(n, i), layer - 1, key, h, value);
    std::pair<Link, Link> halves;
    if (layer > 0) {
      ATCR_ASSIGN_OR_RETURN(halves, Split(ChildAt(n, i), layer - 1, key));
    }
    ChildAt(n, i) = std::move(halves.first);
    n.entries.insert(n.entries.begin() + static_cast<std::ptrdiff_t>(i),
                     PEntry{key, value, std::move(halves.second)});
    return Ok();
  }

  // Joins two adjacent subtrees of the same layer (all keys of `a` below all keys of `b`).
  Result<Link> Merge(Link a, Link b, int layer) {
    if (a.null()) return b;
    if (b.null()) return a;
    ATCR_TRY(Load(a, layer));
    ATCR_TRY(Load(b, layer));
    PNode& an = *a.node;
    PNode& bn = *b.node;
    Link& seam = an.entries.empty() ? an.left : an.entries.back().right;
    ATCR_ASSIGN_OR_RETURN(Link mid, Merge(std::move(seam), std::move(bn.left), layer - 1));
    seam = std::move(mid);
    for (auto& e : bn.entries) an.entries.push_back(std::move(e));
    return a;
  }

  Status RemoveAt(Link& at, int layer, std::string_view key) {
    if (at.null()) return NotFound("MST has no key " + std::string(key));
    ATCR_TRY(Load(at, layer));
    PNode& n = *at.node;
    size_t i = LowerBound(n, key);
    if (i < n.entries.size() && n.entries[i].key == key) {
      Link merged;
      if (layer > 0) {
        ATCR_ASSIGN_OR_RETURN(merged, Merge(std::move(ChildAt(n, i)),
                                            std::move(n.entries[i].right), layer - 1));
      }
      n.entries.erase(n.entries.begin() + static_cast<std::ptrdiff_t>(i));
      ChildAt(n, i) = std::move(merged);
      return Ok();
    }
    if (layer == 0) return NotFound("MST has no key " + std::string(key));
    Link& child = ChildAt(n, i);
    ATCR_TRY(RemoveAt(child, layer - 1, key));
    child = Normalize(std::move(child));
    return Ok();
  }

  Cid Finalize(Link& l, std::map<Cid, Bytes>* blocks) {
    if (!l.node) return l.cid;
    std::vector<internal::MstNodeEntry> entries;
    entries.reserve(l.node->entries.size());
    Cid left = Finalize(l.node->left, blocks);
    for (PEntry& e : l.node->entries) entries.push_back({e.key, e.value, Finalize(e.right, blocks)});
    Bytes bytes = internal::EncodeMstNode(left, entries);
    Cid cid = Cid::ForDagCbor(bytes);
    if (blocks != nullptr) blocks->emplace(cid, std::move(bytes));
    return cid;
  }

  const BlockStore& store_;
  const MstLoadLimits& limits_;
  std::set<Cid>* reads_;
  size_t nodes_ = 0;
  Link root_;
  int layer_ = 0;
};

}  // namespace

namespace internal {

// Shared by InvertOps and DiffMst (which records the nodes inversion reads).
Result<Cid> InvertOpsRecording(const BlockStore& store, const Cid& new_root,
                               std::span<const RecordOp> ops, const MstLoadLimits& limits,
                               std::set<Cid>* reads) {
  PartialTree tree(store, limits, reads);
  ATCR_TRY(tree.Init(new_root));
  std::set<std::string_view> seen;
  for (const RecordOp& op : ops) {
    if (!seen.insert(op.path).second) {
      return InvalidArgument("commit has two ops on " + op.path);
    }
    ATCR_TRY(ValidateMstKey(op.path));
    ATCR_ASSIGN_OR_RETURN(std::optional<Cid> current, tree.Get(op.path));
    switch (op.action) {
      case RecordOp::Action::kCreate:
      case RecordOp::Action::kUpdate:
        if (!op.cid || current != op.cid) {
          return InvalidArgument("op " + std::string(RecordOpActionName(op.action)) + " " +
                                 op.path + " does not match the tree");
        }
        if (op.action == RecordOp::Action::kCreate) {
          ATCR_TRY(tree.Remove(op.path));
        } else {
          if (!op.prev) return InvalidArgument("update op " + op.path + " has no prev");
          ATCR_TRY(tree.Update(op.path, *op.prev));
        }
        break;
      case RecordOp::Action::kDelete:
        if (current) return InvalidArgument("deleted path " + op.path + " is still in the tree");
        if (!op.prev) return InvalidArgument("delete op " + op.path + " has no prev");
        ATCR_TRY(tree.Insert(op.path, *op.prev));
        break;
    }
  }
  return tree.RootCid();
}

}  // namespace internal

Result<Cid> InvertOps(const BlockStore& store, const Cid& new_root, std::span<const RecordOp> ops,
                      const MstLoadLimits& limits) {
  return internal::InvertOpsRecording(store, new_root, ops, limits, nullptr);
}

namespace {

// `overlay` first, then `base`.
class OverlayStore : public BlockStore {
 public:
  OverlayStore(const std::map<Cid, Bytes>& overlay, const BlockStore& base)
      : overlay_(overlay), base_(base) {}
  Result<Bytes> Get(const Cid& cid) const override {
    auto it = overlay_.find(cid);
    if (it != overlay_.end()) return it->second;
    return base_.Get(cid);
  }
  bool Has(const Cid& cid) const override { return overlay_.contains(cid) || base_.Has(cid); }

 private:
  const std::map<Cid, Bytes>& overlay_;
  const BlockStore& base_;
};

}  // namespace

Result<MstEdit> EditMst(const BlockStore& store, const Cid& root, std::span<const RecordOp> ops,
                        const MstLoadLimits& limits) {
  MstEdit edit;
  std::set<Cid> reads;
  PartialTree tree(store, limits, &reads);
  ATCR_TRY(tree.Init(root));
  std::set<std::string_view> seen;
  edit.ops.reserve(ops.size());
  for (const RecordOp& in : ops) {
    if (!seen.insert(in.path).second) return InvalidArgument("two writes to " + in.path);
    ATCR_TRY(ValidateMstKey(in.path));
    ATCR_ASSIGN_OR_RETURN(std::optional<Cid> current, tree.Get(in.path));
    RecordOp op = in;
    if (op.action != RecordOp::Action::kCreate) {
      if (!current) return NotFound("no record at " + op.path);
      if (op.prev && *op.prev != *current) {
        return Error(ErrorCode::kFailedPrecondition,
                     "record at " + op.path + " is " + current->ToString() + ", not " +
                         op.prev->ToString());
      }
      op.prev = current;
    }
    switch (op.action) {
      case RecordOp::Action::kCreate:
        if (current) return Error(ErrorCode::kAlreadyExists, "a record exists at " + op.path);
        if (!op.cid) return InvalidArgument("create of " + op.path + " without a cid");
        op.prev.reset();
        ATCR_TRY(tree.Insert(op.path, *op.cid));
        break;
      case RecordOp::Action::kUpdate:
        if (!op.cid) return InvalidArgument("update of " + op.path + " without a cid");
        ATCR_TRY(tree.Update(op.path, *op.cid));
        break;
      case RecordOp::Action::kDelete:
        op.cid.reset();
        ATCR_TRY(tree.Remove(op.path));
        break;
    }
    edit.ops.push_back(std::move(op));
  }
  std::map<Cid, Bytes> finalized;
  edit.root = tree.RootCid(&finalized);
  // A loaded node that re-encodes to a CID that was read is unchanged: neither new nor removed.
  for (auto& [cid, bytes] : finalized) {
    if (!reads.contains(cid)) edit.new_nodes.emplace(cid, std::move(bytes));
  }
  for (const Cid& cid : reads) {
    if (!finalized.contains(cid)) edit.removed_nodes.push_back(cid);
  }
  if (edit.ops.empty()) return edit;
  // Run the consumer's inversion over the new tree; the unchanged nodes it reads are the
  // proof nodes a #commit slice must carry. It must land on the old root.
  OverlayStore overlay(edit.new_nodes, store);
  std::set<Cid> inversion_reads;
  ATCR_ASSIGN_OR_RETURN(Cid back, internal::InvertOpsRecording(overlay, edit.root, edit.ops,
                                                               limits, &inversion_reads));
  if (back != root) {
    return Internal("MST edit does not invert to the old root " + root.ToString());
  }
  for (const Cid& cid : inversion_reads) {
    if (edit.new_nodes.contains(cid)) continue;
    ATCR_ASSIGN_OR_RETURN(Bytes bytes, store.Get(cid));
    edit.proof_nodes.emplace(cid, std::move(bytes));
  }
  return edit;
}

Result<MstPath> MstProofPath(const BlockStore& store, const Cid& root, std::string_view key,
                             const MstLoadLimits& limits) {
  MstPath path;
  Cid cur = root;
  int layer = -1;
  while (!cur.empty()) {
    if (path.nodes.size() > 130) return internal::MstCorrupt(root, "MST deeper than 130 layers");
    auto n = internal::ReadMstNode(store, cur, limits);
    if (!n.ok()) {
      if (n.error().code == ErrorCode::kNotFound) {
        return NotFound("MST node " + cur.ToString() + " is missing", "BlockNotFound");
      }
      return std::move(n).error();
    }
    path.nodes.push_back(cur);
    if (!n->entries.empty()) {
      if (layer >= 0 && n->layer != layer) {
        return internal::MstCorrupt(cur, "node is not one layer below its parent");
      }
      layer = n->layer;
    }
    auto it = std::lower_bound(
        n->entries.begin(), n->entries.end(), key,
        [](const internal::MstNodeEntry& e, std::string_view k) { return e.key < k; });
    if (it != n->entries.end() && it->key == key) {
      path.value = it->value;
      break;
    }
    cur = it == n->entries.begin() ? n->left : std::prev(it)->right;
    if (layer >= 0) --layer;
  }
  return path;
}

}  // namespace atcr::atproto
