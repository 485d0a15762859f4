#include "s3_xml.h"

#include <gtest/gtest.h>

namespace atcr::storage::s3 {
namespace {

struct XmlCase {
  const char* name;
  const char* doc;
  bool ok;
  const char* root;       // expected root name when ok
  const char* root_text;  // expected root text when ok
};

TEST(S3Xml, ParsesAndRejectsTable) {
  const XmlCase cases[] = {
      {"plain", "<A>x</A>", true, "A", "x"},
      {"prolog and whitespace", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<A>x</A>\n", true, "A",
       "x"},
      {"bom", "\xEF\xBB\xBF<A/>", true, "A", ""},
      {"namespace prefix dropped", "<s3:A xmlns:s3=\"u\">y</s3:A>", true, "A", "y"},
      {"attributes with > inside quotes", "<A k=\"a>b\" j='c'>z</A>", true, "A", "z"},
      {"entities", "<A>&amp;&lt;&gt;&quot;&apos;</A>", true, "A", "&<>\"'"},
      {"numeric refs", "<A>&#65;&#x42;&#x20AC;</A>", true, "A", "AB\xE2\x82\xAC"},
      {"cdata", "<A><![CDATA[<raw&>]]></A>", true, "A", "<raw&>"},
      {"comment skipped", "<!-- c --><A><!-- d -->t</A>", true, "A", "t"},
      {"end tag with space", "<A>t</A >", true, "A", "t"},
      {"unknown entity", "<A>&nbsp;</A>", false, "", ""},
      {"bad char ref", "<A>&#0;</A>", false, "", ""},
      {"surrogate ref", "<A>&#xD800;</A>", false, "", ""},
      {"unterminated entity", "<A>&amp</A>", false, "", ""},
      {"mismatched end", "<A><B></A></B>", false, "", ""},
      {"unclosed", "<A><B></B>", false, "", ""},
      {"two roots", "<A/><B/>", false, "", ""},
      {"text outside root", "x<A/>", false, "", ""},
      {"doctype refused", "<!DOCTYPE a [<!ENTITY x \"y\">]><A/>", false, "", ""},
      {"empty", "", false, "", ""},
      {"empty name", "<>x</>", false, "", ""},
      {"unterminated tag", "<A", false, "", ""},
      {"unterminated comment", "<A><!-- </A>", false, "", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = ParseXml(c.doc);
    ASSERT_EQ(r.ok(), c.ok) << (r.ok() ? "" : r.error().message);
    if (c.ok) {
      EXPECT_EQ(r->name, c.root);
      EXPECT_EQ(r->text, c.root_text);
    } else {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

TEST(S3Xml, DepthAndSizeLimits) {
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "<a>";
  for (int i = 0; i < 20; ++i) deep += "</a>";
  EXPECT_FALSE(ParseXml(deep).ok());
  EXPECT_TRUE(ParseXml(deep, {.max_depth = 32}).ok());
  auto big = ParseXml("<A>xxxxxxxx</A>", {.max_bytes = 8});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kResourceExhausted);
  std::string many = "<A>";
  for (int i = 0; i < 10; ++i) many += "<b/>";
  many += "</A>";
  EXPECT_FALSE(ParseXml(many, {.max_elements = 5}).ok());
}

TEST(S3Xml, ChildrenAndText) {
  auto r = ParseXml("<R><K>1</K><K>2</K><L>x<M>y</M>z</L></R>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Children("K").size(), 2u);
  EXPECT_EQ(r->ChildText("K"), "1");
  EXPECT_EQ(r->ChildText("missing"), "");
  EXPECT_EQ(r->Child("L")->text, "xz");
  EXPECT_EQ(r->Child("L")->ChildText("M"), "y");
}

TEST(S3Xml, ErrorBodies) {
  struct Case {
    const char* doc;
    const char* code;  // nullptr: not an error body
    const char* message;
    const char* request_id;
  };
  const Case cases[] = {
      {"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch</Code>"
       "<Message>The request signature we calculated does not match</Message>"
       "<RequestId>tx0001</RequestId><HostId>h</HostId></Error>",
       "SignatureDoesNotMatch", "The request signature we calculated does not match", "tx0001"},
      // radosgw: no Message, BucketName and HostId extra
      {"<Error><Code>NoSuchKey</Code><BucketName>b</BucketName><RequestId>tx2</RequestId></Error>",
       "NoSuchKey", "", "tx2"},
      {"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
       "SlowDown", "Please reduce your request rate.", ""},
      {"<Error><Message>no code</Message></Error>", nullptr, nullptr, nullptr},
      {"<NotError><Code>X</Code></NotError>", nullptr, nullptr, nullptr},
      {"<html>502 Bad Gateway</html>", nullptr, nullptr, nullptr},
      {"", nullptr, nullptr, nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.doc);
    auto e = ParseErrorBody(c.doc);
    if (!c.code) {
      EXPECT_FALSE(e.has_value());
      continue;
    }
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, c.code);
    EXPECT_EQ(e->message, c.message);
    EXPECT_EQ(e->request_id, c.request_id);
  }
}

TEST(S3Xml, ListObjectsV2) {
  auto r = ParseListObjectsV2(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>blobs/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>tok+/=</NextContinuationToken>"
      "<Contents><Key>blobs/a&amp;b</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
      "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
      "<StorageClass>STANDARD</StorageClass></Contents>"
      "<Contents><Key>blobs/c</Key><Size>0</Size></Contents>"
      "</ListBucketResult>");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "blobs/a&b");
  EXPECT_EQ(r->objects[0].size, 434234u);
  EXPECT_EQ(r->objects[0].modified_unix, 1255369830);
  EXPECT_EQ(r->objects[0].etag, "\"fba9dede5f27731c9771645a39863328\"");
  EXPECT_EQ(r->objects[1].modified_unix, 0);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->next_continuation_token, "tok+/=");

  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                  "</ListBucketResult>")
                   .ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
                                  "</Contents></ListBucketResult>")
                   .ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListAllMyBucketsResult/>").ok());
  auto empty =
      ParseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->objects.empty());
}

TEST(S3Xml, InitiateMultipartUpload) {
  auto id = ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Bucket>b</Bucket><Key>uploads/x</Key><UploadId>2~abc-DEF_1</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "2~abc-DEF_1");
  EXPECT_FALSE(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>").ok());
}

TEST(S3Xml, ListParts) {
  auto r = ParseListParts(
      "<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>"
      "<PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker>"
      "<MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>"
      "<Part><PartNumber>1</PartNumber><LastModified>2010-11-10T20:48:34.000Z</LastModified>"
      "<ETag>\"7778aef83f66abc1fa1e8477f296d394\"</ETag><Size>10485760</Size></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>\"aaaa\"</ETag><Size>5</Size></Part>"
      "</ListPartsResult>");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->parts.size(), 2u);
  EXPECT_EQ(r->parts[0].part_number, 1);
  EXPECT_EQ(r->parts[0].size, 10485760u);
  EXPECT_EQ(r->parts[0].etag, "\"7778aef83f66abc1fa1e8477f296d394\"");
  EXPECT_GT(r->parts[0].modified_unix, 0);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->next_part_number_marker, "2");
  EXPECT_FALSE(ParseListParts("<ListPartsResult><Part><PartNumber>0</PartNumber><Size>1</Size>"
                              "</Part></ListPartsResult>")
                   .ok());
  EXPECT_FALSE(ParseListParts("<ListPartsResult><Part><PartNumber>10001</PartNumber><Size>1</Size>"
                              "</Part></ListPartsResult>")
                   .ok());
  EXPECT_FALSE(ParseListParts("<ListPartsResult><Part><PartNumber>1</PartNumber></Part>"
                              "</ListPartsResult>")
                   .ok());
}

TEST(S3Xml, ListMultipartUploads) {
  auto r = ParseListMultipartUploads(
      "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
      "<NextKeyMarker>uploads/b</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>"
      "<MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>"
      "<Upload><Key>uploads/a</Key><UploadId>u1</UploadId><Initiator><ID>i</ID></Initiator>"
      "<StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated></"
      "Upload>"
      "<Upload><Key>uploads/b</Key><UploadId>u2</UploadId></Upload>"
      "</ListMultipartUploadsResult>");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->uploads.size(), 2u);
  EXPECT_EQ(r->uploads[0].key, "uploads/a");
  EXPECT_EQ(r->uploads[0].upload_id, "u1");
  EXPECT_EQ(r->uploads[0].initiated_unix, 1289422113);
  EXPECT_EQ(r->next_key_marker, "uploads/b");
  EXPECT_EQ(r->next_upload_id_marker, "u2");
  EXPECT_FALSE(ParseListMultipartUploads("<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
                                         "</ListMultipartUploadsResult>")
                   .ok());
  EXPECT_FALSE(
      ParseListMultipartUploads("<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
                                "</ListMultipartUploadsResult>")
          .ok());
}

TEST(S3Xml, ResultETags) {
  auto c = ParseResultETag(
      "<CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket><Key>k</Key>"
      "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>",
      "CompleteMultipartUploadResult");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, "\"3858f62230ac3c915f300c664312c11f-9\"");
  auto copy = ParseResultETag(
      "<CopyObjectResult><LastModified>2009-10-28T22:32:00</LastModified>"
      "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>",
      "CopyObjectResult");
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(*copy, "\"9b2cf535f27731c974343645a3985328\"");
  // A 200 whose body is an error is not a result.
  EXPECT_FALSE(
      ParseResultETag("<Error><Code>InternalError</Code></Error>", "CompleteMultipartUploadResult")
          .ok());
}

TEST(S3Xml, BuildCompleteEscapesETags) {
  EXPECT_EQ(BuildCompleteMultipartUpload({{1, "\"a\""}, {2, "b&c"}}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>b&amp;c</ETag></Part>"
            "</CompleteMultipartUpload>");
  // Round trip through the parser.
  auto doc = ParseXml(BuildCompleteMultipartUpload({{7, "\"x<y\""}}));
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->Child("Part")->ChildText("ETag"), "\"x<y\"");
}

}  // namespace
}  // namespace atcr::storage::s3
