#include "atcr/cbor/codec.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <string>

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

void AppendHead(Major major, uint64_t arg, Bytes& out) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    out.push_back(m | static_cast<uint8_t>(arg));
    return;
  }
  int n;
  if (arg <= 0xff) {
    out.push_back(m | 24);
    n = 1;
  } else if (arg <= 0xffff) {
    out.push_back(m | 25);
    n = 2;
  } else if (arg <= 0xffffffff) {
    out.push_back(m | 26);
    n = 4;
  } else {
    out.push_back(m | 27);
    n = 8;
  }
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(arg >> (8 * i)));
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
      out.push_back(0xfb);
      for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(bits >> (8 * i)));
      return;
    }
    case Value::Kind::kString: {
      const std::string& s = v.as_string();
      AppendHead(kTextString, s.size(), out);
      out.insert(out.end(), s.begin(), s.end());
      return;
    }
    case Value::Kind::kBytes: {
      const Bytes& b = v.as_bytes();
      AppendHead(kByteString, b.size(), out);
      out.insert(out.end(), b.begin(), b.end());
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
        AppendHead(kTextString, key.size(), out);
        out.insert(out.end(), key.begin(), key.end());
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

class Decoder {
 public:
  Decoder(ByteSpan data, const DecodeLimits& limits) : data_(data), limits_(limits) {}

  Result<Value> Item(size_t depth);
  size_t pos() const { return pos_; }

 private:
  struct Head {
    Major major;
    uint8_t info;
    uint64_t arg;
    size_t offset;
  };

  Error Fail(size_t offset, const std::string& what) const {
    return InvalidArgument("cbor: " + what + " at offset " + std::to_string(offset));
  }
  // A DecodeLimits bound was hit: the input may be canonical, just too big for this caller.
  Error LimitHit(size_t offset, const std::string& what) const {
    return ResourceExhausted("cbor: " + what + " at offset " + std::to_string(offset));
  }
  size_t remaining() const { return data_.size() - pos_; }

  // Reads an initial byte and its argument; rejects reserved and indefinite forms and
  // non-shortest arguments. For major 7 with info >= 25 the argument is the raw float bits.
  Result<Head> ReadHead();
  Result<std::string> Text(const Head& h);
  Result<Bytes> ByteString(const Head& h);

  ByteSpan data_;
  const DecodeLimits& limits_;
  size_t pos_ = 0;
  size_t items_ = 0;
};

Result<Decoder::Head> Decoder::ReadHead() {
  const size_t start = pos_;
  if (remaining() == 0) return Fail(start, "unexpected end of input");
  const uint8_t ib = data_[pos_++];
  Head h{static_cast<Major>(ib >> 5), static_cast<uint8_t>(ib & 0x1f), 0, start};
  if (h.info < 24) {
    h.arg = h.info;
    return h;
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
  if (h.major == kSimple) return h;  // floats and simple values: validated by the caller
  const uint64_t min_for_width[] = {24, 0x100, 0x10000, 0x100000000ull};
  if (arg < min_for_width[h.info - 24]) {
    return Fail(start, "non-shortest encoding of argument " + std::to_string(arg));
  }
  return h;
}

Result<std::string> Decoder::Text(const Head& h) {
  if (h.arg > remaining()) {
    return Fail(h.offset, "text string length " + std::to_string(h.arg) + " exceeds input");
  }
  std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), h.arg);
  size_t bad = internal::FindInvalidUtf8(s);
  if (bad != s.size()) return Fail(pos_ + bad, "invalid UTF-8 in text string");
  pos_ += h.arg;
  return std::string(s);
}

Result<Bytes> Decoder::ByteString(const Head& h) {
  if (h.arg > remaining()) {
    return Fail(h.offset, "byte string length " + std::to_string(h.arg) + " exceeds input");
  }
  auto begin = data_.begin() + static_cast<std::ptrdiff_t>(pos_);
  pos_ += h.arg;
  return Bytes(begin, begin + static_cast<std::ptrdiff_t>(h.arg));
}

Result<Value> Decoder::Item(size_t depth) {
  if (++items_ > limits_.max_items) {
    return LimitHit(pos_, "more than " + std::to_string(limits_.max_items) + " items");
  }
  ATCR_ASSIGN_OR_RETURN(Head h, ReadHead());
  switch (h.major) {
    case kUint:
      if (h.arg > static_cast<uint64_t>(INT64_MAX)) {
        return Fail(h.offset, "integer " + std::to_string(h.arg) + " exceeds int64");
      }
      return Value(static_cast<int64_t>(h.arg));
    case kNegInt:
      if (h.arg > static_cast<uint64_t>(INT64_MAX)) {
        return Fail(h.offset, "negative integer -1-" + std::to_string(h.arg) + " below int64");
      }
      return Value(-1 - static_cast<int64_t>(h.arg));
    case kByteString: {
      ATCR_ASSIGN_OR_RETURN(Bytes b, ByteString(h));
      return Value(std::move(b));
    }
    case kTextString: {
      ATCR_ASSIGN_OR_RETURN(std::string s, Text(h));
      return Value(std::move(s));
    }
    case kArray: {
      if (depth >= limits_.max_depth) {
        return LimitHit(h.offset, "nesting deeper than " + std::to_string(limits_.max_depth));
      }
      // Every item takes at least one byte: a count beyond the input is a lie.
      if (h.arg > remaining()) {
        return Fail(h.offset, "array count " + std::to_string(h.arg) + " exceeds input");
      }
      Value::List list;
      list.reserve(std::min<uint64_t>(h.arg, 1024));
      for (uint64_t i = 0; i < h.arg; ++i) {
        ATCR_ASSIGN_OR_RETURN(Value item, Item(depth + 1));
        list.push_back(std::move(item));
      }
      return Value(std::move(list));
    }
    case kMap: {
      if (depth >= limits_.max_depth) {
        return LimitHit(h.offset, "nesting deeper than " + std::to_string(limits_.max_depth));
      }
      if (h.arg > remaining() / 2) {
        return Fail(h.offset, "map size " + std::to_string(h.arg) + " exceeds input");
      }
      Value::Map map;
      MapKeyLess less;
      for (uint64_t i = 0; i < h.arg; ++i) {
        const size_t key_offset = pos_;
        ATCR_ASSIGN_OR_RETURN(Head kh, ReadHead());
        if (kh.major != kTextString) return Fail(key_offset, "map key is not a text string");
        ATCR_ASSIGN_OR_RETURN(std::string key, Text(kh));
        if (!map.empty()) {
          const std::string& prev = std::prev(map.end())->first;
          if (prev == key) return Fail(key_offset, "duplicate map key \"" + key + "\"");
          if (!less(prev, key)) {
            return Fail(key_offset, "map keys out of canonical order (\"" + key +
                                        "\" after \"" + prev + "\")");
          }
        }
        ATCR_ASSIGN_OR_RETURN(Value item, Item(depth + 1));
        map.emplace_hint(map.end(), std::move(key), std::move(item));
      }
      return Value(std::move(map));
    }
    case kTag: {
      if (h.arg != kCidTag) return Fail(h.offset, "tag " + std::to_string(h.arg) + " not allowed (only 42)");
      const size_t content_offset = pos_;
      ATCR_ASSIGN_OR_RETURN(Head bh, ReadHead());
      if (bh.major != kByteString) return Fail(content_offset, "tag 42 content is not a byte string");
      if (bh.arg > remaining()) return Fail(content_offset, "tag 42 byte string exceeds input");
      if (bh.arg == 0 || data_[pos_] != 0x00) {
        return Fail(pos_, "CID in tag 42 lacks the 0x00 multibase prefix");
      }
      ByteSpan cid_bytes = data_.subspan(pos_ + 1, bh.arg - 1);
      auto cid = Cid::FromBytes(cid_bytes);
      if (!cid.ok()) return Fail(pos_, cid.error().message);
      pos_ += bh.arg;
      return Value(std::move(cid).value());
    }
    case kSimple:
      switch (h.info) {
        case 20:
          return Value(false);
        case 21:
          return Value(true);
        case 22:
          return Value(nullptr);
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
          return Value::Float(d);
        }
        default:
          return Fail(h.offset, "simple value " + std::to_string(h.info) + " not allowed");
      }
  }
  return Fail(h.offset, "unknown major type");
}

}  // namespace

Bytes Encode(const Value& v) {
  Bytes out;
  EncodeTo(v, out);
  return out;
}

void EncodeTo(const Value& v, Bytes& out) { EncodeValue(v, out); }

Result<Value> DecodeFirst(ByteSpan data, size_t* consumed, const DecodeLimits& limits) {
  if (data.size() > limits.max_input_bytes) {
    return ResourceExhausted("cbor: input of " + std::to_string(data.size()) +
                             " bytes exceeds limit of " + std::to_string(limits.max_input_bytes));
  }
  Decoder dec(data, limits);
  ATCR_ASSIGN_OR_RETURN(Value v, dec.Item(0));
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
