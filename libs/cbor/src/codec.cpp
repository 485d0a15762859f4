#include "atcr/cbor/codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "internal/utf8.h"

namespace atcr::cbor {
namespace {

enum Major : uint8_t {
  kUint = 0,
  kNegInt = 1,
  kByteString = 2,
  kTextString = 3,
  kArray = 4,
  kMap = 5,
  kTag = 6,
  kSimple = 7,
};

constexpr uint64_t kCidTag = 42;

// ---- encoder ----

// Length of the head for argument `arg` (initial byte plus 0, 1, 2, 4 or 8 argument bytes).
size_t HeadSize(uint64_t arg) {
  if (arg < 24) return 1;
  if (arg <= 0xff) return 2;
  if (arg <= 0xffff) return 3;
  if (arg <= 0xffffffff) return 5;
  return 9;
}

// Exact size of the encoding of `v`, so Encode allocates its output once.
size_t EncodedSize(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
    case Value::Kind::kBool:
      return 1;
    case Value::Kind::kInt: {
      const int64_t i = v.as_int();
      return HeadSize(i >= 0 ? static_cast<uint64_t>(i) : ~static_cast<uint64_t>(i));
    }
    case Value::Kind::kFloat:
      return 9;
    case Value::Kind::kString: {
      const size_t n = v.as_string().size();
      return HeadSize(n) + n;
    }
    case Value::Kind::kBytes: {
      const size_t n = v.as_bytes().size();
      return HeadSize(n) + n;
    }
    case Value::Kind::kList: {
      const Value::List& l = v.as_list();
      size_t n = HeadSize(l.size());
      for (const Value& item : l) n += EncodedSize(item);
      return n;
    }
    case Value::Kind::kMap: {
      const Value::Map& m = v.as_map();
      size_t n = HeadSize(m.size());
      for (const auto& [key, item] : m) n += HeadSize(key.size()) + key.size() + EncodedSize(item);
      return n;
    }
    case Value::Kind::kLink: {
      const size_t n = v.as_link().bytes().size() + 1;
      return HeadSize(kCidTag) + HeadSize(n) + n;
    }
  }
  return 0;
}

void AppendHead(Major major, uint64_t arg, Bytes& out) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    out.push_back(m | static_cast<uint8_t>(arg));
    return;
  }
  uint8_t head[9];
  size_t n;
  if (arg <= 0xff) {
    head[0] = m | 24;
    n = 1;
  } else if (arg <= 0xffff) {
    head[0] = m | 25;
    n = 2;
  } else if (arg <= 0xffffffff) {
    head[0] = m | 26;
    n = 4;
  } else {
    head[0] = m | 27;
    n = 8;
  }
  for (size_t i = 0; i < n; ++i) head[1 + i] = static_cast<uint8_t>(arg >> (8 * (n - 1 - i)));
  out.insert(out.end(), head, head + 1 + n);
}

void AppendText(Major major, const uint8_t* data, size_t size, Bytes& out) {
  AppendHead(major, size, out);
  out.insert(out.end(), data, data + size);
}

void EncodeValue(const Value& v, Bytes& out) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      out.push_back(0xf6);
      return;
    case Value::Kind::kBool:
      out.push_back(v.as_bool() ? 0xf5 : 0xf4);
      return;
    case Value::Kind::kInt: {
      int64_t i = v.as_int();
      if (i >= 0) {
        AppendHead(kUint, static_cast<uint64_t>(i), out);
      } else {
        // -1 - i without overflow: ~i as unsigned.
        AppendHead(kNegInt, ~static_cast<uint64_t>(i), out);
      }
      return;
    }
    case Value::Kind::kFloat: {
      uint64_t bits = std::bit_cast<uint64_t>(v.as_float());
      uint8_t f[9];
      f[0] = 0xfb;
      for (int i = 0; i < 8; ++i) f[1 + i] = static_cast<uint8_t>(bits >> (8 * (7 - i)));
      out.insert(out.end(), f, f + 9);
      return;
    }
    case Value::Kind::kString: {
      const std::string& s = v.as_string();
      AppendText(kTextString, reinterpret_cast<const uint8_t*>(s.data()), s.size(), out);
      return;
    }
    case Value::Kind::kBytes: {
      const Bytes& b = v.as_bytes();
      AppendText(kByteString, b.data(), b.size(), out);
      return;
    }
    case Value::Kind::kList: {
      const Value::List& l = v.as_list();
      AppendHead(kArray, l.size(), out);
      for (const Value& item : l) EncodeValue(item, out);
      return;
    }
    case Value::Kind::kMap: {
      const Value::Map& m = v.as_map();
      AppendHead(kMap, m.size(), out);
      for (const auto& [key, item] : m) {  // Map iterates in canonical key order
        AppendText(kTextString, reinterpret_cast<const uint8_t*>(key.data()), key.size(), out);
        EncodeValue(item, out);
      }
      return;
    }
    case Value::Kind::kLink: {
      const Cid& c = v.as_link();
      ATCR_CHECK(!c.empty());
      AppendHead(kTag, kCidTag, out);
      ByteSpan b = c.bytes();
      AppendHead(kByteString, b.size() + 1, out);
      out.push_back(0x00);  // identity multibase prefix, required by DAG-CBOR
      out.insert(out.end(), b.begin(), b.end());
      return;
    }
  }
}

// ---- decoder ----

// Decodes into caller-owned Values and reports failure as `false` plus a stored error: the hot
// path then moves no Result<Value> through each level and builds no Error until one is needed.
class Decoder {
 public:
  Decoder(ByteSpan data, const DecodeLimits& limits) : data_(data), limits_(limits) {}

  // Decodes one item into `out` (which must be null). On false, TakeError() says why.
  bool Item(size_t depth, Value& out);
  size_t pos() const { return pos_; }
  Error TakeError() { return std::move(error_); }

 private:
  struct Head {
    Major major;
    uint8_t info;
    uint64_t arg;
    size_t offset;
  };

  bool Fail(size_t offset, const std::string& what) {
    error_ = InvalidArgument("cbor: " + what + " at offset " + std::to_string(offset));
    return false;
  }
  // A DecodeLimits bound was hit: the input may be canonical, just too big for this caller.
  bool LimitHit(size_t offset, const std::string& what) {
    error_ = ResourceExhausted("cbor: " + what + " at offset " + std::to_string(offset));
    return false;
  }
  size_t remaining() const { return data_.size() - pos_; }

  // Reads an initial byte and its argument; rejects reserved and indefinite forms and
  // non-shortest arguments. For major 7 with info >= 25 the argument is the raw float bits.
  bool ReadHead(Head& h);
  bool ReadHeadSlow(Head& h);
  // Validates the text string `h` heads and points `s` at its bytes in the input.
  bool Text(const Head& h, std::string_view& s);
  bool List(const Head& h, size_t depth, Value& out);
  bool Map(const Head& h, size_t depth, Value& out);
  bool Link(const Head& h, Value& out);
  bool Simple(const Head& h, Value& out);

  ByteSpan data_;
  const DecodeLimits& limits_;
  size_t pos_ = 0;
  size_t items_ = 0;
  Error error_;
};

inline bool Decoder::ReadHead(Head& h) {
  if (pos_ < data_.size()) {
    const uint8_t ib = data_[pos_];
    if ((ib & 0x1f) < 24) {  // the argument is in the initial byte: always canonical
      h = Head{static_cast<Major>(ib >> 5), static_cast<uint8_t>(ib & 0x1f), ib & 0x1fu, pos_};
      ++pos_;
      return true;
    }
    // One argument byte (strings of 24-255 bytes: digests, media types, timestamps).
    if ((ib & 0x1f) == 24 && (ib >> 5) != kSimple && data_.size() - pos_ >= 2 &&
        data_[pos_ + 1] >= 24) {
      h = Head{static_cast<Major>(ib >> 5), 24, data_[pos_ + 1], pos_};
      pos_ += 2;
      return true;
    }
  }
  return ReadHeadSlow(h);
}

bool Decoder::ReadHeadSlow(Head& h) {
  const size_t start = pos_;
  if (remaining() == 0) return Fail(start, "unexpected end of input");
  const uint8_t ib = data_[pos_++];
  h = Head{static_cast<Major>(ib >> 5), static_cast<uint8_t>(ib & 0x1f), 0, start};
  if (h.info < 24) {
    h.arg = h.info;
    return true;
  }
  if (h.info == 31) {
    if (h.major == kSimple) return Fail(start, "unexpected 'break' (0xff)");
    return Fail(start, "indefinite-length item not allowed");
  }
  if (h.info > 27) return Fail(start, "reserved additional information " + std::to_string(h.info));
  const size_t n = size_t{1} << (h.info - 24);
  if (remaining() < n) return Fail(start, "truncated item head");
  uint64_t arg = 0;
  for (size_t i = 0; i < n; ++i) arg = (arg << 8) | data_[pos_++];
  h.arg = arg;
  if (h.major == kSimple) return true;  // floats and simple values: validated by the caller
  const uint64_t min_for_width[] = {24, 0x100, 0x10000, 0x100000000ull};
  if (arg < min_for_width[h.info - 24]) {
    return Fail(start, "non-shortest encoding of argument " + std::to_string(arg));
  }
  return true;
}

inline bool Decoder::Text(const Head& h, std::string_view& s) {
  if (h.arg > remaining()) {
    return Fail(h.offset, "text string length " + std::to_string(h.arg) + " exceeds input");
  }
  s = std::string_view(reinterpret_cast<const char*>(data_.data() + pos_), h.arg);
  const size_t bad = internal::FindInvalidUtf8(s);
  if (bad != s.size()) return Fail(pos_ + bad, "invalid UTF-8 in text string");
  pos_ += h.arg;
  return true;
}

bool Decoder::List(const Head& h, size_t depth, Value& out) {
  if (depth >= limits_.max_depth) {
    return LimitHit(h.offset, "nesting deeper than " + std::to_string(limits_.max_depth));
  }
  // Every item takes at least one byte: a count beyond the input is a lie.
  if (h.arg > remaining()) {
    return Fail(h.offset, "array count " + std::to_string(h.arg) + " exceeds input");
  }
  out = Value::EmptyList();
  Value::List& list = out.as_list();
  // Bounded by the input (checked above) and by the items still allowed, so a hostile count
  // reserves no more than DecodeLimits already lets the decoded value grow to.
  const size_t items_left = limits_.max_items > items_ ? limits_.max_items - items_ : 0;
  list.reserve(std::min<uint64_t>(h.arg, items_left));
  for (uint64_t i = 0; i < h.arg; ++i) {
    list.emplace_back();
    if (!Item(depth + 1, list.back())) return false;
  }
  return true;
}

bool Decoder::Map(const Head& h, size_t depth, Value& out) {
  if (depth >= limits_.max_depth) {
    return LimitHit(h.offset, "nesting deeper than " + std::to_string(limits_.max_depth));
  }
  if (h.arg > remaining() / 2) {
    return Fail(h.offset, "map size " + std::to_string(h.arg) + " exceeds input");
  }
  out = Value::EmptyMap();
  Value::Map& map = out.as_map();
  MapKeyLess less;
  std::string_view prev;  // the previous key, still in the input
  for (uint64_t i = 0; i < h.arg; ++i) {
    const size_t key_offset = pos_;
    Head kh;
    if (!ReadHead(kh)) return false;
    if (kh.major != kTextString) return Fail(key_offset, "map key is not a text string");
    std::string_view key;
    if (!Text(kh, key)) return false;
    if (i > 0) {
      if (prev == key) return Fail(key_offset, "duplicate map key \"" + std::string(key) + "\"");
      if (!less(prev, key)) {
        return Fail(key_offset, "map keys out of canonical order (\"" + std::string(key) +
                                    "\" after \"" + std::string(prev) + "\")");
      }
    }
    prev = key;
    // Keys arrive in map order, so the hint makes every insertion O(1); the value is decoded
    // straight into its node.
    auto it = map.emplace_hint(map.end(), std::piecewise_construct, std::forward_as_tuple(key),
                               std::forward_as_tuple());
    if (!Item(depth + 1, it->second)) return false;
  }
  return true;
}

bool Decoder::Link(const Head& h, Value& out) {
  if (h.arg != kCidTag) return Fail(h.offset, "tag " + std::to_string(h.arg) + " not allowed (only 42)");
  const size_t content_offset = pos_;
  Head bh;
  if (!ReadHead(bh)) return false;
  if (bh.major != kByteString) return Fail(content_offset, "tag 42 content is not a byte string");
  if (bh.arg > remaining()) return Fail(content_offset, "tag 42 byte string exceeds input");
  if (bh.arg == 0 || data_[pos_] != 0x00) {
    return Fail(pos_, "CID in tag 42 lacks the 0x00 multibase prefix");
  }
  ByteSpan cid_bytes = data_.subspan(pos_ + 1, bh.arg - 1);
  auto cid = Cid::FromBytes(cid_bytes);
  if (!cid.ok()) return Fail(pos_, cid.error().message);
  pos_ += bh.arg;
  out = Value(std::move(cid).value());
  return true;
}

bool Decoder::Simple(const Head& h, Value& out) {
  switch (h.info) {
    case 20:
      out = Value(false);
      return true;
    case 21:
      out = Value(true);
      return true;
    case 22:
      out = Value(nullptr);
      return true;
    case 23:
      return Fail(h.offset, "'undefined' not allowed");
    case 24:
      return Fail(h.offset, "simple value " + std::to_string(h.arg) + " not allowed");
    case 25:
      return Fail(h.offset, "16-bit float not allowed (only 64-bit)");
    case 26:
      return Fail(h.offset, "32-bit float not allowed (only 64-bit)");
    case 27: {
      double d = std::bit_cast<double>(h.arg);
      if (std::isnan(d)) return Fail(h.offset, "NaN not allowed");
      if (std::isinf(d)) return Fail(h.offset, "Infinity not allowed");
      if (!limits_.allow_floats) return Fail(h.offset, "float not allowed");
      out = Value::Float(d);
      return true;
    }
    default:
      return Fail(h.offset, "simple value " + std::to_string(h.info) + " not allowed");
  }
}

bool Decoder::Item(size_t depth, Value& out) {
  if (++items_ > limits_.max_items) {
    return LimitHit(pos_, "more than " + std::to_string(limits_.max_items) + " items");
  }
  Head h;
  if (!ReadHead(h)) return false;
  switch (h.major) {
    case kUint:
      if (h.arg > static_cast<uint64_t>(INT64_MAX)) {
        return Fail(h.offset, "integer " + std::to_string(h.arg) + " exceeds int64");
      }
      out = Value(static_cast<int64_t>(h.arg));
      return true;
    case kNegInt:
      if (h.arg > static_cast<uint64_t>(INT64_MAX)) {
        return Fail(h.offset, "negative integer -1-" + std::to_string(h.arg) + " below int64");
      }
      out = Value(-1 - static_cast<int64_t>(h.arg));
      return true;
    case kByteString: {
      if (h.arg > remaining()) {
        return Fail(h.offset, "byte string length " + std::to_string(h.arg) + " exceeds input");
      }
      const uint8_t* begin = data_.data() + pos_;
      pos_ += h.arg;
      out = Value(Bytes(begin, begin + h.arg));
      return true;
    }
    case kTextString: {
      std::string_view s;
      if (!Text(h, s)) return false;
      out = Value(s);
      return true;
    }
    case kArray:
      return List(h, depth, out);
    case kMap:
      return Map(h, depth, out);
    case kTag:
      return Link(h, out);
    case kSimple:
      return Simple(h, out);
  }
  return Fail(h.offset, "unknown major type");
}

}  // namespace

Bytes Encode(const Value& v) {
  Bytes out;
  out.reserve(EncodedSize(v));
  EncodeValue(v, out);
  return out;
}

void EncodeTo(const Value& v, Bytes& out) {
  out.reserve(out.size() + EncodedSize(v));
  EncodeValue(v, out);
}

Result<Value> DecodeFirst(ByteSpan data, size_t* consumed, const DecodeLimits& limits) {
  if (data.size() > limits.max_input_bytes) {
    return ResourceExhausted("cbor: input of " + std::to_string(data.size()) +
                             " bytes exceeds limit of " + std::to_string(limits.max_input_bytes));
  }
  Decoder dec(data, limits);
  Value v;
  if (!dec.Item(0, v)) return dec.TakeError();
  *consumed = dec.pos();
  return v;
}

Result<Value> Decode(ByteSpan data, const DecodeLimits& limits) {
  size_t consumed = 0;
  ATCR_ASSIGN_OR_RETURN(Value v, DecodeFirst(data, &consumed, limits));
  if (consumed != data.size()) {
    return InvalidArgument("cbor: " + std::to_string(data.size() - consumed) +
                           " trailing bytes at offset " + std::to_string(consumed));
  }
  return v;
}

}  // namespace atcr::cbor
