#include "atcr/oci/errors.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace atcr::oci {
namespace {

namespace json = boost::json;

TEST(OciErrors, NamesAndStatuses) {
  const struct {
    ErrorCodeOci code;
    std::string_view name;
    int status;
  } cases[] = {
      {ErrorCodeOci::kDigestInvalid, "DIGEST_INVALID", 400},
      {ErrorCodeOci::kBlobUnknown, "BLOB_UNKNOWN", 404},
      {ErrorCodeOci::kBlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400},
      {ErrorCodeOci::kBlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404},
      {ErrorCodeOci::kManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400},
      {ErrorCodeOci::kManifestInvalid, "MANIFEST_INVALID", 400},
      {ErrorCodeOci::kManifestUnknown, "MANIFEST_UNKNOWN", 404},
      {ErrorCodeOci::kNameInvalid, "NAME_INVALID", 400},
      {ErrorCodeOci::kNameUnknown, "NAME_UNKNOWN", 404},
      {ErrorCodeOci::kSizeInvalid, "SIZE_INVALID", 400},
      {ErrorCodeOci::kUnauthorized, "UNAUTHORIZED", 401},
      {ErrorCodeOci::kDenied, "DENIED", 403},
      {ErrorCodeOci::kUnsupported, "UNSUPPORTED", 405},
      {ErrorCodeOci::kTooManyRequests, "TOOMANYREQUESTS", 429},
      {ErrorCodeOci::kRangeInvalid, "RANGE_INVALID", 416},
      {ErrorCodeOci::kPaginationNumberInvalid, "PAGINATION_NUMBER_INVALID", 400},
      {ErrorCodeOci::kUnavailable, "UNAVAILABLE", 503},
      {ErrorCodeOci::kUnknown, "UNKNOWN", 500},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(CodeName(c.code), c.name);
    EXPECT_EQ(HttpStatus(c.code), c.status);
    EXPECT_FALSE(DefaultMessage(c.code).empty());
    ASSERT_TRUE(CodeFromName(c.name).has_value());
    EXPECT_EQ(*CodeFromName(c.name), c.code);
    // A wire name given by the domain wins over the generic code.
    EXPECT_EQ(CodeFor(Error(ErrorCode::kInternal, "x", std::string(c.name))), c.code);
  }
  EXPECT_FALSE(CodeFromName("NOT_A_CODE").has_value());
}

TEST(OciErrors, CodeForGenericErrors) {
  EXPECT_EQ(CodeFor(Error(ErrorCode::kUnauthenticated, "")), ErrorCodeOci::kUnauthorized);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kPermissionDenied, "")), ErrorCodeOci::kDenied);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kUnimplemented, "")), ErrorCodeOci::kUnsupported);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kUnavailable, "")), ErrorCodeOci::kUnavailable);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kInternal, "")), ErrorCodeOci::kUnknown);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kNotFound, "", "SomeXrpcName")), ErrorCodeOci::kUnknown);
  EXPECT_EQ(CodeFor(InvalidArgument("bad tag", "TAG_INVALID")), ErrorCodeOci::kManifestInvalid);
}

TEST(OciErrors, BodyShape) {
  std::string body = ErrorBody(ErrorCodeOci::kBlobUnknown, "blob unknown to registry",
                               R"({"digest":"sha256:abc"})");
  EXPECT_EQ(body,
            R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry",)"
            R"("detail":{"digest":"sha256:abc"}}]})");
  EXPECT_EQ(ErrorBody(ErrorCodeOci::kDenied, "no"),
            R"({"errors":[{"code":"DENIED","message":"no"}]})");
}

TEST(OciErrors, EmptyMessageUsesDefault) {
  auto v = json::parse(ErrorBody(ErrorCodeOci::kNameUnknown, ""));
  EXPECT_EQ(v.at("errors").at(0).at("message").as_string(),
            "repository name not known to registry");
}

TEST(OciErrors, BodyEscapesEverything) {
  std::string nasty = "quote\" backslash\\ nl\n cr\r tab\t bell\x07 del\x7f ok-é bad\xff\xfe end";
  nasty.push_back('\0');
  std::string body = ErrorBody(ErrorCodeOci::kNameInvalid, nasty, "[1,\"two\"]");
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  ASSERT_FALSE(ec) << body;
  const json::value& e = v.at("errors").at(0);
  EXPECT_EQ(e.at("code").as_string(), "NAME_INVALID");
  std::string msg(e.at("message").as_string());
  EXPECT_NE(msg.find("quote\" backslash\\ nl\n cr\r tab\t bell\x07 del\x7f ok-é"),
            std::string::npos);
  EXPECT_NE(msg.find("bad\xEF\xBF\xBD\xEF\xBF\xBD end"), std::string::npos);  // U+FFFD twice
  EXPECT_EQ(msg.back(), '\0');
  EXPECT_EQ(e.at("detail").as_array().size(), 2u);
}

TEST(OciErrors, InvalidDetailBecomesString) {
  std::string body = ErrorBody(ErrorCodeOci::kUnknown, "x", "{not json");
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  ASSERT_FALSE(ec) << body;
  EXPECT_EQ(v.at("errors").at(0).at("detail").as_string(), "{not json");
}

TEST(OciErrors, BodyFromErrorHidesInternalDetail) {
  auto internal = json::parse(ErrorBody(Internal("open /var/lib/atcr/secret: EIO")));
  EXPECT_EQ(internal.at("errors").at(0).at("code").as_string(), "UNKNOWN");
  EXPECT_EQ(internal.at("errors").at(0).at("message").as_string(), "unknown error");
  auto bad = json::parse(ErrorBody(InvalidArgument("digest too short", "DIGEST_INVALID")));
  EXPECT_EQ(bad.at("errors").at(0).at("code").as_string(), "DIGEST_INVALID");
  EXPECT_EQ(bad.at("errors").at(0).at("message").as_string(), "digest too short");
}

}  // namespace
}  // namespace atcr::oci
