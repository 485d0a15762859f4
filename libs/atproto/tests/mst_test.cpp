#include "atcr/atproto/mst.h"

#include <algorithm>
#include <random>
#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "atcr/cbor/codec.h"
#include "test_util.h"

namespace atcr::atproto {
namespace {

using cbor::Cid;
namespace json = boost::json;

// The leaf value the reference MST tests use for every key.
Cid LeafCid() {
  return *Cid::Parse("bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454");
}
Cid RecordCid(int i) { return Cid::ForDagCbor(cbor::Encode(cbor::Value(int64_t{i}))); }

std::vector<std::string> ExampleKeys() {
  auto keys = testing::VectorLines("mst/example_keys.txt");
  // The file's keys are "A0/374913"-style; prefix a collection so they are repo paths.
  for (auto& k : keys) k = "com.example.record/" + k.substr(0, 2) + k.substr(3);
  return keys;
}

TEST(MstHeight, InteropKeyHeights) {
  json::value doc = testing::ReadJson(testing::Interop("mst/key_heights.json"));
  const json::array& cases = doc.as_array();
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    EXPECT_EQ(MstKeyHeight(c.at("key").as_string()), c.at("height").as_int64()) << c;
  }
}

TEST(MstHeight, InteropCommonPrefix) {
  json::value doc = testing::ReadJson(testing::Interop("mst/common_prefix.json"));
  const json::array& cases = doc.as_array();
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    EXPECT_EQ(MstCommonPrefixLength(c.at("left").as_string(), c.at("right").as_string()),
              static_cast<size_t>(c.at("len").as_int64()))
        << c;
  }
}

TEST(Mst, EmptyTreeCid) {
  Mst t;
  EXPECT_EQ(t.RootCid().ToString(), "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm");
  ASSERT_EQ(t.Blocks().size(), 1u);
  EXPECT_EQ(HexEncode(t.Blocks().begin()->second), "a2616580616cf6");
}

TEST(Mst, ReferenceTreeCids) {
  Mst trivial;
  ASSERT_TRUE(trivial.Put("com.example.record/3jqfcqzm3fo2j", LeafCid()).ok());
  EXPECT_EQ(trivial.RootCid().ToString(),
            "bafyreibj4lsc3aqnrvphp5xmrnfoorvru4wynt6lwidqbm2623a6tatzdu");

  Mst single_layer2;
  ASSERT_TRUE(single_layer2.Put("com.example.record/3jqfcqzm3fx2j", LeafCid()).ok());
  EXPECT_EQ(single_layer2.RootLayer(), 2);
  EXPECT_TRUE(single_layer2.RootCid().ToString().starts_with("bafyreih7wfe"))
      << single_layer2.RootCid().ToString();

  Mst simple;
  for (const char* k : {"com.example.record/3jqfcqzm3fp2j", "com.example.record/3jqfcqzm3fr2j",
                        "com.example.record/3jqfcqzm3fs2j", "com.example.record/3jqfcqzm3ft2j",
                        "com.example.record/3jqfcqzm4fc2j"}) {
    ASSERT_TRUE(simple.Put(k, LeafCid()).ok());
  }
  EXPECT_TRUE(simple.RootCid().ToString().starts_with("bafyreicmahy"))
      << simple.RootCid().ToString();
}

TEST(Mst, ShapeIndependentOfInsertionOrder) {
  auto keys = ExampleKeys();
  ASSERT_GT(keys.size(), 100u);
  Mst forward;
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_TRUE(forward.Put(keys[i], RecordCid(i)).ok());
  std::mt19937 rng(42);
  for (int round = 0; round < 3; ++round) {
    std::vector<size_t> order(keys.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    Mst shuffled;
    for (size_t i : order) ASSERT_TRUE(shuffled.Put(keys[i], RecordCid(i)).ok());
    EXPECT_EQ(shuffled.RootCid(), forward.RootCid());
    EXPECT_EQ(shuffled.Blocks().size(), forward.Blocks().size());
  }
  EXPECT_GT(forward.RootLayer(), 0);
}

TEST(Mst, InsertThenDeleteRestoresRoot) {
  auto keys = ExampleKeys();
  Mst base;
  for (size_t i = 0; i + 10 < keys.size(); ++i) ASSERT_TRUE(base.Put(keys[i], RecordCid(i)).ok());
  Cid before = base.RootCid();
  Mst grown = base;
  for (size_t i = keys.size() - 10; i < keys.size(); ++i) {
    ASSERT_TRUE(grown.Put(keys[i], RecordCid(i)).ok());
  }
  EXPECT_NE(grown.RootCid(), before);
  for (size_t i = keys.size() - 10; i < keys.size(); ++i) EXPECT_TRUE(grown.Remove(keys[i]));
  EXPECT_EQ(grown.RootCid(), before);
  EXPECT_FALSE(grown.Remove("com.example.record/nothere"));
  // Removing everything gives the empty tree again.
  for (const auto& [k, v] : base.List()) EXPECT_TRUE(base.Remove(k));
  EXPECT_EQ(base.RootCid(), Mst().RootCid());
}

TEST(Mst, GetListAndUpdate) {
  Mst t;
  ASSERT_TRUE(t.Put("io.atcr.tag/a", RecordCid(1)).ok());
  ASSERT_TRUE(t.Put("io.atcr.tag/b", RecordCid(2)).ok());
  ASSERT_TRUE(t.Put("io.atcr.manifest/3kznmn7xqxl22", RecordCid(3)).ok());
  EXPECT_EQ(t.Get("io.atcr.tag/a"), RecordCid(1));
  EXPECT_FALSE(t.Get("io.atcr.tag/c").has_value());
  auto tags = t.List("io.atcr.tag/");
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].first, "io.atcr.tag/a");
  auto after = t.List("io.atcr.tag/", "io.atcr.tag/a");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].first, "io.atcr.tag/b");
  EXPECT_EQ(t.List({}, {}, 1).size(), 1u);
  Cid r = t.RootCid();
  ASSERT_TRUE(t.Put("io.atcr.tag/a", RecordCid(9)).ok());
  EXPECT_NE(t.RootCid(), r);
  EXPECT_FALSE(t.Put("no-slash", RecordCid(1)).ok());
  EXPECT_FALSE(t.Put("a/b/c", RecordCid(1)).ok());
  EXPECT_FALSE(t.Put("io.atcr.tag/sp ace", RecordCid(1)).ok());
}

TEST(Mst, LoadRoundTrip) {
  auto keys = ExampleKeys();
  Mst t;
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_TRUE(t.Put(keys[i], RecordCid(i)).ok());
  MemoryBlockStore store;
  for (const auto& [cid, bytes] : t.Blocks()) store.Put(cid, bytes);
  auto loaded = Mst::Load(store, t.RootCid());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->List(), t.List());
  EXPECT_EQ(loaded->RootCid(), t.RootCid());
  // The empty tree loads too.
  MemoryBlockStore empty_store;
  Mst empty;
  for (const auto& [cid, bytes] : empty.Blocks()) empty_store.Put(cid, bytes);
  auto e = Mst::Load(empty_store, empty.RootCid());
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
}

TEST(Mst, LoadRejectsMissingAndCorruptNodes) {
  auto keys = ExampleKeys();
  Mst t;
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_TRUE(t.Put(keys[i], RecordCid(i)).ok());
  MemoryBlockStore partial;
  bool skipped = false;
  for (const auto& [cid, bytes] : t.Blocks()) {
    if (!skipped && cid != t.RootCid()) {
      skipped = true;
      continue;
    }
    partial.Put(cid, bytes);
  }
  EXPECT_FALSE(Mst::Load(partial, t.RootCid()).ok());

  // A hand-made node whose two keys sit at different layers is not an MST.
  auto entry = [](std::string_view k, int64_t p) {
    cbor::Value::Map e;
    e["k"] = Bytes(k.begin(), k.end());
    e["p"] = p;
    e["t"] = cbor::Value();
    e["v"] = LeafCid();
    return cbor::Value(std::move(e));
  };
  // Pick a layer-0 key and a layer-1+ key.
  std::string k0, k1;
  for (int i = 0; k0.empty() || k1.empty(); ++i) {
    std::string k = "com.example.record/k" + std::to_string(i);
    (MstKeyHeight(k) == 0 ? k0 : k1) = k;
  }
  if (k1 < k0) std::swap(k0, k1);
  cbor::Value::Map node;
  node["e"] = cbor::Value(cbor::Value::List{entry(k0, 0), entry(k1, 0)});
  node["l"] = cbor::Value();
  MemoryBlockStore bad;
  Cid root = bad.PutDagCbor(cbor::Encode(cbor::Value(std::move(node))));
  auto r = Mst::Load(bad, root);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("layer"), std::string::npos) << r.error().message;

  // Out-of-order keys in one node.
  std::string a = "com.example.record/a", b;
  for (int i = 0; b.empty(); ++i) {
    std::string k = "com.example.record/b" + std::to_string(i);
    if (MstKeyHeight(k) == MstKeyHeight(a)) b = k;
  }
  cbor::Value::Map unordered;
  unordered["e"] = cbor::Value(cbor::Value::List{entry(b, 0), entry(a, 0)});
  unordered["l"] = cbor::Value();
  MemoryBlockStore bad2;
  Cid root2 = bad2.PutDagCbor(cbor::Encode(cbor::Value(std::move(unordered))));
  EXPECT_FALSE(Mst::Load(bad2, root2).ok());

  // A node that is not an MST node at all.
  MemoryBlockStore bad3;
  Cid root3 = bad3.PutDagCbor(cbor::Encode(cbor::Value("hello")));
  EXPECT_FALSE(Mst::Load(bad3, root3).ok());
}

TEST(MstDiff, OpsAndNewNodes) {
  auto keys = ExampleKeys();
  Mst before;
  for (size_t i = 0; i < 100; ++i) ASSERT_TRUE(before.Put(keys[i], RecordCid(i)).ok());
  Mst after = before;
  ASSERT_TRUE(after.Put(keys[120], RecordCid(120)).ok());  // create
  ASSERT_TRUE(after.Put(keys[5], RecordCid(1005)).ok());   // update
  ASSERT_TRUE(after.Remove(keys[7]));                       // delete

  MstDiff d = DiffMst(before, after);
  ASSERT_EQ(d.ops.size(), 3u);
  for (const auto& op : d.ops) {
    if (op.path == keys[120]) {
      EXPECT_EQ(op.action, RecordOp::Action::kCreate);
      EXPECT_EQ(op.cid, RecordCid(120));
      EXPECT_FALSE(op.prev.has_value());
    } else if (op.path == keys[5]) {
      EXPECT_EQ(op.action, RecordOp::Action::kUpdate);
      EXPECT_EQ(op.cid, RecordCid(1005));
      EXPECT_EQ(op.prev, RecordCid(5));
    } else {
      EXPECT_EQ(op.path, keys[7]);
      EXPECT_EQ(op.action, RecordOp::Action::kDelete);
      EXPECT_FALSE(op.cid.has_value());
      EXPECT_EQ(op.prev, RecordCid(7));
    }
  }
  EXPECT_TRUE(std::is_sorted(d.ops.begin(), d.ops.end(),
                             [](const RecordOp& x, const RecordOp& y) { return x.path < y.path; }));
  // The new root is among the new nodes, and old blocks + new nodes hold the whole new tree.
  EXPECT_TRUE(d.new_nodes.contains(after.RootCid()));
  EXPECT_LT(d.new_nodes.size(), after.Blocks().size());
  MemoryBlockStore store;
  for (const auto& [cid, bytes] : before.Blocks()) store.Put(cid, bytes);
  for (const auto& [cid, bytes] : d.new_nodes) store.Put(cid, bytes);
  auto loaded = Mst::Load(store, after.RootCid());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->List(), after.List());
  // Every new node is really new; removed nodes are gone from the new tree.
  for (const auto& [cid, _] : d.new_nodes) EXPECT_FALSE(before.Blocks().contains(cid));
  for (const auto& cid : d.removed_nodes) EXPECT_FALSE(after.Blocks().contains(cid));
  EXPECT_TRUE(std::find(d.removed_nodes.begin(), d.removed_nodes.end(), before.RootCid()) !=
              d.removed_nodes.end());
  // No change, no diff.
  MstDiff none = DiffMst(after, after);
  EXPECT_TRUE(none.ops.empty());
  EXPECT_TRUE(none.new_nodes.empty());
  EXPECT_STREQ(RecordOpActionName(RecordOp::Action::kUpdate), "update");
}

// Random trees and random edits: the slice (new + proof nodes) always lets a consumer invert
// the ops back to the old root, and the partial-tree edits agree with the full rebuild.
TEST(MstInvert, RandomCommitsInvertFromTheSliceAlone) {
  auto keys = ExampleKeys();
  std::mt19937 rng(7);
  size_t proof_total = 0;
  for (int round = 0; round < 60; ++round) {
    Mst before;
    std::uniform_int_distribution<int> coin(0, 2);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (coin(rng) == 0) {
        ASSERT_TRUE(before.Put(keys[i], RecordCid(static_cast<int>(i))).ok());
      }
    }
    Mst after = before;
    std::uniform_int_distribution<size_t> pick(0, keys.size() - 1);
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const std::string& k = keys[pick(rng)];
      if (after.Contains(k) && rng() % 2 == 0) {
        after.Remove(k);
      } else {
        ASSERT_TRUE(after.Put(k, RecordCid(100000 + round * 100 + e)).ok());
      }
    }
    MstDiff d = DiffMst(before, after);
    MemoryBlockStore slice;
    for (const auto& [cid, bytes] : d.new_nodes) slice.Put(cid, bytes);
    for (const auto& [cid, bytes] : d.proof_nodes) slice.Put(cid, bytes);
    proof_total += d.proof_nodes.size();
    if (d.ops.empty()) continue;
    auto root = InvertOps(slice, after.RootCid(), d.ops);
    ASSERT_TRUE(root.ok()) << "round " << round << ": " << root.error().message;
    EXPECT_EQ(*root, before.RootCid()) << "round " << round;
    // And forwards: inverting "before -> after" ops from before's full block set.
    MstDiff back = DiffMst(after, before);
    MemoryBlockStore full;
    for (const auto& [cid, bytes] : before.Blocks()) full.Put(cid, bytes);
    auto fwd = InvertOps(full, before.RootCid(), back.ops);
    ASSERT_TRUE(fwd.ok()) << fwd.error().message;
    EXPECT_EQ(*fwd, after.RootCid());
  }
  RecordProperty("proof_nodes", static_cast<int>(proof_total));
}

TEST(MstInvert, GrowsAndShrinksLayers) {
  // A key higher than every other moves the root up; removing it moves it back down.
  std::string high;
  for (int i = 0; high.empty(); ++i) {
    std::string k = "com.example.record/h" + std::to_string(i);
    if (MstKeyHeight(k) >= 3) high = k;
  }
  Mst before;
  for (int i = 0; i < 30; ++i) {
    std::string k = "com.example.record/x" + std::to_string(i);
    if (MstKeyHeight(k) < 2) {
      ASSERT_TRUE(before.Put(k, RecordCid(i)).ok());
    }
  }
  Mst after = before;
  ASSERT_TRUE(after.Put(high, RecordCid(999)).ok());
  ASSERT_GT(after.RootLayer(), before.RootLayer());
  MstDiff d = DiffMst(before, after);
  MemoryBlockStore slice;
  for (const auto& [cid, bytes] : d.new_nodes) slice.Put(cid, bytes);
  for (const auto& [cid, bytes] : d.proof_nodes) slice.Put(cid, bytes);
  auto root = InvertOps(slice, after.RootCid(), d.ops);
  ASSERT_TRUE(root.ok()) << root.error().message;
  EXPECT_EQ(*root, before.RootCid());
  // Everything removed: back to the empty tree; everything created from empty.
  Mst empty;
  MstDiff wipe = DiffMst(after, empty);
  MemoryBlockStore empty_store;
  for (const auto& [cid, bytes] : empty.Blocks()) empty_store.Put(cid, bytes);
  auto rebuilt = InvertOps(empty_store, empty.RootCid(), wipe.ops);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message;
  EXPECT_EQ(*rebuilt, after.RootCid());
}

TEST(MstInvert, RejectsOpsThatDoNotMatch) {
  Mst t;
  ASSERT_TRUE(t.Put("io.atcr.tag/a", RecordCid(1)).ok());
  MemoryBlockStore store;
  for (const auto& [cid, bytes] : t.Blocks()) store.Put(cid, bytes);
  using A = RecordOp::Action;
  std::vector<RecordOp> wrong_cid = {{A::kCreate, "io.atcr.tag/a", RecordCid(2), std::nullopt}};
  EXPECT_FALSE(InvertOps(store, t.RootCid(), wrong_cid).ok());
  std::vector<RecordOp> missing = {{A::kCreate, "io.atcr.tag/zz", RecordCid(2), std::nullopt}};
  EXPECT_FALSE(InvertOps(store, t.RootCid(), missing).ok());
  std::vector<RecordOp> still_there = {{A::kDelete, "io.atcr.tag/a", std::nullopt, RecordCid(1)}};
  EXPECT_FALSE(InvertOps(store, t.RootCid(), still_there).ok());
  std::vector<RecordOp> no_prev = {{A::kUpdate, "io.atcr.tag/a", RecordCid(1), std::nullopt}};
  EXPECT_FALSE(InvertOps(store, t.RootCid(), no_prev).ok());
  std::vector<RecordOp> twice = {{A::kCreate, "io.atcr.tag/a", RecordCid(1), std::nullopt},
                                 {A::kCreate, "io.atcr.tag/a", RecordCid(1), std::nullopt}};
  EXPECT_FALSE(InvertOps(store, t.RootCid(), twice).ok());
  MemoryBlockStore nothing;
  EXPECT_EQ(InvertOps(nothing, t.RootCid(), wrong_cid).error().code, ErrorCode::kNotFound);
}


// EditMst (the incremental write path) agrees with the full tree: same root, new and removed
// nodes exactly the block-set difference, and the proof nodes let a consumer invert the slice.
TEST(MstEdit, RandomEditsMatchTheFullTree) {
  auto keys = ExampleKeys();
  std::mt19937 rng(11);
  using A = RecordOp::Action;
  for (int round = 0; round < 60; ++round) {
    Mst before;
    std::uniform_int_distribution<int> coin(0, 2);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (coin(rng) == 0) {
        ASSERT_TRUE(before.Put(keys[i], RecordCid(static_cast<int>(i))).ok());
      }
    }
    MemoryBlockStore store;
    for (const auto& [cid, bytes] : before.Blocks()) store.Put(cid, bytes);
    Mst after = before;
    std::vector<RecordOp> ops;
    std::set<std::string> touched;
    std::uniform_int_distribution<size_t> pick(0, keys.size() - 1);
    int edits = round == 0 ? 0 : 1 + static_cast<int>(rng() % 10);
    for (int e = 0; e < edits; ++e) {
      const std::string& k = keys[pick(rng)];
      if (!touched.insert(k).second) continue;
      Cid v = RecordCid(200000 + round * 100 + e);
      if (after.Contains(k)) {
        if (rng() % 2 == 0) {
          after.Remove(k);
          ops.push_back({A::kDelete, k, std::nullopt, std::nullopt});
        } else {
          ASSERT_TRUE(after.Put(k, v).ok());
          ops.push_back({A::kUpdate, k, v, std::nullopt});
        }
      } else {
        ASSERT_TRUE(after.Put(k, v).ok());
        ops.push_back({A::kCreate, k, v, std::nullopt});
      }
    }
    auto edit = EditMst(store, before.RootCid(), ops);
    ASSERT_TRUE(edit.ok()) << "round " << round << ": " << edit.error().message;
    ASSERT_EQ(edit->root, after.RootCid()) << "round " << round;
    std::set<Cid> want_new, want_removed, got_removed(edit->removed_nodes.begin(),
                                                      edit->removed_nodes.end());
    for (const auto& [cid, b] : after.Blocks()) {
      if (!before.Blocks().contains(cid)) want_new.insert(cid);
    }
    for (const auto& [cid, b] : before.Blocks()) {
      if (!after.Blocks().contains(cid)) want_removed.insert(cid);
    }
    std::set<Cid> got_new;
    for (const auto& [cid, bytes] : edit->new_nodes) {
      got_new.insert(cid);
      EXPECT_EQ(bytes, after.Blocks().at(cid));
    }
    EXPECT_EQ(got_new, want_new) << "round " << round;
    EXPECT_EQ(got_removed, want_removed) << "round " << round;
    ASSERT_EQ(edit->ops.size(), ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      EXPECT_EQ(edit->ops[i].prev, before.Get(ops[i].path));
    }
    if (ops.empty()) continue;
    MemoryBlockStore slice;
    for (const auto& [cid, bytes] : edit->new_nodes) slice.Put(cid, bytes);
    for (const auto& [cid, bytes] : edit->proof_nodes) slice.Put(cid, bytes);
    auto back = InvertOps(slice, edit->root, edit->ops);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, before.RootCid());
  }
}

TEST(MstEdit, RejectsWritesThatDoNotFit) {
  Mst t;
  ASSERT_TRUE(t.Put("io.atcr.tag/a", RecordCid(1)).ok());
  MemoryBlockStore store;
  for (const auto& [cid, bytes] : t.Blocks()) store.Put(cid, bytes);
  using A = RecordOp::Action;
  std::vector<RecordOp> exists = {{A::kCreate, "io.atcr.tag/a", RecordCid(2), std::nullopt}};
  EXPECT_EQ(EditMst(store, t.RootCid(), exists).error().code, ErrorCode::kAlreadyExists);
  std::vector<RecordOp> absent = {{A::kDelete, "io.atcr.tag/b", std::nullopt, std::nullopt}};
  EXPECT_EQ(EditMst(store, t.RootCid(), absent).error().code, ErrorCode::kNotFound);
  std::vector<RecordOp> stale = {{A::kUpdate, "io.atcr.tag/a", RecordCid(3), RecordCid(9)}};
  EXPECT_EQ(EditMst(store, t.RootCid(), stale).error().code, ErrorCode::kFailedPrecondition);
  std::vector<RecordOp> twice = {{A::kUpdate, "io.atcr.tag/a", RecordCid(3), std::nullopt},
                                 {A::kDelete, "io.atcr.tag/a", std::nullopt, std::nullopt}};
  EXPECT_FALSE(EditMst(store, t.RootCid(), twice).ok());
  std::vector<RecordOp> bad_key = {{A::kCreate, "nokey", RecordCid(2), std::nullopt}};
  EXPECT_FALSE(EditMst(store, t.RootCid(), bad_key).ok());
  // Emptying the tree gives the empty node, and creating from empty works.
  std::vector<RecordOp> wipe = {{A::kDelete, "io.atcr.tag/a", std::nullopt, std::nullopt}};
  auto e = EditMst(store, t.RootCid(), wipe);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->root, Mst().RootCid());
  EXPECT_EQ(e->new_nodes.count(Mst().RootCid()), 1u);
}

TEST(MstProofPath, InclusionAndAbsence) {
  auto keys = ExampleKeys();
  Mst t;
  for (size_t i = 0; i < keys.size(); i += 2) {
    ASSERT_TRUE(t.Put(keys[i], RecordCid(static_cast<int>(i))).ok());
  }
  MemoryBlockStore store;
  for (const auto& [cid, bytes] : t.Blocks()) store.Put(cid, bytes);
  for (size_t i = 0; i < keys.size(); ++i) {
    auto p = MstProofPath(store, t.RootCid(), keys[i]);
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_FALSE(p->nodes.empty());
    EXPECT_EQ(p->nodes.front(), t.RootCid());
    EXPECT_EQ(p->value, t.Get(keys[i]));
    // The path alone proves the answer: a tree loaded from just these nodes gives the same.
    MemoryBlockStore proof;
    for (const Cid& c : p->nodes) proof.Put(c, store.Get(c).value());
    auto again = MstProofPath(proof, t.RootCid(), keys[i]);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again->value, p->value);
  }
  MemoryBlockStore nothing;
  EXPECT_EQ(MstProofPath(nothing, t.RootCid(), keys[0]).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace atcr::atproto
