#include "atcr/atproto/syntax.h"

#include <functional>

#include <gtest/gtest.h>

#include "test_util.h"

namespace atcr::atproto {
namespace {

using testing::VectorLines;
using Validator = std::function<Status(std::string_view)>;

// Every line of <name>_syntax_valid.txt must pass and every line of the invalid file fail.
void CheckVectors(const std::string& name, const Validator& validate) {
  auto valid = VectorLines("syntax/" + name + "_syntax_valid.txt");
  auto invalid = VectorLines("syntax/" + name + "_syntax_invalid.txt");
  ASSERT_GT(valid.size(), 0u) << name;
  ASSERT_GT(invalid.size(), 0u) << name;
  for (const auto& v : valid) EXPECT_TRUE(validate(v).ok()) << name << " should accept: " << v;
  for (const auto& v : invalid) EXPECT_FALSE(validate(v).ok()) << name << " should reject: " << v;
}

TEST(Syntax, DidVectors) { CheckVectors("did", ValidateDid); }
TEST(Syntax, HandleVectors) { CheckVectors("handle", ValidateHandle); }
TEST(Syntax, NsidVectors) { CheckVectors("nsid", ValidateNsid); }
TEST(Syntax, TidVectors) { CheckVectors("tid", ValidateTid); }
TEST(Syntax, RecordKeyVectors) { CheckVectors("recordkey", ValidateRecordKey); }
TEST(Syntax, AtUriVectors) { CheckVectors("aturi", ValidateAtUri); }
TEST(Syntax, AtIdentifierVectors) { CheckVectors("atidentifier", ValidateAtIdentifier); }
TEST(Syntax, DatetimeVectors) { CheckVectors("datetime", ValidateDatetime); }
TEST(Syntax, CidVectors) { CheckVectors("cid", ValidateCidSyntax); }
TEST(Syntax, LanguageVectors) { CheckVectors("language", ValidateLanguage); }
TEST(Syntax, UriVectors) { CheckVectors("uri", ValidateUri); }

TEST(Syntax, DatetimeParseInvalidVectors) {
  auto lines = VectorLines("syntax/datetime_parse_invalid.txt");
  ASSERT_GT(lines.size(), 0u);
  for (const auto& l : lines) EXPECT_FALSE(ValidateDatetime(l).ok()) << l;
}

TEST(Syntax, LanguageParseInvalidVectors) {
  auto lines = VectorLines("syntax/language_parse_invalid.txt");
  ASSERT_GT(lines.size(), 0u);
  for (const auto& l : lines) EXPECT_FALSE(ValidateLanguage(l).ok()) << l;
}

TEST(Syntax, ErrorsNameTheProblem) {
  auto st = ValidateDid("did:METHOD:val");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("method"), std::string::npos) << st.error().message;
  st = ValidateHandle(std::string(300, 'a'));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("253"), std::string::npos);
  EXPECT_LT(st.error().message.size(), 200u);  // hostile input is not echoed in full
}

TEST(Syntax, DatetimeLeapDays) {
  EXPECT_TRUE(ValidateDatetime("2024-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ValidateDatetime("2023-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ValidateDatetime("1900-02-29T00:00:00Z").ok());
  EXPECT_TRUE(ValidateDatetime("2000-02-29T00:00:00Z").ok());
}

TEST(AtUri, ParseAndFormat) {
  auto u = AtUri::Parse("at://did:plc:asdf123/io.atcr.manifest/3kznmn7xqxl22");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->authority, "did:plc:asdf123");
  EXPECT_EQ(u->collection, "io.atcr.manifest");
  EXPECT_EQ(u->rkey, "3kznmn7xqxl22");
  EXPECT_TRUE(u->authority_is_did());
  EXPECT_EQ(u->ToString(), "at://did:plc:asdf123/io.atcr.manifest/3kznmn7xqxl22");
  auto h = AtUri::Parse("at://alice.test");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->collection.empty());
  EXPECT_EQ(h->ToString(), "at://alice.test");
  EXPECT_FALSE(AtUri::Parse("at://alice.test/").ok());
}

TEST(RepoPath, SplitsCollectionAndKey) {
  auto p = SplitRepoPath("io.atcr.tag/myapp_latest");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->collection, "io.atcr.tag");
  EXPECT_EQ(p->rkey, "myapp_latest");
  EXPECT_FALSE(ValidateRepoPath("io.atcr.tag").ok());
  EXPECT_FALSE(ValidateRepoPath("io.atcr.tag/a/b").ok());
  EXPECT_FALSE(ValidateRepoPath("/io.atcr.tag/a").ok());
  EXPECT_FALSE(ValidateRepoPath("io.atcr.tag/..").ok());
  EXPECT_FALSE(ValidateRepoPath("notansid/abc").ok());
}

TEST(Handle, NormalizeAndReserved) {
  EXPECT_EQ(NormalizeHandle("Alice.Bsky.Social"), "alice.bsky.social");
  EXPECT_TRUE(IsReservedHandle("foo.onion"));
  EXPECT_TRUE(IsReservedHandle("handle.invalid"));
  EXPECT_TRUE(IsReservedHandle("alice.test"));
  EXPECT_FALSE(IsReservedHandle("alice.test", /*allow_test=*/true));
  EXPECT_FALSE(IsReservedHandle("alice.bsky.social"));
}

}  // namespace
}  // namespace atcr::atproto
