#include "atcr/base/encoding.h"

#include <array>

namespace atcr {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase32Alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr char kBase58Alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr char kBase64Std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::array<int8_t, 256> MakeReverse(const char* alphabet, size_t n) {
  std::array<int8_t, 256> rev{};
  rev.fill(-1);
  for (size_t i = 0; i < n; ++i) rev[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return rev;
}

Error BadChar(const char* what, std::string_view text, size_t pos) {
  return InvalidArgument(std::string("invalid ") + what + " character '" +
                         std::string(1, text[pos]) + "' at offset " + std::to_string(pos));
}

}  // namespace

std::string HexEncode(ByteSpan data) {
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHexDigits[data[i] >> 4];
    out[2 * i + 1] = kHexDigits[data[i] & 0xf];
  }
  return out;
}

Result<Bytes> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return InvalidArgument("hex string has odd length");
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(text[2 * i]);
    int lo = HexValue(text[2 * i + 1]);
    if (hi < 0) return BadChar("hex", text, 2 * i);
    if (lo < 0) return BadChar("hex", text, 2 * i + 1);
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Base32Encode(ByteSpan data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<Bytes> Base32Decode(std::string_view text) {
  static const auto rev = MakeReverse(kBase32Alphabet, 32);
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    int v = rev[static_cast<uint8_t>(text[i])];
    if (v < 0) return BadChar("base32", text, i);
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  // Leftover bits must be zero padding of fewer than 5 bits.
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0) {
    return InvalidArgument("base32 string has non-canonical trailing bits");
  }
  return out;
}

std::string Base58Encode(ByteSpan data) {
  size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  std::vector<uint8_t> digits((data.size() - zeros) * 138 / 100 + 1, 0);
  size_t len = 0;
  for (size_t i = zeros; i < data.size(); ++i) {
    uint32_t carry = data[i];
    size_t j = 0;
    for (auto it = digits.rbegin(); (carry != 0 || j < len) && it != digits.rend(); ++it, ++j) {
      carry += 256u * *it;
      *it = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    len = j;
  }
  auto it = digits.begin() + static_cast<std::ptrdiff_t>(digits.size() - len);
  std::string out(zeros, '1');
  for (; it != digits.end(); ++it) out.push_back(kBase58Alphabet[*it]);
  return out;
}

Result<Bytes> Base58Decode(std::string_view text) {
  static const auto rev = MakeReverse(kBase58Alphabet, 58);
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  std::vector<uint8_t> b256((text.size() - zeros) * 733 / 1000 + 1, 0);
  size_t len = 0;
  for (size_t i = zeros; i < text.size(); ++i) {
    int v = rev[static_cast<uint8_t>(text[i])];
    if (v < 0) return BadChar("base58", text, i);
    uint32_t carry = static_cast<uint32_t>(v);
    size_t j = 0;
    for (auto it = b256.rbegin(); (carry != 0 || j < len) && it != b256.rend(); ++it, ++j) {
      carry += 58u * *it;
      *it = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    len = j;
  }
  Bytes out(zeros, 0);
  out.insert(out.end(), b256.end() - static_cast<std::ptrdiff_t>(len), b256.end());
  return out;
}

std::string Base64Encode(ByteSpan data, Base64Variant v, bool pad) {
  const char* alphabet = v == Base64Variant::kUrl ? kBase64Url : kBase64Std;
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{data[i]} << 16;
    if (rest == 2) n |= uint32_t{data[i + 1]} << 8;
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(n >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

Result<Bytes> Base64Decode(std::string_view text, Base64Variant v) {
  static const auto rev_std = MakeReverse(kBase64Std, 64);
  static const auto rev_url = MakeReverse(kBase64Url, 64);
  const auto& rev = v == Base64Variant::kUrl ? rev_url : rev_std;
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=') --end;
  if (text.size() - end > 2) return InvalidArgument("base64 has too much padding");
  if (end != text.size() && text.size() % 4 != 0) {
    return InvalidArgument("padded base64 length is not a multiple of 4");
  }
  if (end % 4 == 1) return InvalidArgument("base64 length is invalid");
  Bytes out;
  out.reserve(end * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    int val = rev[static_cast<uint8_t>(text[i])];
    if (val < 0) return BadChar("base64", text, i);
    buffer = (buffer << 6) | static_cast<uint32_t>(val);
    bits += 6;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) {
    return InvalidArgument("base64 has non-zero trailing bits");
  }
  return out;
}

}  // namespace atcr
