#include "atcr/cbor/value.h"

#include <cmath>

namespace atcr::cbor {

Value Value::Float(double d) {
  ATCR_CHECK(std::isfinite(d));
  Value v;
  v.v_ = d;
  return v;
}

std::optional<int64_t> Value::if_int() const {
  if (const int64_t* p = std::get_if<int64_t>(&v_)) return *p;
  return std::nullopt;
}

std::optional<bool> Value::if_bool() const {
  if (const bool* p = std::get_if<bool>(&v_)) return *p;
  return std::nullopt;
}

const Value* Value::Find(std::string_view key) const {
  const Map* m = if_map();
  if (m == nullptr) return nullptr;
  auto it = m->find(key);
  return it == m->end() ? nullptr : &it->second;
}

const std::string* Value::FindString(std::string_view key) const {
  const Value* v = Find(key);
  return v ? v->if_string() : nullptr;
}

const Bytes* Value::FindBytes(std::string_view key) const {
  const Value* v = Find(key);
  return v ? v->if_bytes() : nullptr;
}

const Value::List* Value::FindList(std::string_view key) const {
  const Value* v = Find(key);
  return v ? v->if_list() : nullptr;
}

const Value::Map* Value::FindMap(std::string_view key) const {
  const Value* v = Find(key);
  return v ? v->if_map() : nullptr;
}

const Cid* Value::FindLink(std::string_view key) const {
  const Value* v = Find(key);
  return v ? v->if_link() : nullptr;
}

std::optional<int64_t> Value::FindInt(std::string_view key) const {
  const Value* v = Find(key);
  return v ? v->if_int() : std::nullopt;
}

std::optional<bool> Value::FindBool(std::string_view key) const {
  const Value* v = Find(key);
  return v ? v->if_bool() : std::nullopt;
}

const char* Value::KindName(Kind k) {
  switch (k) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "string";
    case Kind::kBytes: return "bytes";
    case Kind::kList: return "list";
    case Kind::kMap: return "map";
    case Kind::kLink: return "link";
  }
  return "?";
}

}  // namespace atcr::cbor
