#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "internal/account_handle.h"
#include "internal/account_password.h"

namespace atcr::pds::internal {
namespace {

TEST(AccountPassword, ScryptMatchesNodeWithTheReferenceParameters) {
  // node: crypto.scrypt('hunter2', '0123456789abcdef0123456789abcdef', 64)
  auto h = ScryptHex("hunter2", "0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h,
            "4971254c23d915ca81fee56d02cb00bf641a7461bd516d17175bcb314c8abad13e74b1c8f6e11649cb30ce"
            "e8f888fdd4c8baee55535fd8b628d65e8c655edffe");
}

TEST(AccountPassword, AppPasswordHashIsTheReferenceOne) {
  // The reference's hashAppPassword: salt = hex(sha256(did)[0:16]).
  auto h = HashAppPassword("did:plc:abcdefghijklmnopqrstuvwx", "abcd-efgh-ijkl-mnop");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h,
            "e253131024780eb99e0d600853180dac:4d57b17fa65b9c1561e5c4c56864fc7610f79b7984335ea36be3"
            "9716bbd469aa3b220e34c764ca025ac867f0727365a05561db772b3be2d55105e839df71bd1a");
  EXPECT_TRUE(VerifyPasswordHash("abcd-efgh-ijkl-mnop", *h));
}

TEST(AccountPassword, AccountHashesAreSaltedAndVerify) {
  auto a = HashAccountPassword("correct horse");
  auto b = HashAccountPassword("correct horse");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find(':'), 32u);
  EXPECT_TRUE(VerifyPasswordHash("correct horse", *a));
  EXPECT_FALSE(VerifyPasswordHash("correct horsf", *a));
  EXPECT_FALSE(VerifyPasswordHash("", *a));
  for (std::string bad : {"", ":", "abc", "abc:", ":def"}) {
    EXPECT_FALSE(VerifyPasswordHash("x", bad)) << bad;
  }
}

TEST(AccountPassword, AppPasswordFormat) {
  std::regex re("^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$");
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string p = GenerateAppPassword();
    EXPECT_TRUE(std::regex_match(p, re)) << p;
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(AccountPassword, InviteCodeFormat) {
  std::string code = GenerateInviteCode("pds.example.com");
  EXPECT_TRUE(std::regex_match(code, std::regex("^pds-example-com-[a-z2-7]{5}-[a-z2-7]{5}$")))
      << code;
}

TEST(AccountPassword, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(AccountHandle, ReferenceRulesForNewHandles) {
  const std::vector<std::string> domains = {".test"};
  struct Case {
    std::string in;
    std::string wire;  // "" = accepted
    std::string out_or_message;
  };
  std::vector<Case> cases = {
      {"Alice.Test", "", "alice.test"},
      {"bob-1.test", "", "bob-1.test"},
      {"abc.test", "", "abc.test"},
      {"ab.test", "InvalidHandle", "Handle too short"},
      {"abcdefghijklmnopqrs.test", "InvalidHandle", "Handle too long"},
      {"a.b.test", "InvalidHandle", "Invalid characters in handle"},
      {"alice.example", "InvalidHandle", "Handle TLD is invalid or disallowed"},
      {"alice.local", "InvalidHandle", "Handle TLD is invalid or disallowed"},
      {"alice.bsky.social", "UnsupportedDomain", "Not a supported handle domain"},
      {"admin.test", "HandleNotAvailable", "Reserved handle"},
      {"-alice.test", "InvalidHandle", ""},
      {"alice!.test", "InvalidHandle", ""},
  };
  for (const auto& c : cases) {
    auto r = NormalizeAndValidateNewHandle(c.in, domains);
    if (c.wire.empty()) {
      ASSERT_TRUE(r.ok()) << c.in << ": " << r.error().ToString();
      EXPECT_EQ(*r, c.out_or_message);
    } else {
      ASSERT_FALSE(r.ok()) << c.in;
      EXPECT_EQ(r.error().wire, c.wire) << c.in;
      if (!c.out_or_message.empty()) {
        EXPECT_EQ(r.error().message, c.out_or_message) << c.in;
      }
    }
  }
}

TEST(AccountHandle, SupportedHandles) {
  const std::vector<std::string> domains = {".test", ".pds.example.com"};
  EXPECT_TRUE(IsSupportedHandle("alice.test", domains));
  EXPECT_TRUE(IsSupportedHandle("pds.example.com", domains));
  EXPECT_TRUE(IsSupportedHandle("bob.pds.example.com", domains));
  EXPECT_FALSE(IsSupportedHandle("bob.example.com", domains));
  EXPECT_TRUE(IsServiceDomainHandle("bob.pds.example.com", domains));
  EXPECT_FALSE(IsServiceDomainHandle("pds.example.com", domains));
}

}  // namespace
}  // namespace atcr::pds::internal
