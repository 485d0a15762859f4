#include "atcr/cbor/data_model.h"

#include <string>

namespace atcr::cbor {
namespace {

Error Fail(const std::string& path, const std::string& what) {
  return InvalidArgument("data model: $" + path + ": " + what);
}

Status CheckBlob(const Value& v, const std::string& path) {
  if (v.FindLink("ref") == nullptr) return Fail(path, "blob ref without 'ref' link");
  const std::string* mime = v.FindString("mimeType");
  if (mime == nullptr || mime->empty()) return Fail(path, "blob ref without 'mimeType' string");
  std::optional<int64_t> size = v.FindInt("size");
  if (!size) return Fail(path, "blob ref without integer 'size'");
  if (*size < 0) return Fail(path, "blob ref with negative 'size'");
  return Ok();
}

Status Check(const Value& v, std::string& path) {
  switch (v.kind()) {
    case Value::Kind::kFloat:
      return Fail(path, "floats are not allowed in atproto data");
    case Value::Kind::kList: {
      const auto& list = v.as_list();
      for (size_t i = 0; i < list.size(); ++i) {
        size_t mark = path.size();
        path += '[';  // three appends: GCC 12 -O3 warns (-Wrestrict) on "[" + to_string(i)
        path += std::to_string(i);
        path += ']';
        ATCR_TRY(Check(list[i], path));
        path.resize(mark);
      }
      return Ok();
    }
    case Value::Kind::kMap: {
      if (const Value* type = v.Find("$type")) {
        const std::string* s = type->if_string();
        if (s == nullptr) return Fail(path, "$type is not a string");
        if (s->empty()) return Fail(path, "$type is empty");
        if (*s == "blob") ATCR_TRY(CheckBlob(v, path));
      }
      for (const auto& [key, item] : v.as_map()) {
        size_t mark = path.size();
        path += "." + key;
        ATCR_TRY(Check(item, path));
        path.resize(mark);
      }
      return Ok();
    }
    default:
      return Ok();
  }
}

}  // namespace

Status ValidateAtprotoData(const Value& v) {
  std::string path;
  if (!v.is_map()) return Fail(path, "top level must be a map, got " +
                                         std::string(Value::KindName(v.kind())));
  return Check(v, path);
}

}  // namespace atcr::cbor
