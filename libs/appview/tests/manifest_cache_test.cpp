#include "atcr/appview/manifest_cache.h"

#include <gtest/gtest.h>

namespace atcr::appview {
namespace {

oci::Digest D(std::string_view s) { return oci::Digest::Sha256Of(AsBytes(s)); }

CachedManifest M(std::string bytes, std::string rkey) {
  CachedManifest m;
  m.digest = D(bytes);
  m.bytes = std::move(bytes);
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.rkey = std::move(rkey);
  m.hold_did = "did:web:hold";
  return m;
}

TEST(ManifestCache, ServesWhatWasPut) {
  ManifestCache c;
  uint64_t g = c.Generation("did:a");
  c.PutManifest("did:a", "app", M("body", "rk1"), g);
  c.PutTag("did:a", "app", "latest", {D("body"), "app:latest"}, g);
  auto m = c.GetManifest("did:a", "app", D("body"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->bytes, "body");
  EXPECT_EQ(m->hold_did, "did:web:hold");
  auto t = c.GetTag("did:a", "app", "latest");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->digest, D("body"));
  EXPECT_FALSE(c.GetManifest("did:a", "other", D("body")));
  EXPECT_FALSE(c.GetManifest("did:b", "app", D("body")));
  EXPECT_EQ(c.hits(), 2u);
  EXPECT_EQ(c.misses(), 2u);
}

TEST(ManifestCache, FirehoseRecordChangesDropTheirEntries) {
  ManifestCache c;
  uint64_t g = c.Generation("did:a");
  c.PutManifest("did:a", "app", M("body", "rk1"), g);
  c.PutTag("did:a", "app", "latest", {D("body"), "app:latest"}, g);
  c.PutTag("did:a", "app", "v1", {D("body"), "app:v1"}, g);
  c.InvalidateRecord("did:a", "io.atcr.tag", "app:latest");
  EXPECT_FALSE(c.GetTag("did:a", "app", "latest"));
  EXPECT_TRUE(c.GetTag("did:a", "app", "v1"));
  c.InvalidateRecord("did:a", "io.atcr.manifest", "rk1");
  EXPECT_FALSE(c.GetManifest("did:a", "app", D("body")));
  // Another owner's record with the same key changes nothing here.
  g = c.Generation("did:a");
  c.PutManifest("did:a", "app", M("body", "rk1"), g);
  c.InvalidateRecord("did:b", "io.atcr.manifest", "rk1");
  EXPECT_TRUE(c.GetManifest("did:a", "app", D("body")));
}

TEST(ManifestCache, AReadThatRacedAnInvalidationIsNotStored) {
  ManifestCache c;
  uint64_t before = c.Generation("did:a");
  // A push (or firehose event) lands while a reader is still fetching the old record.
  c.InvalidateTag("did:a", "app", "latest");
  c.PutTag("did:a", "app", "latest", {D("old"), "app:latest"}, before);
  EXPECT_FALSE(c.GetTag("did:a", "app", "latest"));
  c.PutTag("did:a", "app", "latest", {D("new"), "app:latest"}, c.Generation("did:a"));
  EXPECT_EQ(c.GetTag("did:a", "app", "latest")->digest, D("new"));
  // Other owners are unaffected by did:a's generation.
  c.PutTag("did:b", "app", "latest", {D("b"), "app:latest"}, before);
  EXPECT_TRUE(c.GetTag("did:b", "app", "latest"));
}

TEST(ManifestCache, StaysWithinItsByteBudget) {
  ManifestCache c(10 * 1024);
  for (int i = 0; i < 100; ++i) {
    std::string body(1000, static_cast<char>('a' + i % 26));
    body += std::to_string(i);
    c.PutManifest("did:a", "app", M(body, "rk" + std::to_string(i)), c.Generation("did:a"));
  }
  EXPECT_LE(c.bytes(), 10u * 1024);
  EXPECT_GT(c.entries(), 0u);
  // The newest survives, the oldest went.
  std::string last(1000, static_cast<char>('a' + 99 % 26));
  last += "99";
  EXPECT_TRUE(c.GetManifest("did:a", "app", D(last)));
  std::string first(1000, 'a');
  first += "0";
  EXPECT_FALSE(c.GetManifest("did:a", "app", D(first)));
}

TEST(ManifestCache, InvalidateOwnerDropsEverythingOfThatOwner) {
  ManifestCache c;
  c.PutManifest("did:a", "app", M("x", "r1"), 0);
  c.PutManifest("did:b", "app", M("y", "r2"), 0);
  c.InvalidateOwner("did:a");
  EXPECT_FALSE(c.GetManifest("did:a", "app", D("x")));
  EXPECT_TRUE(c.GetManifest("did:b", "app", D("y")));
}

}  // namespace
}  // namespace atcr::appview
