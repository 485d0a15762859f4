#include "atcr/atproto/commit.h"

#include <gtest/gtest.h>

#include "atcr/atproto/car.h"
#include "atcr/cbor/codec.h"

namespace atcr::atproto {
namespace {

using cbor::Cid;
using crypto::KeyType;
using crypto::PrivateKey;

constexpr std::string_view kDid = "did:plc:7iza6de2dwap2sbkpav7c6c6";

Cid SomeRoot() {
  Mst t;
  EXPECT_TRUE(t.Put("io.atcr.tag/latest", Cid::ForDagCbor(cbor::Encode(cbor::Value(1)))).ok());
  return t.RootCid();
}

class CommitSigning : public ::testing::TestWithParam<KeyType> {};

TEST_P(CommitSigning, SignVerifyRoundTrip) {
  PrivateKey key = PrivateKey::Generate(GetParam());
  TidClock clock(3);
  auto signed_commit = SignCommit(kDid, SomeRoot(), clock.Next(), std::nullopt, key);
  ASSERT_TRUE(signed_commit.ok()) << signed_commit.error().message;
  EXPECT_EQ(signed_commit->commit.sig.size(), 64u);
  EXPECT_EQ(signed_commit->cid, Cid::ForDagCbor(signed_commit->bytes));
  EXPECT_TRUE(VerifyCommit(signed_commit->commit, key.public_key()).ok());

  auto decoded = Commit::Decode(signed_commit->bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, signed_commit->commit);
  EXPECT_EQ(decoded->ComputeCid(), signed_commit->cid);
  EXPECT_TRUE(VerifyCommit(*decoded, key.public_key()).ok());
}

TEST_P(CommitSigning, WrongKeyFails) {
  PrivateKey key = PrivateKey::Generate(GetParam());
  PrivateKey other = PrivateKey::Generate(GetParam());
  auto c = SignCommit(kDid, SomeRoot(), TidClock(1).Next(), std::nullopt, key);
  ASSERT_TRUE(c.ok());
  auto st = VerifyCommit(c->commit, other.public_key());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated);
}

TEST_P(CommitSigning, TamperedFieldsFail) {
  PrivateKey key = PrivateKey::Generate(GetParam());
  auto c = SignCommit(kDid, SomeRoot(), TidClock(1).Next(), std::nullopt, key);
  ASSERT_TRUE(c.ok());
  const auto& pub = key.public_key();
  Commit t = c->commit;
  t.did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
  EXPECT_FALSE(VerifyCommit(t, pub).ok());
  t = c->commit;
  t.data = Mst().RootCid();
  EXPECT_FALSE(VerifyCommit(t, pub).ok());
  t = c->commit;
  t.rev = Tid::FromParts(1, 1).ToString();
  EXPECT_FALSE(VerifyCommit(t, pub).ok());
  t = c->commit;
  t.prev = Mst().RootCid();
  EXPECT_FALSE(VerifyCommit(t, pub).ok());
  t = c->commit;
  t.sig[10] ^= 0x40;
  EXPECT_FALSE(VerifyCommit(t, pub).ok());
  t = c->commit;
  t.sig.pop_back();
  EXPECT_FALSE(VerifyCommit(t, pub).ok());
  // Tampering with the encoded block breaks the decode or the signature.
  Bytes bytes = c->bytes;
  bytes[bytes.size() / 2] ^= 0x01;
  auto d = Commit::Decode(bytes);
  EXPECT_TRUE(!d.ok() || !VerifyCommit(*d, pub).ok());
}

INSTANTIATE_TEST_SUITE_P(Curves, CommitSigning, ::testing::Values(KeyType::kK256, KeyType::kP256),
                         [](const auto& info) {
                           return std::string(crypto::KeyTypeName(info.param));
                         });

TEST(Commit, EncodingMatchesReferenceLayout) {
  PrivateKey key = PrivateKey::Generate(KeyType::kK256);
  auto c = SignCommit(kDid, SomeRoot(), TidClock(1).Next(), std::nullopt, key);
  ASSERT_TRUE(c.ok());
  auto v = cbor::Decode(c->bytes);
  ASSERT_TRUE(v.ok());
  std::string order;
  for (const auto& [k, _] : v->as_map()) order += k + ",";
  EXPECT_EQ(order, "did,rev,sig,data,prev,version,");
  ASSERT_NE(v->Find("prev"), nullptr);
  EXPECT_TRUE(v->Find("prev")->is_null());  // present, null
  EXPECT_EQ(v->FindInt("version"), 3);
}

TEST(Commit, DecodeRejectsMalformed) {
  PrivateKey key = PrivateKey::Generate(KeyType::kK256);
  auto c = SignCommit(kDid, SomeRoot(), TidClock(1).Next(), std::nullopt, key);
  ASSERT_TRUE(c.ok());
  auto mutate = [&](auto f) {
    cbor::Value v = *cbor::Decode(c->bytes);
    f(v.as_map());
    return Commit::Decode(cbor::Encode(v));
  };
  EXPECT_TRUE(mutate([](cbor::Value::Map&) {}).ok());
  EXPECT_FALSE(mutate([](cbor::Value::Map& m) { m.erase("prev"); }).ok());
  EXPECT_FALSE(mutate([](cbor::Value::Map& m) { m["version"] = 2; }).ok());
  EXPECT_FALSE(mutate([](cbor::Value::Map& m) { m["extra"] = 1; }).ok());
  EXPECT_FALSE(mutate([](cbor::Value::Map& m) { m["rev"] = "not-a-tid"; }).ok());
  EXPECT_FALSE(mutate([](cbor::Value::Map& m) { m["did"] = "alice.test"; }).ok());
  EXPECT_FALSE(mutate([](cbor::Value::Map& m) { m["sig"] = Bytes(10, 0); }).ok());
  EXPECT_FALSE(mutate([](cbor::Value::Map& m) { m["data"] = "bafy"; }).ok());
  EXPECT_FALSE(Commit::Decode(Bytes{0x01, 0x02}).ok());
  EXPECT_FALSE(SignCommit("nope", SomeRoot(), TidClock(1).Next(), std::nullopt, key).ok());
}

// A repository's life: two commits, the firehose slice of the second, and a full export;
// a consumer reads each CAR, verifies the commit and walks the MST.
TEST(Commit, CommitCarSliceAndRepoExport) {
  PrivateKey key = PrivateKey::Generate(KeyType::kK256);
  TidClock clock(9);
  std::map<Cid, Bytes> records;
  auto record = [&](std::string_view text) {
    cbor::Value::Map m;
    m["$type"] = "io.atcr.tag";
    m["tag"] = std::string(text);
    Bytes b = cbor::Encode(cbor::Value(std::move(m)));
    Cid cid = Cid::ForDagCbor(b);
    records[cid] = b;
    return cid;
  };
  Mst v1;
  ASSERT_TRUE(v1.Put("io.atcr.tag/a", record("a")).ok());
  ASSERT_TRUE(v1.Put("io.atcr.tag/b", record("b")).ok());
  auto c1 = SignCommit(kDid, v1.RootCid(), clock.Next(), std::nullopt, key);
  ASSERT_TRUE(c1.ok());

  Mst v2 = v1;
  Cid new_c = record("c");
  ASSERT_TRUE(v2.Put("io.atcr.tag/c", new_c).ok());
  ASSERT_TRUE(v2.Remove("io.atcr.tag/a"));
  auto c2 = SignCommit(kDid, v2.RootCid(), clock.Next(), std::nullopt, key);
  ASSERT_TRUE(c2.ok());
  EXPECT_LT(c1->commit.rev, c2->commit.rev);

  MstDiff diff = DiffMst(v1, v2);
  Bytes slice = WriteCommitCar(*c2, diff, records);
  MemoryBlockStore store;
  auto roots = ReadCarIntoStore(slice, &store);
  ASSERT_TRUE(roots.ok()) << roots.error().message;
  ASSERT_EQ((*roots)[0], c2->cid);
  auto commit = Commit::Decode(*store.Get(c2->cid));
  ASSERT_TRUE(commit.ok());
  EXPECT_TRUE(VerifyCommit(*commit, key.public_key()).ok());
  EXPECT_TRUE(store.Has(new_c));                   // created record is carried
  EXPECT_TRUE(store.Has(v2.RootCid()));            // new root node is carried
  EXPECT_EQ(store.size(), 1 + diff.new_nodes.size() + diff.proof_nodes.size() + 1);
  // A consumer can invert the commit from the slice alone.
  auto inverted = InvertOps(store, commit->data, diff.ops);
  ASSERT_TRUE(inverted.ok()) << inverted.error().message;
  EXPECT_EQ(*inverted, v1.RootCid());

  Bytes repo = WriteRepoCar(*c2, v2, records);
  MemoryBlockStore full;
  ASSERT_TRUE(ReadCarIntoStore(repo, &full).ok());
  auto head = Commit::Decode(*full.Get(c2->cid));
  ASSERT_TRUE(head.ok());
  auto tree = Mst::Load(full, head->data);
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  EXPECT_EQ(tree->List(), v2.List());
  for (const auto& [path, cid] : tree->List()) EXPECT_TRUE(full.Has(cid)) << path;
}

}  // namespace
}  // namespace atcr::atproto
