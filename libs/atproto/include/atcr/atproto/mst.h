// Merkle Search Tree: the ordered key -> CID map at the heart of an ATProto repository
// (keys are repo paths "collection/rkey", values are record CIDs). The tree shape is a pure
// function of the key set: a key's layer is the number of leading zero 2-bit pairs of
// SHA-256(key), and nodes encode as DAG-CBOR {l, e:[{p,k,v,t}]} with per-node prefix
// compression. Mst keeps the key set and derives nodes deterministically, so insertion order
// never matters; node blocks and the root CID are computed lazily and cached.
// An Mst is a value: thread-compatible (const methods may run concurrently once RootCid() or
// Blocks() has been called once; before that they fill the cache).
//
//   atproto::Mst tree;
//   ATCR_TRY(tree.Put("io.atcr.tag/myapp_latest", record_cid));
//   cbor::Cid root = tree.RootCid();
//   ATCR_ASSIGN_OR_RETURN(atproto::Mst back, atproto::Mst::Load(store, root));
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/atproto/block_store.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"

namespace atcr::atproto {

// Layer of a key: floor(leading zero bits of SHA-256(key) / 2).
int MstKeyHeight(std::string_view key);
// Length of the common prefix of two keys, in bytes.
size_t MstCommonPrefixLength(std::string_view a, std::string_view b);
// The MST key rules of the reference implementation: <= 1024 bytes, "a/b" with both parts
// non-empty and characters from [a-zA-Z0-9_~\-:.]. (Writers should also ValidateRepoPath.)
Status ValidateMstKey(std::string_view key);

struct MstLoadLimits {
  size_t max_nodes = 2'000'000;
  size_t max_keys = 2'000'000;
  size_t max_entries_per_node = 4096;
  size_t max_node_bytes = 1024 * 1024;
};

class Mst {
 public:
  Mst() = default;

  // Reads every node reachable from `root`, checking: node encoding, blessed node links,
  // key order, entry layers, one-layer child links, and that the tree is in canonical shape
  // (rebuilding it from its keys yields `root`). Errors name the failing node.
  static Result<Mst> Load(const BlockStore& store, const cbor::Cid& root,
                          const MstLoadLimits& limits = {});

  // Inserts or replaces. The key must pass ValidateMstKey.
  Status Put(std::string_view key, const cbor::Cid& value);
  // Removes `key`; false if it was absent.
  bool Remove(std::string_view key);
  std::optional<cbor::Cid> Get(std::string_view key) const;
  bool Contains(std::string_view key) const { return entries_.contains(key); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // Entries in key order, optionally only those starting with `prefix` and strictly after
  // `after`, at most `limit` (0 = no limit).
  std::vector<std::pair<std::string, cbor::Cid>> List(std::string_view prefix = {},
                                                      std::string_view after = {},
                                                      size_t limit = 0) const;

  // Root node CID ("bafyreie5737..." for the empty tree).
  cbor::Cid RootCid() const;
  // Every node block of the tree, keyed by CID.
  const std::map<cbor::Cid, Bytes>& Blocks() const;
  // Number of layers above the leaves (the root's layer); 0 for an empty tree.
  int RootLayer() const;

 private:
  struct Leaf {
    cbor::Cid value;
    uint8_t height = 0;
  };
  void Build() const;

  std::map<std::string, Leaf, std::less<>> entries_;
  mutable bool built_ = false;
  mutable cbor::Cid root_;
  mutable std::map<cbor::Cid, Bytes> blocks_;
};

// A record operation as a firehose #commit carries it.
struct RecordOp {
  enum class Action { kCreate, kUpdate, kDelete };
  Action action = Action::kCreate;
  std::string path;                // "collection/rkey"
  std::optional<cbor::Cid> cid;    // new record CID (absent for delete)
  std::optional<cbor::Cid> prev;   // old record CID (update and delete)
  friend bool operator==(const RecordOp&, const RecordOp&) = default;
};
const char* RecordOpActionName(RecordOp::Action a);  // "create" | "update" | "delete"

struct MstDiff {
  std::vector<RecordOp> ops;                  // in key order
  std::map<cbor::Cid, Bytes> new_nodes;       // nodes of `to` that `from` does not have
  // Unchanged nodes of `to` that a consumer needs to invert the ops (InvertOps); a #commit
  // carries them along with new_nodes.
  std::map<cbor::Cid, Bytes> proof_nodes;
  std::vector<cbor::Cid> removed_nodes;       // nodes of `from` that `to` no longer has
};
// What changed from `from` to `to`: the record ops and the MST blocks a #commit must carry.
// (Record blocks for creates/updates come from the caller, who holds the record bytes.)
MstDiff DiffMst(const Mst& from, const Mst& to);

// Commit inversion, the consumer-side check of a #commit: starting from the tree at `new_root`
// and reading only the nodes it needs from `store` (the commit's CAR slice), checks that every
// create/update op's CID is in the tree and every deleted path is not, applies the inverse ops
// (create -> remove, update -> restore prev, delete -> re-insert prev) and returns the root.
// It must equal the event's prevData. A node the slice lacks is a NotFound error.
Result<cbor::Cid> InvertOps(const BlockStore& store, const cbor::Cid& new_root,
                            std::span<const RecordOp> ops, const MstLoadLimits& limits = {});

// The incremental write path (a PDS committing to a large repo): applies `ops` in order to the
// tree at `root`, reading from `store` only the nodes on the edited paths. create needs the path
// absent (kAlreadyExists), update and delete need it present (kNotFound); a `prev` given on an
// update/delete must match the current value (kFailedPrecondition). Two ops on one path are an
// error. The result is the same tree a full Mst would build.
struct MstEdit {
  cbor::Cid root;
  std::vector<RecordOp> ops;                  // the input ops, with `prev` filled from the tree
  std::map<cbor::Cid, Bytes> new_nodes;       // nodes of the new tree the old one lacks
  std::map<cbor::Cid, Bytes> proof_nodes;     // unchanged nodes InvertOps needs (see MstDiff)
  std::vector<cbor::Cid> removed_nodes;       // nodes of the old tree the new one lacks
};
Result<MstEdit> EditMst(const BlockStore& store, const cbor::Cid& root,
                        std::span<const RecordOp> ops, const MstLoadLimits& limits = {});

// sync.getRecord's proof: the nodes from the root down to where `key` is (inclusion) or would
// be (absence), and the key's value when present.
struct MstPath {
  std::vector<cbor::Cid> nodes;
  std::optional<cbor::Cid> value;
};
Result<MstPath> MstProofPath(const BlockStore& store, const cbor::Cid& root, std::string_view key,
                             const MstLoadLimits& limits = {});

}  // namespace atcr::atproto
