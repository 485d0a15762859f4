#include "atcr/oci/errors.h"

#include <array>
#include <boost/json/parse.hpp>

namespace atcr::oci {
namespace {

struct CodeInfo {
  ErrorCodeOci code;
  std::string_view name;
  int status;
  std::string_view message;
};

// Order matches the enum; statuses as atcr answers them (reference/oci.md §9).
constexpr std::array<CodeInfo, 18> kCodes = {{
    {ErrorCodeOci::kBlobUnknown, "BLOB_UNKNOWN", 404, "blob unknown to registry"},
    {ErrorCodeOci::kBlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400, "blob upload invalid"},
    {ErrorCodeOci::kBlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"},
    {ErrorCodeOci::kDigestInvalid, "DIGEST_INVALID", 400, "provided digest did not match uploaded content"},
    {ErrorCodeOci::kManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400, "manifest references a manifest or blob unknown to registry"},
    {ErrorCodeOci::kManifestInvalid, "MANIFEST_INVALID", 400, "manifest invalid"},
    {ErrorCodeOci::kManifestUnknown, "MANIFEST_UNKNOWN", 404, "manifest unknown to registry"},
    {ErrorCodeOci::kNameInvalid, "NAME_INVALID", 400, "invalid repository name"},
    {ErrorCodeOci::kNameUnknown, "NAME_UNKNOWN", 404, "repository name not known to registry"},
    {ErrorCodeOci::kSizeInvalid, "SIZE_INVALID", 400, "provided length did not match content length"},
    {ErrorCodeOci::kUnauthorized, "UNAUTHORIZED", 401, "authentication required"},
    {ErrorCodeOci::kDenied, "DENIED", 403, "requested access to the resource is denied"},
    {ErrorCodeOci::kUnsupported, "UNSUPPORTED", 405, "the operation is unsupported"},
    {ErrorCodeOci::kTooManyRequests, "TOOMANYREQUESTS", 429, "too many requests"},
    {ErrorCodeOci::kRangeInvalid, "RANGE_INVALID", 416, "invalid content range"},
    {ErrorCodeOci::kPaginationNumberInvalid, "PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested"},
    {ErrorCodeOci::kUnavailable, "UNAVAILABLE", 503, "service unavailable"},
    {ErrorCodeOci::kUnknown, "UNKNOWN", 500, "unknown error"},
}};

const CodeInfo& Info(ErrorCodeOci code) {
  size_t i = static_cast<size_t>(code);
  return i < kCodes.size() ? kCodes[i] : kCodes.back();
}

constexpr bool CodesInEnumOrder() {
  for (size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(CodesInEnumOrder(), "kCodes must list the codes in enum order");

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629), or 0 if it is malformed.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string_view CodeName(ErrorCodeOci code) { return Info(code).name; }
int HttpStatus(ErrorCodeOci code) { return Info(code).status; }
std::string_view DefaultMessage(ErrorCodeOci code) { return Info(code).message; }

std::optional<ErrorCodeOci> CodeFromName(std::string_view name) {
  for (const CodeInfo& info : kCodes) {
    if (info.name == name) return info.code;
  }
  return std::nullopt;
}

ErrorCodeOci CodeFor(const Error& error) {
  if (!error.wire.empty()) {
    if (auto code = CodeFromName(error.wire)) return *code;
    // Legacy code without a status of its own; the registry answers it as MANIFEST_INVALID.
    if (error.wire == "TAG_INVALID") return ErrorCodeOci::kManifestInvalid;
  }
  switch (error.code) {
    case ErrorCode::kUnauthenticated: return ErrorCodeOci::kUnauthorized;
    case ErrorCode::kPermissionDenied: return ErrorCodeOci::kDenied;
    case ErrorCode::kUnimplemented: return ErrorCodeOci::kUnsupported;
    case ErrorCode::kUnavailable: return ErrorCodeOci::kUnavailable;
    default: return ErrorCodeOci::kUnknown;
  }
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out.append("\\ufffd");  // never emit invalid UTF-8 into a JSON document
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string ErrorBody(ErrorCodeOci code, std::string_view message, std::string_view detail_json) {
  if (message.empty()) message = DefaultMessage(code);
  std::string out;
  out.reserve(64 + message.size() + detail_json.size());
  out.append(R"({"errors":[{"code":)");
  AppendJsonString(out, CodeName(code));
  out.append(R"(,"message":)");
  AppendJsonString(out, message);
  if (!detail_json.empty()) {
    out.append(R"(,"detail":)");
    // The contract asks callers for valid JSON; a caller bug must still not produce a body
    // clients cannot parse, so anything else is sent as a JSON string.
    boost::system::error_code ec;
    boost::json::parse(detail_json, ec);
    if (ec) {
      AppendJsonString(out, detail_json);
    } else {
      out.append(detail_json);
    }
  }
  out.append("}]}");
  return out;
}

std::string ErrorBody(const Error& error) {
  ErrorCodeOci code = CodeFor(error);
  // A 500 is our failure, not the client's: its message (paths, errno text) goes to the log.
  if (code == ErrorCodeOci::kUnknown) return ErrorBody(code, {});
  return ErrorBody(code, error.message);
}

}  // namespace atcr::oci
