#include "atcr/cbor/multibase.h"

namespace atcr::cbor {

std::string MultibaseEncode(Multibase base, ByteSpan data) {
  std::string out(1, static_cast<char>(base));
  switch (base) {
    case Multibase::kBase32:
      out += Base32Encode(data);
      break;
    case Multibase::kBase58Btc:
      out += Base58Encode(data);
      break;
    case Multibase::kBase64Url:
      out += Base64Encode(data, Base64Variant::kUrl, /*pad=*/false);
      break;
  }
  return out;
}

Result<Bytes> MultibaseDecode(std::string_view text) {
  if (text.empty()) return InvalidArgument("empty multibase string");
  std::string_view body = text.substr(1);
  switch (text[0]) {
    case 'b':
      return Base32Decode(body);
    case 'z':
      return Base58Decode(body);
    case 'u':
      if (body.find('=') != std::string_view::npos) {
        return InvalidArgument("multibase 'u' (base64url) must not be padded");
      }
      return Base64Decode(body, Base64Variant::kUrl);
    default:
      return InvalidArgument(std::string("unsupported multibase prefix '") + text[0] + "'");
  }
}

}  // namespace atcr::cbor
