#include "atcr/storage/sigv4.h"

#include <gtest/gtest.h>

#include "atcr/base/hash.h"

namespace atcr::storage {
namespace {

// The S3 examples of "Signature Calculations for the Authorization Header: Transferring
// Payload in a Single Chunk" and "Authenticating Requests: Using Query Parameters" (AWS S3 API
// reference): examplebucket, 2013-05-24T00:00:00Z.
constexpr int64_t kMay24 = 1369353600;
constexpr char kHost[] = "examplebucket.s3.amazonaws.com";

SigV4Signer ExampleSigner() {
  return SigV4Signer({.access_key = "AKIAIOSFODNN7EXAMPLE",
                      .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
                     "us-east-1");
}

std::string Header(const SigV4Signature& s, std::string_view name) {
  for (const auto& [k, v] : s.add_headers) {
    if (k == name) return v;
  }
  return "<missing>";
}

TEST(SigV4, AwsExampleGetObject) {
  SigV4Request req{.method = "GET",
                   .canonical_uri = "/test.txt",
                   .headers = {{"Host", kHost}, {"Range", "bytes=0-9"}}};
  SigV4Signature s = ExampleSigner().Sign(req, kMay24);
  EXPECT_EQ(
      s.canonical_request,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(Header(s, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(Header(s, "x-amz-date"), "20130524T000000Z");
  EXPECT_EQ(Header(s, "x-amz-content-sha256"), kEmptyPayloadSha256);
}

TEST(SigV4, AwsExamplePutObjectEncodesTheKeyOnce) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string payload = Sha256Hex(body);
  EXPECT_EQ(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request req{.method = "PUT",
                   .canonical_uri = "/" + AwsUriEncode("test$file.text", true),
                   .headers = {{"Host", kHost},
                               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                               {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                   .payload_hash = payload};
  EXPECT_EQ(req.canonical_uri, "/test%24file.text");
  SigV4Signature s = ExampleSigner().Sign(req, kMay24);
  EXPECT_EQ(s.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, AwsExampleGetBucketLifecycleHasAnEmptyValue) {
  SigV4Request req{.method = "GET",
                   .canonical_uri = "/",
                   .query = {{"lifecycle", ""}},
                   .headers = {{"host", kHost}}};
  SigV4Signature s = ExampleSigner().Sign(req, kMay24);
  EXPECT_EQ(Sha256Hex(s.canonical_request),
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, AwsExampleListObjectsSortsTheQuery) {
  SigV4Request req{.method = "GET",
                   .canonical_uri = "/",
                   .query = {{"prefix", "J"}, {"max-keys", "2"}},
                   .headers = {{"host", kHost}}};
  SigV4Signature s = ExampleSigner().Sign(req, kMay24);
  EXPECT_NE(s.canonical_request.find("\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, AwsExamplePresignedGet) {
  SigV4Request req{.method = "GET", .canonical_uri = "/test.txt", .headers = {{"host", kHost}}};
  SigV4Signature s = ExampleSigner().Presign(req, kMay24, 86400);
  EXPECT_EQ(s.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(s.query_string,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_TRUE(s.add_headers.empty());
}

TEST(SigV4, PresignClampsExpiryToSevenDays) {
  SigV4Request req{.method = "GET", .canonical_uri = "/k", .headers = {{"host", kHost}}};
  EXPECT_NE(
      ExampleSigner().Presign(req, kMay24, 10'000'000).query_string.find("X-Amz-Expires=604800"),
      std::string::npos);
  EXPECT_NE(ExampleSigner().Presign(req, kMay24, 0).query_string.find("X-Amz-Expires=1&"),
            std::string::npos);
}

// aws-sig-v4-test-suite (service "service", 2015-08-30T12:36:00Z).
class SigV4Suite : public ::testing::Test {
 protected:
  static constexpr int64_t kWhen = 1440938160;
  SigV4Signer signer_{
      {.access_key = "AKIDEXAMPLE", .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
      "us-east-1",
      "service"};
  std::string SignatureOf(std::string method, std::string uri, ParamList query) {
    SigV4Request req{.method = std::move(method),
                     .canonical_uri = std::move(uri),
                     .query = std::move(query),
                     .headers = {{"Host", "example.amazonaws.com"}}};
    SigV4Signature s = signer_.Sign(req, kWhen);
    EXPECT_EQ(s.signed_headers, "host;x-amz-date");  // x-amz-content-sha256 is S3's alone
    return s.signature;
  }
};

TEST_F(SigV4Suite, SigningKey) {
  EXPECT_EQ(HexEncode(SigV4SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                      "us-east-1", "service")),
            "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
}

TEST_F(SigV4Suite, GetVanilla) {
  EXPECT_EQ(SignatureOf("GET", "/", {}),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_F(SigV4Suite, GetVanillaQueryOrderKeyCase) {
  EXPECT_EQ(SignatureOf("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST_F(SigV4Suite, PostVanilla) {
  EXPECT_EQ(SignatureOf("POST", "/", {}),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST_F(SigV4Suite, GetUtf8EncodesEachByte) {
  EXPECT_EQ(AwsUriEncode("/\xE1\x88\xB4", true), "/%E1%88%B4");
  EXPECT_EQ(SignatureOf("GET", AwsUriEncode("/\xE1\x88\xB4", true), {}),
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4, UriEncodeRules) {
  EXPECT_EQ(AwsUriEncode("a b+c/d~e_f-g.h", true), "a%20b%2Bc/d~e_f-g.h");
  EXPECT_EQ(AwsUriEncode("a b+c/d", false), "a%20b%2Bc%2Fd");
  EXPECT_EQ(AwsUriEncode("%", false), "%25");
  EXPECT_EQ(AwsUriEncode("\xff", false), "%FF");
}

TEST(SigV4, CanonicalQuerySortsByEncodedNameThenValue) {
  EXPECT_EQ(CanonicalQueryString({{"b", "2"}, {"a", "x y"}, {"a", "1"}, {"A", "0"}}),
            "A=0&a=1&a=x%20y&b=2");
  EXPECT_EQ(CanonicalQueryString({{"uploads", ""}}), "uploads=");
}

TEST(SigV4, HeaderValuesAreTrimmedAndRepeatedNamesJoined) {
  SigV4Request req{.method = "GET",
                   .canonical_uri = "/",
                   .headers = {{"Host", "h"}, {"X-Multi", "  a   b "}, {"x-multi", "c"}}};
  SigV4Signature s = ExampleSigner().Sign(req, kMay24);
  EXPECT_NE(s.canonical_request.find("\nx-multi:a b,c\n"), std::string::npos)
      << s.canonical_request;
}

TEST(SigV4, CallerSuppliedAmzHeadersAreReplaced) {
  SigV4Request req{.method = "GET",
                   .canonical_uri = "/test.txt",
                   .headers = {{"Host", kHost},
                               {"Range", "bytes=0-9"},
                               {"X-Amz-Date", "19990101T000000Z"},
                               {"Authorization", "stale"}}};
  EXPECT_EQ(ExampleSigner().Sign(req, kMay24).signature,
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, SessionTokenIsSignedAndSent) {
  SigV4Signer signer({.access_key = "AK", .secret_key = "SK", .session_token = "tok"}, "r");
  SigV4Request req{.method = "GET", .canonical_uri = "/", .headers = {{"host", "h"}}};
  SigV4Signature s = signer.Sign(req, kMay24);
  EXPECT_EQ(Header(s, "x-amz-security-token"), "tok");
  EXPECT_NE(s.signed_headers.find("x-amz-security-token"), std::string::npos);
  SigV4Signature p = signer.Presign(req, kMay24, 60);
  EXPECT_NE(p.query_string.find("X-Amz-Security-Token=tok"), std::string::npos);
}

TEST(SigV4, AmzDate) {
  EXPECT_EQ(AmzDate(0), "19700101T000000Z");
  EXPECT_EQ(AmzDate(kMay24 + 3661), "20130524T010101Z");
}

}  // namespace
}  // namespace atcr::storage
