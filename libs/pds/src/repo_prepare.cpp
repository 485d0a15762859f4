#include "internal/repo_prepare.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "atcr/atproto/syntax.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/data_model.h"
#include "atcr/cbor/json.h"

namespace atcr::pds::internal {

using cbor::Cid;
using cbor::Value;

namespace {

bool IsBlobRefShape(const Value::Map& m) {
  auto type = m.find("$type");
  if (type == m.end() || type->second.if_string() == nullptr ||
      *type->second.if_string() != "blob") {
    return false;
  }
  for (const auto& [k, v] : m) {
    if (k != "$type" && k != "mimeType" && k != "ref" && k != "size") return false;
  }
  auto mime = m.find("mimeType");
  auto size = m.find("size");
  auto ref = m.find("ref");
  return mime != m.end() && mime->second.if_string() != nullptr &&
         mime->second.if_string()->find('/') != std::string::npos && size != m.end() &&
         size->second.if_int() && *size->second.if_int() >= 0 && ref != m.end() &&
         ref->second.is_link();
}

bool IsLegacyBlobRef(const Value::Map& m) {
  if (m.size() != 2) return false;
  auto cid = m.find("cid");
  auto mime = m.find("mimeType");
  if (cid == m.end() || mime == m.end()) return false;
  const std::string* c = cid->second.if_string();
  const std::string* t = mime->second.if_string();
  return c != nullptr && t != nullptr && !t->empty() && Cid::Parse(*c).ok();
}

Status Collect(const Value& v, std::vector<BlobRef>& out, std::set<Cid>& seen, int depth) {
  if (depth > 64) return InvalidArgument("record nested deeper than 64 levels");
  if (const Value::List* l = v.if_list()) {
    for (const Value& item : *l) ATCR_TRY(Collect(item, out, seen, depth + 1));
    return Ok();
  }
  const Value::Map* m = v.if_map();
  if (m == nullptr) return Ok();
  if (IsBlobRefShape(*m)) {
    BlobRef ref;
    ref.cid = m->at("ref").as_link();
    ref.mime_type = m->at("mimeType").as_string();
    ref.size = static_cast<uint64_t>(m->at("size").as_int());
    if (seen.insert(ref.cid).second) out.push_back(std::move(ref));
    return Ok();
  }
  if (IsLegacyBlobRef(*m)) {
    return InvalidArgument("Legacy blobs are not allowed (" + m->at("cid").as_string() + ")");
  }
  for (const auto& [k, item] : *m) ATCR_TRY(Collect(item, out, seen, depth + 1));
  return Ok();
}

std::string Describe(const Value& v) {
  if (const std::string* s = v.if_string()) return *s;
  return cbor::ToJsonText(v);
}

}  // namespace

Result<std::vector<BlobRef>> CollectBlobRefs(const Value& record) {
  std::vector<BlobRef> out;
  std::set<Cid> seen;
  ATCR_TRY(Collect(record, out, seen, 0));
  return out;
}

Result<PreparedWrite> PrepareWrite(std::string_view did, RepoWrite write,
                                   std::optional<bool> validate,
                                   const atproto::LexiconCatalog& lexicons,
                                   atproto::TidClock& rkey_clock, size_t max_record_bytes) {
  PreparedWrite p;
  p.action = write.action;
  p.swap_record = std::move(write.swap_record);
  p.ignore_missing = write.ignore_missing;
  if (!atproto::ValidateNsid(write.collection).ok()) {
    return InvalidArgument("Invalid collection: " + write.collection.substr(0, 80));
  }
  p.collection = std::move(write.collection);
  if (!write.rkey.empty()) {
    if (!atproto::ValidateRecordKey(write.rkey).ok()) {
      return InvalidArgument("Invalid record key: " + write.rkey.substr(0, 80));
    }
  } else if (write.action != RepoWrite::Action::kCreate) {
    return InvalidArgument("A record key is required");
  }

  if (write.action != RepoWrite::Action::kDelete) {
    Value::Map* m = write.record.if_map();
    if (m == nullptr) return InvalidArgument("Record must be an object");
    auto type = m->find("$type");
    if (type == m->end()) {
      (*m)["$type"] = p.collection;
    } else if (type->second.if_string() == nullptr || *type->second.if_string() != p.collection) {
      return InvalidArgument("Invalid $type: expected " + p.collection + ", got " +
                             Describe(type->second));
    }
  }
  p.rkey = write.rkey.empty() ? rkey_clock.Next().ToString() : std::move(write.rkey);
  p.path = p.collection + "/" + p.rkey;
  p.uri = RecordUri(did, p.collection, p.rkey);
  if (write.action == RepoWrite::Action::kDelete) return p;

  if (auto st = cbor::ValidateAtprotoData(write.record); !st.ok()) {
    return InvalidArgument(st.error().message);
  }
  if (validate != false) {
    auto main = lexicons.MainType(p.collection);
    if (main.ok() && *main == "record") {
      if (auto st = lexicons.ValidateRecord(p.collection, write.record, p.rkey); !st.ok()) {
        return InvalidArgument("Invalid " + p.collection + " record: " + st.error().message);
      }
      p.validation_status = "valid";
    } else if (validate == true) {
      return InvalidArgument("Unknown lexicon type: " + p.collection);
    } else {
      p.validation_status = "unknown";
    }
  }
  ATCR_ASSIGN_OR_RETURN(p.blobs, CollectBlobRefs(write.record));
  p.cbor = cbor::Encode(write.record);
  if (p.cbor.size() > max_record_bytes) {
    return InvalidArgument("Record too large: " + std::to_string(p.cbor.size()) +
                           " bytes of DAG-CBOR, the limit is " +
                           std::to_string(max_record_bytes));
  }
  p.cid = Cid::ForDagCbor(p.cbor);
  return p;
}

namespace {

bool StartsWith(ByteSpan head, std::string_view magic, size_t offset = 0) {
  if (head.size() < offset + magic.size()) return false;
  return std::memcmp(head.data() + offset, magic.data(), magic.size()) == 0;
}

}  // namespace

std::string SniffMimeType(ByteSpan h) {
  using namespace std::string_view_literals;
  if (StartsWith(h, "\x89PNG\r\n\x1a\n"sv)) return "image/png";
  if (StartsWith(h, "\xff\xd8\xff"sv)) return "image/jpeg";
  if (StartsWith(h, "GIF87a"sv) || StartsWith(h, "GIF89a"sv)) return "image/gif";
  if (StartsWith(h, "RIFF"sv) && StartsWith(h, "WEBP"sv, 8)) return "image/webp";
  if (StartsWith(h, "ftyp"sv, 4)) {
    if (StartsWith(h, "avif"sv, 8) || StartsWith(h, "avis"sv, 8)) return "image/avif";
    if (StartsWith(h, "heic"sv, 8) || StartsWith(h, "heix"sv, 8)) return "image/heic";
    if (StartsWith(h, "qt  "sv, 8)) return "video/quicktime";
    return "video/mp4";
  }
  if (StartsWith(h, "\x1a\x45\xdf\xa3"sv)) return "video/webm";
  if (StartsWith(h, "%PDF-"sv)) return "application/pdf";
  if (StartsWith(h, "\x1f\x8b"sv)) return "application/gzip";
  if (StartsWith(h, "\x28\xb5\x2f\xfd"sv)) return "application/zstd";
  if (StartsWith(h, "PK\x03\x04"sv)) return "application/zip";
  return {};
}

std::string BareMimeType(std::string_view content_type) {
  size_t semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  std::string out(t);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace atcr::pds::internal
