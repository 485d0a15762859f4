#include "atcr/hold/signed_url.h"

#include <gtest/gtest.h>

#include <atomic>

namespace atcr::hold {
namespace {

struct Parts {
  std::string path, exp, sig;
};

Parts Split(const std::string& url, const std::string& base) {
  Parts p;
  std::string rest = url.substr(base.size());
  size_t q = rest.find('?');
  p.path = rest.substr(0, q);
  std::string query = rest.substr(q + 1);
  size_t amp = query.find('&');
  p.exp = query.substr(4, amp - 4);
  p.sig = query.substr(amp + 5);
  return p;
}

class UrlSignerTest : public ::testing::Test {
 protected:
  std::atomic<int64_t> now_{1'700'000'000};
  UrlSigner signer_{Bytes(32, 7), [this] { return now_.load(); }};
  const std::string base_ = "https://hold.example.com";
};

TEST_F(UrlSignerTest, RoundTrip) {
  std::string url = signer_.SignUrl(base_, "GET", "/blobs/sha256/abcd", 900);
  Parts p = Split(url, base_);
  EXPECT_EQ(p.path, "/blobs/sha256/abcd");
  EXPECT_EQ(p.exp, std::to_string(1'700'000'900));
  EXPECT_TRUE(signer_.Verify("GET", p.path, p.exp, p.sig).ok());
}

TEST_F(UrlSignerTest, ExpiresAfterItsLifetime) {
  Parts p = Split(signer_.SignUrl(base_, "GET", "/blobs/sha256/abcd", 60), base_);
  now_ += 60;
  EXPECT_TRUE(signer_.Verify("GET", p.path, p.exp, p.sig).ok());
  now_ += 1;
  Status st = signer_.Verify("GET", p.path, p.exp, p.sig);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().wire, "ExpiredSignature");
}

TEST_F(UrlSignerTest, RejectsTampering) {
  Parts p = Split(signer_.SignUrl(base_, "GET", "/blobs/sha256/abcd", 60), base_);
  // Another path, method, a later expiry, a flipped signature character.
  EXPECT_EQ(signer_.Verify("GET", "/blobs/sha256/abce", p.exp, p.sig).error().wire,
            "InvalidSignature");
  EXPECT_EQ(signer_.Verify("PUT", p.path, p.exp, p.sig).error().wire, "InvalidSignature");
  EXPECT_EQ(signer_.Verify("GET", p.path, std::to_string(std::stoll(p.exp) + 3600), p.sig)
                .error()
                .wire,
            "InvalidSignature");
  std::string sig = p.sig;
  sig[3] = sig[3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(signer_.Verify("GET", p.path, p.exp, sig).error().wire, "InvalidSignature");
  EXPECT_FALSE(signer_.Verify("GET", p.path, "", p.sig).ok());
  EXPECT_FALSE(signer_.Verify("GET", p.path, "12x", p.sig).ok());
  EXPECT_FALSE(signer_.Verify("GET", p.path, p.exp, "").ok());
}

TEST_F(UrlSignerTest, AnotherKeyDoesNotVerify) {
  Parts p = Split(signer_.SignUrl(base_, "GET", "/x", 60), base_);
  UrlSigner other(Bytes(32, 8), [this] { return now_.load(); });
  EXPECT_FALSE(other.Verify("GET", p.path, p.exp, p.sig).ok());
}

}  // namespace
}  // namespace atcr::hold
