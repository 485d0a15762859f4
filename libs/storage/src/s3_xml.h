// The XML of S3 responses: a small, bounded, non-validating parser (elements, character data,
// the five predefined entities and numeric references, CDATA; comments, processing
// instructions and a DOCTYPE-free prolog are skipped; attributes are ignored) and the typed
// readers for the responses the S3 driver uses. Namespace prefixes are dropped from names.
// Pure functions; internal to the storage module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"

namespace atcr::storage::s3 {

struct XmlElement {
  std::string name;  // local name
  std::string text;  // character data directly inside this element, entities decoded
  std::vector<XmlElement> children;

  const XmlElement* Child(std::string_view child_name) const;
  std::vector<const XmlElement*> Children(std::string_view child_name) const;
  // Text of the first child with that name; empty when there is none.
  std::string ChildText(std::string_view child_name) const;
};

struct XmlLimits {
  size_t max_bytes = 16 * 1024 * 1024;
  size_t max_depth = 16;
  size_t max_elements = 200000;
};

// The document's root element. kInvalidArgument with the offset of the first problem.
Result<XmlElement> ParseXml(std::string_view doc, const XmlLimits& limits = {});
// Escapes & < > " ' for element text.
std::string XmlEscape(std::string_view text);

// <Error><Code/><Message/><RequestId/>...</Error>
struct ErrorBody {
  std::string code;
  std::string message;
  std::string request_id;
  std::string resource;
};
// nullopt when the body is not an S3 <Error> document.
std::optional<ErrorBody> ParseErrorBody(std::string_view body);

struct ListedObject {
  std::string key;
  uint64_t size = 0;
  int64_t modified_unix = 0;
  std::string etag;
};
struct ListObjectsResult {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;
};
Result<ListObjectsResult> ParseListObjectsV2(std::string_view body);

Result<std::string> ParseInitiateMultipartUpload(std::string_view body);  // the UploadId

struct ListedPart {
  int32_t part_number = 0;
  std::string etag;
  uint64_t size = 0;
  int64_t modified_unix = 0;
};
struct ListPartsResult {
  std::vector<ListedPart> parts;
  bool truncated = false;
  std::string next_part_number_marker;
};
Result<ListPartsResult> ParseListParts(std::string_view body);

struct ListedUpload {
  std::string key;
  std::string upload_id;
  int64_t initiated_unix = 0;
};
struct ListUploadsResult {
  std::vector<ListedUpload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<ListUploadsResult> ParseListMultipartUploads(std::string_view body);

// CompleteMultipartUploadResult, CopyObjectResult and CopyPartResult: the ETag. These calls
// can fail after a 200 status; such bodies are <Error> documents (see ParseErrorBody).
Result<std::string> ParseResultETag(std::string_view body, std::string_view root);

struct CompletedPart {
  int32_t part_number = 0;
  std::string etag;
};
std::string BuildCompleteMultipartUpload(const std::vector<CompletedPart>& parts);

}  // namespace atcr::storage::s3
