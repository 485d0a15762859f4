#include "atcr/appview/secret_box.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "test_util.h"

namespace atcr::appview {
namespace {

std::array<uint8_t, 32> Key(uint8_t fill) {
  std::array<uint8_t, 32> k{};
  k.fill(fill);
  return k;
}

TEST(SecretBox, SealsAndOpens) {
  SecretBox box(Key(1));
  std::string sealed = box.Seal("refresh-token-value", "did:plc:alice|refresh");
  EXPECT_EQ(sealed.find("refresh-token-value"), std::string::npos);
  EXPECT_EQ(sealed.size(), 1 + 12 + 19 + 16);
  auto opened = box.Open(sealed, "did:plc:alice|refresh");
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  EXPECT_EQ(*opened, "refresh-token-value");
  // Fresh nonce each time.
  EXPECT_NE(box.Seal("x", "a"), box.Seal("x", "a"));
}

TEST(SecretBox, RefusesTamperingOtherKeysAndOtherRows) {
  SecretBox box(Key(1));
  std::string sealed = box.Seal("secret", "did:plc:alice");
  std::string flipped = sealed;
  flipped[20] ^= 1;
  EXPECT_EQ(box.Open(flipped, "did:plc:alice").error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(box.Open(sealed, "did:plc:bob").error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(SecretBox(Key(2)).Open(sealed, "did:plc:alice").error().code, ErrorCode::kDataLoss);
  EXPECT_FALSE(box.Open("short", "did:plc:alice").ok());
}

TEST(SecretBox, KeyFileIsCreatedOnceWithMode0600) {
  testing::TempDir dir;
  std::string path = dir.path() + "/secret.key";
  auto a = SecretBox::LoadOrCreate(path);
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(st.st_size, 32);
  auto b = SecretBox::LoadOrCreate(path);
  ASSERT_TRUE(b.ok());
  auto opened = b->Open(a->Seal("v", "ad"), "ad");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "v");
}

TEST(SecretBox, RefusesAKeyFileOthersCanRead) {
  testing::TempDir dir;
  std::string path = dir.path() + "/secret.key";
  ASSERT_TRUE(SecretBox::LoadOrCreate(path).ok());
  ::chmod(path.c_str(), 0644);
  auto r = SecretBox::LoadOrCreate(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
}

TEST(SecretBox, RefusesAKeyFileOfTheWrongSize) {
  testing::TempDir dir;
  std::string path = dir.path() + "/secret.key";
  {
    std::ofstream out(path);
    out << "too short";
  }
  ::chmod(path.c_str(), 0600);
  EXPECT_FALSE(SecretBox::LoadOrCreate(path).ok());
}

}  // namespace
}  // namespace atcr::appview
