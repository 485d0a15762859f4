#include "s3_xml.h"

#include <charconv>

#include "atcr/base/time.h"

namespace atcr::storage::s3 {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsNameChar(char c) {
  return !IsSpace(c) && c != '/' && c != '>' && c != '<' && c != '=' && c != '"' && c != '\'';
}

Error Bad(size_t pos, std::string what) {
  return InvalidArgument("S3 response XML: " + what + " at byte " + std::to_string(pos));
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes character data [begin, end) of doc into out.
Status DecodeText(std::string_view doc, size_t begin, size_t end, std::string& out) {
  size_t i = begin;
  while (i < end) {
    const size_t amp = doc.find('&', i);
    if (amp == std::string_view::npos || amp >= end) {
      out.append(doc.substr(i, end - i));
      break;
    }
    out.append(doc.substr(i, amp - i));
    const size_t semi = doc.find(';', amp);
    if (semi == std::string_view::npos || semi >= end || semi - amp > 12) {
      return Bad(amp, "unterminated entity reference");
    }
    std::string_view ent = doc.substr(amp + 1, semi - amp - 1);
    if (ent == "amp") {
      out += '&';
    } else if (ent == "lt") {
      out += '<';
    } else if (ent == "gt") {
      out += '>';
    } else if (ent == "quot") {
      out += '"';
    } else if (ent == "apos") {
      out += '\'';
    } else if (ent.size() > 1 && ent[0] == '#') {
      uint32_t cp = 0;
      const bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string_view digits = ent.substr(hex ? 2 : 1);
      auto [p, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || cp == 0 ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return Bad(amp, "bad character reference");
      }
      AppendUtf8(out, cp);
    } else {
      return Bad(amp, "unknown entity '&" + std::string(ent) + ";'");
    }
    i = semi + 1;
  }
  return Ok();
}

bool OnlySpace(std::string_view s) {
  for (char c : s) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

Result<uint64_t> ParseU64(const std::string& text, std::string_view field) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return InvalidArgument("S3 response XML: " + std::string(field) + " is not a number: '" + text +
                           "'");
  }
  return v;
}

// S3 timestamps are ISO 8601 UTC ("2009-10-12T17:50:30.000Z"); 0 when absent or unparsable
// (a listing is still usable without them).
int64_t ParseTime(const std::string& text) {
  if (text.empty()) return 0;
  auto micros = ParseRfc3339(text);
  return micros.ok() ? *micros / 1000000 : 0;
}

bool ParseBool(const std::string& text) { return text == "true"; }

Result<XmlElement> ParseRoot(std::string_view body, std::string_view root) {
  ATCR_ASSIGN_OR_RETURN(XmlElement doc, ParseXml(body));
  if (doc.name != root) {
    return InvalidArgument("S3 response XML: expected <" + std::string(root) + ">, got <" +
                           doc.name + ">");
  }
  return doc;
}

}  // namespace

const XmlElement* XmlElement::Child(std::string_view child_name) const {
  for (const auto& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view child_name) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children) {
    if (c.name == child_name) out.push_back(&c);
  }
  return out;
}

std::string XmlElement::ChildText(std::string_view child_name) const {
  const XmlElement* c = Child(child_name);
  return c ? c->text : std::string();
}

Result<XmlElement> ParseXml(std::string_view doc, const XmlLimits& limits) {
  if (doc.size() > limits.max_bytes) {
    return ResourceExhausted("S3 response XML is " + std::to_string(doc.size()) +
                             " bytes, limit is " + std::to_string(limits.max_bytes));
  }
  size_t pos = 0;
  if (doc.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  std::vector<XmlElement> stack;
  std::optional<XmlElement> root;
  size_t elements = 0;

  while (pos < doc.size()) {
    const size_t lt = doc.find('<', pos);
    const size_t text_end = lt == std::string_view::npos ? doc.size() : lt;
    if (text_end > pos) {
      if (stack.empty()) {
        if (!OnlySpace(doc.substr(pos, text_end - pos))) return Bad(pos, "text outside the root");
      } else {
        ATCR_TRY(DecodeText(doc, pos, text_end, stack.back().text));
      }
    }
    if (lt == std::string_view::npos) break;
    pos = lt;
    std::string_view rest = doc.substr(pos);
    if (rest.starts_with("<?")) {
      const size_t end = doc.find("?>", pos + 2);
      if (end == std::string_view::npos) return Bad(pos, "unterminated processing instruction");
      pos = end + 2;
    } else if (rest.starts_with("<!--")) {
      const size_t end = doc.find("-->", pos + 4);
      if (end == std::string_view::npos) return Bad(pos, "unterminated comment");
      pos = end + 3;
    } else if (rest.starts_with("<![CDATA[")) {
      if (stack.empty()) return Bad(pos, "CDATA outside the root");
      const size_t end = doc.find("]]>", pos + 9);
      if (end == std::string_view::npos) return Bad(pos, "unterminated CDATA section");
      stack.back().text.append(doc.substr(pos + 9, end - pos - 9));
      pos = end + 3;
    } else if (rest.starts_with("<!")) {
      return Bad(pos, "DOCTYPE and other declarations are not accepted");
    } else if (rest.starts_with("</")) {
      size_t i = pos + 2;
      while (i < doc.size() && IsNameChar(doc[i])) ++i;
      std::string_view name = doc.substr(pos + 2, i - pos - 2);
      while (i < doc.size() && IsSpace(doc[i])) ++i;
      if (i >= doc.size() || doc[i] != '>') return Bad(pos, "malformed end tag");
      if (const size_t colon = name.find(':'); colon != std::string_view::npos) {
        name = name.substr(colon + 1);
      }
      if (stack.empty() || stack.back().name != name) {
        return Bad(pos, "end tag </" + std::string(name) + "> does not match");
      }
      XmlElement done = std::move(stack.back());
      stack.pop_back();
      if (stack.empty()) {
        root = std::move(done);
      } else {
        stack.back().children.push_back(std::move(done));
      }
      pos = i + 1;
    } else {
      if (root) return Bad(pos, "a second root element");
      size_t i = pos + 1;
      while (i < doc.size() && IsNameChar(doc[i])) ++i;
      std::string_view name = doc.substr(pos + 1, i - pos - 1);
      if (name.empty()) return Bad(pos, "empty element name");
      if (const size_t colon = name.find(':'); colon != std::string_view::npos) {
        name = name.substr(colon + 1);
      }
      // Attributes (namespaces and the like) are skipped, quotes respected.
      char quote = 0;
      while (i < doc.size()) {
        const char c = doc[i];
        if (quote) {
          if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '>' || c == '<') {
          break;
        }
        ++i;
      }
      if (i >= doc.size() || doc[i] != '>') return Bad(pos, "unterminated start tag");
      const bool self_closing = doc[i - 1] == '/';
      if (++elements > limits.max_elements) {
        return ResourceExhausted("S3 response XML has more than " +
                                 std::to_string(limits.max_elements) + " elements");
      }
      if (stack.size() >= limits.max_depth) {
        return Bad(pos, "nesting deeper than " + std::to_string(limits.max_depth));
      }
      XmlElement el;
      el.name = std::string(name);
      if (self_closing) {
        if (stack.empty()) {
          root = std::move(el);
        } else {
          stack.back().children.push_back(std::move(el));
        }
      } else {
        stack.push_back(std::move(el));
      }
      pos = i + 1;
    }
  }
  if (!stack.empty()) return Bad(doc.size(), "<" + stack.back().name + "> is not closed");
  if (!root) return Bad(0, "no root element");
  return std::move(*root);
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::optional<ErrorBody> ParseErrorBody(std::string_view body) {
  auto doc = ParseXml(body);
  if (!doc.ok() || doc->name != "Error") return std::nullopt;
  ErrorBody e;
  e.code = doc->ChildText("Code");
  e.message = doc->ChildText("Message");
  e.request_id = doc->ChildText("RequestId");
  e.resource = doc->ChildText("Resource");
  if (e.code.empty()) return std::nullopt;
  return e;
}

Result<ListObjectsResult> ParseListObjectsV2(std::string_view body) {
  ATCR_ASSIGN_OR_RETURN(XmlElement doc, ParseRoot(body, "ListBucketResult"));
  ListObjectsResult out;
  out.truncated = ParseBool(doc.ChildText("IsTruncated"));
  out.next_continuation_token = doc.ChildText("NextContinuationToken");
  for (const XmlElement* c : doc.Children("Contents")) {
    ListedObject o;
    o.key = c->ChildText("Key");
    ATCR_ASSIGN_OR_RETURN(o.size, ParseU64(c->ChildText("Size"), "Size"));
    o.modified_unix = ParseTime(c->ChildText("LastModified"));
    o.etag = c->ChildText("ETag");
    out.objects.push_back(std::move(o));
  }
  if (out.truncated && out.next_continuation_token.empty()) {
    return InvalidArgument("S3 response XML: truncated listing without NextContinuationToken");
  }
  return out;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view body) {
  ATCR_ASSIGN_OR_RETURN(XmlElement doc, ParseRoot(body, "InitiateMultipartUploadResult"));
  std::string id = doc.ChildText("UploadId");
  if (id.empty())
    return InvalidArgument("S3 response XML: InitiateMultipartUpload without UploadId");
  return id;
}

Result<ListPartsResult> ParseListParts(std::string_view body) {
  ATCR_ASSIGN_OR_RETURN(XmlElement doc, ParseRoot(body, "ListPartsResult"));
  ListPartsResult out;
  out.truncated = ParseBool(doc.ChildText("IsTruncated"));
  out.next_part_number_marker = doc.ChildText("NextPartNumberMarker");
  for (const XmlElement* p : doc.Children("Part")) {
    ListedPart part;
    ATCR_ASSIGN_OR_RETURN(uint64_t n, ParseU64(p->ChildText("PartNumber"), "PartNumber"));
    if (n < 1 || n > 10000) return InvalidArgument("S3 response XML: PartNumber out of range");
    part.part_number = static_cast<int32_t>(n);
    part.etag = p->ChildText("ETag");
    ATCR_ASSIGN_OR_RETURN(part.size, ParseU64(p->ChildText("Size"), "Size"));
    part.modified_unix = ParseTime(p->ChildText("LastModified"));
    out.parts.push_back(std::move(part));
  }
  if (out.truncated && out.next_part_number_marker.empty()) {
    return InvalidArgument("S3 response XML: truncated part list without NextPartNumberMarker");
  }
  return out;
}

Result<ListUploadsResult> ParseListMultipartUploads(std::string_view body) {
  ATCR_ASSIGN_OR_RETURN(XmlElement doc, ParseRoot(body, "ListMultipartUploadsResult"));
  ListUploadsResult out;
  out.truncated = ParseBool(doc.ChildText("IsTruncated"));
  out.next_key_marker = doc.ChildText("NextKeyMarker");
  out.next_upload_id_marker = doc.ChildText("NextUploadIdMarker");
  for (const XmlElement* u : doc.Children("Upload")) {
    ListedUpload up;
    up.key = u->ChildText("Key");
    up.upload_id = u->ChildText("UploadId");
    up.initiated_unix = ParseTime(u->ChildText("Initiated"));
    if (up.upload_id.empty()) return InvalidArgument("S3 response XML: Upload without UploadId");
    out.uploads.push_back(std::move(up));
  }
  if (out.truncated && out.next_key_marker.empty() && out.next_upload_id_marker.empty()) {
    return InvalidArgument("S3 response XML: truncated upload list without a marker");
  }
  return out;
}

Result<std::string> ParseResultETag(std::string_view body, std::string_view root) {
  ATCR_ASSIGN_OR_RETURN(XmlElement doc, ParseRoot(body, root));
  return doc.ChildText("ETag");
}

std::string BuildCompleteMultipartUpload(const std::vector<CompletedPart>& parts) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const auto& p : parts) {
    out += "<Part><PartNumber>" + std::to_string(p.part_number) + "</PartNumber><ETag>" +
           XmlEscape(p.etag) + "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace atcr::storage::s3
