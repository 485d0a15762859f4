// Access rules, record conversions, and the index's quota math.
#include <gtest/gtest.h>

#include "atcr/hold/access.h"
#include "atcr/hold/record_store.h"
#include "internal/activity.h"
#include "internal/hold_index.h"

namespace atcr::hold {
namespace {

constexpr const char* kOwner = "did:plc:owner000000000000000000";
constexpr const char* kAlice = "did:plc:alice000000000000000000";
constexpr const char* kBob = "did:plc:bob00000000000000000000";

CrewMember Crew(const char* did, std::vector<std::string> perms) {
  CrewMember m;
  m.member = did;
  m.role = "write";
  m.permissions = std::move(perms);
  return m;
}

TEST(Access, PublicHoldReadsForAnyone) {
  Captain c;
  c.owner = kOwner;
  c.is_public = true;
  EXPECT_TRUE(CanRead(c, "", nullptr));
  EXPECT_TRUE(CanRead(c, kBob, nullptr));
  EXPECT_FALSE(CanWrite(c, kBob, nullptr));
  EXPECT_FALSE(CanWrite(c, "", nullptr));
}

TEST(Access, PrivateHoldGatesAnonymousAndNonCrew) {
  Captain c;
  c.owner = kOwner;
  EXPECT_FALSE(CanRead(c, "", nullptr));
  EXPECT_FALSE(CanRead(c, kBob, nullptr));
  EXPECT_TRUE(CanRead(c, kOwner, nullptr));
  CrewMember reader = Crew(kAlice, {"blob:read"});
  EXPECT_TRUE(CanRead(c, kAlice, &reader));
  EXPECT_FALSE(CanWrite(c, kAlice, &reader));
  CrewMember writer_only = Crew(kAlice, {"blob:write"});
  EXPECT_FALSE(CanRead(c, kAlice, &writer_only));
  EXPECT_TRUE(CanWrite(c, kAlice, &writer_only));
  // A crew record of someone else never grants anything.
  EXPECT_FALSE(CanRead(c, kBob, &reader));
}

TEST(Access, CrewManagement) {
  Captain c;
  c.owner = kOwner;
  CrewMember admin = Crew(kAlice, {"crew:admin"});
  CrewMember writer = Crew(kBob, {"blob:read", "blob:write"});
  EXPECT_TRUE(CanManageCrew(c, kOwner, nullptr));
  EXPECT_TRUE(CanManageCrew(c, kAlice, &admin));
  EXPECT_FALSE(CanManageCrew(c, kBob, &writer));
  EXPECT_FALSE(CanManageCrew(c, "", nullptr));
}

TEST(Access, RecordsRoundTrip) {
  Captain c;
  c.owner = kOwner;
  c.is_public = true;
  c.deployed_at = "2026-01-02T03:04:05.000Z";
  c.region = "eu";
  auto back = Captain::FromRecord(c.ToRecord());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToRecord(), c.ToRecord());
  EXPECT_EQ(c.ToRecord().at("$type").as_string(), "io.atcr.hold.captain");
  EXPECT_FALSE(c.ToRecord().contains("provider"));

  CrewMember m = Crew(kAlice, {"blob:read"});
  m.tier = "bosun";
  m.added_at = "2026-01-02T03:04:05.000Z";
  auto mb = CrewMember::FromRecord(m.ToRecord());
  ASSERT_TRUE(mb.ok());
  EXPECT_EQ(mb->tier, "bosun");
  EXPECT_TRUE(mb->Has("blob:read"));
  EXPECT_FALSE(CrewMember::FromRecord(boost::json::object{{"member", "nope"}}).ok());
}

TEST(Access, Rkeys) {
  // 16 bytes of SHA-256 in lowercase unpadded base32: 26 characters, stable, distinct.
  std::string a = CrewRkey(kAlice);
  EXPECT_EQ(a.size(), 26u);
  EXPECT_EQ(a, CrewRkey(kAlice));
  EXPECT_NE(a, CrewRkey(kBob));
  EXPECT_EQ(StatsRkey(kAlice, "app"), StatsRkey(kAlice, "app"));
  EXPECT_NE(StatsRkey(kAlice, "app"), StatsRkey(kAlice, "app2"));
  for (char ch : StatsRkey(kAlice, "app")) {
    EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '2' && ch <= '7')) << ch;
  }
}

internal::LayerRow Row(std::string rkey, std::string user, std::string digest, uint64_t size,
                       std::string manifest = "at://m/1") {
  internal::LayerRow r;
  r.rkey = std::move(rkey);
  r.user_did = std::move(user);
  r.digest = std::move(digest);
  r.size = size;
  r.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
  r.manifest = std::move(manifest);
  r.created_at = "2026-01-01T00:00:00.000Z";
  return r;
}

TEST(HoldIndex, UsageCountsEachDigestOncePerUser) {
  auto index = internal::HoldIndex::Open(":memory:");
  ASSERT_TRUE(index.ok());
  auto& ix = **index;
  ASSERT_TRUE(ix.AddLayers({Row("1", kAlice, "sha256:aa", 100, "at://m/1"),
                            Row("2", kAlice, "sha256:bb", 50, "at://m/1"),
                            // The same base layer in a second manifest: counted once.
                            Row("3", kAlice, "sha256:aa", 100, "at://m/2"),
                            // Bob shares the layer: it counts for him too.
                            Row("4", kBob, "sha256:aa", 100, "at://m/3")})
                  .ok());
  auto alice = ix.UsageOf(kAlice);
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->unique_blobs, 2u);
  EXPECT_EQ(alice->total_size, 150u);
  EXPECT_EQ(ix.UsageOf(kBob)->total_size, 100u);
  EXPECT_EQ(ix.UsageOf(kOwner)->total_size, 0u);

  // Bytes a push would add: only digests the user lacks, each once.
  auto added = ix.AddedBytes(kAlice, {{"sha256:aa", 100}, {"sha256:cc", 10}, {"sha256:cc", 10},
                                      {"sha256:dd", 5}});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(*added, 15u);

  EXPECT_TRUE(*ix.HasLayer("at://m/1", "sha256:bb"));
  EXPECT_FALSE(*ix.HasLayer("at://m/2", "sha256:bb"));
  EXPECT_EQ(ix.LayersOfManifest("at://m/1")->size(), 2u);
  EXPECT_EQ(ix.ReferencedDigests()->size(), 2u);

  ASSERT_TRUE(ix.RemoveLayers({"1", "3"}).ok());
  EXPECT_EQ(ix.UsageOf(kAlice)->total_size, 50u);
  EXPECT_TRUE(*ix.IsReferenced("sha256:aa"));  // still Bob's
  ASSERT_TRUE(ix.RemoveLayers({"4"}).ok());
  EXPECT_FALSE(*ix.IsReferenced("sha256:aa"));

  auto by_user = ix.UsageByUser();
  ASSERT_TRUE(by_user.ok());
  ASSERT_EQ(by_user->size(), 1u);
  EXPECT_EQ((*by_user)[0].first, kAlice);

  ASSERT_TRUE(ix.ReplaceLayers({Row("9", kBob, "sha256:ee", 7)}).ok());
  EXPECT_EQ(*ix.LayerRkeys(), std::vector<std::string>{"9"});
}

TEST(HoldIndex, Uploads) {
  auto index = internal::HoldIndex::Open(":memory:");
  ASSERT_TRUE(index.ok());
  auto& ix = **index;
  ASSERT_TRUE(ix.AddUpload({"u1", "sha256:aa", kAlice, 100, 100}).ok());
  ASSERT_TRUE(ix.TouchUpload("u1", 200).ok());
  auto u = ix.GetUpload("u1");
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->touched_unix, 200);
  EXPECT_EQ((*u)->user_did, kAlice);
  EXPECT_FALSE(ix.GetUpload("u2")->has_value());
  ASSERT_TRUE(ix.RemoveUpload("u1").ok());
  EXPECT_TRUE(ix.Uploads()->empty());
}

TEST(DigestActivity, PinsAndTouchesKeepGcAway) {
  internal::DigestActivity a;
  const std::string d = "sha256:aa";
  // Untouched: GC may claim it; while claimed, a push cannot pin it.
  EXPECT_TRUE(a.Claim(d, 100));
  EXPECT_FALSE(a.Pin(d, 200));
  EXPECT_FALSE(a.Touch(d, 200));  // the touch is recorded but reports the deletion
  a.Release(d);
  // Touched after the cutoff: not claimable.
  EXPECT_FALSE(a.Claim(d, 150));
  EXPECT_TRUE(a.TouchedAfter(d, 150));
  // Pinned: not claimable even when the touch is old, until unpinned.
  const std::string e = "sha256:bb";
  ASSERT_TRUE(a.Pin(e, 10));
  ASSERT_TRUE(a.Pin(e, 10));
  EXPECT_FALSE(a.Claim(e, 100));
  a.Unpin(e);
  EXPECT_FALSE(a.Claim(e, 100));  // still pinned once
  a.Unpin(e);
  EXPECT_TRUE(a.Claim(e, 100));
  a.Release(e);
  a.Prune(1000);
  EXPECT_EQ(a.size(), 0u);
}

TEST(SqliteRecordStore, WritesListsAndComputesCids) {
  auto store = OpenSqliteRecordStore(":memory:", "did:web:hold.example.com");
  ASSERT_TRUE(store.ok());
  RecordStore& rs = **store;
  boost::json::object v{{"$type", "io.atcr.hold.stats"}, {"pushCount", 1}};
  auto out = rs.Apply({{RecordWrite::Action::kCreate, "io.atcr.hold.stats", "b", v},
                       {RecordWrite::Action::kCreate, "io.atcr.hold.stats", "a", v}});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ((*out)[0].uri, "at://did:web:hold.example.com/io.atcr.hold.stats/b");
  EXPECT_EQ((*out)[0].cid, (*out)[1].cid);  // same content, same CID
  EXPECT_EQ((*out)[0].cid.substr(0, 4), "bafy");
  auto again = rs.Apply({{RecordWrite::Action::kCreate, "io.atcr.hold.stats", "a", v}});
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto list = rs.List("io.atcr.hold.stats", 10, "", false);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].rkey, "a");
  EXPECT_EQ(rs.List("io.atcr.hold.stats", 10, "a", false)->size(), 1u);
  EXPECT_EQ((*rs.List("io.atcr.hold.stats", 10, "", true))[0].rkey, "b");
  // A record whose $type is not its collection is refused; the batch is atomic.
  boost::json::object wrong{{"$type", "io.atcr.hold.crew"}};
  auto bad = rs.Apply({{RecordWrite::Action::kDelete, "io.atcr.hold.stats", "a", {}},
                       {RecordWrite::Action::kPut, "io.atcr.hold.stats", "c", wrong}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(rs.Get("io.atcr.hold.stats", "a")->has_value());
  ASSERT_TRUE(rs.Apply({{RecordWrite::Action::kDelete, "io.atcr.hold.stats", "a", {}}}).ok());
  EXPECT_FALSE(rs.Get("io.atcr.hold.stats", "a")->has_value());
  EXPECT_EQ(*rs.Collections(), std::vector<std::string>{"io.atcr.hold.stats"});
}

}  // namespace
}  // namespace atcr::hold
