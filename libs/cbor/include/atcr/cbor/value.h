// Value: one node of the IPLD / ATProto data model — null, bool, int64, float64, string,
// bytes, list, map (string keys), link (Cid). Maps keep their keys in DAG-CBOR canonical order
// (length first, then bytewise), so iteration order is encoding order.
// Values from Decode() and FromJson() are valid by construction (UTF-8 strings, finite floats);
// code building Values by hand must keep strings valid UTF-8 (Encode does not re-check).
// A Value is a plain value type; thread-compatible.
//
//   Value::Map m;
//   m["text"] = "hello";
//   m["count"] = 3;
//   m["ref"] = cid;
//   Value v(std::move(m));
//   if (const std::string* s = v.FindString("text")) ...
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "atcr/base/check.h"
#include "atcr/base/encoding.h"
#include "atcr/cbor/cid.h"

namespace atcr::cbor {

// DAG-CBOR map key order: shorter (in UTF-8 bytes) first, equal lengths bytewise.
struct MapKeyLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;  // char_traits<char>::compare is unsigned (memcmp) ordering
  }
};

class Value {
 public:
  enum class Kind : uint8_t { kNull, kBool, kInt, kFloat, kString, kBytes, kList, kMap, kLink };
  using List = std::vector<Value>;
  using Map = std::map<std::string, Value, MapKeyLess>;

  Value() = default;  // null
  Value(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  Value(bool b) : v_(b) {}  // NOLINT(google-explicit-constructor)
  template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, char>)
  Value(I i) : v_(ToInt64(i)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* s) : v_(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  Value(std::string s) : v_(std::move(s)) {}  // NOLINT(google-explicit-constructor)
  Value(std::string_view s) : v_(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  Value(Bytes b) : v_(std::move(b)) {}  // NOLINT(google-explicit-constructor)
  Value(Cid c) : v_(std::move(c)) {}  // NOLINT(google-explicit-constructor)
  Value(List l) : v_(std::move(l)) {}  // NOLINT(google-explicit-constructor)
  Value(Map m) : v_(std::move(m)) {}  // NOLINT(google-explicit-constructor)
  // Floats are explicit: ATProto records forbid them. `d` must be finite (checked).
  static Value Float(double d);
  static Value EmptyMap() { return Value(Map{}); }
  static Value EmptyList() { return Value(List{}); }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_bytes() const { return kind() == Kind::kBytes; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_map() const { return kind() == Kind::kMap; }
  bool is_link() const { return kind() == Kind::kLink; }

  // Checked accessors: the kind must match (a mismatch is a bug in the caller; it aborts).
  // Use the Find*/if_* forms on data whose shape is not yet known.
  bool as_bool() const { return Get<bool>(); }
  int64_t as_int() const { return Get<int64_t>(); }
  double as_float() const { return Get<double>(); }
  const std::string& as_string() const { return Get<std::string>(); }
  const Bytes& as_bytes() const { return Get<Bytes>(); }
  const List& as_list() const { return Get<List>(); }
  List& as_list() { return GetMut<List>(); }
  const Map& as_map() const { return Get<Map>(); }
  Map& as_map() { return GetMut<Map>(); }
  const Cid& as_link() const { return Get<Cid>(); }

  // Pointer to the payload if the kind matches, else nullptr.
  const std::string* if_string() const { return std::get_if<std::string>(&v_); }
  const Bytes* if_bytes() const { return std::get_if<Bytes>(&v_); }
  const List* if_list() const { return std::get_if<List>(&v_); }
  const Map* if_map() const { return std::get_if<Map>(&v_); }
  Map* if_map() { return std::get_if<Map>(&v_); }
  const Cid* if_link() const { return std::get_if<Cid>(&v_); }
  std::optional<int64_t> if_int() const;
  std::optional<bool> if_bool() const;

  // Map lookups; nullptr / nullopt when this is not a map, the key is absent, or the kind
  // of the entry differs.
  const Value* Find(std::string_view key) const;
  const std::string* FindString(std::string_view key) const;
  const Bytes* FindBytes(std::string_view key) const;
  const List* FindList(std::string_view key) const;
  const Map* FindMap(std::string_view key) const;
  const Cid* FindLink(std::string_view key) const;
  std::optional<int64_t> FindInt(std::string_view key) const;
  std::optional<bool> FindBool(std::string_view key) const;

  // Structural equality; floats compare by value.
  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

  static const char* KindName(Kind k);

 private:
  template <typename I>
  static int64_t ToInt64(I i) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(int64_t)) {
      ATCR_CHECK(i <= static_cast<uint64_t>(INT64_MAX));
    }
    return static_cast<int64_t>(i);
  }
  template <typename T>
  const T& Get() const {
    const T* p = std::get_if<T>(&v_);
    ATCR_CHECK(p != nullptr);
    return *p;
  }
  template <typename T>
  T& GetMut() {
    T* p = std::get_if<T>(&v_);
    ATCR_CHECK(p != nullptr);
    return *p;
  }

  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Bytes, List, Map, Cid> v_;
};

}  // namespace atcr::cbor
